"""This worker in the fleet: its id, its heartbeat, and the live workers it last saw.

A worker's claims hold until its lease runs out; it beats every third of the lease, each beat
renewing them, so a worker that misses two beats in a row still holds its feeds, and one that
died (or lost the database) loses them within a lease. Each beat also reads when every other
worker's lease ends, so that a worker counts as gone (its sites move to the others) the moment
its lease does, not at the next beat; one of this host whose process is gone is signed off at
the beat (no lease to wait for).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aggregator.document.textfiles import process_alive
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
        self._leases: dict[str, datetime] = {}  # every other worker's lease end, as at the last beat
        #: the workers that left the fleet (signed off, or their lease lapsed) since the beat before
        #: the last one: what they left half done (a text file, a WARC file open) is the others' to finish
        self.departed: list[str] = []

    @property
    def live(self) -> list[str]:
        """The workers whose lease holds now (this one always), sorted: the fleet sites are shared over."""
        now = self.clock()
        return sorted([self.id, *(worker for worker, until in self._leases.items() if until > now)])

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
        before = set(self.live)
        try:
            await self.db.write(self.db.store.beat, beat)
            leases = {}
            for row in await self.db.read(self.db.store.worker_overview, now):
                if row["id"] != self.id and not await self._signed_off(row, everyone_else=False):
                    leases[str(row["id"])] = datetime.fromisoformat(str(row["expires_at"]))
        except Exception as exc:  # the database is unwell: the claims lapse if it stays so
            log.error("heartbeat of worker %s failed: %s", self.id, failure(exc)[1])
            return False
        self._leases = leases
        self.departed = sorted(before - set(self.live))
        return True

    async def _signed_off(self, row: dict[str, Any], *, everyone_else: bool) -> bool:
        """Sign off the worker of ``row`` if it is known to be dead (True when it was)."""
        host = socket.gethostname() or "localhost"
        if not everyone_else and (row["host"] != host or process_alive(int(row["pid"]))):
            return False
        await self.db.write(self.db.store.leave, str(row["id"]))
        log.info("worker %s is gone: its claims are released", row["id"])
        return True

    async def reap(self, *, everyone_else: bool) -> None:
        """Sign off the workers known to be dead, so that their claims end now rather than with
        their lease: every other one when this worker is alone by construction (``everyone_else``),
        else those of this host whose process is gone."""
        try:
            for row in await self.db.read(self.db.store.worker_overview, self.clock()):
                if row["id"] != self.id:
                    await self._signed_off(row, everyone_else=everyone_else)
        except Exception as exc:  # their claims lapse with their leases
            log.error("could not sign off the workers that are gone: %s", failure(exc)[1])

    async def leave(self) -> None:
        try:
            await self.db.write(self.db.store.leave, self.id)
        except Exception as exc:  # its claims lapse with its lease
            log.error("worker %s could not sign off: %s", self.id, failure(exc)[1])
