"""What the fetcher reads of a response: the body under a size cap, decoded here a bounded piece at a
time (:mod:`aggregator.fetch.decoding`), the end of a 304, and the error a status stands for.

Memory stays within a small multiple of the cap whatever the server sends: the body is read raw
(``aiter_raw``), never decoded by httpx, whose decoder inflates a whole network chunk in one call
(two layers of gzip make that gigabytes); the bytes on the wire are capped too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from aggregator import errors
from aggregator.fetch import decoding
from aggregator.fetch.failures import shown

__all__ = ["ERROR_BODY_BYTES", "drain", "parse_retry_after", "read_capped", "read_error_body", "status_error"]

#: The most of an error answer's body read for its capture (a "not found" page); a larger one is
#: captured without it.
ERROR_BODY_BYTES = 64 * 1024

_RETRY_AFTER_SECONDS = re.compile(r"^\d+(\.\d+)?$", re.ASCII)
#: the longest Retry-After believed, so that a wait is always a finite number of seconds
_MAX_RETRY_AFTER = 366 * 86400.0


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


def status_error(response: httpx.Response, url: str) -> errors.HTTPStatusError:
    """The error for a status that is neither a success, a redirect nor a 304, with its Retry-After."""
    status = response.status_code
    return errors.HTTPStatusError(
        f"GET {shown(url)}: HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip(),
        url=url,
        status=status,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


async def read_error_body(response: httpx.Response) -> tuple[bytes, bool]:
    """An error answer's body as it came, for its capture: ``(body, decoded)``, empty when larger
    than ERROR_BODY_BYTES or cut short (the status is the answer; its body is only its record)."""
    if response.is_stream_consumed:  # built in memory: only the decoded body exists
        content = response.content
        return (content if len(content) <= ERROR_BODY_BYTES else b""), True
    chunks: list[bytes] = []
    received = 0
    try:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > ERROR_BODY_BYTES:
                return b"", False
            chunks.append(chunk)
    except (httpx.HTTPError, httpx.StreamError, OSError):
        return b"", False
    return b"".join(chunks), False


async def drain(response: httpx.Response) -> None:
    """Read a 304's (empty) end of message: what lets the connection carry the next request (closed
    unread, it is dropped). Read raw: a body here (there should be none) is dropped undecoded."""
    if not response.is_stream_consumed:
        async for _ in response.aiter_raw():
            pass


async def read_capped(response: httpx.Response, url: str, max_bytes: int) -> tuple[bytes, bytes | None]:
    """The decoded body and the bytes on the wire (None: a response built in memory, of which only
    the decoded body exists), refused (:class:`errors.TooLarge`) as soon as it passes ``max_bytes``."""
    if response.is_stream_consumed:  # built in memory (httpx.MockTransport): httpx read and decoded it
        if len(response.content) > max_bytes:
            raise errors.TooLarge(f"GET {shown(url)}: body larger than {max_bytes} bytes", url=url)
        return response.content, None
    encoding = response.headers.get("content-encoding")
    decoder = decoding.decoder_for(encoding, url, shown(url)) if encoding else None
    if decoder is not None:
        return await _read_decoded(response, decoder, url, max_bytes)
    # Nothing to undo (identity, or only codings skipped): the body is the bytes on the wire.
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > max_bytes):
        raise errors.TooLarge(
            f"GET {shown(url)}: body larger than {max_bytes} bytes (Content-Length {shown(declared)})", url=url
        )
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > max_bytes:
            raise errors.TooLarge(f"GET {shown(url)}: body larger than {max_bytes} bytes", url=url)
        chunks.append(chunk)
    body = b"".join(chunks)
    return body, body


async def _read_decoded(
    response: httpx.Response, decoder: decoding.Decoder, url: str, max_bytes: int
) -> tuple[bytes, bytes]:
    """The body with its codings undone, and as it came. Memory: the pieces kept (at most
    ``max_bytes``, and the wire's, at most twice that), one network chunk, and per layer a zlib
    state, its unread input and one piece of at most decoding.PIECE bytes; twice that for a moment
    when the pieces are joined."""
    # The bytes on the wire are capped too, at twice the cap: a real compressed body is smaller than
    # itself decoded, and more is junk a decoder would read to no end (empty deflate blocks, bytes
    # after the end of the stream); the total time limit would be the only other bound.
    raw_limit = 2 * max_bytes + 1024
    chunks: list[bytes] = []
    wire: list[bytes] = []
    received = raw = 0
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        if raw > raw_limit:
            raise errors.TooLarge(f"GET {shown(url)}: compressed body larger than {raw_limit} bytes", url=url)
        wire.append(chunk)
        for piece in decoder.feed(chunk):
            received += len(piece)
            if received > max_bytes:
                raise errors.TooLarge(f"GET {shown(url)}: body larger than {max_bytes} bytes (decompressed)", url=url)
            chunks.append(piece)
    decoder.finish()
    return b"".join(chunks), b"".join(wire)
