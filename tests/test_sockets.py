"""The fetcher's sockets (aggregator.fetch.sockets, httpcore's network layer on asyncio streams) under
its own transport (aggregator.fetch.transport), against real local servers: plain HTTP, proxies
(configured or from the environment, plain or over TLS), TLS with a certificate from a test CA
(trustme), TLS through a proxy's CONNECT tunnel, and an idle connection the server ends.

Which backend carries the connections is seen by public means: a backend injected into the
fetcher (``network_backend=``) that records each connection it opens."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpcore
import pytest
import trustme

from aggregator import errors
from aggregator.fetch import sockets
from aggregator.fetch.fetcher import Fetcher
from aggregator.models import Response, Settings
from tests.helpers.servers import Connections, ok_or_304, port_of, serve

LOCAL = Settings(respect_robots=False, allow_private_networks=True, retries=0)


class Recording(sockets.AsyncioBackend):
    """The asyncio backend, recording the (host, port) of each connection it opens."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.opened.append((host, port))
        return await super().connect_tcp(host, port, timeout, local_address, socket_options)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test CA is the one the fetcher trusts (httpx reads SSL_CERT_FILE)."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    yield


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1", "feeds.example").configure_cert(context)
    return context


async def secure(target: str, headers: dict[str, str]) -> tuple[bytes, bool]:
    body = b"secure " + target.encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body), False


async def tls_server(ca: trustme.CA) -> tuple[asyncio.Server, Connections]:
    """A keep-alive HTTPS server answering every request with a small body; and its connection counts."""
    server, _, connections = await serve(secure, tls=server_tls(ca))
    return server, connections


