"""Which worker polls which site: rendezvous hashing of sites over the live workers.

Every worker computes the same answer from the same list of live workers, without talking to
the others, so one site (registrable domain) is fetched by one worker at a time and the per-site
limits hold across the fleet; when a worker joins or leaves, only the sites it gains or loses
move (about 1/N of them). While the workers' views of the fleet differ (for up to one heartbeat),
a site may be fetched by two workers: its feeds are still polled once at a time (the claims
decide that), and an article is still archived once (its canonical URL is unique).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from aggregator.models import FeedSpec
from aggregator.urls import host_of, registrable_domain


def site_of(feed: FeedSpec) -> str:
    """The site a feed's requests count against: its URL's registrable domain."""
    return registrable_domain(host_of(feed.url))


def _weight(worker: str, site: str) -> bytes:
    return hashlib.blake2b(f"{worker}\0{site}".encode(), digest_size=8).digest()


def owner(site: str, workers: Sequence[str]) -> str | None:
    """The worker that fetches ``site``: the one of highest weight for it (None: no workers)."""
    return max(workers, key=lambda worker: _weight(worker, site), default=None)


def shard(feeds: Iterable[FeedSpec], me: str, workers: Sequence[str]) -> list[FeedSpec]:
    """The feeds whose site is ``me``'s; all of them while ``me`` is the only live worker it knows
    (``workers`` always counts ``me``, so a worker that missed a beat still works alone)."""
    fleet = sorted({*workers, me})
    feeds = list(feeds)
    if len(fleet) == 1:
        return feeds
    sites: dict[str, str | None] = {}
    mine = []
    for feed in feeds:
        site = site_of(feed)
        if site not in sites:
            sites[site] = owner(site, fleet)
        if sites[site] == me:
            mine.append(feed)
    return mine
