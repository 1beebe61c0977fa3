"""The fetcher's connections (clients of one keep-alive connection each, lent per request), against
real sockets: a tiny asyncio server that counts connections, so keep-alive, stale connections,
shared cookies and the proxy path show."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable

import pytest

from aggregator import errors
from aggregator.fetch import fetcher as fetch
from aggregator.fetch.fetcher import Fetcher
from aggregator.models import Response, Settings

Handler = Callable[[str, dict[str, str]], Awaitable[tuple[bytes, bool]]]  # (response bytes, then close?)


async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> tuple[asyncio.Server, list[str], list[int]]:
    """A keep-alive HTTP/1.1 server (HTTPS with ``tls``); returns it, the request targets seen, and
    a connection counter."""
    targets: list[str] = []
    connections = [0]

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
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
            writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", 0, ssl=tls)
    return server, targets, connections


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def ok_or_304(target: str, headers: dict[str, str]) -> tuple[bytes, bool]:
    if headers.get("if-none-match") == '"v1"':
        return b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n", False
    body = b"<rss>" + target.encode() + b"</rss>"
    return (b"HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
            False)


LOCAL = Settings(allow_private_networks=True, retries=0)


def test_keep_alive_survives_304_and_200() -> None:
    async def go() -> tuple[list[Response], int]:
        server, _, connections = await serve(ok_or_304)
        async with server, Fetcher(LOCAL) as fetcher:
            url = f"http://127.0.0.1:{port_of(server)}/feed"
            answers = [await fetcher.get(url, max_bytes=1000, etag='"v1"' if i % 2 else None) for i in range(6)]
        return answers, connections[0]

    answers, connections = asyncio.run(go())
    assert [a.status for a in answers] == [200, 304] * 3
    assert answers[0].content == b"<rss>/feed</rss>" and answers[0].headers["etag"] == '"v1"'
    assert connections == 1  # one connection for all six: a 304 (read to its end) keeps it


def test_a_connection_the_server_closed_is_not_reused() -> None:
    async def closing(target: str, headers: dict[str, str]) -> tuple[bytes, bool]:
        answer, _ = await ok_or_304(target, headers)
        return answer, True  # the server closes after each answer (no Connection: close header)

    async def go() -> tuple[list[int], int]:
        server, _, connections = await serve(closing)
        async with server, Fetcher(LOCAL) as fetcher:
            url = f"http://127.0.0.1:{port_of(server)}/feed"
            statuses = []
            for _ in range(3):
                statuses.append((await fetcher.get(url, max_bytes=1000)).status)
                await asyncio.sleep(0.05)  # the close reaches the client
        return statuses, connections[0]

    statuses, connections = asyncio.run(go())
    assert statuses == [200, 200, 200]
    assert connections == 3


def test_a_body_given_up_half_way_closes_its_connection() -> None:
    async def big(target: str, headers: dict[str, str]) -> tuple[bytes, bool]:
        body = b"x" * 5000
        return b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + body, False

    async def go() -> int:
        server, _, connections = await serve(big)
        async with server, Fetcher(LOCAL) as fetcher:
            url = f"http://127.0.0.1:{port_of(server)}/page"
            for _ in range(2):
                with pytest.raises(errors.TooLarge):
                    await fetcher.get(url, max_bytes=100)
        return connections[0]

    assert asyncio.run(go()) == 2


def test_truncated_body_is_a_network_error() -> None:
    async def short(target: str, headers: dict[str, str]) -> tuple[bytes, bool]:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", True

    async def go() -> None:
        server, _, _ = await serve(short)
        async with server, Fetcher(LOCAL) as fetcher:
            await fetcher.get(f"http://127.0.0.1:{port_of(server)}/page", max_bytes=1000)

    with pytest.raises(errors.NetworkError, match="protocol error"):
        asyncio.run(go())


def test_connection_refused_is_a_network_error() -> None:
    async def go() -> None:
        server, _, _ = await serve(ok_or_304)
        port = port_of(server)
        server.close()
        await server.wait_closed()
        async with Fetcher(LOCAL) as fetcher:
            await fetcher.get(f"http://127.0.0.1:{port}/feed", max_bytes=1000)

    with pytest.raises(errors.NetworkError, match="cannot connect"):
        asyncio.run(go())


def test_proxy_gets_absolute_form_requests_on_one_connection() -> None:
    async def go() -> tuple[list[str], int, list[Response]]:
        server, targets, connections = await serve(ok_or_304)
        settings = Settings(retries=0, proxy=f"http://127.0.0.1:{port_of(server)}")
        async with server, Fetcher(settings) as fetcher:
            answers = [await fetcher.get(f"http://feeds.example/rss/{i}", max_bytes=1000) for i in range(3)]
        return targets, connections[0], answers

    targets, connections, answers = asyncio.run(go())
    assert targets == [f"http://feeds.example/rss/{i}" for i in range(3)]
    assert connections == 1
    assert [a.content for a in answers] == [f"<rss>http://feeds.example/rss/{i}</rss>".encode() for i in range(3)]


def test_proxy_tunnel_refused_is_a_proxy_error() -> None:
    async def refuse(target: str, headers: dict[str, str]) -> tuple[bytes, bool]:
        return b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", True

    async def go() -> None:
        server, _, _ = await serve(refuse)
        settings = Settings(retries=0, proxy=f"http://127.0.0.1:{port_of(server)}")
        async with server, Fetcher(settings) as fetcher:
            await fetcher.get("https://feeds.example/rss", max_bytes=1000)

    with pytest.raises(errors.NetworkError, match="proxy error: 403"):
        asyncio.run(go())


def test_read_timeout() -> None:
    async def silent(target: str, headers: dict[str, str]) -> tuple[bytes, bool]:
        await asyncio.sleep(2)
        return b"", True

    async def go() -> None:
        server, _, _ = await serve(silent)
        settings = Settings(allow_private_networks=True, retries=0, read_timeout=0.2)
        async with server, Fetcher(settings) as fetcher:
            await fetcher.get(f"http://127.0.0.1:{port_of(server)}/feed", max_bytes=1000)

    with pytest.raises(errors.Timeout, match=r"\(read\)"):
        asyncio.run(go())


def test_concurrent_requests_reuse_their_connections_in_the_next_round() -> None:
    async def go() -> int:
        server, _, connections = await serve(ok_or_304)
        settings = Settings(allow_private_networks=True, retries=0, concurrency=8, per_host_concurrency=4)
        async with server, Fetcher(settings) as fetcher:
            url = f"http://127.0.0.1:{port_of(server)}/feed"
            for _ in range(3):
                await asyncio.gather(*(fetcher.get(f"{url}/{i}", max_bytes=1000) for i in range(12)))
        return connections[0]

    assert asyncio.run(go()) <= 4  # never more than the host's slots, and kept across rounds


def test_idle_connections_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "_MAX_IDLE_TRANSPORTS", 3)

    async def go() -> tuple[int, int]:
        servers = [await serve(ok_or_304) for _ in range(5)]
        async with Fetcher(LOCAL) as fetcher:
            for server, _, _ in servers:
                await fetcher.get(f"http://127.0.0.1:{port_of(server)}/feed", max_bytes=1000)
            idle = len(fetcher._idle)
            await fetcher.get(f"http://127.0.0.1:{port_of(servers[0][0])}/feed", max_bytes=1000)
        for server, _, _ in servers:
            server.close()
        return idle, servers[0][2][0]

    idle, first_server_connections = asyncio.run(go())
    assert idle == 3
    assert first_server_connections == 2  # its idle client was the least recently used: closed


def test_cookies_are_one_jar_for_every_connection() -> None:
    """A cookie set on one connection goes with the next request to that site, whichever connection
    carries it (as with one httpx client)."""
    seen: list[str] = []

    async def session(target: str, headers: dict[str, str]) -> tuple[bytes, bool]:
        seen.append(headers.get("cookie", ""))
        if target == "/login":
            await asyncio.sleep(0.2)  # held while the other request opens a second connection
            return b"HTTP/1.1 200 OK\r\nSet-Cookie: session=abc; Path=/\r\nContent-Length: 2\r\n\r\nok", False
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", False

    async def go() -> int:
        server, _, connections = await serve(session)
        settings = Settings(allow_private_networks=True, retries=0, per_host_concurrency=2)
        async with server, Fetcher(settings) as fetcher:
            base = f"http://127.0.0.1:{port_of(server)}"
            await asyncio.gather(fetcher.get(f"{base}/login", max_bytes=100), fetcher.get(f"{base}/a", max_bytes=100))
            await asyncio.gather(fetcher.get(f"{base}/b", max_bytes=100), fetcher.get(f"{base}/c", max_bytes=100))
        return connections[0]

    assert asyncio.run(go()) == 2
    assert seen[:2] == ["", ""] and seen[2:] == ["session=abc", "session=abc"]
