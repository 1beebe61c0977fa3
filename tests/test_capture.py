"""The WARC capture package: real files, read back with warcio's own reader and checker as well as
ours, indexed as cdxj-indexer would, rotated, and recovered after a writer was killed."""

from __future__ import annotations

import base64
import fcntl
import gzip
import hashlib
import importlib.util
import io
import itertools
import os
import re
import signal
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cdxj_indexer.main import write_cdx_index  # type: ignore[import-untyped]
from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]
from warcio.cli import main as warcio_cli  # type: ignore[import-untyped]

from aggregator.capture import (
    WarcWriter,
    cdxj_line,
    index_file,
    index_path,
    iter_records,
    payload_digest,
    read_record,
    recover,
)
from aggregator.errors import CaptureError
from aggregator.models import CaptureRef, Exchange

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2024, 5, 1, 10, 11, 12, 345678, tzinfo=UTC)
NAME = re.compile(r"^aggregator-(\d{20})-(\d{5})-[A-Za-z0-9.-]+-(\d+)\.warc\.gz$")


def exchange(
    url: str = "https://tass.com/politics/1?page=2",
    *,
    payload: bytes = b"<html><body>news</body></html>",
    status: int = 200,
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html; charset=utf-8"),),
    started: datetime = START,
    ip: str | None = "203.0.113.7",
) -> Exchange:
    return Exchange(
        url=url,
        started=started,
        request_headers=(("Host", "tass.com"), ("User-Agent", "aggregator-test"), ("Accept-Encoding", "gzip")),
        http_version="HTTP/1.1",
        status=status,
        reason="OK" if status == 200 else "Not Modified",
        headers=headers,
        payload=payload,
        ip=ip,
    )


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def serial(name: str) -> str:
    match = NAME.match(name)
    assert match is not None, name
    return match.group(2)


def warc_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.warc.gz"))


@dataclass
class Seen:
    """A record as warcio's ArchiveIterator reads it."""

    type: str
    warc: dict[str, str]  # the WARC headers
    http: Any  # warcio's StatusAndHeaders (protocol, statusline, headers), or None
    payload: bytes  # what follows the HTTP headers, as stored


def warcio_records(path: Path) -> list[Seen]:
    """Every record of the file as warcio's ArchiveIterator reads it."""
    with path.open("rb") as stream:
        return [
            Seen(record.rec_type, dict(record.rec_headers.headers), record.http_headers, record.raw_stream.read())
            for record in ArchiveIterator(stream)
        ]


def warcio_check(path: Path) -> int:
    """The exit status of ``warcio check`` on the file."""
    with pytest.raises(SystemExit) as done:
        warcio_cli(["check", str(path)])
    return int(done.value.code or 0)


def reference_index(path: Path, tmp_path: Path) -> list[str]:
    """cdxj-indexer's sorted index of the file."""
    out = tmp_path / "reference.cdxj"
    write_cdx_index(str(out), [str(path)], {"sort": True})
    return out.read_text(encoding="utf-8").splitlines()


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


# -- what is written -------------------------------------------------------------------------


def test_opening_a_writer_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "warc"
    with WarcWriter(folder, info={}):
        pass
    assert not folder.exists()


