"""Claims on feeds, as the work on a feed asks for them: a poll, a backfill batch, a revisit batch
takes the claims of its feeds first and gives them back when it ends. Alone on its database, a
process holds every feed (``NoClaims``); in a fleet the daemon's claims are rows in the database
(daemon/claims.py), so that no two workers work on one feed at once, even while the fleet changes
and two workers briefly both believe a site is theirs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol


class FeedClaims(Protocol):
    async def take(self, feed_ids: Sequence[str], *, due_only: bool = False) -> list[str]:
        """The feeds of ``feed_ids`` this process may work on now (claimed), in the order given."""
        ...

    async def give_back(self, feed_ids: Sequence[str]) -> None:
        """The work on these feeds (taken by ``take``) is over."""
        ...


class NoClaims:
    """Alone on the database: every feed is this process's."""

    async def take(self, feed_ids: Sequence[str], *, due_only: bool = False) -> list[str]:
        return list(feed_ids)

    async def give_back(self, feed_ids: Sequence[str]) -> None:
        return None


@asynccontextmanager
async def holding(claims: FeedClaims, feed_ids: Sequence[str]) -> AsyncIterator[set[str]]:
    """``async with holding(claims, ids) as mine:`` work on the feeds of ``mine`` only."""
    granted = await claims.take(list(dict.fromkeys(feed_ids)))
    try:
        yield set(granted)
    finally:
        await claims.give_back(granted)
