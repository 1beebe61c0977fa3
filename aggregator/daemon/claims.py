"""A worker's claims on feeds, counted: a poll, a backfill batch and a revisit batch of one feed
share one claim row, which ends when the last of them does (a claim renewed by every heartbeat
and never given back would keep the feed from every other worker for as long as this one lives)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from aggregator.daemon.membership import Membership
from aggregator.errors import failure
from aggregator.pipeline.database import Database

log = logging.getLogger("aggregator")


class WorkerClaims:
    """The claims of one worker sharing its database (pipeline/claims.py's ``FeedClaims``)."""

    def __init__(self, db: Database, membership: Membership) -> None:
        self.db = db
        self.membership = membership
        self._holders: Counter[str] = Counter()  # the pieces of work holding each feed

    async def take(self, feed_ids: Sequence[str], *, due_only: bool = False) -> list[str]:
        ids = list(dict.fromkeys(feed_ids))
        if not ids:
            return []
        # Counted before the database answers: a give_back meanwhile must not release a claim this
        # take is renewing (its release would land after the claim and end it).
        self._holders.update(ids)
        granted: list[str] = []
        try:
            now = self.membership.clock()
            granted = await self.db.write(
                self.db.store.claim_feeds, self.membership.id, ids, now, self.membership.until(), due_only=due_only
            )
        finally:
            refused = set(ids) - set(granted)
            self._drop([feed_id for feed_id in ids if feed_id in refused])
        return granted

    async def give_back(self, feed_ids: Sequence[str]) -> None:
        ended = self._drop(feed_ids)
        if not ended:
            return
        try:
            await self.db.write(self.db.store.release_feeds, self.membership.id, ended)
        except Exception as exc:  # the claims lapse with the lease
            log.error("could not release feeds %s: %s", ", ".join(ended), failure(exc)[1])

    def _drop(self, feed_ids: Sequence[str]) -> list[str]:
        """Count one piece of work off each feed; returns the feeds nothing holds any more."""
        ended = []
        for feed_id in feed_ids:
            self._holders[feed_id] -= 1
            if self._holders[feed_id] <= 0:
                del self._holders[feed_id]
                ended.append(feed_id)
        return ended

    @property
    def held(self) -> set[str]:
        return set(self._holders)
