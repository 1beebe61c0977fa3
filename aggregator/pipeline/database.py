"""The store, called off the event loop: writes in one thread, reads in another.

A store call can wait: for the disk, and for the busy timeout while another process holds the
write lock. On the event loop that wait would freeze every fetch, timer and tick of the daemon.
Here each call runs in a thread and the loop awaits it. Writes go through one thread, in the
order they were asked for (SQLite has one writer anyway); reads through another, so that a
read (which feeds are due, what to fetch) never queues behind a write that waits for a lock.

Each thread runs the calls queued for it back to back and hands their results to the loop
together, one wake-up of the loop for all of them: under load (many feeds polled at once) the
hand-over, not the SQL, is what a thread per call costs (the README's Benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from aggregator.store import Store

P = ParamSpec("P")
T = TypeVar("T")

#: one call asked for: the loop that waits for it, its future, the call
_Asked = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]
#: one call finished: its future, and its result or the exception it raised
_Done = tuple["asyncio.Future[Any]", Any, BaseException | None]


class Database:
    """``await db.read(store.feed_state, feed_id)``, ``await db.write(store.record_poll, ...)``.

    Both threads are started on first use and stopped by ``close()``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._writer = Lane("db-write")
        self._reader = Lane("db-read")

    async def read(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store method that only reads, in the reading thread."""
        result: T = await self._reader.submit(functools.partial(call, *args, **kwargs))
        return result

    async def write(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store method that writes, in the writing thread, after the writes asked for before it."""
        result: T = await self._writer.submit(functools.partial(call, *args, **kwargs))
        return result

    def close(self) -> None:
        """Let the calls asked for finish, then stop both threads."""
        self._writer.close()
        self._reader.close()


class Lane:
    """One thread running the calls given to it, in order; results go back to the loop in batches
    (also the WARC writer's thread: pipeline/captures.py)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.SimpleQueue[_Asked | None] = queue.SimpleQueue()  # None: stop
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, call: Callable[[], Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((loop, future, call))
        if self._thread is None:  # started once; the lock only guards the start
            self._start()
        return future

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                # A daemon thread: a process that exits without close() is not held up by it; a
                # write cut short that way is rolled back by the database, as after a crash.
                self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._thread.start()

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            finished: dict[asyncio.AbstractEventLoop, list[_Done]] = {}
            while item is not None:
                loop, future, call = item
                try:
                    done: _Done = (future, call(), None)
                except BaseException as exc:  # delivered to the caller, whatever it is
                    done = (future, None, exc)
                finished.setdefault(loop, []).append(done)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            for loop, batch in finished.items():
                with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits for these
                    loop.call_soon_threadsafe(_deliver, batch)
            if item is None:
                return


def _deliver(batch: list[_Done]) -> None:
    for future, result, exc in batch:
        if future.cancelled():  # the caller stopped waiting; the call itself has run
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
