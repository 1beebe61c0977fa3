"""Writes every HTTP exchange as standard WARC/1.1 records, one gzip member each, into rotating files."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import socket
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from importlib import metadata
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from warcio.recordbuilder import RecordBuilder  # type: ignore[import-untyped]
from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from aggregator.capture.index import write_index
from aggregator.capture.read import payload_digest as payload_digest
from aggregator.errors import CaptureError
from aggregator.models import CaptureRef, Exchange

log = logging.getLogger("aggregator")

#: Seconds of the writer's clock between two rewrites of an open file's index.
INDEX_INTERVAL = 60.0
CONFORMS_TO = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
WARC_VERSION = "1.1"
#: The revisit profile of WARC/1.1: this response's payload is the one of the capture it refers to.
REVISIT_PROFILE: str = RecordBuilder.REVISIT_PROFILE_1_1
#: zlib's level for each record's gzip member. Level 3 costs about half of zlib's default (6) on news
#: pages for members about 12 % larger; level 1 saves little more CPU for another 6 % (the README has
#: the figures). A record reads the same at any level.
GZIP_LEVEL = 3
#: The level for a feed document's records: a feed is captured at every changed poll, mostly the items
#: it showed before, and level 1 costs a third of level 6's CPU for a body about 10 % larger (a
#: 100-item RSS feed: 0.2 against 0.57 ms, 5.6 against 5.1 KB). The record is the same once read.
FEED_GZIP_LEVEL = 1

# Builds records without a file: every record is complete (digests, lengths) before a file is touched.
_BUILDER: Any = RecordBuilder(warc_version=WARC_VERSION)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Sink:
    """The file as warcio's writer (its own gzip off) sees it: each record it writes is compressed
    here as one gzip member at ``level`` (``GZIP_LEVEL`` unless the writer says), ended when warcio
    ends the record (``flush``). Each write reaches the kernel whole (or raises), so that no buffer
    of ours holds bytes of a record the caller was told about, and ``tell`` is free."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.position = os.lseek(fd, 0, os.SEEK_END)
        self._member: Any = None  # the compressor of the record being written
        self.level = GZIP_LEVEL  # of the records written next

    def write(self, data: bytes) -> int:
        if self._member is None:
            self._member = zlib.compressobj(self.level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        self._write(self._member.compress(data))
        return len(data)

    def flush(self) -> None:
        """The end of a record: the rest of its gzip member."""
        if self._member is not None:
            member, self._member = self._member, None
            self._write(member.flush())

    def discard(self) -> None:
        """Forget a record half written (its write failed)."""
        self._member = None

    def tell(self) -> int:
        return self.position

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            if written <= 0:
                raise OSError(f"write returned {written}")
            view = view[written:]
        self.position += len(data)


class _ExactHead(StatusAndHeaders):
    """An HTTP start line and headers that warcio writes byte for byte: warcio's own encoding is
    ASCII with the other characters percent-encoded, which would change what crossed the wire."""

    def __init__(self, start_line: str, headers: Sequence[tuple[str, str]], where: str) -> None:
        first, _, rest = start_line.partition(" ")
        super().__init__(rest, list(headers), protocol=first)
        self.raw = _head_bytes(start_line, headers, where)

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        self.headers_buff = self.raw


@dataclass
class _OpenFile:
    """The file being written, and what its index will list."""

    name: str  # the final name
    path: Path  # its name while open (``name`` + ``.open``)
    fd: int  # holds the exclusive flock for as long as the file is written
    sink: _Sink
    writer: Any  # warcio's WARCWriter on ``sink``
    day: date  # the UTC day (of the clock) it was opened
    refs: list[CaptureRef] = field(default_factory=list)
    indexed: int = 0  # how many of ``refs`` the index on disk lists
    indexed_at: datetime | None = None  # clock time of the last index write


class WarcWriter:
    """Appends WARC/1.1 records to ``folder/<prefix>-<time>-<serial>-<host>-<pid>.warc.gz``, named
    ``….warc.gz.open`` while written; a new file when the open one reached ``max_bytes`` or the
    clock's UTC day changed. Not thread-safe: one thread uses a writer."""

    def __init__(
        self,
        folder: Path,
        *,
        max_bytes: int = 1_000_000_000,
        info: dict[str, str],
        prefix: str = "aggregator",
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.info = dict(info)
        self.prefix = prefix
        self.clock = clock
        self._serial = 0  # of the next file
        self._file: _OpenFile | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @property
    def open_path(self) -> Path | None:
        """The path of the file being written (its ``.open`` name), if any."""
        return self._file.path if self._file else None

    def write_exchange(self, exchange: Exchange, *, level: int = GZIP_LEVEL) -> CaptureRef:
        """A request record and its response record (compressed at zlib ``level``); the CaptureRef of
        the response."""
        when = _warc_date(exchange.started)
        response_id = _record_id()
        response_headers = _answer_headers("response", response_id, when, exchange)
        status_line = f"{exchange.http_version} {exchange.status} {exchange.reason}"
        head = _ExactHead(status_line, exchange.headers, exchange.url)
        response = _build("response", exchange.url, response_headers, head, exchange.payload)
        records = [self._request(exchange, when, response_id), response]
        return self._write(records, exchange.url, when, exchange.status, exchange.headers, level=level)

    def write_revisit(self, exchange: Exchange, original: CaptureRef) -> CaptureRef:
        """A request record and a revisit record (identical-payload-digest profile) standing for
        ``original``'s payload, with the new response's status line and headers."""
        if not original.digest:
            raise CaptureError(f"{exchange.url}: a revisit needs the payload digest of the capture it refers to")
        when = _warc_date(exchange.started)
        revisit_id = _record_id()
        revisit_headers = _answer_headers("revisit", revisit_id, when, exchange)
        revisit_headers += [
            ("WARC-Profile", REVISIT_PROFILE),
            ("WARC-Refers-To-Target-URI", original.url),
            ("WARC-Refers-To-Date", original.date),
            ("WARC-Payload-Digest", original.digest),
        ]
        status_line = f"{exchange.http_version} {exchange.status} {exchange.reason}"
        head = _ExactHead(status_line, exchange.headers, exchange.url)
        revisit = _build("revisit", exchange.url, revisit_headers, head, b"")
        records = [self._request(exchange, when, revisit_id), revisit]
        return self._write(records, exchange.url, when, exchange.status, exchange.headers, original.content_type)

    def write_response(
        self, url: str, date: datetime, status: int, headers: list[tuple[str, str]], payload: bytes
    ) -> CaptureRef:
        """A response record alone (no request, no IP address), for a page kept before the archive
        wrote WARC: ``date`` is when it was fetched. The status line is ``HTTP/1.1 <status> <phrase>``."""
        when = _warc_date(date)
        warc_headers = [
            ("WARC-Type", "response"),
            ("WARC-Record-ID", _record_id()),
            ("WARC-Date", when),
            ("WARC-Target-URI", url),
        ]
        status_line = f"HTTP/1.1 {status} {_phrase(status)}"
        response = _build("response", url, warc_headers, _ExactHead(status_line, headers, url), payload)
        return self._write([response], url, when, status, headers)

    def close(self) -> None:
        """Finish the open file, if any: fsync, its index, then its final name."""
        file, self._file = self._file, None
        if file is None:
            return
        final = file.path.with_name(file.name)
        try:
            os.fsync(file.fd)
            # The index names the final file and is written before the rename: a crash between the
            # two leaves an .open file, whose recovery writes the index again.
            write_index(final, file.refs)
            os.rename(file.path, final)
            fsync_folder(self.folder)
        except OSError as err:
            raise CaptureError(f"{file.path}: cannot close: {err.strerror or err}") from err
        finally:
            os.close(file.fd)  # releases the lock

    # -- records -----------------------------------------------------------------------------

    def _request(self, exchange: Exchange, when: str, concurrent_to: str) -> Any:
        parts = urlsplit(exchange.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        warc_headers = [
            ("WARC-Type", "request"),
            ("WARC-Record-ID", _record_id()),
            ("WARC-Date", when),
            ("WARC-Target-URI", exchange.url),
            ("WARC-Concurrent-To", concurrent_to),
        ]
        # The request line names HTTP/1.1 whatever the version used: an HTTP/2 request has no request
        # line, and the readers of request records expect an HTTP/1 one.
        head = _ExactHead(f"GET {target} HTTP/1.1", exchange.request_headers, exchange.url)
        return _build("request", exchange.url, warc_headers, head, b"")

    def _write(
        self,
        records: list[Any],
        url: str,
        when: str,
        status: int,
        headers: Sequence[tuple[str, str]],
        fallback_type: str | None = None,
        level: int = GZIP_LEVEL,
    ) -> CaptureRef:
        """Append ``records`` (the last one the response or revisit) to the current file, all or none,
        each compressed at zlib ``level``."""
        now = self.clock()
        file = self._current(now)
        start = file.sink.position
        file.sink.level = level
        try:
            for record in records:
                offset = file.sink.position
                file.writer.write_record(record)
        except BaseException as err:
            self._roll_back(file, start)
            if isinstance(err, OSError):
                raise CaptureError(f"{file.path} at {start}: cannot write: {err.strerror or err}") from err
            raise
        last = records[-1]
        content_type = _header(headers, "Content-Type")
        ref = CaptureRef(
            file=file.name,
            offset=offset,
            length=file.sink.position - offset,
            record_type=str(last.rec_type),
            url=url,
            date=when,
            status=status,
            digest=str(last.rec_headers.get_header("WARC-Payload-Digest")),
            content_type=content_type if content_type is not None else fallback_type,
        )
        file.refs.append(ref)
        self._index_if_due(file, now)
        return ref

    # -- files -------------------------------------------------------------------------------

    def _current(self, now: datetime) -> _OpenFile:
        """The file to write the next records to, after rotating the open one if it is due."""
        file = self._file
        if file is not None and (file.sink.position >= self.max_bytes or _day(now) != file.day):
            self.close()
            file = None
        if file is None:
            file = self._file = self._open(now)
        return file

    def _open(self, now: datetime) -> _OpenFile:
        """Create the next file: under a hidden name until it is locked and holds its warcinfo
        record, so that an ``.open`` file is always locked by its writer or left by a dead one."""
        name = (
            f"{self.prefix}-{now.astimezone(UTC):%Y%m%d%H%M%S%f}-{self._serial:05d}-{_hostname()}-{os.getpid()}.warc.gz"
        )
        self._serial += 1
        hidden = self.folder / f".{name}.open"
        path = self.folder / f"{name}.open"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # O_EXCL: a file is never opened for writing twice; O_APPEND: records only ever go at the end.
            fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise CaptureError(f"{hidden}: cannot create: {err.strerror or err}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else can hold its lock
            sink = _Sink(fd)
            writer = WARCWriter(sink, gzip=False, warc_version=WARC_VERSION)  # the sink compresses
            writer.write_record(self._warcinfo(name, now))
            os.rename(hidden, path)
        except BaseException as err:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(hidden)
            if isinstance(err, OSError):
                raise CaptureError(f"{hidden}: cannot start the file: {err.strerror or err}") from err
            raise
        return _OpenFile(name=name, path=path, fd=fd, sink=sink, writer=writer, day=_day(now))

    def _warcinfo(self, name: str, now: datetime) -> Any:
        fields = {
            "software": f"aggregator/{_version()}",
            "format": "WARC File Format 1.1",
            "conformsTo": CONFORMS_TO,
            "hostname": socket.gethostname(),
        }
        fields.update(self.info)  # the caller's settings, after ours (a key of ours it repeats takes its value)
        # application/warc-fields: one "name: value" line each, so no value may hold a line break
        body = "".join(f"{key}: {' '.join(str(value).splitlines())}\r\n" for key, value in fields.items())
        warc_headers = [
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", _record_id()),
            ("WARC-Date", _warc_date(now)),
            ("WARC-Filename", name),
        ]
        return _build("warcinfo", "", warc_headers, None, body.encode("utf-8"))

    def _roll_back(self, file: _OpenFile, start: int) -> None:
        """Cut a half-written exchange off; a file that cannot be cut is left (unlocked) to recovery."""
        try:
            file.sink.discard()
            os.ftruncate(file.fd, start)
            file.sink.position = start
        except OSError:
            log.warning("%s: could not cut a failed write at %d: left to recovery", file.path, start)
            self._file = None
            os.close(file.fd)

    def _index_if_due(self, file: _OpenFile, now: datetime) -> None:
        """Rewrite the open file's index when it lacks records and the last write is old enough.
        A failure here is not the caller's (its record is written): it is logged and retried."""
        due = file.indexed_at is None or (now - file.indexed_at).total_seconds() >= INDEX_INTERVAL
        if not due or file.indexed == len(file.refs):
            return
        try:
            write_index(file.path, file.refs)
        except CaptureError as err:
            log.warning("%s", err)
            return
        file.indexed, file.indexed_at = len(file.refs), now


def _answer_headers(record_type: str, record_id: str, when: str, exchange: Exchange) -> list[tuple[str, str]]:
    """The WARC headers every record of an answer (response, revisit) starts with."""
    headers = [
        ("WARC-Type", record_type),
        ("WARC-Record-ID", record_id),
        ("WARC-Date", when),
        ("WARC-Target-URI", exchange.url),
    ]
    if exchange.ip:
        headers.append(("WARC-IP-Address", exchange.ip))
    return headers


def _build(
    record_type: str, uri: str, warc_headers: list[tuple[str, str]], http: _ExactHead | None, payload: bytes
) -> Any:
    """A warcio record, its payload digest computed (the block digest and length are computed when
    it is written)."""
    return _BUILDER.create_warc_record(
        uri,
        record_type,
        payload=BytesIO(payload),
        length=len(payload),
        warc_headers_dict=dict(warc_headers),
        http_headers=http,
    )


def _head_bytes(start_line: str, headers: Sequence[tuple[str, str]], where: str) -> bytes:
    """The start line and headers as sent: each character one byte (Latin-1). A character beyond
    Latin-1 (never from the wire) is written as UTF-8."""
    lines = [start_line, *(f"{name}: {value}" for name, value in headers)]
    for line in lines:
        if "\r" in line or "\n" in line:
            raise CaptureError(f"{where}: a header line holds a line break: {line[:80]!r}")
    text = "".join(line + "\r\n" for line in lines) + "\r\n"
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _warc_date(moment: datetime) -> str:
    """WARC-Date with microseconds, in UTC: ``2024-05-01T10:11:12.123456Z``."""
    if moment.tzinfo is None:
        raise CaptureError(f"a WARC date must be timezone-aware: {moment.isoformat()}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """The first header called ``name``, as an HTTP parser reads it (white space around it is no part of it)."""
    wanted = name.lower()
    return next((value.strip() for key, value in headers if key.lower() == wanted), None)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _hostname() -> str:
    # the host name as a file name part: nothing but letters, digits, dots and dashes
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "localhost"


def _version() -> str:
    try:
        return metadata.version("aggregator")
    except metadata.PackageNotFoundError:
        return "unknown"


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