def test_the_default_backend_is_the_asyncio_one(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []
    connect = sockets.AsyncioBackend.connect_tcp

    async def spy(self: sockets.AsyncioBackend, host: str, port: int, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        seen.append((host, port))
        return await connect(self, host, port, **kwargs)

    monkeypatch.setattr(sockets.AsyncioBackend, "connect_tcp", spy)

    async def go() -> tuple[Response, int]:
        server, _, _ = await serve(ok_or_304)
        port = port_of(server)
        async with server, Fetcher(LOCAL) as fetcher:
            return await fetcher.get(f"http://127.0.0.1:{port}/feed", max_bytes=1000), port

    answer, port = asyncio.run(go())
    assert answer.status == 200
    assert seen == [("127.0.0.1", port)]


def test_connections_are_opened_by_the_backend_given() -> None:
    backend = Recording()

    async def go() -> tuple[list[Response], int, int]:
        server, _, connections = await serve(ok_or_304)
        port = port_of(server)
        async with server, Fetcher(LOCAL, network_backend=backend) as fetcher:
            url = f"http://127.0.0.1:{port}/feed"
            answers = [await fetcher.get(url, max_bytes=1000, etag='"v1"' if i else None) for i in range(3)]
        return answers, port, connections.accepted

    answers, port, accepted = asyncio.run(go())
    assert [a.status for a in answers] == [200, 304, 304]
    assert backend.opened == [("127.0.0.1", port)] and accepted == 1  # kept alive across the three requests


def test_a_configured_proxy_is_reached_through_the_backend() -> None:
    backend = Recording()

    async def go() -> tuple[Response, int]:
        server, _, _ = await serve(ok_or_304)
        port = port_of(server)
        settings = Settings(respect_robots=False, retries=0, proxy=f"http://127.0.0.1:{port}")
        async with server, Fetcher(settings, network_backend=backend) as fetcher:
            return await fetcher.get("http://feeds.example/rss", max_bytes=1000), port

    answer, port = asyncio.run(go())
    assert answer.content == b"<rss>http://feeds.example/rss</rss>"
    assert backend.opened == [("127.0.0.1", port)]


def test_https_with_a_trusted_certificate(ca: trustme.CA, trusted: None) -> None:
    backend = Recording()

    async def go() -> tuple[list[Response], int]:
        server, connections = await tls_server(ca)
        async with server, Fetcher(LOCAL, network_backend=backend) as fetcher:
            url = f"https://localhost:{port_of(server)}/page"
            return [await fetcher.get(url, max_bytes=1000) for _ in range(2)], connections.accepted

    answers, accepted = asyncio.run(go())
    assert [a.content for a in answers] == [b"secure /page"] * 2
    assert accepted == 1 and len(backend.opened) == 1


def test_an_https_proxy_is_reached_over_tls_with_the_shared_context(ca: trustme.CA, trusted: None) -> None:
    """An https:// proxy: the connection to the proxy is TLS, checked against the CAs the fetcher
    trusts (here the test CA, from SSL_CERT_FILE), and carries the absolute-form request."""
    backend = Recording()

    async def go() -> tuple[list[Response], list[str], int, int]:
        proxy, targets, connections = await serve(ok_or_304, tls=server_tls(ca))
        port = port_of(proxy)
        settings = Settings(respect_robots=False, retries=0, proxy=f"https://localhost:{port}")
        async with proxy, Fetcher(settings, network_backend=backend) as fetcher:
            answers = [await fetcher.get(f"http://feeds.example/rss/{i}", max_bytes=1000) for i in range(2)]
        return answers, targets, connections.accepted, port

    answers, targets, accepted, port = asyncio.run(go())
    assert [a.content for a in answers] == [b"<rss>http://feeds.example/rss/%d</rss>" % i for i in range(2)]
    assert targets == ["http://feeds.example/rss/0", "http://feeds.example/rss/1"]
    assert accepted == 1 and backend.opened == [("localhost", port)]


def test_https_with_an_untrusted_certificate_is_refused(ca: trustme.CA) -> None:
    async def go() -> None:
        server, _ = await tls_server(ca)  # the fetcher trusts the usual CAs, not this test one
        async with server, Fetcher(LOCAL) as fetcher:
            await fetcher.get(f"https://localhost:{port_of(server)}/page", max_bytes=1000)

    with pytest.raises(errors.NetworkError, match=r"cannot connect: .*certificate verify failed"):
        asyncio.run(go())


def test_https_through_a_proxy_tunnel(ca: trustme.CA, trusted: None) -> None:
    backend = Recording()

    async def go() -> tuple[Response, list[bytes], int, int]:
        origin, _ = await tls_server(ca)
        requests: list[bytes] = []
        closed = asyncio.Event()

        async def tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            requests.append(head.split(b"\r\n")[0])
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port_of(origin))  # any name
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

            async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
                while data := await source.read(65536):
                    sink.write(data)
                sink.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
            closed.set()

        proxy = await asyncio.start_server(tunnel, "127.0.0.1", 0)
        ports = port_of(origin), port_of(proxy)
        settings = Settings(respect_robots=False, retries=0, proxy=f"http://127.0.0.1:{ports[1]}")
        async with origin, proxy:
            async with Fetcher(settings, network_backend=backend) as fetcher:
                answer = await fetcher.get(f"https://feeds.example:{ports[0]}/tunnelled", max_bytes=1000)
            await asyncio.wait_for(closed.wait(), 5)  # the fetcher hung up: the tunnel ends
        return answer, requests, *ports

    answer, requests, origin_port, proxy_port = asyncio.run(go())
    assert answer.content == b"secure /tunnelled"
    assert requests == [b"CONNECT feeds.example:%d HTTP/1.1" % origin_port]
    assert backend.opened == [("127.0.0.1", proxy_port)]


def test_an_idle_connection_the_server_ended_after_a_last_word_is_not_reused() -> None:
    """A server that says "408" on an idle connection and hangs up: the next request takes a new one."""

    async def go() -> tuple[list[Response], int]:
        connections = [0]

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections[0] += 1
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            writer.close()

        server = await asyncio.start_server(client, "127.0.0.1", 0)
        async with server, Fetcher(LOCAL) as fetcher:
            url = f"http://127.0.0.1:{port_of(server)}/feed"
            first = await fetcher.get(url, max_bytes=100)
            await asyncio.sleep(0.2)
            second = await fetcher.get(url, max_bytes=100)
        return [first, second], connections[0]

    answers, connections = asyncio.run(go())
    assert [(a.status, a.content) for a in answers] == [(200, b"ok"), (200, b"ok")]
    assert connections == 2


def test_a_proxy_from_the_environment_is_reached_through_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = Recording()

    async def go() -> tuple[Response, int]:
        server, targets, _ = await serve(ok_or_304)
        port = port_of(server)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        async with server, Fetcher(Settings(respect_robots=False, retries=0), network_backend=backend) as fetcher:
            answer = await fetcher.get("http://feeds.example/rss", max_bytes=1000)
        assert targets == ["http://feeds.example/rss"]
        return answer, port

    answer, port = asyncio.run(go())
    assert answer.status == 200
    assert backend.opened == [("127.0.0.1", port)]


def test_connect_timeout_and_refusal_are_httpcore_errors() -> None:
    async def go() -> None:
        backend = sockets.AsyncioBackend()
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = port_of(server)
        async with server:
            with pytest.raises(httpcore.ConnectTimeout):
                await backend.connect_tcp("127.0.0.1", port, timeout=0)
        with pytest.raises(httpcore.ConnectError):
            await backend.connect_tcp("127.0.0.1", port, timeout=5)

    asyncio.run(go())


def test_a_system_time_out_is_a_connect_timeout_without_a_limit_named(monkeypatch: pytest.MonkeyPatch) -> None:
    async def timed_out(*args: object, **kwargs: object) -> None:
        raise TimeoutError(110, "Connection timed out")

    monkeypatch.setattr(asyncio, "open_connection", timed_out)
    with pytest.raises(httpcore.ConnectTimeout, match=r"^no connection$"):
        asyncio.run(sockets.AsyncioBackend().connect_tcp("192.0.2.1", 80))
