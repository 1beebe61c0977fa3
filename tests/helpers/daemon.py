"""The daemon under test: in a thread with an injected clock, or as a real ``aggregator run``
subprocess; and how a test waits for it and reads what it stored."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.daemon.scheduler import Daemon


class Clock:
    """An injected clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait until ``condition()`` is true; a database not created yet counts as false."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except sqlite3.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def query(db: Path, sql: str) -> list[tuple]:
    """Read the database the way Datasette would: read-only, never creating it."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@contextmanager
def daemon_thread(config: Path, clock: Clock, tick: float, alone: bool | None = None) -> Iterator[Daemon]:
    """A daemon on ``config`` in a thread, ticking every ``tick`` seconds; stopped afterwards
    (``alone=False``: one sharing its database with other workers, as on PostgreSQL)."""
    daemon = Daemon(config, clock=clock, tick=tick, grace=2.0, alone=alone)
    thread = threading.Thread(target=daemon.run, kwargs={"install_signals": False})
    thread.start()
    try:
        yield daemon
    finally:
        daemon.stop()
        thread.join(timeout=10)
        assert not thread.is_alive()


def start_daemon(config: Path, *options: str, run_options: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    """``aggregator [options] run [run_options]`` in a subprocess, its output piped."""
    command = [sys.executable, "-m", "aggregator", "--config", str(config), *options, "run", *run_options]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_fetch(config: Path) -> subprocess.Popen[str]:
    """A one-off `aggregator fetch` in its own process (its output piped)."""
    command = [sys.executable, "-m", "aggregator", "--config", str(config), "fetch"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def handles_sigterm(process: subprocess.Popen[str], timeout: float = 60.0) -> bool:
    """Wait until ``process`` has a SIGTERM handler of its own (Linux: the SigCgt mask of
    /proc/PID/status), the first thing ``aggregator``'s main does; False if it exits first."""
    deadline = time.monotonic() + timeout
    bit = 1 << (signal.SIGTERM - 1)
    while process.poll() is None:
        with suppress(FileNotFoundError):
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("SigCgt:") and int(line.split()[1], 16) & bit:
                    return True
        if time.monotonic() > deadline:
            raise AssertionError("no SIGTERM handler in time")
        time.sleep(0.001)
    return False


def is_up(db: Path, daemon: subprocess.Popen[str]) -> bool:
    """Whether the daemon subprocess runs on ``db``: its lock file holds the daemon's pid (written
    once its signal handlers are in place, cleared when it stops)."""
    lock = db.with_name(db.name + ".lock")
    return lock.exists() and lock.read_text().strip() == str(daemon.pid)
