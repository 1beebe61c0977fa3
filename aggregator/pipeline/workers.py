"""A process pool for extraction, started only when the first page needs it.

Extraction is pure CPU work (``extraction.extract_and_pack``); in a worker process it runs on
another core while the event loop keeps fetching and storing. The pool is created lazily, so a
run with nothing new to extract starts no process. Workers are started with ``spawn`` (never ``fork``:
the daemon has threads; spawned workers are the parent's own children, so its CPU time includes
theirs), ignore SIGINT (the parent decides when to stop; a Ctrl-C must not print a worker's
traceback) and exit by themselves when their parent dies (a SIGKILLed daemon leaves no worker behind).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

#: how often a worker checks that its parent is still alive (seconds)
ORPHAN_CHECK_SECONDS = 0.5


def default_workers() -> int:
    """One worker per core but one (the event loop keeps a core), at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


def _worker_init(parent_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:  # an orphan is adopted by another process
            time.sleep(ORPHAN_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


class LazyProcessPool(Executor):
    """A ``ProcessPoolExecutor`` created on the first ``submit``; ``shutdown`` before that is free."""

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def started(self) -> bool:
        return self._pool is not None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new work after shutdown")
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=self.max_workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
                )
            pool = self._pool
        return pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)
