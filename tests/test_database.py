"""The store called off the event loop (aggregator.pipeline.database): results, errors and order
come back as from a direct call, a read never waits behind a write, and the loop stays free."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from aggregator.errors import StoreError
from aggregator.pipeline.database import Database


class Recorder:
    """A stand-in store: each call records itself and the thread it ran in."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.threads: set[str] = set()
        self.release = threading.Event()

    def put(self, value: int) -> int:
        self.threads.add(threading.current_thread().name)
        self.calls.append(("put", value))
        return value * 2

    def fail(self) -> None:
        raise StoreError("archive.db: write failed: disk I/O error")

    def blocked_write(self) -> str:
        self.release.wait(10)
        return "written"

    def get(self) -> str:
        self.threads.add(threading.current_thread().name)
        return "read"


def test_results_errors_and_order_are_those_of_direct_calls() -> None:
    store = Recorder()
    db = Database(store)  # type: ignore[arg-type]

    async def main() -> list[int]:
        results = await asyncio.gather(*(db.write(store.put, n) for n in range(200)))
        with pytest.raises(StoreError, match="disk I/O error"):
            await db.write(store.fail)
        return list(results)

    try:
        assert asyncio.run(main()) == [n * 2 for n in range(200)]
    finally:
        db.close()
    assert store.calls == [("put", n) for n in range(200)]  # in the order asked for
    assert threading.main_thread().name not in store.threads


def test_a_read_does_not_wait_behind_a_blocked_write_and_the_loop_stays_free() -> None:
    store = Recorder()
    db = Database(store)  # type: ignore[arg-type]

    async def main() -> tuple[str, bool, str]:
        write = asyncio.ensure_future(db.write(store.blocked_write))
        read = await db.read(store.get)  # answered while the write is still waiting (on the loop, it would not be)
        waiting = not write.done()
        store.release.set()
        return read, waiting, await write

    try:
        assert asyncio.run(main()) == ("read", True, "written")
    finally:
        db.close()


def test_a_caller_that_stops_waiting_leaves_the_others_their_results() -> None:
    store = Recorder()
    db = Database(store)  # type: ignore[arg-type]

    async def main() -> int:
        first = asyncio.ensure_future(db.write(store.blocked_write))
        second = asyncio.ensure_future(db.write(store.put, 21))
        await asyncio.sleep(0)
        first.cancel()
        store.release.set()
        return await second

    try:
        assert asyncio.run(main()) == 42
    finally:
        db.close()


def test_close_lets_the_calls_asked_for_finish() -> None:
    store = Recorder()
    db = Database(store)  # type: ignore[arg-type]

    async def main() -> None:
        pending = [asyncio.ensure_future(db.write(store.put, n)) for n in range(50)]
        await asyncio.sleep(0)  # all asked for
        db.close()
        await asyncio.gather(*pending)

    asyncio.run(main())
    assert len(store.calls) == 50