def test_an_exchange_is_a_request_and_a_response_record_warcio_reads(tmp_path: Path) -> None:
    payloads = [b"first page", b"second page \x00\xff"]
    with WarcWriter(tmp_path, info={"user_agent": "aggregator-test", "concurrency": "8"}) as writer:
        refs = [
            writer.write_exchange(exchange(f"https://tass.com/a/{n}?q={n}", payload=p)) for n, p in enumerate(payloads)
        ]
    [path] = warc_files(tmp_path)
    assert NAME.match(path.name) and refs[0].file == path.name
    records = warcio_records(path)
    assert [r.type for r in records] == ["warcinfo", "request", "response", "request", "response"]

    info = records[0]
    assert info.warc["WARC-Filename"] == path.name
    fields = dict(line.split(": ", 1) for line in info.payload.decode().splitlines())
    assert fields["format"] == "WARC File Format 1.1"
    assert fields["conformsTo"] == "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
    assert fields["software"].startswith("aggregator/")
    assert fields["hostname"] and fields["user_agent"] == "aggregator-test" and fields["concurrency"] == "8"

    for n, (request, response) in enumerate([(records[1], records[2]), (records[3], records[4])]):
        req, resp = request.warc, response.warc
        assert req["WARC-Target-URI"] == resp["WARC-Target-URI"] == f"https://tass.com/a/{n}?q={n}"
        assert req["WARC-Date"] == resp["WARC-Date"] == "2024-05-01T10:11:12.345678Z"
        assert req["WARC-Concurrent-To"] == resp["WARC-Record-ID"]
        assert resp["WARC-IP-Address"] == "203.0.113.7"
        assert "WARC-IP-Address" not in req
        assert request.http.protocol == "GET" and request.http.statusline == f"/a/{n}?q={n} HTTP/1.1"
        assert request.http.headers == [
            ("Host", "tass.com"),
            ("User-Agent", "aggregator-test"),
            ("Accept-Encoding", "gzip"),
        ]
        assert response.http.protocol == "HTTP/1.1" and response.http.statusline == "200 OK"
        assert response.payload == payloads[n]
        assert resp["WARC-Payload-Digest"] == sha1_b32(payloads[n]) == refs[n].digest == payload_digest(payloads[n])
        assert refs[n].date == "2024-05-01T10:11:12.345678Z" and refs[n].status == 200
        assert refs[n].record_type == "response" and refs[n].content_type == "text/html; charset=utf-8"
    assert warcio_check(path) == 0


def test_each_record_is_one_gzip_member(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}) as writer:
        refs = [writer.write_exchange(exchange(f"https://tass.com/{n}", payload=os.urandom(5000))) for n in range(3)]
    data = warc_files(tmp_path)[0].read_bytes()
    for ref in refs:
        member = data[ref.offset : ref.offset + ref.length]
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        decompressor.decompress(member)
        assert decompressor.eof and not decompressor.unused_data  # exactly one member
        records = list(ArchiveIterator(io.BytesIO(gzip.decompress(member))))
        assert [r.rec_type for r in records] == ["response"]
    # and the members tile the file: our reader's offsets and lengths add up to its size
    spans = [(offset, length) for offset, length, _ in iter_records(warc_files(tmp_path)[0])]
    assert spans[0][0] == 0 and sum(length for _, length in spans) == len(data)
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(spans))


def test_headers_are_written_byte_for_byte(tmp_path: Path) -> None:
    headers = (("Content-Type", "text/html"), ("X-Title", "caf\xe9 \xd0\xbf"), ("set-cookie", "a=1;  Path=/"))
    with WarcWriter(tmp_path, info={}) as writer:
        ref = writer.write_exchange(exchange(headers=headers))
    path = warc_files(tmp_path)[0]
    raw = gzip.decompress(path.read_bytes()[ref.offset : ref.offset + ref.length])
    assert b"X-Title: caf\xe9 \xd0\xbf\r\nset-cookie: a=1;  Path=/\r\n" in raw
    assert read_record(tmp_path, ref.file, ref.offset).headers == headers
    assert warcio_check(path) == 0


def test_an_http2_exchange(tmp_path: Path) -> None:
    h2 = Exchange(
        url="https://tass.com/",
        started=START,
        request_headers=(("Host", "tass.com"),),
        http_version="HTTP/2",
        status=200,
        reason="",
        headers=(("content-type", "text/html"),),
        payload=b"<html/>",
    )
    with WarcWriter(tmp_path, info={}) as writer:
        ref = writer.write_exchange(h2)
    [path] = warc_files(tmp_path)
    raw = gzip.decompress(path.read_bytes()[ref.offset : ref.offset + ref.length])
    assert b"\r\n\r\nHTTP/2 200 \r\ncontent-type: text/html\r\n\r\n<html/>" in raw  # the status line as given
    request = warcio_records(path)[1]
    assert request.http.statusline == "/ HTTP/1.1"  # an HTTP/2 request has no request line: an HTTP/1.1 one
    assert "WARC-IP-Address" not in warcio_records(path)[2].warc  # no address known
    assert read_record(tmp_path, ref.file, ref.offset).status == 200 and ref.status == 200
    assert warcio_check(path) == 0
    assert index_path(path).read_text().splitlines() == reference_index(path, tmp_path)


