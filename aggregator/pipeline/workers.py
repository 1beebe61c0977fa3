"""A process pool for extraction, started only when the first page needs it.

Extraction is pure CPU work (``extraction.extract_and_pack``); in a worker process it runs on
another core while the event loop keeps fetching and storing. The pool is created lazily, so a
run with nothing new to extract starts no process. Workers are started with ``spawn`` (never ``fork``:
the daemon has threads; spawned workers are the parent's own children, so its CPU time includes
theirs), ignore SIGINT and SIGTERM (the parent decides when to stop; a Ctrl-C must not print a
worker's traceback, a service stop must not fail the call in flight) and exit by themselves
when their parent dies (a SIGKILLed daemon leaves no worker behind).

Each worker is fed through a pipe of its own by a thread of the parent's, one call at a time.
Not ``concurrent.futures.ProcessPoolExecutor``: its queues hold POSIX named semaphores, which
multiprocessing's resource tracker (a process that outlives its parent) removes after a kill -9
with a ``resource_tracker: There appear to be 5 leaked semaphore objects`` warning on the
terminal. A pipe is only file descriptors, which the kernel closes however the parent dies: the
tracker spawn starts has nothing to clean up, and says nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from typing import Any

#: how often a worker checks that its parent is still alive (seconds)
ORPHAN_CHECK_SECONDS = 0.5

#: a call waiting for a worker: its future, then the function and its arguments
_Job = tuple["Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def default_workers() -> int:
    """One worker per core but one (the event loop keeps a core), at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker (its ``__cause__``), as text."""

    def __str__(self) -> str:
        return str(self.args[0])


def _worker_init(parent_pid: int) -> None:
    # The parent decides when to stop: a Ctrl-C (SIGINT) or `systemctl stop` (SIGTERM to every
    # process of the service) must not kill a call in flight; the worker ends with its pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:  # an orphan is adopted by another process
            time.sleep(ORPHAN_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def _work(conn: Connection, parent_pid: int) -> None:
    """A worker: run each call that comes down the pipe and send its outcome back, until the
    pipe closes (the pool shut down, or the parent died)."""
    _worker_init(parent_pid)
    while True:
        try:
            call = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            fn, args, kwargs = pickle.loads(call)
            outcome: tuple[Any, ...] = (True, fn(*args, **kwargs))
        except BaseException as exc:  # everything goes back to the caller, as the caller's own error
            outcome = (False, exc, "".join(traceback.format_exception(exc)))
        try:
            data = pickle.dumps(outcome)
        except Exception as exc:  # a result or an error that does not pickle
            data = pickle.dumps((False, RuntimeError(f"cannot send the worker's outcome back: {exc!r}"), ""))
        try:
            conn.send_bytes(data)
        except OSError:
            return


class LazyProcessPool(Executor):
    """A process pool created on the first ``submit``; ``shutdown`` before that is free.

    A worker that dies breaks the pool, as in ``ProcessPoolExecutor``: its call and every call
    still waiting fail with ``BrokenProcessPool``, and so does every later ``submit``."""

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        self.max_workers = max_workers or default_workers()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._feeders: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        self._broken: str | None = None

    @property
    def started(self) -> bool:
        return bool(self._feeders)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new work after shutdown")
            if self._broken is not None:
                raise BrokenProcessPool(self._broken)
            if not self._feeders:
                for number in range(self.max_workers):
                    # each starts its worker itself: a spawn does not hold up the caller's event loop
                    feeder = threading.Thread(target=self._feed, name=f"extraction worker {number}", daemon=True)
                    feeder.start()
                    self._feeders.append(feeder)
            future: Future[Any] = Future()
            self._jobs.put((future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            feeders = list(self._feeders)
        if cancel_futures:
            self._cancel_waiting(None)
        for _ in feeders:
            self._jobs.put(None)  # after the calls still queued: each feeder stops its worker at one
        if wait:
            for feeder in feeders:
                feeder.join()

    def _feed(self) -> None:
        """One worker's life, in a thread of the parent: start it, hand it calls, stop it."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_work, args=(theirs, os.getpid()), name="aggregator extraction", daemon=True)
        try:
            process.start()
        except Exception as exc:  # cannot start a process (too many processes, no memory)
            ours.close()
            self._break(f"cannot start an extraction worker: {exc}", None)
            return
        finally:
            theirs.close()  # the worker has its own copy: its end closes when the worker exits
        try:
            while (job := self._jobs.get()) is not None:
                future, fn, args, kwargs = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    data = pickle.dumps((fn, args, kwargs))
                except Exception as exc:  # the call itself does not pickle: only it fails
                    future.set_exception(exc)
                    continue
                try:
                    ours.send_bytes(data)
                    outcome = pickle.loads(ours.recv_bytes())
                except (EOFError, OSError):
                    process.join(5)
                    self._break(f"an extraction worker died (exit code {process.exitcode})", future)
                    return
                except Exception as exc:  # a result that does not unpickle here
                    future.set_exception(exc)
                    continue
                if outcome[0]:
                    future.set_result(outcome[1])
                else:
                    error, remote = outcome[1], outcome[2]
                    if remote:
                        error.__cause__ = RemoteTraceback(remote)
                    future.set_exception(error)
        finally:
            ours.close()  # the worker reads the end of its pipe and exits
            process.join()

    def _break(self, reason: str, running: Future[Any] | None) -> None:
        with self._lock:
            self._broken = reason
        if running is not None:
            running.set_exception(BrokenProcessPool(reason))
        self._cancel_waiting(BrokenProcessPool(reason))

    def _cancel_waiting(self, error: BaseException | None) -> None:
        """Take every call still waiting off the queue: cancelled, or failed with ``error``."""
        sentinels = 0
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                sentinels += 1
            elif error is None:
                job[0].cancel()
            elif job[0].set_running_or_notify_cancel():
                job[0].set_exception(error)
        for _ in range(sentinels):  # shutdown's stop signs stay for the other feeders
            self._jobs.put(None)
