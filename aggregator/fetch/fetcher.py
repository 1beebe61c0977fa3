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
import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import httpcore
import httpx

from aggregator import errors
from aggregator.fetch.cookies import CookieJar
from aggregator.fetch.exchanges import exchange_of
from aggregator.fetch.failures import detail, shown, translate
from aggregator.fetch.guard import Guard, ProxyChoice, Resolver
from aggregator.fetch.headers import default_headers, latin1, request_headers, response_headers, with_cookie
from aggregator.fetch.pacing import Pacer
from aggregator.fetch.responses import drain, read_capped, read_error_body, status_error
from aggregator.fetch.retries import Retries
from aggregator.fetch.robots import FETCH_ROBOTS_BYTES, UNREADABLE, Answer, Robots, agent_token
from aggregator.fetch.targets import parsed_url, redirect_target
from aggregator.fetch.transport import Transports
from aggregator.models import Exchange, Response, Settings
from aggregator.urls import registrable_domain

__all__ = ["Fetcher"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})

#: the final answer, or a redirect's status, target and exchange
_Answer = Response | tuple[int, httpx.URL, Exchange]


@dataclass(frozen=True)
class _Sent:
    """A request on its way, and how it went: what its exchange record is made of."""

    request: httpx.Request
    started: datetime
    proxied: bool

    def exchange(self, response: httpx.Response, payload: bytes, *, decoded: bool = False) -> Exchange:
        return exchange_of(self.request, response, self.started, payload, proxied=self.proxied, decoded=decoded)


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
        #: background requests (backfill) never take more than half the slots: live ones always find one
        self._background_slots = asyncio.Semaphore(max(1, settings.concurrency // 2))
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        #: robots.txt of every origin, read for its Sitemap: lines even when not obeyed
        self._robots_reader = Robots(agent_token(settings.user_agent), self._robots_txt)
        self._robots = self._robots_reader if settings.respect_robots else None
        self._pacer = Pacer()

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
        background: bool = False,
    ) -> Response:
        """GET ``url`` following redirects; a 2xx or 304 answer, else a :class:`errors.FetchError`.

        Every hop is checked against its origin's robots.txt (``settings.respect_robots``) and
        paced (:mod:`~aggregator.fetch.pacing`): ``background`` requests (backfill) keep to
        ``settings.backfill_rate`` per site and give way to live ones.

        Transient failures are retried (``settings.retries`` times) after a backoff or the
        server's Retry-After; no concurrency slot is held while waiting. ``etag`` and
        ``last_modified`` are sent as the very bytes they were received as (each character of
        ``Response.headers`` is one byte, Latin-1); a value HTTP cannot carry (a character beyond
        Latin-1, a line break, NUL) is left out of the request, and so is such an ``accept``
        (default: :data:`headers.DEFAULT_ACCEPT`).
        """
        headers = request_headers(self._headers, accept=accept, etag=etag, last_modified=last_modified)
        return await self._retries.run(self._attempt, url, headers, max_bytes, background)

    async def listed_sitemaps(self, url: str) -> list[str]:
        """The ``Sitemap:`` lines of the robots.txt of ``url``'s origin (read even when
        ``respect_robots`` is off: then they are only read, never obeyed)."""
        target = parsed_url(url)
        rules = await self._robots_reader.rules(f"{target.scheme}://{target.netloc.decode('ascii')}")
        return rules.sitemaps()

    async def _robots_txt(self, url: str) -> Answer:
        """A robots.txt as :class:`robots.Robots` reads it: (status, body). One attempt (it runs
        inside the attempts of the request that needs it); a host that cannot be reached at all
        fails that request with this failure (a network error, a time-out)."""
        headers = request_headers(self._headers, accept="text/plain", etag=None, last_modified=None)
        try:
            response = await self._attempt(url, headers, FETCH_ROBOTS_BYTES, False, robots=False)
        except errors.HTTPStatusError as exc:
            return exc.status, b""
        except errors.TooLarge:
            return UNREADABLE, f"larger than {FETCH_ROBOTS_BYTES} bytes".encode()
        except (errors.Blocked, errors.TooManyRedirects) as exc:
            # No rules to read where they would be: none apply (RFC 9309 follows up to 5 redirects).
            return 404, str(exc).encode()
        except errors.FetchError as exc:
            if exc.reason == "bad_url":
                return 404, str(exc).encode()
            raise
        return response.status, response.content

    # -- one attempt: the redirect chain under the total time limit ---------------------------

    async def _attempt(
        self, url: str, headers: dict[bytes, bytes], max_bytes: int, background: bool, *, robots: bool = True
    ) -> Response:
        total = self.settings.total_timeout
        current = url  # the URL being fetched, as the caller wrote it for the first hop
        visited: set[str] = set()
        permanent: str | None = None
        hops: list[Exchange] = []  # the redirects followed, for the record
        try:
            async with asyncio.timeout(total) as deadline:
                target = parsed_url(url)
                for hop in range(self.settings.max_redirects + 1):
                    if hop:
                        current = str(target)
                    visited.add(str(target))
                    proxy = self._proxies.for_target(target)
                    await self._guard.check(target, current, proxied=proxy is not None)
                    spacing = await self._spacing(target, current, deadline) if robots else 0.0
                    try:
                        async with self._slot(target, current, deadline, proxy, spacing, background) as transport:
                            answer = await self._exchange(
                                transport, target, current, headers, max_bytes, proxied=proxy is not None
                            )
                    except errors.HTTPStatusError as exc:
                        exc.exchanges = (*hops, *exc.exchanges)  # the redirects that led to it
                        raise
                    if isinstance(answer, Response):
                        return Response(
                            url=url,
                            final_url=current,
                            status=answer.status,
                            headers=answer.headers,
                            content=answer.content,
                            permanent_redirect=permanent,
                            exchanges=(*hops, *answer.exchanges),
                        )
                    status, target, exchange = answer
                    hops.append(exchange)
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
        *,
        proxied: bool,
    ) -> _Answer:
        """One request and its response, every exception but ours translated."""
        in_body = False  # whether the response head has arrived: a protocol error after it is the body's
        try:
            if self._cookies:
                headers = with_cookie(headers, self._cookies.header(str(target)))
            request = httpx.Request("GET", target, headers=headers, extensions=self._extensions)
            started = datetime.now(UTC)
            response = latin1(await transport.handle_async_request(request))
            in_body = True
            response.request = request
            try:
                return await self._answer(response, target, url, max_bytes, _Sent(request, started, proxied))
            finally:
                await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError) as exc:
            raise translate(exc, url, self.settings, in_body=in_body) from exc
        except (ValueError, OverflowError) as exc:
            # The last line: what the standard library under httpcore raises for a name or port it
            # cannot use (the IDNA codec, getaddrinfo) is refused by the URL checks beforehand;
            # anything else of the kind is still one failed fetch, never a crash of the run.
            raise errors.FetchError(f"GET {shown(url)}: cannot fetch: {detail(exc)}", url=url) from exc

    async def _answer(
        self, response: httpx.Response, target: httpx.URL, url: str, max_bytes: int, sent: _Sent
    ) -> _Answer:
        """What a response means: a redirect to follow, a 304, a success's body, or a status error."""
        set_cookie = response.headers.get_list("set-cookie")
        if set_cookie:
            self._cookies.extract(str(target), set_cookie)
        status = response.status_code
        if status in REDIRECT_STATUSES:
            return status, redirect_target(url, response), sent.exchange(response, b"")
        if status == 304:
            await drain(response)  # so that the connection carries the next request
            return Response(url, url, 304, response_headers(response), exchanges=(sent.exchange(response, b""),))
        if not 200 <= status < 300:
            error = status_error(response, url)
            body, decoded = await read_error_body(response)
            error.exchanges = (sent.exchange(response, body, decoded=decoded),)
            raise error
        content, wire = await read_capped(response, url, max_bytes)
        exchange = sent.exchange(response, content if wire is None else wire, decoded=wire is None)
        return Response(url, url, status, response_headers(response), content, exchanges=(exchange,))

    # -- robots.txt, pace and concurrency ------------------------------------------------------

    async def _spacing(self, target: httpx.URL, url: str, deadline: asyncio.Timeout) -> float:
        """Refuse ``url`` when its origin's robots.txt disallows it; the spacing the rules ask for.
        Reading the rules is not charged to the request's total time limit."""
        if self._robots is None:
            return 0.0
        origin = f"{target.scheme}://{target.netloc.decode('ascii')}"
        with _paused(deadline):
            try:
                return await self._robots.check(url, origin)
            except errors.RobotsRefused:
                raise
            except errors.FetchError as exc:  # the host did not answer for its robots.txt: nor for url
                raise _about(exc, url) from exc

    @asynccontextmanager
    async def _slot(
        self,
        target: httpx.URL,
        url: str,
        deadline: asyncio.Timeout,
        proxy: str | None,
        spacing: float,
        background: bool,
    ) -> AsyncIterator[httpx.AsyncBaseTransport]:
        """Hold the per-host and the global slot, wait for the site's turn, and lend a transport for
        ``target``'s origin; time spent queueing is not charged to the request's total time limit."""
        key = target.host.lower()
        host_slots = self._host_slots.get(key)
        if host_slots is None:
            host_slots = self._host_slots[key] = asyncio.Semaphore(self.settings.per_host_concurrency)
        if background:
            spacing = max(spacing, 1.0 / self.settings.backfill_rate)
        async with contextlib.AsyncExitStack() as held:
            with _paused(deadline):
                # Per host first: a request queued behind its host must not sit on a global slot.
                # The site's turn comes last: once paced, nothing else delays the request.
                site = registrable_domain(key)
                if background:
                    # One background request of the site at a time waits for its turn, holding no
                    # slot another request could use; then it takes the slots and claims the turn
                    # (waiting again only should a live request have taken it meanwhile).
                    async with self._pacer.background_turn(site):
                        await self._pacer.wait(site, spacing, background=True, claim=False)
                        await held.enter_async_context(self._background_slots)
                        await held.enter_async_context(host_slots)
                        await held.enter_async_context(self._slots)
                        await self._pacer.wait(site, spacing, background=True)
                else:
                    await held.enter_async_context(host_slots)
                    await held.enter_async_context(self._slots)
                    await self._pacer.wait(site, spacing)
            yield await self._lend(held, target, key, proxy, url)

    async def _lend(
        self, held: contextlib.AsyncExitStack, target: httpx.URL, key: str, proxy: str | None, url: str
    ) -> httpx.AsyncBaseTransport:
        """A transport for ``target``'s origin, given back when ``held`` closes."""
        transports = self._transports
        if not isinstance(transports, Transports):  # injected: it carries every request
            return transports
        origin = f"{target.scheme}://{key}:{target.port}"
        transport = transports.borrow(origin, proxy, url)
        held.push_async_callback(transports.give_back, transport, origin)
        return transport


def _about(exc: errors.FetchError, url: str) -> errors.FetchError:
    """The failure of a robots.txt fetch as the failure of the request for ``url`` that needed it
    (the same kind and reason, its message naming ``url``)."""
    again = copy.copy(exc)
    detail = str(exc).split(": ", 1)[-1] if str(exc).startswith("GET ") else str(exc)
    again.args = (f"GET {shown(url)}: {detail} (while reading robots.txt)",)
    again.url = url
    return again


@contextlib.contextmanager
def _paused(deadline: asyncio.Timeout) -> Iterator[None]:
    """Stop the clock of ``deadline`` (a request's total time limit) while the block waits its turn."""
    loop = asyncio.get_running_loop()
    when = deadline.when()
    remaining = None if when is None else when - loop.time()
    deadline.reschedule(None)
    try:
        yield
    finally:
        if remaining is not None:
            deadline.reschedule(loop.time() + remaining)
