"""The fetcher's failures as the package's own errors (:mod:`aggregator.errors`), in one-line messages.

Whatever a server or a URL contains, a message stays one printable line of bounded length
(:func:`shown`). :func:`translate` is the boundary for httpx's exceptions: those an injected
transport raises (``httpx.MockTransport`` in tests) and those :mod:`aggregator.fetch.transport`
raises for httpcore's, which it maps to httpx's public classes.
"""

from __future__ import annotations

import httpcore
import httpx

from aggregator import errors
from aggregator.models import Settings
from aggregator.text import collapse

__all__ = ["bad_proxy", "detail", "shown", "translate"]

#: characters of a URL or header shown in an error message
SHOWN = 300
#: httpcore's limit on a response head (status line and headers), beyond which h11 gives up
HEAD_LIMIT = getattr(httpcore.AsyncHTTP11Connection, "MAX_INCOMPLETE_EVENT_SIZE", 100 * 1024)
#: h11's words when what it must read whole (a head, a chunk's size line) passes HEAD_LIMIT
_BUFFER_TOO_LONG = "Receive buffer too long"


def shown(text: str) -> str:
    """``text`` (a URL, a header value) fit for a one-line message: at most SHOWN characters, with
    what a terminal or an UTF-8 encoder cannot take (control characters, lone surrogates) escaped."""
    if len(text) > SHOWN:
        text = text[: SHOWN - 3] + "..."
    if not text.isprintable():
        text = "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)
    return text or "''"


def detail(exc: BaseException) -> str:
    """An exception's message on one line (its type's name when it has none)."""
    return shown(collapse(str(exc)) or type(exc).__name__)


def bad_proxy(url: str, proxy: str, problem: str) -> errors.FetchError:
    return errors.FetchError(
        f"GET {shown(url)}: cannot use the proxy {shown(proxy)}: {problem}", url=url, reason="bad_proxy"
    )


def translate(exc: BaseException, url: str, settings: Settings, *, in_body: bool = False) -> errors.FetchError:
    """The package's error for an httpx (or socket) exception raised while fetching ``url``
    (``in_body``: after the response head arrived)."""
    prefix = f"GET {shown(url)}:"
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return _timeout(exc, url, settings)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return errors.FetchError(f"{prefix} invalid URL: {detail(exc)}", url=url, reason="bad_url")
    if isinstance(exc, httpx.DecodingError):
        return errors.NetworkError(f"{prefix} cannot decode the body: {detail(exc)}", url=url, reason="decoding")
    if isinstance(exc, httpx.ProxyError):
        return errors.NetworkError(f"{prefix} proxy error: {detail(exc)}", url=url)
    if isinstance(exc, httpx.ConnectError):
        return errors.NetworkError(f"{prefix} cannot connect: {detail(exc)}", url=url)
    if isinstance(exc, httpx.RemoteProtocolError) and str(exc) == _BUFFER_TOO_LONG:
        size = f"{HEAD_LIMIT // 1024} KB"
        if in_body:
            return errors.NetworkError(f"{prefix} a chunk header of the body is longer than {size}", url=url)
        return errors.TooLarge(f"{prefix} the server's response headers are larger than {size}", url=url)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return errors.NetworkError(f"{prefix} protocol error: {detail(exc)}", url=url)
    if isinstance(exc, httpx.TransportError | OSError):
        # ssl.SSLError is an OSError; the transport normally raises it as ConnectError already.
        return errors.NetworkError(f"{prefix} network error: {detail(exc)}", url=url)
    return errors.FetchError(f"{prefix} {detail(exc)}", url=url)


def _timeout(exc: BaseException, url: str, settings: Settings) -> errors.Timeout:
    """A time-out of one phase (httpx's classes name it), or the system's (a bare TimeoutError)."""
    prefix = f"GET {shown(url)}:"
    if not isinstance(exc, httpx.TimeoutException):
        return errors.Timeout(f"{prefix} timed out: {detail(exc)}", url=url)
    phase, limit = {
        httpx.ConnectTimeout: ("connect", settings.connect_timeout),
        httpx.ReadTimeout: ("read", settings.read_timeout),
        httpx.WriteTimeout: ("write", settings.connect_timeout),
        httpx.PoolTimeout: ("connection pool", settings.connect_timeout),
    }.get(type(exc), ("request", settings.read_timeout))
    return errors.Timeout(f"{prefix} timed out after {limit:g}s ({phase})", url=url)