def test_a_naive_date_is_refused(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}) as writer, pytest.raises(CaptureError, match="timezone-aware"):
        writer.write_response("https://tass.com/", datetime(2020, 1, 1), 200, [], b"")
    assert not list(tmp_path.iterdir())


def test_a_header_with_a_line_break_is_refused(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}) as writer, pytest.raises(CaptureError, match="line break"):
        writer.write_exchange(exchange(headers=(("X-Bad", "a\r\nInjected: 1"),)))


def test_a_revisit_record_refers_to_the_original(tmp_path: Path) -> None:
    later = START + timedelta(hours=3)
    with WarcWriter(tmp_path, info={}) as writer:
        original = writer.write_exchange(exchange(payload=b"same"))
        not_modified = exchange(payload=b"", status=304, headers=(("ETag", '"v1"'),), started=later)
        revisit = writer.write_revisit(not_modified, original)
    records = warcio_records(warc_files(tmp_path)[0])
    assert [r.type for r in records] == ["warcinfo", "request", "response", "request", "revisit"]
    warc, http = records[4].warc, records[4].http
    assert warc["WARC-Profile"] == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    assert warc["WARC-Refers-To-Target-URI"] == original.url
    assert warc["WARC-Refers-To-Date"] == original.date == "2024-05-01T10:11:12.345678Z"
    assert warc["WARC-Payload-Digest"] == original.digest == revisit.digest
    assert warc["WARC-Date"] == "2024-05-01T13:11:12.345678Z"
    assert records[3].warc["WARC-Concurrent-To"] == warc["WARC-Record-ID"]
    assert http.protocol == "HTTP/1.1" and http.statusline == "304 Not Modified"
    assert http.headers == [("ETag", '"v1"')]
    assert records[4].payload == b""
    assert int(warc["Content-Length"]) == len(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n')
    assert revisit.record_type == "revisit" and revisit.status == 304
    assert revisit.content_type == "text/html; charset=utf-8"  # the 304 has none: the original's
    back = read_record(tmp_path, revisit.file, revisit.offset)
    assert back.refers_to is not None and back.refers_to.url == original.url and back.refers_to.date == original.date
    assert back.digest_ok and back.status == 304 and back.payload == b""
    assert warcio_check(warc_files(tmp_path)[0]) == 0


def test_write_response_stores_a_page_kept_before_warc(tmp_path: Path) -> None:
    fetched = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
    with WarcWriter(tmp_path, info={}) as writer:
        ref = writer.write_response(
            "https://tass.com/old", fetched, 200, [("Content-Type", "text/html")], b"<p>old page</p>"
        )
    records = warcio_records(warc_files(tmp_path)[0])
    assert [r.type for r in records] == ["warcinfo", "response"]
    warc = records[1].warc
    assert warc["WARC-Date"] == "2021-03-04T05:06:07.000000Z" == ref.date
    assert "WARC-IP-Address" not in warc and "WARC-Concurrent-To" not in warc
    assert records[1].http.statusline == "200 OK"
    assert records[1].payload == b"<p>old page</p>"
    assert ref.digest == sha1_b32(b"<p>old page</p>")
    assert warcio_check(warc_files(tmp_path)[0]) == 0


def test_a_content_coded_payload_is_stored_as_given_and_body_decodes_it(tmp_path: Path) -> None:
    page = b"<html>" + b"x" * 2000 + b"</html>"
    coded = gzip.compress(page)
    deflated = zlib.compress(page)
    with WarcWriter(tmp_path, info={}) as writer:
        ref = writer.write_exchange(exchange(payload=coded, headers=(("Content-Encoding", "gzip"),)))
        deflate_ref = writer.write_exchange(exchange(payload=deflated, headers=(("Content-Encoding", "Deflate"),)))
        plain_ref = writer.write_exchange(exchange(payload=page, headers=(("Content-Type", "text/html"),)))
    assert warcio_records(warc_files(tmp_path)[0])[2].payload == coded
    record = read_record(tmp_path, ref.file, ref.offset)
    assert record.payload == coded and record.digest == sha1_b32(coded) and record.digest_ok
    assert record.body() == page
    assert read_record(tmp_path, deflate_ref.file, deflate_ref.offset).body() == page
    assert read_record(tmp_path, plain_ref.file, plain_ref.offset).body() == page


@pytest.mark.skipif(importlib.util.find_spec("brotli") is not None, reason="brotli is installed")
def test_a_brotli_body_needs_brotli(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}) as writer:
        ref = writer.write_exchange(exchange(payload=b"\x8b\x03\x80hi\x03", headers=(("Content-Encoding", "br"),)))
    record = read_record(tmp_path, ref.file, ref.offset)
    assert record.payload == b"\x8b\x03\x80hi\x03"  # stored all the same
    with pytest.raises(CaptureError, match=rf"at {ref.offset}: cannot undo content coding 'br': the brotli package"):
        record.body()


