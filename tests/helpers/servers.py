"""Plain HTTP/1.1 test servers on real sockets (tests/test_fetch_connections.py, tests/test_sockets.py):
a tiny keep-alive asyncio server that counts its connections, so that keep-alive, stale
connections, shared cookies and the proxy path show from the server's side."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["Connections", "Handler", "ok_or_304", "port_of", "serve"]

Handler = Callable[[str, dict[str, str]], Awaitable[tuple[bytes, bool]]]  # (response bytes, then close?)


@dataclass
class Connections:
    """A server's connections: how many were accepted, how many are still open."""

    accepted: int = 0
    open: int = 0


async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> tuple[asyncio.Server, list[str], Connections]:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 (HTTPS with ``tls``) answering each request with
    ``handler(target, headers)``; returns it, the request targets seen, and its connection counts."""
    targets: list[str] = []
    connections = Connections()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.accepted += 1
        connections.open += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1]
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:]) if k}
                targets.append(target)
                answer, close = await handler(target, headers)
                writer.write(answer)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            connections.open -= 1
            writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", 0, ssl=tls)
    return server, targets, connections


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def ok_or_304(target: str, headers: dict[str, str]) -> tuple[bytes, bool]:
    """A feed with ETag "v1": 304 when the request sends that ETag back, else 200 with the target in the body."""
    if headers.get("if-none-match") == '"v1"':
        return b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n', False
    body = b"<rss>" + target.encode() + b"</rss>"
    return (b'HTTP/1.1 200 OK\r\nETag: "v1"\r\nContent-Length: ' + str(len(body)).encode() + b"\r\n\r\n" + body, False)
