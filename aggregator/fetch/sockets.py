"""httpcore's network layer on asyncio's own streams, in place of its default one (anyio's).

httpcore reads and writes its sockets through a "network backend" (its ``AsyncNetworkBackend``
interface), given to its pools by :mod:`aggregator.fetch.transport`. Under asyncio the default is
anyio's, which wraps each read, write and idle-connection check in a cancel scope and a timer;
this one moves the same bytes with asyncio's streams, a timer only where a wait may be needed
(see the README's Benchmarks for what it saves). Everything HTTP (h11, pooling, proxies, when to
start TLS) stays httpcore's; errors are raised as httpcore's, which the transport maps to httpx's.
"""

from __future__ import annotations

import asyncio
import select
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

__all__ = ["AsyncioBackend"]

#: head start of the first address before the next is tried in parallel (RFC 8305's value)
HAPPY_EYEBALLS_DELAY = 0.25
_EXTRA_INFO = {"ssl_object": "ssl_object", "client_addr": "sockname", "server_addr": "peername", "socket": "socket"}


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens connections as asyncio streams."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=local, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"no connection{_within(timeout)}") from exc
        except OSError as exc:
            raise httpcore.ConnectError(_reason(exc)) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(reader, writer)

    # No connect_unix_socket: the fetcher never asks for one (httpcore's base class then refuses).

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    """One connection's reader and writer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            if timeout is None:
                return await self._reader.read(max_bytes)
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(f"no data{_within(timeout)}") from exc
        except OSError as exc:
            raise httpcore.ReadError(_reason(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            if not self._writer.transport.get_write_buffer_size() and not self._writer.transport.is_closing():
                return  # the socket took it all (a request is small): nothing to wait for, no timer
            if timeout is None:
                await self._writer.drain()
                return
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(f"could not send{_within(timeout)}") from exc
        except (OSError, RuntimeError) as exc:  # RuntimeError: writing after the connection was shut
            raise httpcore.WriteError(_reason(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.transport.abort()
            raise httpcore.ConnectTimeout(f"no TLS handshake{_within(timeout)}") from exc
        except OSError as exc:  # ssl.SSLError (a failed certificate check too) is an OSError
            self._writer.transport.abort()
            raise httpcore.ConnectError(_reason(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._stale()
        name = _EXTRA_INFO.get(info)
        return self._writer.get_extra_info(name) if name else None

    def _stale(self) -> bool:
        """Whether an idle kept-alive connection has ended or has something to say (a server's
        "408" before it hangs up): either way it must not carry the next request."""
        if self._reader.at_eof() or self._writer.transport.is_closing():
            return True
        sock = self._writer.get_extra_info("socket")
        return sock is None or sock.fileno() < 0 or _has_input(sock.fileno())


def _has_input(fd: int) -> bool:
    """Whether ``fd`` has bytes, or the end of the connection, that the event loop has not read yet."""
    if hasattr(select, "poll"):  # select() cannot take descriptors past FD_SETSIZE
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _within(timeout: float | None) -> str:
    """ " within 5s", or nothing when the time-out was the system's (a TimeoutError is an OSError too)."""
    return f" within {timeout:g}s" if timeout is not None else ""
