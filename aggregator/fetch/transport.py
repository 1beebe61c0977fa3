"""The fetcher's transport: httpx's transport interface over httpcore, its sockets on
:class:`sockets.AsyncioBackend`, lent one keep-alive connection at a time.

:class:`Transport` is an ``httpx.AsyncBaseTransport`` (``httpx.Request`` in, ``httpx.Response``
out, as ``httpx.MockTransport`` in tests) over one httpcore pool of a single connection, built
with httpcore's public constructors and their ``network_backend`` argument: an
``httpcore.AsyncConnectionPool`` for a direct connection, an ``httpcore.AsyncHTTPProxy`` through a
proxy (absolute-form requests for http URLs, a CONNECT tunnel for https ones; an ``https://``
proxy is reached over TLS). HTTP itself (h11, keep-alive, the idle-connection check before reuse,
when to start TLS) stays httpcore's; every transport shares one TLS context.

* The request is mapped as it is (raw scheme, host, port and target, raw header bytes, its body
  stream, its extensions: the time-outs); the response comes back with httpcore's status, header
  bytes and extensions, its body streamed (``aiter_raw`` reads httpcore's chunks as they come)
  and closed with the response: read to its end, the connection is kept alive for the next
  request; closed early, it is dropped.
* Errors: httpcore's exceptions are raised as httpx's public class of the same name
  (``httpx.ConnectError``, ``httpx.ReadTimeout``, ``httpx.ProxyError``,
  ``httpx.RemoteProtocolError``, ...), message kept, while sending and while the body is read;
  :func:`failures.translate` turns them into the package's errors, as it does an injected
  transport's. Anything else (what the standard library under httpcore raises) passes unchanged.

:class:`Transports` lends them: a request borrows an idle transport already connected to its
origin, else a new one, and gives it back after the response; beyond :data:`MAX_IDLE` idle ones
the least recently used is closed. One pool per connection because an httpcore pool looks at
every connection it holds (a ``poll()`` of each idle socket, a count of the idle ones) whenever a
request starts or ends: the cost grows with the connections a busy run holds, and with one each
it stays that of one connection. The fetcher's slots bound how many are lent at once.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator

import httpcore
import httpx

from aggregator.fetch.failures import bad_proxy, detail
from aggregator.fetch.sockets import AsyncioBackend
from aggregator.fetch.targets import proxy_problem

__all__ = ["KEEPALIVE_EXPIRY", "MAX_IDLE", "Transport", "Transports"]

#: idle transports kept (each with at most one keep-alive connection)
MAX_IDLE = 32
#: seconds an idle connection is kept alive (httpx's client default)
KEEPALIVE_EXPIRY = 5.0

_HTTPX_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}
_CORE_ERRORS = tuple(_HTTPX_ERRORS)


def _httpx_error(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    """httpx's class for an httpcore exception: the one mapped from its most specific class."""
    mapped = next(_HTTPX_ERRORS[cls] for cls in type(exc).__mro__ if cls in _HTTPX_ERRORS)
    return mapped(str(exc), request=request)


class _Body(httpx.AsyncByteStream):
    """An httpcore response's body as httpx reads it, its errors raised as httpx's."""

    def __init__(self, response: httpcore.Response, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_stream():
                yield chunk
        except _CORE_ERRORS as exc:
            raise _httpx_error(exc, self._request) from exc

    async def aclose(self) -> None:
        await self._response.aclose()


class Transport(httpx.AsyncBaseTransport):
    """One keep-alive connection (direct, or through ``proxy``) as an httpx transport."""

    def __init__(
        self, *, tls: ssl.SSLContext, backend: httpcore.AsyncNetworkBackend, proxy: httpx.Proxy | None = None
    ) -> None:
        self._core: httpcore.AsyncConnectionPool
        if proxy is None:
            self._core = httpcore.AsyncConnectionPool(
                ssl_context=tls,
                max_connections=1,
                max_keepalive_connections=1,
                keepalive_expiry=KEEPALIVE_EXPIRY,
                network_backend=backend,
            )
            return
        url = proxy.url
        self._core = httpcore.AsyncHTTPProxy(
            proxy_url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            ssl_context=tls,
            proxy_ssl_context=tls if url.scheme == "https" else None,
            max_connections=1,
            max_keepalive_connections=1,
            keepalive_expiry=KEEPALIVE_EXPIRY,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._core.handle_async_request(core_request)
        except _CORE_ERRORS as exc:
            raise _httpx_error(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._core.aclose()


class Transports:
    """The transports of one fetcher, lent by origin (``scheme://host:port``); ``backend`` opens
    their connections (default: a :class:`sockets.AsyncioBackend`)."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._backend = backend or AsyncioBackend()
        self._tls = httpx.create_ssl_context()  # one for every connection: building one is costly
        self._idle: OrderedDict[Transport, str] = OrderedDict()  # each one's origin, least recently used first

    def borrow(self, origin: str, proxy: str | None, url: str) -> Transport:
        """An idle transport to ``origin``, else a new one through ``proxy`` (None: direct); ``url``
        (the URL being fetched) names the request in a ``bad_proxy`` error."""
        for transport, transport_origin in reversed(self._idle.items()):  # most recently used first
            if transport_origin == origin:
                del self._idle[transport]
                return transport
        return self._new(proxy, url)

    async def give_back(self, transport: Transport, origin: str) -> None:
        """Keep ``transport`` (and its connection, if still alive) for the next request to ``origin``."""
        self._idle[transport] = origin
        while len(self._idle) > MAX_IDLE:
            oldest, _ = self._idle.popitem(last=False)
            await oldest.aclose()

    async def aclose(self) -> None:
        """Close the idle transports' connections."""
        transports = list(self._idle)
        self._idle.clear()
        for transport in transports:
            await transport.aclose()

    def _new(self, proxy: str | None, url: str) -> Transport:
        if proxy is None:
            return Transport(tls=self._tls, backend=self._backend)
        problem = proxy_problem(proxy)
        if problem:
            raise bad_proxy(url, proxy, problem)
        try:
            return Transport(tls=self._tls, backend=self._backend, proxy=httpx.Proxy(proxy))
        except (ValueError, TypeError, httpx.InvalidURL) as exc:  # what httpx.Proxy or httpcore refuse
            raise bad_proxy(url, proxy, detail(exc)) from exc
