"""The URLs the fetcher connects to: parsed by httpx's own parser (so that the SSRF guard checks the
very host the connection goes to), resolved against the page for a redirect, and refused as
``bad_url`` or :class:`errors.Blocked` before anything is sent when no socket could use them.

Every URL that reaches a transport is an ``http`` or ``https`` URL with a host name of labels of
1 to 63 characters (valid IDNA) or an IP literal, and a port from 1 to 65535.
"""

from __future__ import annotations

import functools
import re

import httpx

from aggregator import errors
from aggregator.fetch.failures import detail, shown

__all__ = ["parsed_url", "proxy_problem", "redirect_target"]

#: a host name the socket layer can look up: labels of 1 to 63 characters (after IDNA)
_HOST_NAME = re.compile(r"(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}\.?", re.ASCII | re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)`` checked by :func:`_checked_target`, remembered: the same feed URLs are
    parsed on every poll (URLs are immutable; a refused one raises again each time)."""
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:  # ValueError: UnicodeError (IDNA, surrogates)
        raise errors.FetchError(f"GET {shown(url)}: invalid URL: {detail(exc)}", url=url, reason="bad_url") from exc
    return _checked_target(target, url, f"GET {shown(url)}:")


def redirect_target(url: str, response: httpx.Response) -> httpx.URL:
    """Where a redirect from ``url`` leads, resolved against it and checked like the first URL."""
    location = _location(response.headers.get("location", "")).strip()
    status = response.status_code
    if not location:
        raise errors.HTTPStatusError(
            f"GET {shown(url)}: HTTP {status} redirect without a Location header", url=url, status=status
        )
    try:
        target = response.request.url.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise errors.FetchError(
            f"GET {shown(url)}: redirect to an invalid URL {shown(location)!r}: {detail(exc)}",
            url=url,
            reason="bad_url",
        ) from exc
    return _checked_target(target, url, f"GET {shown(url)}: redirect to {shown(str(target))}:")


@functools.lru_cache(maxsize=64)
def proxy_problem(proxy: str) -> str | None:
    """Why the proxy URL ``proxy`` cannot be used, or None: only ``http://`` and ``https://``
    proxies are, with a host and port the sockets can use."""
    try:
        target = httpx.URL(proxy)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return f"invalid URL: {detail(exc)}"
    if target.scheme not in ("http", "https"):
        return f"unsupported scheme {shown(target.scheme)!r} (only http:// and https:// proxies are used)"
    return _host_problem(target)


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
        return f"invalid host name {shown(host)!r}"
    try:
        target.host  # noqa: B018 (decodes an "xn--" label, which may not be valid punycode)
    except ValueError:  # idna.IDNAError is a UnicodeError
        return f"invalid host name {shown(host)!r} (not valid IDNA)"
    return None
