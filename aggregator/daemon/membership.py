"""This worker in the fleet: its id, its heartbeat, and the live workers it last saw.

A worker's claims hold until its lease runs out; it beats every third of the lease, each beat
renewing them, so a worker that misses two beats in a row still holds its feeds, and one that
died (or lost the database) loses them within a lease.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from aggregator.errors import failure
from aggregator.pipeline.database import Database
from aggregator.store import WorkerBeat, iso

log = logging.getLogger("aggregator")


def worker_id() -> str:
    """``<host>-<pid>``: the same parts the WARC files this process writes are named with."""
    return f"{socket.gethostname() or 'localhost'}-{os.getpid()}"


class Membership:
    """Beats for this worker and remembers which workers were live at the last beat."""

    def __init__(self, db: Database, clock: Callable[[], datetime], lease: float, metrics: str | None = None) -> None:
        self.db = db
        self.clock = clock
        self.lease = timedelta(seconds=lease)
        self.id = worker_id()
        self.metrics = metrics
        self.started_at = iso(clock()) or ""
        self.live: list[str] = [self.id]

    @property
    def interval(self) -> float:
        return self.lease.total_seconds() / 3

    def until(self) -> datetime:
        """When a claim taken now lapses without another beat."""
        return self.clock() + self.lease

    async def beat(self) -> bool:
        """One heartbeat; False (logged) when the database did not take it."""
        now = self.clock()
        beat = WorkerBeat(
            id=self.id,
            host=socket.gethostname() or "localhost",
            pid=os.getpid(),
            started_at=self.started_at,
            beat_at=iso(now) or "",
            expires_at=iso(now + self.lease) or "",
            metrics=self.metrics,
        )
        try:
            await self.db.write(self.db.store.beat, beat)
            self.live = await self.db.read(self.db.store.live_workers, now)
        except Exception as exc:  # the database is unwell: the claims lapse if it stays so
            log.error("heartbeat of worker %s failed: %s", self.id, failure(exc)[1])
            return False
        return True

    async def reap(self, *, everyone_else: bool) -> None:
        """Sign off the workers known to be dead, so that their claims end now rather than with
        their lease: every other one when this worker is alone by construction (``everyone_else``),
        else those of this host whose process is gone."""
        host = socket.gethostname() or "localhost"
        try:
            rows = await self.db.read(self.db.store.worker_overview, self.clock())
            for row in rows:
                if row["id"] != self.id and (everyone_else or (row["host"] == host and not _running(int(row["pid"])))):
                    await self.db.write(self.db.store.leave, str(row["id"]))
                    log.info("worker %s is gone: its claims are released", row["id"])
        except Exception as exc:  # their claims lapse with their leases
            log.error("could not sign off the workers that are gone: %s", failure(exc)[1])

    async def leave(self) -> None:
        try:
            await self.db.write(self.db.store.leave, self.id)
        except Exception as exc:  # its claims lapse with its lease
            log.error("worker %s could not sign off: %s", self.id, failure(exc)[1])


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
