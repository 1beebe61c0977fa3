"""Content-Encoding undone a bounded piece at a time, for the fetcher's size-capped body reader.

httpx decodes a body one network chunk at a time, but one chunk can inflate without limit: with
two layers of gzip a few kilobytes become gigabytes in a single decoder call, before any size cap
is looked at. Here every zlib call is given ``max_length``, so no step of any layer produces more
than :data:`PIECE` bytes, and the caller counts its cap as the pieces come.

Codings (RFC 9110 section 8.4: listed in the order applied, so undone last-first): ``identity``;
``gzip`` and ``x-gzip`` (several gzip members one after another are one body; bytes after the last
member that do not start another are ignored, as zlib and httpx ignore them); ``deflate``, the
zlib format (RFC 1950) as specified or raw deflate (RFC 1951) as some servers send and browsers
accept. Any other value (``br`` and ``zstd``, whose decoders are optional packages, or a bogus
one such as ``utf-8``) is skipped, as httpx 0.28 skips the codings it has no decoder for: the
codings around it are still undone, and the body keeps that coding.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

from aggregator import errors

__all__ = ["MAX_LAYERS", "PIECE", "Decoder", "decoder_for"]

#: the most output any one decompression step produces, in every layer
PIECE = 32 * 1024
#: layers undone at most: each holds a zlib state (with its window of up to 32 KB); servers apply one, rarely two
MAX_LAYERS = 8

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP, _ZLIB, _RAW = 16 + zlib.MAX_WBITS, zlib.MAX_WBITS, -zlib.MAX_WBITS


class _Layer(Protocol):
    name: str

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data`` (each at most PIECE bytes); raises zlib.error."""

    def complete(self) -> bool:
        """Whether the data fed so far ends where the coding's stream ends (or nothing was fed)."""


def _inflate(stream: zlib._Decompress, data: bytes) -> Iterator[bytes]:
    """Feed ``data`` to ``stream`` and drain it, PIECE bytes at most per step."""
    while True:
        piece = stream.decompress(data, PIECE)
        if piece:
            yield piece
        data = stream.unconsumed_tail
        # Output filled to the limit may leave more pending inside zlib even with no input left.
        if stream.eof or (not data and len(piece) < PIECE):
            return


class _Gzip:
    """gzip members one after another (RFC 1952 section 2.2)."""

    name = "gzip"

    def __init__(self) -> None:
        self._stream: zlib._Decompress | None = zlib.decompressobj(_GZIP)
        self._between = b""  # after a member: the first bytes of what follows (fewer than 2)
        self._fed = False
        self._done = False  # what follows the last member is not gzip: ignored

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._fed = self._fed or bool(data)
        while data and not self._done:
            if self._stream is None:  # between members
                data = self._between + data
                if len(data) < len(_GZIP_MAGIC):
                    self._between = data
                    return
                self._between = b""
                if not data.startswith(_GZIP_MAGIC):
                    self._done = True
                    return
                self._stream = zlib.decompressobj(_GZIP)
            yield from _inflate(self._stream, data)
            if not self._stream.eof:
                return
            data = self._stream.unused_data
            self._stream = None

    def complete(self) -> bool:
        return not self._fed or self._stream is None or self._stream.eof


class _Deflate:
    """deflate: zlib-wrapped if its first two bytes are a zlib header, else raw."""

    name = "deflate"

    def __init__(self) -> None:
        self._stream: zlib._Decompress | None = None
        self._head = b""  # the first byte, until the second arrives

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._stream is None:
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return
            self._stream = zlib.decompressobj(_ZLIB if _zlib_header(data) else _RAW)
        if not self._stream.eof:  # bytes after the end of the stream are ignored
            yield from _inflate(self._stream, data)

    def complete(self) -> bool:
        return self._stream.eof if self._stream is not None else not self._head


def _zlib_header(data: bytes) -> bool:
    """RFC 1950's header check: method 8 (deflate), a window of at most 32 KB, FCHECK."""
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


_LAYERS: dict[str, type[_Gzip] | type[_Deflate]] = {"gzip": _Gzip, "x-gzip": _Gzip, "deflate": _Deflate}


class Decoder:
    """Undoes a body's codings as its raw bytes arrive (:meth:`feed`), then checks its end (:meth:`finish`)."""

    def __init__(self, layers: list[_Layer], url: str, shown_url: str) -> None:
        self._layers = layers  # in the order they are undone: the last applied first
        self._url = url
        self._shown = shown_url

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded body pieces that ``data`` (raw bytes from the wire) completes, each at most PIECE
        bytes; a corrupt stream raises :class:`errors.NetworkError` (reason ``decoding``)."""
        return self._through(0, data)

    def finish(self) -> None:
        """At the end of the raw body: a stream cut short raises :class:`errors.NetworkError`."""
        for layer in self._layers:
            if not layer.complete():
                raise self._error(f"the {layer.name} data is cut short (the body ends before it does)")

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            yield data
            return
        for piece in self._guarded(self._layers[index], data):
            # The next layer's work happens here, outside _guarded: its errors are its own.
            yield from self._through(index + 1, piece)

    def _guarded(self, layer: _Layer, data: bytes) -> Iterator[bytes]:
        try:
            yield from layer.feed(data)
        except zlib.error as exc:
            raise self._error(f"the {layer.name} data is corrupt ({exc})") from exc

    def _error(self, what: str) -> errors.NetworkError:
        return errors.NetworkError(
            f"GET {self._shown}: cannot decode the body: {what}", url=self._url, reason="decoding"
        )


def decoder_for(content_encoding: str, url: str, shown_url: str) -> Decoder | None:
    """The decoder for a Content-Encoding value (several headers joined with commas); None when
    there is nothing to undo. ``shown_url`` is ``url`` as error messages show it."""
    kinds = [_LAYERS[c] for c in (c.strip().lower() for c in reversed(content_encoding.split(","))) if c in _LAYERS]
    if not kinds:
        return None
    if len(kinds) > MAX_LAYERS:  # counted before any zlib state is allocated
        raise errors.NetworkError(
            f"GET {shown_url}: cannot decode the body: it is compressed {len(kinds)} times over, "
            f"more than the {MAX_LAYERS} layers undone",
            url=url,
            reason="decoding",
        )
    return Decoder([kind() for kind in kinds], url, shown_url)
