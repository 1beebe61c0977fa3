"""One daemon per database: an exclusive lock on ``<database>.lock`` that holds the daemon's pid.

The operating system releases the lock when the process dies, however it dies, so a crashed
daemon never blocks the next start.

A PostgreSQL database has no lock file: many daemons (workers) share it, and their claims on
feeds in the database keep them apart, so the lock holds nothing there and no pid is known.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from aggregator.errors import AlreadyRunning
from aggregator.models import is_database_url


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def daemon_pid(database: Path | str) -> int | None:
    """The pid of the daemon holding the lock on ``database``, or None when none runs (always None
    for a PostgreSQL database)."""
    if is_database_url(database):
        return None
    path = lock_path(Path(database))
    try:
        handle = path.open("r")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


class DaemonLock:
    """``with DaemonLock(database):`` — raises AlreadyRunning when another daemon holds it."""

    def __init__(self, database: Path | str) -> None:
        self.shared = is_database_url(database)  # PostgreSQL: shared by many workers, nothing to lock
        self.path = Path(str(database)) if self.shared else lock_path(Path(database))
        self._handle: int | None = None

    def __enter__(self) -> DaemonLock:
        if self.shared:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = daemon_pid(self.path.with_name(self.path.name.removesuffix(".lock")))
            who = f" (pid {pid})" if pid else ""
            raise AlreadyRunning(
                f"another aggregator daemon{who} is already running on this database; lock file {self.path}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._handle = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handle is not None:
            os.ftruncate(self._handle, 0)
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None