def test_digest_ok_is_false_for_a_payload_changed_on_disk(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}) as writer:
        ref = writer.write_exchange(exchange(payload=b"the true payload"))
    path = warc_files(tmp_path)[0]
    data = path.read_bytes()
    member = gzip.decompress(data[ref.offset : ref.offset + ref.length]).replace(b"true", b"fake")
    path.write_bytes(data[: ref.offset] + gzip.compress(member) + data[ref.offset + ref.length :])
    assert not read_record(tmp_path, ref.file, ref.offset).digest_ok


# -- files -----------------------------------------------------------------------------------


def test_files_rotate_by_size(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}, max_bytes=1) as writer:
        refs = [writer.write_exchange(exchange(f"https://tass.com/{n}")) for n in range(3)]
    files = warc_files(tmp_path)
    assert [ref.file for ref in refs] == [f.name for f in files]
    assert [serial(f.name) for f in files] == ["00000", "00001", "00002"]
    for f in files:
        assert [r.type for r in warcio_records(f)] == ["warcinfo", "request", "response"]
    assert not list(tmp_path.glob("*.open"))


def test_a_file_holds_records_until_it_reaches_max_bytes(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}, max_bytes=20_000) as writer:
        refs = [writer.write_exchange(exchange(payload=os.urandom(6000))) for _ in range(6)]
    files = warc_files(tmp_path)
    assert len(files) == 2 and len({ref.file for ref in refs}) == 2
    first = files[0].stat().st_size
    assert first >= 20_000 and first - refs[2].length < 20_000 + refs[0].offset  # rotated once it passed the mark


def test_files_rotate_when_the_utc_day_changes(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 5, 1, 23, 59, 30, tzinfo=UTC))
    with WarcWriter(tmp_path, info={}, clock=clock) as writer:
        first = writer.write_exchange(exchange())
        clock.now += timedelta(seconds=20)
        same = writer.write_exchange(exchange())
        clock.now += timedelta(seconds=20)  # 00:00:10 the next day
        second = writer.write_exchange(exchange())
    assert first.file == same.file != second.file
    assert first.file.startswith("aggregator-20240501235930") and second.file.startswith("aggregator-20240502000010")
    assert serial(second.file) == "00001"
    assert len(warc_files(tmp_path)) == 2


