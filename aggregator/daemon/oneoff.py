"""A one-off ``aggregator fetch`` beside a fleet sharing the database: it claims the feeds it
polls (due or not) as a worker would, so that no worker starts one of them meanwhile, and it
leaves alone the feeds a worker is polling. It is not a worker: it does not beat, so it takes no
sites from the fleet; its claims are renewed every third of the lease while it runs, and lapse
with the lease if it is killed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime, timedelta

from aggregator.daemon.membership import worker_id
from aggregator.errors import failure
from aggregator.pipeline.database import Database

log = logging.getLogger("aggregator")


class FetchClaims:
    """``async with FetchClaims(db, clock, lease) as claims: await claims.take(ids)``; released at the end."""

    def __init__(self, db: Database, clock: Callable[[], datetime], lease: float) -> None:
        self.db = db
        self.clock = clock
        self.lease = timedelta(seconds=lease)
        self.id = worker_id()
        self.held: list[str] = []
        self._renewal: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FetchClaims:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            with suppress(asyncio.CancelledError):
                await self._renewal
        if self.held:
            try:
                await self.db.write(self.db.store.release_feeds, self.id, self.held)
            except Exception as exc:  # they lapse with the lease
                log.error("could not release the feeds this fetch claimed: %s", failure(exc)[1])

    async def take(self, feed_ids: Sequence[str]) -> dict[str, str]:
        """Claim ``feed_ids``; returns the ones a worker holds, each with the worker's id."""
        now = self.clock()
        self.held = await self.db.write(
            self.db.store.claim_feeds, self.id, list(feed_ids), now, now + self.lease, due_only=False
        )
        self._renewal = asyncio.create_task(self._renew(), name="renew claims")
        wanted, held = set(feed_ids), set(self.held)
        holders = {}
        for row in await self.db.read(self.db.store.worker_overview, now):
            for feed_id in str(row["claimed"] or "").split():
                if feed_id in wanted and feed_id not in held:
                    holders[feed_id] = str(row["id"])
        return {feed_id: holders.get(feed_id, "another worker") for feed_id in feed_ids if feed_id not in held}

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            now = self.clock()
            try:
                await self.db.write(
                    self.db.store.claim_feeds, self.id, self.held, now, now + self.lease, due_only=False
                )
            except Exception as exc:  # the polls go on; a worker may take a feed once its claim lapses
                log.error("could not renew the claims of this fetch: %s", failure(exc)[1])
