"""A hostile web server on a real socket (127.0.0.1): one endpoint per misbehaviour.

It also answers as an HTTP proxy (absolute-form request lines), so feeds can name any host
(``http://tass.com/...``, ``http://hostile.test/...``) and every byte still stays on 127.0.0.1.
Static routes serve ordinary pages; ``/h/<case>`` paths misbehave. Bombs and huge bodies are
generated on the fly, chunk by chunk, never held in memory.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

CHUNK = 64 * 1024
_MB = 1024 * 1024


class _Stop(Exception):
    """The client went away: stop writing."""


class HostileServer:
    """``routes``: path -> (status, headers, body) served plainly; ``behaviours``: path -> writer."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.behaviours: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []  # (target, headers) of every request
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path if "://" in self.path else self.path.split("?")[0]
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                try:
                    behaviour = server.behaviours.get(path)
                    if behaviour is not None:
                        behaviour(self)
                    elif path in server.routes:
                        status, headers, body = server.routes[path]
                        send(self, status, headers, body)
                    else:
                        send(self, 404, {"Content-Type": "text/plain"}, b"not found")
                except (_Stop, OSError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- writers: what a handler can do ----------------------------------------------------------------


def head(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.flush()


def send(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    head(handler, status, {**headers, "Content-Length": str(len(body))})
    handler.wfile.write(body)


def stream(handler: BaseHTTPRequestHandler, chunks: Iterator[bytes]) -> None:
    for chunk in chunks:
        try:
            handler.wfile.write(chunk)
            handler.wfile.flush()
        except OSError as exc:
            raise _Stop from exc


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection with a TCP RST (SO_LINGER 0) instead of a clean FIN."""
    handler.wfile.flush()
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()


def compressed(data: Iterator[bytes], wbits: int) -> Iterator[bytes]:
    """``data`` compressed on the fly (wbits 31: gzip, 15: zlib "deflate")."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    for chunk in data:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def deflated_zeros(total: int, wbits: int) -> bytes:
    """``total`` zero bytes compressed (wbits 31: gzip, 15: zlib), built in a fraction of a second:
    after a full flush, each further megabyte of zeros compresses to the same bytes."""
    block = bytes(_MB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    blocks = total // _MB
    stream = first + repeat * (blocks - 1) + b"\x03\x00"  # then an empty final block
    if wbits == 31:
        crc = 0
        for _ in range(blocks):
            crc = zlib.crc32(block, crc)
        return stream + struct.pack("<II", crc, total & 0xFFFFFFFF)
    return stream + struct.pack(">I", (total % 65521) << 16 | 1)  # Adler-32 of zeros: A = 1, B = n


def zeros(total: int) -> Iterator[bytes]:
    block = b"\0" * (1024 * 1024)
    for _ in range(total // len(block)):
        yield block


def repeated(prefix: bytes, unit: bytes, total: int, suffix: bytes = b"") -> Iterator[bytes]:
    """``prefix``, then ``unit`` repeated up to about ``total`` bytes, then ``suffix``."""
    yield prefix
    block = unit * max(1, CHUNK // len(unit))
    for _ in range(total // len(block)):
        yield block
    yield suffix


def drip(handler: BaseHTTPRequestHandler, content_type: str, first: bytes, every: float = 0.1) -> None:
    """Headers, then one byte every ``every`` seconds, forever (until the client gives up)."""
    head(handler, 200, {"Content-Type": content_type})
    stream(handler, iter([first]))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(every)
        stream(handler, iter([b" "]))


def http_date(after: timedelta) -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0) + after, usegmt=True)