def test_the_open_file_is_named_open_locked_and_readable(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, info={}, prefix="crawl")
    ref = writer.write_exchange(exchange())
    assert writer.open_path == tmp_path / (ref.file + ".open") and writer.open_path.exists()
    assert not (tmp_path / ref.file).exists() and ref.file.startswith("crawl-")
    fd = os.open(writer.open_path, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    assert read_record(tmp_path, ref.file, ref.offset).payload == exchange().payload  # from the .open file
    writer.close()
    assert (tmp_path / ref.file).exists() and read_record(tmp_path, ref.file, ref.offset).status == 200
    # a closed file is never written again: the next record starts the next file
    again = writer.write_exchange(exchange())
    writer.close()
    assert again.file != ref.file and NAME.match(again.file.replace("crawl-", "aggregator-"))


def test_a_failed_write_leaves_no_partial_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with WarcWriter(tmp_path, info={}) as writer:
        kept = writer.write_exchange(exchange(payload=b"kept"))
        assert writer.open_path is not None
        open_path = writer.open_path
        size = open_path.stat().st_size
        real_write, calls = os.write, []

        def failing_write(fd: int, data: bytes | memoryview) -> int:
            calls.append(len(data))
            if len(calls) > 2:  # the request went out, the response breaks off
                raise OSError(28, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", failing_write)
        with pytest.raises(CaptureError, match=r"at \d+: cannot write: No space left on device"):
            writer.write_exchange(exchange(payload=os.urandom(100_000)))
        monkeypatch.undo()
        assert open_path.stat().st_size == size
        after = writer.write_exchange(exchange(payload=b"after"))
    path = warc_files(tmp_path)[0]
    assert [r.payload for r in warcio_records(path) if r.type == "response"] == [b"kept", b"after"]
    assert after.offset > kept.offset and warcio_check(path) == 0


# -- reading ---------------------------------------------------------------------------------


def test_read_errors_name_the_file_and_the_offset(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}) as writer:
        ref = writer.write_exchange(exchange())
    with pytest.raises(CaptureError, match=r"nothere\.warc\.gz at 0: no such WARC file"):
        read_record(tmp_path, "nothere.warc.gz", 0)
    with pytest.raises(CaptureError, match=rf"{re.escape(ref.file)} at {ref.offset + 3}: not a WARC record"):
        read_record(tmp_path, ref.file, ref.offset + 3)
    with pytest.raises(CaptureError, match=rf"at {10**9}: not a WARC record: the file ends before"):
        read_record(tmp_path, ref.file, 10**9)
    path = tmp_path / ref.file
    path.write_bytes(path.read_bytes()[: ref.offset + ref.length // 2])
    with pytest.raises(CaptureError, match=rf"{re.escape(ref.file)} at {ref.offset}: torn record"):
        read_record(tmp_path, ref.file, ref.offset)
    # a whole gzip member that is not a WARC record
    path.write_bytes(gzip.compress(b"HTTP/1.1 200 OK\r\n\r\n"))
    with pytest.raises(CaptureError, match=r"at 0: not a WARC record: it starts with"):
        read_record(tmp_path, ref.file, 0)
    # a whole member whose record is shorter than its Content-Length
    path.write_bytes(gzip.compress(b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 100\r\n\r\nshort"))
    with pytest.raises(CaptureError, match=r"at 0: torn record: 95 bytes shorter than its Content-Length"):
        read_record(tmp_path, ref.file, 0)


# -- the index -------------------------------------------------------------------------------


def test_the_index_is_what_cdxj_indexer_writes(tmp_path: Path) -> None:
    folder = tmp_path / "warc"
    with WarcWriter(folder, info={}) as writer:
        first = writer.write_exchange(exchange("https://tass.com/z/last?b=2&a=1"))
        writer.write_exchange(exchange("http://www.tass.ru/Путин", headers=()))  # no Content-Type: no "mime"
        writer.write_exchange(exchange("https://tass.com/a/first", headers=(("content-type", "TEXT/HTML;q=1"),)))
        writer.write_revisit(exchange("https://tass.com/z/last?b=2&a=1", status=304, headers=()), first)
        writer.write_exchange(exchange("https://tass.com/redirect", status=301, headers=(("Location", "/a"),)))
        writer.write_response("https://tass.com/old", START, 200, [("Content-Type", " text/plain")], b"old")
    [path] = warc_files(folder)
    ours = index_path(path).read_text(encoding="utf-8").splitlines()
    assert index_path(path) == folder / path.name.replace(".warc.gz", ".cdxj")
    assert len(ours) == 6 and ours == sorted(ours)
    assert ours == reference_index(path, tmp_path)
    # rebuilt from the file, the same
    index_path(path).unlink()
    assert index_file(path) == index_path(path)
    assert index_path(path).read_text(encoding="utf-8").splitlines() == ours


def test_the_index_is_written_while_the_file_is_open(tmp_path: Path) -> None:
    clock = Clock()
    writer = WarcWriter(tmp_path, info={}, clock=clock)
    writer.write_exchange(exchange("https://tass.com/b"))
    open_path = writer.open_path
    assert open_path is not None
    index = index_path(open_path)
    assert len(index.read_text().splitlines()) == 1  # the first record is indexed at once
    clock.now += timedelta(seconds=30)
    writer.write_exchange(exchange("https://tass.com/a"))
    assert len(index.read_text().splitlines()) == 1  # at most once a minute
    clock.now += timedelta(seconds=31)
    writer.write_exchange(exchange("https://tass.com/c"))
    lines = index.read_text().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["com,tass)/a", "com,tass)/b", "com,tass)/c"]
    # while open, the lines name the file by the name it has: the collection replays meanwhile
    assert lines == reference_index(open_path, tmp_path)
    assert all(f'"filename": "{open_path.name}"' in line for line in lines)
    writer.close()
    final = tmp_path / open_path.name.removesuffix(".open")
    assert index_path(final) == index and index.read_text().splitlines() == reference_index(final, tmp_path)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_cdxj_line_format() -> None:
    ref = CaptureRef(
        file="a.warc.gz",
        offset=10,
        length=20,
        record_type="response",
        url="https://Example.com/x?b=1&a=2",
        date="2024-05-01T10:11:12.345678Z",
        status=200,
        digest="sha1:AAAA",
        content_type="text/html; charset=utf-8",
    )
    assert cdxj_line(ref) == (
        'com,example)/x?a=2&b=1 20240501101112 {"url": "https://Example.com/x?b=1&a=2", "mime": "text/html", '
        '"status": "200", "digest": "sha1:AAAA", "length": "20", "offset": "10", "filename": "a.warc.gz"}'
    )


# -- recovery --------------------------------------------------------------------------------

CHILD = """
import os, sys
from datetime import UTC, datetime
from pathlib import Path
from aggregator.capture import WarcWriter
from aggregator.models import Exchange

writer = WarcWriter(Path(sys.argv[1]), info={})
for n in range(10_000):
    exchange = Exchange(url=f"https://tass.com/{n}", started=datetime.now(UTC), request_headers=(("Host", "tass.com"),),
                        http_version="HTTP/1.1", status=200, reason="OK", headers=(("Content-Type", "text/html"),),
                        payload=os.urandom(400_000))
    ref = writer.write_exchange(exchange)
    print(ref.file, ref.offset, ref.offset + ref.length, flush=True)
"""


def test_a_sigkilled_writer_leaves_a_file_recovery_closes(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )  # fmt: skip
    assert child.stdout is not None
    told = [child.stdout.readline().split() for _ in range(4)]
    # kill it once it is well into the response record of the fifth exchange (400 kB in many writes)
    [open_file] = tmp_path.glob("*.warc.gz.open")
    deadline = time.monotonic() + 10
    while open_file.stat().st_size < int(told[-1][2]) + 2000 and time.monotonic() < deadline:
        pass
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()

    [line] = recover(tmp_path)
    final = tmp_path / told[0][0]
    assert not open_file.exists() and final.exists()
    cut = re.fullmatch(rf"{re.escape(final.name)}: cut a torn record at (\d+) \((\d+) records kept\)", line)
    assert cut is not None and int(cut.group(1)) > int(told[-1][2])  # in the fifth exchange
    kept = int(cut.group(2))
    records = warcio_records(final)
    assert len(records) == kept >= 1 + 2 * len(told)
    for name, offset, _end in told:  # every record the writer reported is there
        assert read_record(tmp_path, name, int(offset)).url is not None
    assert warcio_check(final) == 0
    assert index_path(final).read_text().splitlines() == reference_index(final, tmp_path)


def test_recovery_cuts_a_member_truncated_in_the_middle(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}) as writer:
        refs = [writer.write_exchange(exchange(f"https://tass.com/{n}", payload=os.urandom(3000))) for n in range(3)]
    path = tmp_path / refs[0].file
    opened = path.with_name(path.name + ".open")
    os.rename(path, opened)
    index_path(path).unlink()
    with opened.open("r+b") as stream:
        stream.truncate(refs[2].offset + refs[2].length // 2)
    assert recover(tmp_path) == [f"{path.name}: cut a torn record at {refs[2].offset} (6 records kept)"]
    assert path.stat().st_size == refs[2].offset
    assert [r.type for r in warcio_records(path)] == ["warcinfo"] + ["request", "response"] * 2 + ["request"]
    assert warcio_check(path) == 0
    lines = index_path(path).read_text().splitlines()
    assert len(lines) == 2 and lines == reference_index(path, tmp_path)
    assert recover(tmp_path) == []  # nothing left to do


def test_recovery_closes_a_file_that_ends_between_records(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}) as writer:
        ref = writer.write_exchange(exchange())
    path = tmp_path / ref.file
    opened = path.with_name(path.name + ".open")
    warcinfo_end = next(iter_records(path))[1]
    opened.write_bytes(path.read_bytes()[:warcinfo_end])  # its writer died before its first exchange
    path.unlink()
    index_path(path).unlink()
    assert recover(tmp_path) == [f"{path.name}: closed after its writer died, nothing torn (1 record kept)"]
    assert [r.type for r in warcio_records(path)] == ["warcinfo"] and index_path(path).read_text() == ""


def test_recovery_leaves_a_file_locked_by_a_live_writer_alone(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}) as writer:
        ref = writer.write_exchange(exchange())
        open_path = writer.open_path
        assert open_path is not None
        before = open_path.read_bytes()
        assert recover(tmp_path) == []
        assert open_path.read_bytes() == before
        writer.write_exchange(exchange())  # still its writer's
    assert read_record(tmp_path, ref.file, ref.offset).status == 200


def test_recovery_removes_a_file_with_no_whole_record(tmp_path: Path) -> None:
    member = gzip.compress(b"WARC/1.1\r\nWARC-Type: warcinfo\r\nContent-Length: 10\r\n\r\n0123456789\r\n\r\n")
    torn = tmp_path / "aggregator-20240501101112000000-00000-host-1.warc.gz.open"
    torn.write_bytes(member[: len(member) // 2])
    hidden = tmp_path / ".aggregator-20240501101112000000-00001-host-1.warc.gz.open"
    hidden.write_bytes(b"")
    assert recover(tmp_path) == [
        f"{hidden.name}: removed: its writer died while creating it",
        f"{torn.name}: removed: it holds no whole record (torn record: the file ends inside its gzip member)",
    ]
    assert list(tmp_path.iterdir()) == []


def test_recovery_does_not_cut_readable_records_after_damage(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, info={}) as writer:
        refs = [writer.write_exchange(exchange(f"https://tass.com/{n}")) for n in range(3)]
    path = tmp_path / refs[0].file
    data = bytearray(path.read_bytes())
    data[refs[1].offset + 20] ^= 0xFF  # a flipped byte inside the second response's member
    opened = path.with_name(path.name + ".open")
    opened.write_bytes(bytes(data))
    path.unlink()
    [line] = recover(tmp_path)
    assert line.startswith(f"{opened.name}: left as it is: ") and "a readable record starts at" in line
    assert opened.read_bytes() == bytes(data)
