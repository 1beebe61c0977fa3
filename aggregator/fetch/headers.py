"""The headers of a request and of a response, each character one byte (Latin-1).

Header bytes are read one way everywhere, so that a value sent back (an ETag, a Last-Modified, a
cookie) is the very bytes received, non-ASCII ones included; a value HTTP cannot carry (a
character beyond Latin-1, a line break, NUL) is never sent.
"""

from __future__ import annotations

import re

import httpx

from aggregator.models import Settings

__all__ = [
    "DEFAULT_ACCEPT",
    "FEED_ACCEPT",
    "PAGE_ACCEPT",
    "default_headers",
    "header_bytes",
    "latin1",
    "request_headers",
    "response_headers",
    "with_cookie",
]

#: Accept for a feed: RSS, Atom and XML first
FEED_ACCEPT = "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
#: Accept for an article page
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
#: Accept when the caller names none: a feed or a page
DEFAULT_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, application/xhtml+xml;q=0.8, */*;q=0.5"
)

#: a header value h11 sends: no NUL, CR, LF or other whitespace but inner spaces and tabs
_FIELD_VALUE = re.compile(rb"[^\x00\s]+(?:[ \t]+[^\x00\s]+)*")


def header_bytes(value: str) -> bytes | None:
    """``value`` as header bytes, each character one byte (as :func:`response_headers` reads them),
    or None when HTTP cannot carry it: a character beyond Latin-1, NUL, CR, LF (h11 refuses them)."""
    try:
        raw = value.strip(" \t").encode("latin-1")
    except UnicodeEncodeError:
        return None
    return raw if _FIELD_VALUE.fullmatch(raw) else None


def default_headers(settings: Settings) -> dict[bytes, bytes]:
    """The headers of every request: httpx's client defaults less ``Connection: keep-alive``
    (HTTP/1.1's default), with the encodings :mod:`aggregator.fetch.decoding` undoes. A user agent
    HTTP cannot carry gives way to the default one."""
    user_agent = header_bytes(settings.user_agent) or Settings.user_agent.encode("ascii")
    return {b"User-Agent": user_agent, b"Accept": DEFAULT_ACCEPT.encode("ascii"), b"Accept-Encoding": b"gzip, deflate"}


def request_headers(
    defaults: dict[bytes, bytes], *, accept: str | None, etag: str | None, last_modified: str | None
) -> dict[bytes, bytes]:
    """``defaults`` with the caller's Accept and validators, each left out when HTTP cannot carry it."""
    if not (accept or etag or last_modified):
        return defaults
    headers = dict(defaults)
    for name, value in ((b"Accept", accept), (b"If-None-Match", etag), (b"If-Modified-Since", last_modified)):
        raw = header_bytes(value) if value else None
        if raw:
            headers[name] = raw
    return headers


def with_cookie(headers: dict[bytes, bytes], cookie: str | None) -> dict[bytes, bytes]:
    """``headers`` and a Cookie header, when there is one HTTP can carry."""
    raw = header_bytes(cookie) if cookie else None
    return {**headers, b"Cookie": raw} if raw else headers


def latin1(response: httpx.Response) -> httpx.Response:
    """``response`` with its header bytes read as Latin-1 (httpx would pick ASCII, UTF-8 or Latin-1
    for each response as a whole)."""
    response.headers.encoding = "latin-1"
    return response


def response_headers(response: httpx.Response) -> dict[str, str]:
    """Lower-cased names, values as Latin-1 (see :func:`latin1`), repeated headers joined with
    commas as httpx joins them."""
    return dict(response.headers.items())
