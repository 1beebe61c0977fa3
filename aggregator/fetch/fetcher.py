"""HTTP GET for feeds and article pages: the only module that talks to the network (and to httpx).

Everything the archiver downloads comes from URLs written by third parties (feed entries,
redirects), so one place has to make fetching safe and predictable: redirects are followed by
hand so that every hop is checked (scheme and SSRF guard), bodies are streamed under a size
cap, the whole exchange runs under a total time limit, transient failures are retried with
backoff (honouring Retry-After), concurrency is bounded globally and per host, and every httpx
exception is translated into the package's own tree (:mod:`aggregator.errors`).

Whatever the server sends and whatever string is given as URL or validator, :meth:`Fetcher.get`
returns a :class:`Response` or raises a :class:`errors.FetchError`, and its memory stays within a
small multiple of ``max_bytes``: bodies are decoded here, a bounded piece at a time
(:mod:`aggregator.decoding`), the cookie jar is bounded (:mod:`aggregator.cookies`), and header
bytes are read and sent back as Latin-1, so that a validator returns byte for byte.

Requests go straight to httpx transports (``httpx.Request`` in, ``httpx.Response`` out), not
through ``httpx.AsyncClient``: of what the client adds, redirects are followed here anyway, cookies
are one bounded jar used here, and proxies are chosen here (the SSRF guard needs the same
answer), so the client was only overhead: a tenth of the CPU of polling an unchanged feed.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import random
import re
import socket
import urllib.request
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType

import httpcore
import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from aggregator import errors
from aggregator.fetch import decoding
from aggregator.fetch.cookies import CookieJar
from aggregator.fetch.sockets import AsyncioBackend
from aggregator.models import Response, Settings

__all__ = ["DEFAULT_ACCEPT", "Fetcher", "parse_retry_after"]

DEFAULT_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, application/xhtml+xml;q=0.8, */*;q=0.5"
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})

Resolver = Callable[[str], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
# Hosts that inet_aton might read as an IPv4 address in a legacy form (127.1, 0x7f.1, 2130706433).
_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$")
_RETRY_AFTER_SECONDS = re.compile(r"^\d+(\.\d+)?$", re.ASCII)
#: the longest Retry-After believed, so that a wait is always a finite number of seconds
_MAX_RETRY_AFTER = 366 * 86400.0
#: a header value h11 sends: no NUL, CR, LF or other whitespace but inner spaces and tabs
_FIELD_VALUE = re.compile(rb"[^\x00\s]+(?:[ \t]+[^\x00\s]+)*")
#: a host name the socket layer can look up: labels of 1 to 63 characters (after IDNA)
_HOST_NAME = re.compile(r"(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}\.?", re.ASCII | re.IGNORECASE)
#: httpcore's limit on a response head (status line and headers), beyond which h11 gives up
_HEAD_LIMIT = getattr(httpcore.AsyncHTTP11Connection, "MAX_INCOMPLETE_EVENT_SIZE", 100 * 1024)
#: characters of a URL or header shown in an error message
_SHOWN = 300
_ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)
#: idle transports kept (each with at most one keep-alive connection); httpx's own pool keeps 20
_MAX_IDLE_TRANSPORTS = 32
_BACKEND = AsyncioBackend()


class Fetcher:
    """The archiver's HTTP client: its fetch policy over httpx transports; use as ``async with``.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests), ``resolver(host)``
    returns the IP address strings of a host name (default: the event loop's getaddrinfo),
    ``sleep`` is awaited between retry attempts.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._resolver = resolver or _getaddrinfo
        self._sleep = sleep
        # An injected transport carries every request itself (the proxy setting then only tells the
        # SSRF guard that names are the proxy's to resolve); otherwise each request borrows a
        # transport of a single connection (see _borrow).
        self._injected = transport
        # Proxies from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY), read once.
        self._env_proxies = _environment_proxies() if transport is None and settings.proxy is None else {}
        self._cookies = CookieJar()  # one cookie jar for every connection
        self._tls = httpx.create_ssl_context() if transport is None else None  # built once: ~20 ms each
        # httpx's client defaults, less "Connection: keep-alive" (HTTP/1.1's default); gzip and
        # deflate are the encodings aggregator.decoding undoes. A user agent HTTP cannot carry
        # (a line break, a character beyond Latin-1) gives way to the default one.
        user_agent = _header_bytes(settings.user_agent) or Settings.user_agent.encode("ascii")
        self._headers = {b"User-Agent": user_agent, b"Accept": DEFAULT_ACCEPT.encode("ascii"),
                         b"Accept-Encoding": b"gzip, deflate"}
        self._extensions = {"timeout": httpx.Timeout(
            connect=settings.connect_timeout, read=settings.read_timeout,
            write=settings.connect_timeout, pool=settings.connect_timeout,
        ).as_dict()}
        # each idle transport's origin, least recently used first
        self._idle: OrderedDict[httpx.AsyncBaseTransport, str] = OrderedDict()
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the idle connections (an injected transport is its owner's to close)."""
        transports = list(self._idle)
        self._idle.clear()
        for transport in transports:
            await transport.aclose()

    def _new_transport(self, proxy: str | None, url: str) -> httpx.AsyncHTTPTransport:
        """httpx's transport for one connection (through ``proxy``), its sockets on
        :class:`sockets.AsyncioBackend`."""
        problem = _proxy_problem(proxy) if proxy else None  # what the sockets could not use
        if problem:
            raise _bad_proxy(url, proxy or "", problem)
        try:
            transport = httpx.AsyncHTTPTransport(verify=self._tls or True, proxy=proxy, limits=_ONE_CONNECTION)
        except (ValueError, ImportError, httpx.InvalidURL) as exc:  # a proxy httpx cannot use
            raise _bad_proxy(url, proxy or "", _detail(exc)) from exc
        # httpx takes no backend argument; its httpcore pool (plain, or a proxy's) reads this
        # attribute for each connection it opens. test_sockets checks that it is used.
        pool = getattr(transport, "_pool", None)
        if hasattr(pool, "_network_backend"):
            pool._network_backend = _BACKEND  # type: ignore[union-attr]
        return transport

    async def get(
        self,
        url: str,
        *,
        max_bytes: int,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> Response:
        """GET ``url`` following redirects; a 2xx or 304 answer, else a :class:`errors.FetchError`.

        Transient failures are retried (``settings.retries`` times) after a backoff or the
        server's Retry-After; no concurrency slot is held while waiting. ``etag`` and
        ``last_modified`` are sent as the very bytes they were received as (each character of
        ``Response.headers`` is one byte, Latin-1); a value HTTP cannot carry (a character beyond
        Latin-1, a line break, NUL) is left out of the request, and so is such an ``accept``.
        """
        headers = self._headers
        if accept or etag or last_modified:
            headers = dict(headers)
            for name, value in ((b"Accept", accept), (b"If-None-Match", etag), (b"If-Modified-Since", last_modified)):
                raw = _header_bytes(value) if value else None
                if raw:
                    headers[name] = raw

        try:  # the first attempt runs bare: tenacity's bookkeeping was 4 % of a 304 poll's CPU
            return await self._attempt(url, headers, max_bytes)
        except errors.FetchError as exc:
            if self.settings.retries < 1 or not self._should_retry(exc):
                raise
            await self._sleep(self._delay(exc, 1))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.retries),
            retry=retry_if_exception(self._should_retry),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(url, headers, max_bytes)
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover

    # -- retry policy ------------------------------------------------------------------------

    def _should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, errors.FetchError) or not exc.transient:
            return False
        # A server asking for a long pause is answered at once: the caller reschedules.
        return not (
            isinstance(exc, errors.HTTPStatusError)
            and exc.retry_after is not None
            and exc.retry_after > self.settings.max_retry_after
        )

    def _wait(self, state: RetryCallState) -> float:
        """tenacity's wait: its attempt 1 is the request's second (the first ran before it)."""
        exc = state.outcome.exception() if state.outcome else None
        return self._delay(exc, state.attempt_number + 1)

    def _delay(self, exc: BaseException | None, failed_attempts: int) -> float:
        """Seconds to wait after ``failed_attempts`` attempts, the last of which raised ``exc``."""
        if isinstance(exc, errors.HTTPStatusError) and exc.retry_after is not None:
            return exc.retry_after
        base = self.settings.retry_backoff
        backoff = base * 2 ** (failed_attempts - 1) + random.uniform(0, base)
        return min(backoff, max(self.settings.max_retry_after, base))

    # -- one attempt: the redirect chain under the total time limit ---------------------------

    async def _attempt(self, url: str, headers: dict[bytes, bytes], max_bytes: int) -> Response:
        total = self.settings.total_timeout
        current = url  # the URL being fetched, as the caller wrote it for the first hop
        visited: set[str] = set()
        permanent: str | None = None
        try:
            async with asyncio.timeout(total) as deadline:
                target = self._parse(url)
                for hop in range(self.settings.max_redirects + 1):
                    if hop:
                        current = str(target)
                    visited.add(str(target))
                    proxy = self._proxy_for(target)
                    await self._guard(target, current, proxied=proxy is not None)
                    async with self._slot(target, current, deadline, proxy) as transport:
                        result = await self._exchange(transport, target, current, headers, max_bytes)
                    if isinstance(result, Response):
                        return Response(
                            url=url,
                            final_url=current,
                            status=result.status,
                            headers=result.headers,
                            content=result.content,
                            permanent_redirect=permanent,
                        )
                    status, target = result
                    if status in PERMANENT_REDIRECTS:
                        permanent = str(target)
                what = "redirect loop" if str(target) in visited else "too many redirects"
                raise errors.TooManyRedirects(
                    f"GET {_shown(url)}: {what} (more than {self.settings.max_redirects} hops, "
                    f"last {_shown(str(target))})",
                    url=url,
                )
        except TimeoutError as exc:
            # Only asyncio.timeout raises it here: _exchange translates a transport's own.
            raise errors.Timeout(f"GET {_shown(current)}: timed out after {total:g}s (total)", url=current) from exc

    async def _exchange(
        self,
        transport: httpx.AsyncBaseTransport,
        target: httpx.URL,
        url: str,
        headers: dict[bytes, bytes],
        max_bytes: int,
    ) -> Response | tuple[int, httpx.URL]:
        """One request/response: the final answer, or ``(status, next URL)`` for a redirect."""
        in_body = False  # whether the response head has arrived: a protocol error after it is the body's
        try:
            if self._cookies:
                headers = self._with_cookies(headers, target)
            request = httpx.Request("GET", target, headers=headers, extensions=self._extensions)
            response = await transport.handle_async_request(request)
            in_body = True
            response.request = request
            # Header bytes read one way everywhere, each byte one character (Latin-1), so that a value
            # sent back (a validator, a cookie) is the very bytes received; httpx would pick ASCII,
            # UTF-8 or Latin-1 for each response as a whole.
            response.headers.encoding = "latin-1"
            try:
                set_cookie = response.headers.get_list("set-cookie")
                if set_cookie:
                    self._cookies.extract(str(target), set_cookie)
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    return status, _redirect_target(url, response)
                if status == 304:
                    # A 304 has no body, but reading its (empty) end of message is what lets httpcore
                    # put the connection back in the pool: closed unread, it is dropped, and the next
                    # poll pays for a new TCP connection. Read raw: a body here (there should be none)
                    # is dropped unread by any decoder.
                    if not response.is_stream_consumed:
                        async for _ in response.aiter_raw():
                            pass
                    return Response(url, url, 304, _headers(response))
                if not 200 <= status < 300:
                    raise errors.HTTPStatusError(
                        f"GET {_shown(url)}: HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip(),
                        url=url,
                        status=status,
                        retry_after=parse_retry_after(response.headers.get("retry-after")),
                    )
                content = await _read_capped(response, url, max_bytes)
                return Response(url, url, status, _headers(response), content)
            finally:
                await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError) as exc:
            raise _translate(exc, url, self.settings, in_body=in_body) from exc
        except (ValueError, OverflowError) as exc:
            # The last line: what the standard library under httpcore raises for a name or port it
            # cannot use (the IDNA codec, getaddrinfo) is refused by the URL checks beforehand;
            # anything else of the kind is still one failed fetch, never a crash of the run.
            raise errors.FetchError(f"GET {_shown(url)}: cannot fetch: {_detail(exc)}", url=url) from exc

    def _with_cookies(self, headers: dict[bytes, bytes], target: httpx.URL) -> dict[bytes, bytes]:
        """``headers`` and the Cookie header for ``target``, if any cookie goes there."""
        cookie = self._cookies.header(str(target))
        raw = _header_bytes(cookie) if cookie else None
        return {**headers, b"Cookie": raw} if raw else headers

    # -- URL checks ---------------------------------------------------------------------------

    @staticmethod
    def _parse(url: str) -> httpx.URL:
        # Parsed with httpx's own parser, so that the guard checks the very host httpx connects to.
        return _parsed_url(url)

    async def _guard(self, target: httpx.URL, url: str, *, proxied: bool) -> None:
        """SSRF guard: refuse hosts that are, or resolve to, non-public addresses (a name sent to a
        proxy is the proxy's to resolve: only literal addresses are checked then).

        Known limit (DNS rebinding): the addresses checked here come from a separate lookup; the
        connection resolves the name again, so a name whose answer changes between the two
        lookups can still reach a private address. Closing that window would take connecting to
        the checked address ourselves (a custom transport), which httpx does not offer simply.
        """
        if self.settings.allow_private_networks:
            return
        host = target.raw_host.decode("latin-1").lower().rstrip(".")  # ASCII: see _checked_target
        if host == "localhost" or host.endswith(".localhost"):
            raise errors.Blocked(f"GET {_shown(url)}: refused, {host} is a local name", url=url)
        literal = _literal_ip(host)
        if literal is not None:
            if not _is_public(literal):
                raise errors.Blocked(f"GET {_shown(url)}: refused, {host} is not a public address", url=url)
            return
        if proxied:
            return  # the proxy resolves the name (there may be no DNS here at all)
        try:
            addresses = await self._resolver(host)
        except (OSError, ValueError) as exc:  # ValueError: UnicodeError (IDNA) among others
            raise errors.NetworkError(f"GET {_shown(url)}: cannot resolve host {host}: {_detail(exc)}",
                                      url=url) from exc
        if not addresses:
            raise errors.NetworkError(f"GET {_shown(url)}: cannot resolve host {host}", url=url)
        for address in addresses:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                ip = None
            if ip is None or not _is_public(ip):
                raise errors.Blocked(
                    f"GET {_shown(url)}: refused, {host} resolves to non-public address {_shown(str(address))}",
                    url=url,
                )

    def _proxy_for(self, target: httpx.URL) -> str | None:
        """The proxy a request to ``target`` goes through: the ``proxy`` setting (for everything),
        else one from the environment unless NO_PROXY exempts the host; None: a direct connection."""
        if self.settings.proxy:
            return self.settings.proxy
        proxies = self._env_proxies  # none with an injected transport
        proxy = proxies.get(target.scheme) or proxies.get("all")
        if not proxy:
            return None
        host = target.host.lower().rstrip(".")
        if urllib.request.proxy_bypass_environment(host, proxies) or _no_proxy_suffix(host, proxies.get("no", "")):
            return None
        return proxy

    # -- concurrency --------------------------------------------------------------------------

    @asynccontextmanager
    async def _slot(
        self, target: httpx.URL, url: str, deadline: asyncio.Timeout, proxy: str | None
    ) -> AsyncIterator[httpx.AsyncBaseTransport]:
        """Hold the per-host and the global slot, and a transport for ``target``'s origin; time spent
        queueing is not charged to the request's total time limit."""
        key = target.host.lower()
        host_slots = self._host_slots.get(key)
        if host_slots is None:
            host_slots = self._host_slots[key] = asyncio.Semaphore(self.settings.per_host_concurrency)
        loop = asyncio.get_running_loop()
        when = deadline.when()
        remaining = None if when is None else when - loop.time()
        deadline.reschedule(None)
        # Per host first: a request queued behind its host must not sit on a global slot.
        async with host_slots, self._slots:
            if remaining is not None:
                deadline.reschedule(loop.time() + remaining)
            if self._injected is not None:
                yield self._injected
                return
            origin = f"{target.scheme}://{key}:{target.port}"
            transport = self._borrow(origin, proxy, url)
            try:
                yield transport
            finally:
                await self._give_back(transport, origin)

    # Why transports of one connection each: httpcore's pool looks at every connection it holds (a
    # poll() of each idle socket, and a count of the idle ones) whenever a request starts or ends.
    # With the 16 connections of a busy run in one pool that was most of the CPU of a 304 poll
    # (benchmarks/run.py, warm cycle). A request here borrows an idle transport already connected
    # to its origin, else a new one (the slots above bound how many are busy); given back, it keeps
    # its connection alive, and beyond _MAX_IDLE_TRANSPORTS the least recently used is closed. HTTP
    # itself stays httpx's and httpcore's; the transports share one TLS context.

    def _borrow(self, origin: str, proxy: str | None, url: str) -> httpx.AsyncBaseTransport:
        for transport, transport_origin in reversed(self._idle.items()):  # most recently used first
            if transport_origin == origin:
                del self._idle[transport]
                return transport
        return self._new_transport(proxy, url)

    async def _give_back(self, transport: httpx.AsyncBaseTransport, origin: str) -> None:
        self._idle[transport] = origin
        while len(self._idle) > _MAX_IDLE_TRANSPORTS:
            oldest, _ = self._idle.popitem(last=False)
            await oldest.aclose()


