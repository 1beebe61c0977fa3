"""The fetcher's connections (clients of one keep-alive connection each, lent per request), against
real sockets: a tiny asyncio server that counts connections, so keep-alive, stale connections,
shared cookies and the proxy path show."""

from __future__ import annotations

import asyncio

import pytest

from aggregator import errors
from aggregator.fetch import transport
from aggregator.fetch.fetcher import Fetcher
from aggregator.models import Response, Settings
from tests.helpers.servers import ok_or_304, port_of, serve

LOCAL = Settings(respect_robots=False, allow_private_networks=True, retries=0)


def test_keep_alive_survives_304_and_200() -> None:
    async def go() -> tuple[list[Response], int]:
        server, _, connections = await serve(ok_or_304)
        async with server, Fetcher(LOCAL) as fetcher:
            url = f"http://127.0.0.1:{port_of(server)}/feed"
            answers = [await fetcher.get(url, max_bytes=1000, etag='"v1"' if i % 2 else None) for i in range(6)]
        return answers, connections.accepted

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
        return statuses, connections.accepted

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
        return connections.accepted

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
        settings = Settings(respect_robots=False, retries=0, proxy=f"http://127.0.0.1:{port_of(server)}")
        async with server, Fetcher(settings) as fetcher:
            answers = [await fetcher.get(f"http://feeds.example/rss/{i}", max_bytes=1000) for i in range(3)]
        return targets, connections.accepted, answers

    targets, connections, answers = asyncio.run(go())
    assert targets == [f"http://feeds.example/rss/{i}" for i in range(3)]
    assert connections == 1
    assert [a.content for a in answers] == [f"<rss>http://feeds.example/rss/{i}</rss>".encode() for i in range(3)]


def test_proxy_tunnel_refused_is_a_proxy_error() -> None:
    async def refuse(target: str, headers: dict[str, str]) -> tuple[bytes, bool]:
        return b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", True

    async def go() -> None:
        server, _, _ = await serve(refuse)
        settings = Settings(respect_robots=False, retries=0, proxy=f"http://127.0.0.1:{port_of(server)}")
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
        settings = Settings(respect_robots=False, allow_private_networks=True, retries=0, read_timeout=0.2)
        async with server, Fetcher(settings) as fetcher:
            await fetcher.get(f"http://127.0.0.1:{port_of(server)}/feed", max_bytes=1000)

    with pytest.raises(errors.Timeout, match=r"\(read\)"):
        asyncio.run(go())


def test_concurrent_requests_reuse_their_connections_in_the_next_round() -> None:
    async def go() -> int:
        server, _, connections = await serve(ok_or_304)
        settings = Settings(
            respect_robots=False, allow_private_networks=True, retries=0, concurrency=8, per_host_concurrency=4
        )
        async with server, Fetcher(settings) as fetcher:
            url = f"http://127.0.0.1:{port_of(server)}/feed"
            for _ in range(3):
                await asyncio.gather(*(fetcher.get(f"{url}/{i}", max_bytes=1000) for i in range(12)))
        return connections.accepted

    assert asyncio.run(go()) <= 4  # never more than the host's slots, and kept across rounds


def test_idle_connections_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "MAX_IDLE", 3)

    async def go() -> tuple[int, int]:
        servers = [await serve(ok_or_304) for _ in range(5)]
        async with Fetcher(LOCAL) as fetcher:
            for server, _, _ in servers:
                await fetcher.get(f"http://127.0.0.1:{port_of(server)}/feed", max_bytes=1000)
            await asyncio.sleep(0.05)  # the servers see the closed connections end
            idle = sum(connections.open for _, _, connections in servers)
            await fetcher.get(f"http://127.0.0.1:{port_of(servers[0][0])}/feed", max_bytes=1000)
        for server, _, _ in servers:
            server.close()
        return idle, servers[0][2].accepted

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
        settings = Settings(respect_robots=False, allow_private_networks=True, retries=0, per_host_concurrency=2)
        async with server, Fetcher(settings) as fetcher:
            base = f"http://127.0.0.1:{port_of(server)}"
            await asyncio.gather(fetcher.get(f"{base}/login", max_bytes=100), fetcher.get(f"{base}/a", max_bytes=100))
            await asyncio.gather(fetcher.get(f"{base}/b", max_bytes=100), fetcher.get(f"{base}/c", max_bytes=100))
        return connections.accepted

    assert asyncio.run(go()) == 2
    assert seen[:2] == ["", ""] and seen[2:] == ["session=abc", "session=abc"]
