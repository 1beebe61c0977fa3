"""Reads WARC records back one gzip member at a time, so that a torn or foreign record is named by its offset."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from warcio.bufferedreaders import BufferedReader  # type: ignore[import-untyped]
from warcio.exceptions import ArchiveLoadFailed  # type: ignore[import-untyped]
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader  # type: ignore[import-untyped]
from warcio.statusandheaders import (  # type: ignore[import-untyped]
    StatusAndHeaders,
    StatusAndHeadersParser,
    StatusAndHeadersParserException,
)

from aggregator.errors import CaptureError

#: Bytes read from the file at a time while a gzip member is decompressed.
_CHUNK = 1 << 16
#: Record types whose block is an HTTP message (status or request line, headers, payload).
_HTTP_TYPES = ("request", "response", "revisit")


def payload_digest(payload: bytes) -> str:
    """``sha1:`` and the base32 SHA-1 of ``payload``: the WARC-Payload-Digest warcio writes for it."""
    return "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode("ascii")


@dataclass(frozen=True)
class RefersTo:
    """The capture a revisit record stands for (WARC-Refers-To-Target-URI and -Date)."""

    url: str | None
    date: str | None


@dataclass(frozen=True)
class Record:
    """One WARC record as stored. HTTP header names and values are text in which each character is
    one byte (Latin-1), as in ``aggregator.models.Exchange``; a value comes without the white space
    around it, as any HTTP parser reads it."""

    file: str  # the file it was read from, as named to the reader (for messages)
    offset: int  # of its gzip member
    record_type: str  # WARC-Type
    url: str | None  # WARC-Target-URI (None for warcinfo)
    date: str  # WARC-Date, as written
    status: int | None  # the HTTP status of a response or revisit
    headers: tuple[tuple[str, str], ...]  # the HTTP headers, in their order
    payload: bytes  # the HTTP body as stored (content coding kept), or the whole block of a non-HTTP record
    digest: str | None  # WARC-Payload-Digest
    #: the payload's digest equals WARC-Payload-Digest; True for a revisit (it stores no payload)
    #: and for a record without a payload digest (warcinfo)
    digest_ok: bool
    refers_to: RefersTo | None  # for a revisit
    warc_headers: tuple[tuple[str, str], ...]  # every WARC header, in their order

    def header(self, name: str) -> str | None:
        """The first HTTP header called ``name`` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")

    def body(self) -> bytes:
        """The payload with its content coding (gzip, deflate, br) and any chunked transfer coding
        undone, by warcio's ``content_stream``, which is lenient as browsers are: a payload that
        does not decode from its first byte is taken as not coded, and one that breaks off midway
        gives what decoded before the break."""
        if not self.payload:
            return b""
        coding = (self.header("Content-Encoding") or "").strip().lower()
        if coding and coding != "identity" and coding not in _decoders():
            hint = ": the brotli package is not installed" if coding == "br" else ""
            raise CaptureError(f"{self.file} at {self.offset}: cannot undo content coding {coding!r}{hint}")
        http = StatusAndHeaders("", list(self.headers))
        stored = ArcWarcRecord("warc", self.record_type, None, BytesIO(self.payload), http, None, len(self.payload))
        try:
            return bytes(stored.content_stream().read())
        except Exception as err:  # the decoders' own errors (brotli.error, zlib.error): a broken body
            raise CaptureError(f"{self.file} at {self.offset}: cannot undo content coding {coding!r}: {err}") from err


def read_record(folder: Path, ref_file: str, offset: int) -> Record:
    """The record whose gzip member starts at ``offset`` of ``folder/ref_file``, or of its ``.open``
    name while its writer still writes it."""
    final = folder / ref_file
    # The final name is tried again last: the writer may rename the file between the first two tries.
    for path in (final, final.with_name(final.name + ".open"), final):
        try:
            with path.open("rb") as stream:
                return _record_at(stream, offset, str(path))[1]
        except FileNotFoundError:
            continue
        except OSError as err:
            raise CaptureError(f"{path} at {offset}: cannot read: {err.strerror or err}") from err
    raise CaptureError(f"{final} at {offset}: no such WARC file, open or closed")


def iter_records(path: Path, start: int = 0) -> Generator[tuple[int, int, Record], None, None]:
    """``(offset, length, record)`` of each gzip member of the file from ``start`` on, up to the size
    the file had when the iteration began. A member that is not one whole WARC record raises
    CaptureError naming its offset; the records before it have been yielded."""
    try:
        stream = path.open("rb")
    except OSError as err:
        raise CaptureError(f"{path} at {start}: cannot read: {err.strerror or err}") from err
    with stream:
        size = os.fstat(stream.fileno()).st_size
        offset = start
        while offset < size:
            length, record = _record_at(stream, offset, str(path))
            yield offset, length, record
            offset += length


def _record_at(stream: IO[bytes], offset: int, where: str) -> tuple[int, Record]:
    """The length of the gzip member at ``offset`` and the record it holds."""
    length, data = _member(stream, offset, where)
    return length, _parse(data, where, offset)


