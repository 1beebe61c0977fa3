"""HTTP GET for feeds and article pages: the fetch policy, over httpx's transport interface.

Everything the archiver downloads comes from URLs written by third parties (feed entries,
redirects), so one place has to make fetching safe and predictable: redirects are followed by
hand so that every hop is checked (:mod:`~aggregator.fetch.targets`, the SSRF guard of
:mod:`~aggregator.fetch.guard`), bodies are read under a size cap
(:mod:`~aggregator.fetch.responses`), the whole exchange runs under a total time limit,
transient failures are retried (:mod:`~aggregator.fetch.retries`), concurrency is bounded
globally and per host, and every exception is the package's own (:mod:`aggregator.errors`).

Whatever the server sends and whatever string is given as URL or validator, :meth:`Fetcher.get`
returns a :class:`Response` or raises a :class:`errors.FetchError`, and its memory stays within a
small multiple of ``max_bytes``: bodies are decoded a bounded piece at a time, the cookie jar is
bounded (:mod:`~aggregator.fetch.cookies`), and header bytes are read and sent back as Latin-1
(:mod:`~aggregator.fetch.headers`), so that a validator returns byte for byte.

Requests go straight to a transport (``httpx.Request`` in, ``httpx.Response`` out; by default
:mod:`~aggregator.fetch.transport`'s, one keep-alive connection each), not through
``httpx.AsyncClient``: redirects, cookies and the choice of proxy (which the SSRF guard must
follow) are this module's, so the client would add nothing but its cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType

import httpcore
import httpx

from aggregator import errors
from aggregator.fetch.cookies import CookieJar
from aggregator.fetch.failures import detail, shown, translate
from aggregator.fetch.guard import Guard, ProxyChoice, Resolver
from aggregator.fetch.headers import default_headers, latin1, request_headers, response_headers, with_cookie
from aggregator.fetch.responses import drain, read_capped, status_error
from aggregator.fetch.retries import Retries
from aggregator.fetch.targets import parsed_url, redirect_target
from aggregator.fetch.transport import Transports
from aggregator.models import Response, Settings

__all__ = ["Fetcher"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})

_Answer = Response | tuple[int, httpx.URL]  # the final answer, or a redirect's status and target


class Fetcher:
    """The archiver's HTTP client; use as ``async with``.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests; the ``proxy`` setting
    then only tells the SSRF guard that names are the proxy's to resolve), ``resolver(host)``
    returns the IP address strings of a host name (default: the event loop's getaddrinfo),
    ``sleep`` is awaited between retry attempts, ``network_backend`` opens the connections of the
    fetcher's own transports (default: :class:`sockets.AsyncioBackend`).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.settings = settings
        self._transports: Transports | httpx.AsyncBaseTransport = (
            transport if transport is not None else Transports(network_backend)
        )
        self._guard = Guard(allow_private_networks=settings.allow_private_networks, resolver=resolver)
        self._proxies = ProxyChoice(settings.proxy, environment=transport is None)
        self._retries = Retries(settings, sleep)
        self._cookies = CookieJar()  # one cookie jar for every connection
        self._headers = default_headers(settings)
        self._extensions = {
            "timeout": httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.connect_timeout,
                pool=settings.connect_timeout,
            ).as_dict()
        }
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
        if isinstance(self._transports, Transports):
            await self._transports.aclose()

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
        Latin-1, a line break, NUL) is left out of the request, and so is such an ``accept``
        (default: :data:`headers.DEFAULT_ACCEPT`).
        """
        headers = request_headers(self._headers, accept=accept, etag=etag, last_modified=last_modified)
        return await self._retries.run(self._attempt, url, headers, max_bytes)

    # -- one attempt: the redirect chain under the total time limit ---------------------------

    async def _attempt(self, url: str, headers: dict[bytes, bytes], max_bytes: int) -> Response:
        total = self.settings.total_timeout
        current = url  # the URL being fetched, as the caller wrote it for the first hop
        visited: set[str] = set()
        permanent: str | None = None
        try:
            async with asyncio.timeout(total) as deadline:
                target = parsed_url(url)
                for hop in range(self.settings.max_redirects + 1):
                    if hop:
                        current = str(target)
                    visited.add(str(target))
                    proxy = self._proxies.for_target(target)
                    await self._guard.check(target, current, proxied=proxy is not None)
                    async with self._slot(target, current, deadline, proxy) as transport:
                        answer = await self._exchange(transport, target, current, headers, max_bytes)
                    if isinstance(answer, Response):
                        return Response(
                            url=url,
                            final_url=current,
                            status=answer.status,
                            headers=answer.headers,
                            content=answer.content,
                            permanent_redirect=permanent,
                        )
                    status, target = answer
                    if status in PERMANENT_REDIRECTS:
                        permanent = str(target)
                what = "redirect loop" if str(target) in visited else "too many redirects"
                raise errors.TooManyRedirects(
                    f"GET {shown(url)}: {what} (more than {self.settings.max_redirects} hops, "
                    f"last {shown(str(target))})",
                    url=url,
                )
        except TimeoutError as exc:
            # Only asyncio.timeout raises it here: _exchange translates a transport's own.
            raise errors.Timeout(f"GET {shown(current)}: timed out after {total:g}s (total)", url=current) from exc

    async def _exchange(
        self,
        transport: httpx.AsyncBaseTransport,
        target: httpx.URL,
        url: str,
        headers: dict[bytes, bytes],
        max_bytes: int,
    ) -> _Answer:
        """One request and its response, every exception but ours translated."""
        in_body = False  # whether the response head has arrived: a protocol error after it is the body's
        try:
            if self._cookies:
                headers = with_cookie(headers, self._cookies.header(str(target)))
            request = httpx.Request("GET", target, headers=headers, extensions=self._extensions)
            response = latin1(await transport.handle_async_request(request))
            in_body = True
            response.request = request
            try:
                return await self._answer(response, target, url, max_bytes)
            finally:
                await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError) as exc:
            raise translate(exc, url, self.settings, in_body=in_body) from exc
        except (ValueError, OverflowError) as exc:
            # The last line: what the standard library under httpcore raises for a name or port it
            # cannot use (the IDNA codec, getaddrinfo) is refused by the URL checks beforehand;
            # anything else of the kind is still one failed fetch, never a crash of the run.
            raise errors.FetchError(f"GET {shown(url)}: cannot fetch: {detail(exc)}", url=url) from exc

    async def _answer(self, response: httpx.Response, target: httpx.URL, url: str, max_bytes: int) -> _Answer:
        """What a response means: a redirect to follow, a 304, a success's body, or a status error."""
        set_cookie = response.headers.get_list("set-cookie")
        if set_cookie:
            self._cookies.extract(str(target), set_cookie)
        status = response.status_code
        if status in REDIRECT_STATUSES:
            return status, redirect_target(url, response)
        if status == 304:
            await drain(response)  # so that the connection carries the next request
            return Response(url, url, 304, response_headers(response))
        if not 200 <= status < 300:
            raise status_error(response, url)
        content = await read_capped(response, url, max_bytes)
        return Response(url, url, status, response_headers(response), content)

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
            transports = self._transports
            if not isinstance(transports, Transports):  # injected: it carries every request
                yield transports
                return
            origin = f"{target.scheme}://{key}:{target.port}"
            transport = transports.borrow(origin, proxy, url)
            try:
                yield transport
            finally:
                await transports.give_back(transport, origin)
