"""The store, called off the event loop: writes in one thread, reads in another.

A store call can wait: for the disk, and for the busy timeout while another process holds the
write lock. On the event loop that wait would freeze every fetch, timer and tick of the daemon.
Here each call runs in a thread and the loop awaits it. Writes go through one thread, in the
order they were asked for (SQLite has one writer anyway); reads through another, so that a
read (which feeds are due, what to fetch) never queues behind a write that waits for a lock.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from aggregator.store import Store

P = ParamSpec("P")
T = TypeVar("T")


class Database:
    """``await db.read(store.feed_state, feed_id)``, ``await db.write(store.record_poll, ...)``.

    Both threads are started on first use and stopped by ``close()``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-write")
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-read")

    async def read(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store method that only reads, in the reading thread."""
        return await self._run(self._reader, call, *args, **kwargs)

    async def write(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store method that writes, in the writing thread, after the writes asked for before it."""
        return await self._run(self._writer, call, *args, **kwargs)

    @staticmethod
    async def _run(pool: ThreadPoolExecutor, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        bound = functools.partial(call, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(pool, bound)

    def close(self) -> None:
        """Wait for the calls under way, then stop both threads."""
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