def _member(stream: IO[bytes], offset: int, where: str) -> tuple[int, bytes]:
    """The length of the gzip member at ``offset`` and its decompressed bytes."""
    stream.seek(offset)
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing only
    parts: list[bytes] = []
    fed = 0
    while not decompressor.eof:
        chunk = stream.read(_CHUNK)
        if not chunk:
            if fed == 0:
                raise CaptureError(f"{where} at {offset}: not a WARC record: the file ends before this offset")
            raise CaptureError(f"{where} at {offset}: torn record: the file ends inside its gzip member")
        try:
            parts.append(decompressor.decompress(chunk))
        except zlib.error as err:
            raise CaptureError(f"{where} at {offset}: not a WARC record: not a whole gzip member ({err})") from err
        fed += len(chunk)
    # unused_data: what was read past the member's end (the next member)
    return fed - len(decompressor.unused_data), b"".join(parts)


class _Latin1Parser(StatusAndHeadersParser):
    """warcio's header parser, reading each byte as one character (it tries UTF-8 first), so that
    the headers read back are the ones written, byte for byte."""

    @staticmethod
    def decode_header(line: bytes | str) -> str:
        return line if isinstance(line, str) else line.decode("latin-1")


_WARC_LOADER: Any = ArcWarcRecordLoader(verify_http=False, arc2warc=False)
_HTTP_PARSER: Any = _Latin1Parser([], verify=False)


def _parse(data: bytes, where: str, offset: int) -> Record:
    """The one WARC record that the decompressed member ``data`` must hold."""
    stream = BytesIO(data)
    first_line = data.split(b"\n", 1)[0][:80]
    try:
        loaded = _WARC_LOADER.parse_record_stream(stream, known_format="warc", no_record_parse=True)
    except (ArchiveLoadFailed, StatusAndHeadersParserException, EOFError) as err:
        raise CaptureError(f"{where} at {offset}: not a WARC record: it starts with {first_line!r}") from err
    warc: Any = loaded.rec_headers
    declared = warc.get_header("Content-Length")
    if declared is None or not declared.strip().isdigit():
        raise CaptureError(f"{where} at {offset}: not a WARC record: Content-Length is {declared!r}")
    block = bytes(loaded.raw_stream.read())
    if len(block) < int(declared):
        missing = int(declared) - len(block)
        raise CaptureError(f"{where} at {offset}: torn record: {missing} bytes shorter than its Content-Length")
    if stream.read().strip(b"\r\n"):
        raise CaptureError(f"{where} at {offset}: not a WARC record: its gzip member holds more than one record")

    record_type = str(loaded.rec_type or "")
    url: str | None = warc.get_header("WARC-Target-URI")
    headers: tuple[tuple[str, str], ...] = ()
    status: int | None = None
    payload = block
    if record_type in _HTTP_TYPES and url and url.startswith(("http:", "https:")) and block:
        head = BytesIO(block)
        try:
            http: Any = _HTTP_PARSER.parse(head)
        except (StatusAndHeadersParserException, EOFError) as err:
            raise CaptureError(f"{where} at {offset}: not an HTTP message in a {record_type} record") from err
        headers = tuple((str(name), str(value)) for name, value in http.headers)
        payload = block[head.tell() :]
        code = str(http.statusline).split(" ", 1)[0]
        if record_type != "request" and code.isdigit():
            status = int(code)

    digest: str | None = warc.get_header("WARC-Payload-Digest")
    refers_to = None
    if record_type == "revisit":
        refers_to = RefersTo(warc.get_header("WARC-Refers-To-Target-URI"), warc.get_header("WARC-Refers-To-Date"))
    return Record(
        file=where,
        offset=offset,
        record_type=record_type,
        url=url,
        date=str(warc.get_header("WARC-Date") or ""),
        status=status,
        headers=headers,
        payload=payload,
        digest=digest,
        digest_ok=record_type == "revisit" or digest is None or _digest_matches(payload, digest),
        refers_to=refers_to,
        warc_headers=tuple((str(name), str(value)) for name, value in warc.headers),
    )


def _digest_matches(payload: bytes, digest: str) -> bool:
    """Whether ``digest`` (``algorithm:value``, the value in base32, base16 or base64) is the payload's."""
    algorithm, _, value = digest.partition(":")
    try:
        expected = hashlib.new(algorithm.strip().lower(), payload).digest()
    except ValueError:  # an algorithm hashlib does not know
        return False
    value = value.strip()
    for decode in (base64.b32decode, base64.b16decode):
        try:
            if decode(value.upper()) == expected:
                return True
        except (binascii.Error, ValueError):
            pass
    try:
        return base64.b64decode(value, altchars=b"-_" if "-" in value or "_" in value else None) == expected
    except (binascii.Error, ValueError):
        return False


def _decoders() -> set[str]:
    """The content codings warcio can undo here (``br`` only when brotli is installed)."""
    return {str(name) for name in BufferedReader.get_supported_decompressors()}