# -- helpers ----------------------------------------------------------------------------------


def _environment_proxies() -> dict[str, str]:
    """urllib's reading of the proxy settings (the environment's; also the system's on Windows and
    macOS), a proxy given without a scheme taken as http://, as httpx does."""
    proxies = urllib.request.getproxies()
    for scheme in ("http", "https", "all"):
        if proxies.get(scheme) and "://" not in proxies[scheme]:
            proxies[scheme] = "http://" + proxies[scheme]
    return proxies


def _no_proxy_suffix(host: str, no_proxy: str) -> bool:
    """NO_PROXY read loosely (``*.example``, ``.example``, ``http://example``, ``example:8080``
    exempt ``a.example`` too), beyond urllib's reading: both this choice of route and the SSRF
    guard's follow it, and when in doubt a direct connection is the safe side (its name is checked)."""
    for entry in no_proxy.split(","):
        name = entry.strip().lower().rpartition("://")[2].rstrip("/")
        if not name.startswith("["):
            name = name.partition(":")[0]
        name = name.lstrip("*.")
        if name and host.endswith(name):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def _parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)`` checked by :func:`_checked_target`, remembered: the same feed URLs are
    parsed on every poll (URLs are immutable; a refused one raises again each time)."""
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:  # ValueError: UnicodeError (IDNA, surrogates)
        raise errors.FetchError(f"GET {_shown(url)}: invalid URL: {_detail(exc)}", url=url, reason="bad_url") from exc
    return _checked_target(target, url, f"GET {_shown(url)}:")


def _redirect_target(url: str, response: httpx.Response) -> httpx.URL:
    """Where a redirect from ``url`` leads, resolved against it and checked like the first URL."""
    location = _location(response.headers.get("location", "")).strip()
    status = response.status_code
    if not location:
        raise errors.HTTPStatusError(
            f"GET {_shown(url)}: HTTP {status} redirect without a Location header", url=url, status=status
        )
    try:
        target = response.request.url.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise errors.FetchError(
            f"GET {_shown(url)}: redirect to an invalid URL {_shown(location)!r}: {_detail(exc)}", url=url,
            reason="bad_url",
        ) from exc
    return _checked_target(target, url, f"GET {_shown(url)}: redirect to {_shown(str(target))}:")


def _location(value: str) -> str:
    """A Location header (its bytes as Latin-1 characters) as browsers read it: UTF-8 when it is
    (an IDN host, a UTF-8 path), else with every non-ASCII byte percent-encoded, byte for byte."""
    if value.isascii():
        return value
    raw = value.encode("latin-1")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(byte) if byte < 0x80 else f"%{byte:02X}" for byte in raw)


def _checked_target(target: httpx.URL, url: str, prefix: str) -> httpx.URL:
    """``target`` if it is an http(s) URL with a host and port the sockets can use; ``prefix``
    starts the error message."""
    if not target.scheme:
        raise errors.FetchError(f"{prefix} invalid URL: not an absolute URL", url=url, reason="bad_url")
    if target.scheme not in ("http", "https"):
        raise errors.Blocked(f"{prefix} refused, only http and https URLs are fetched", url=url)
    problem = _host_problem(target)
    if problem:
        raise errors.FetchError(f"{prefix} {problem}", url=url, reason="bad_url")
    return target


def _host_problem(target: httpx.URL) -> str | None:
    """Why ``target``'s host or port cannot be connected to, or None. httpx accepts what the layers
    under it refuse with other errors than OSError: a label over 63 characters or an empty one
    (UnicodeError from the IDNA codec), a port out of range (OverflowError); port 0 means 80 to them."""
    if not target.raw_host:
        return "URL has no host"
    port = target.port
    if port is not None and not 0 < port < 65536:
        return f"invalid port {port}"
    host = target.raw_host.decode("latin-1")
    if ":" in host:  # an IPv6 literal, checked by httpx
        return None
    if len(host) > 254 or not _HOST_NAME.fullmatch(host):
        return f"invalid host name {_shown(host)!r}"
    try:
        target.host  # noqa: B018 (decodes an "xn--" label, which may not be valid punycode)
    except ValueError:  # idna.IDNAError is a UnicodeError
        return f"invalid host name {_shown(host)!r} (not valid IDNA)"
    return None


def _bad_proxy(url: str, proxy: str, problem: str) -> errors.FetchError:
    return errors.FetchError(f"GET {_shown(url)}: cannot use the proxy {_shown(proxy)}: {problem}", url=url,
                             reason="bad_proxy")


@functools.lru_cache(maxsize=64)
def _proxy_problem(proxy: str) -> str | None:
    """Why the proxy URL ``proxy`` cannot be used (its scheme is httpx's to judge), or None."""
    try:
        return _host_problem(httpx.URL(proxy))
    except (httpx.InvalidURL, ValueError) as exc:
        return f"invalid URL: {_detail(exc)}"


def _header_bytes(value: str) -> bytes | None:
    """``value`` as header bytes, each character one byte (as :func:`_headers` reads them), or None
    when HTTP cannot carry it: a character beyond Latin-1, NUL, CR, LF (h11 refuses them)."""
    try:
        raw = value.strip(" \t").encode("latin-1")
    except UnicodeEncodeError:
        return None
    return raw if _FIELD_VALUE.fullmatch(raw) else None


async def _getaddrinfo(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@functools.lru_cache(maxsize=4096)
def _literal_ip(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal, including legacy IPv4 forms like ``127.1``
    (remembered: a host name costs ipaddress an exception, on every request to it)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _is_public(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses only."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64_PREFIX:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not _is_public(embedded):
            return False
    return not (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in _SHARED_ADDRESS_SPACE
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), never negative,
    at most a year (``"1" * 400`` would be infinite)."""
    if not value:
        return None
    value = value.strip()
    if _RETRY_AFTER_SECONDS.match(value):
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - (now or datetime.now(UTC))).total_seconds()), _MAX_RETRY_AFTER)


async def _read_capped(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    """The decoded body, refused as soon as it passes ``max_bytes``.

    The raw bytes are read (``aiter_raw``) and decoded here, not by httpx: its decoder inflates a
    whole network chunk in one call, and two layers of gzip make that gigabytes.
    """
    if response.is_stream_consumed:  # built in memory (httpx.MockTransport): httpx read and decoded it
        if len(response.content) > max_bytes:
            raise errors.TooLarge(f"GET {_shown(url)}: body larger than {max_bytes} bytes", url=url)
        return response.content
    encoding = response.headers.get("content-encoding")
    decoder = decoding.decoder_for(encoding, url, _shown(url)) if encoding else None
    if decoder is not None:
        return await _read_decoded(response, decoder, url, max_bytes)
    # Nothing to undo (identity, or only codings skipped): the body is the bytes on the wire.
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > max_bytes):
        raise errors.TooLarge(
            f"GET {_shown(url)}: body larger than {max_bytes} bytes (Content-Length {_shown(declared)})", url=url
        )
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > max_bytes:
            raise errors.TooLarge(f"GET {_shown(url)}: body larger than {max_bytes} bytes", url=url)
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_decoded(response: httpx.Response, decoder: decoding.Decoder, url: str, max_bytes: int) -> bytes:
    """The body with its codings undone. Memory: the pieces kept (at most ``max_bytes``), one network
    chunk, and per layer a zlib state, its unread input and one piece of at most decoding.PIECE
    bytes; twice ``max_bytes`` for a moment when the pieces are joined."""
    # The bytes on the wire are capped too, at twice the cap: a real compressed body is smaller than
    # itself decoded, and more is junk a decoder would read to no end (empty deflate blocks, bytes
    # after the end of the stream); the total time limit would be the only other bound.
    raw_limit = 2 * max_bytes + 1024
    chunks: list[bytes] = []
    received = raw = 0
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        if raw > raw_limit:
            raise errors.TooLarge(f"GET {_shown(url)}: compressed body larger than {raw_limit} bytes", url=url)
        for piece in decoder.feed(chunk):
            received += len(piece)
            if received > max_bytes:
                raise errors.TooLarge(f"GET {_shown(url)}: body larger than {max_bytes} bytes (decompressed)",
                                      url=url)
            chunks.append(piece)
    decoder.finish()
    return b"".join(chunks)


def _headers(response: httpx.Response) -> dict[str, str]:
    """Lower-cased names, values as Latin-1 (the encoding _exchange sets), repeated headers joined
    with commas as httpx joins them."""
    return dict(response.headers.items())


def _shown(text: str) -> str:
    """``text`` (a URL, a header value) fit for a one-line message: at most _SHOWN characters, with
    what a terminal or an UTF-8 encoder cannot take (control characters, lone surrogates) escaped."""
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 3] + "..."
    if not text.isprintable():
        text = "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)
    return text or "''"


def _detail(exc: BaseException) -> str:
    return _shown(" ".join(str(exc).split()) or type(exc).__name__)


def _translate(exc: BaseException, url: str, settings: Settings, *, in_body: bool = False) -> errors.FetchError:
    """The package's error for an httpx (or socket) exception raised while fetching ``url``
    (``in_body``: after the response head arrived)."""
    prefix = f"GET {_shown(url)}:"
    if isinstance(exc, httpx.TimeoutException):
        phase, limit = {
            httpx.ConnectTimeout: ("connect", settings.connect_timeout),
            httpx.ReadTimeout: ("read", settings.read_timeout),
            httpx.WriteTimeout: ("write", settings.connect_timeout),
            httpx.PoolTimeout: ("connection pool", settings.connect_timeout),
        }.get(type(exc), ("request", settings.read_timeout))
        return errors.Timeout(f"{prefix} timed out after {limit:g}s ({phase})", url=url)
    if isinstance(exc, TimeoutError):
        return errors.Timeout(f"{prefix} timed out: {_detail(exc)}", url=url)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return errors.FetchError(f"{prefix} invalid URL: {_detail(exc)}", url=url, reason="bad_url")
    if isinstance(exc, httpx.DecodingError):
        return errors.NetworkError(
            f"{prefix} cannot decode the body: {_detail(exc)}", url=url, reason="decoding"
        )
    if isinstance(exc, httpx.ProxyError):
        return errors.NetworkError(f"{prefix} proxy error: {_detail(exc)}", url=url)
    if isinstance(exc, httpx.ConnectError):
        return errors.NetworkError(f"{prefix} cannot connect: {_detail(exc)}", url=url)
    if isinstance(exc, httpx.RemoteProtocolError) and str(exc) == "Receive buffer too long":
        # h11's words when what it must read whole (a head, a chunk's size line) passes httpcore's limit.
        size = f"{_HEAD_LIMIT // 1024} KB"
        if in_body:
            return errors.NetworkError(f"{prefix} a chunk header of the body is longer than {size}", url=url)
        return errors.TooLarge(f"{prefix} the server's response headers are larger than {size}", url=url)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return errors.NetworkError(f"{prefix} protocol error: {_detail(exc)}", url=url)
    if isinstance(exc, httpx.TransportError | OSError):
        # ssl.SSLError is an OSError; httpx normally wraps it as ConnectError already.
        return errors.NetworkError(f"{prefix} network error: {_detail(exc)}", url=url)
    return errors.FetchError(f"{prefix} {_detail(exc)}", url=url)
