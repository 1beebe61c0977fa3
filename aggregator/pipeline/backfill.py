"""Backfill: a feed's history from its sitemaps and the Wayback Machine, archived through the same
pages flow as a feed's items (same extraction, dates, documents and dedup), politely.

Two steps, each resumable. Enumeration reads the sources one document at a time and queues the
URLs not archived yet as entries (``origin`` sitemap or wayback) of a job; a killed run resumes
the job, skipping the documents it had read in full. Archiving takes the queued entries that are
due, a batch at a time, as background requests (the backfill rate, live requests first). A
second run over the same window queues nothing: every URL is an entry or an article already.

The daemon runs :meth:`Backfill.step` in the background: it opens a job for each gap a poll
recorded, enumerates open jobs, archives a batch of queued entries, and marks filled gaps.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from aggregator.discovery import Found, Window, enumerate_sources
from aggregator.errors import failure
from aggregator.models import FeedSpec
from aggregator.pipeline.archiver import Archiver
from aggregator.pipeline.claims import FeedClaims, NoClaims, holding
from aggregator.pipeline.pages import PageResult
from aggregator.store import BackfillJob, EntryWork

log = logging.getLogger("aggregator")

#: Queued entries taken at a time: enough for every site to have one waiting for its turn.
BATCH = 64
#: An enumeration that failed (a source unreachable) is tried again after this long by the daemon.
RETRY_ENUMERATION = 3600.0


@dataclass
class Tally:
    """What a backfill run found and did."""

    found: int = 0  # of them in the window and admitted by the feed's patterns
    queued: int = 0  # new to the archive, queued to fetch (dry run: would be)
    known: int = 0  # archived or queued already
    sources: int = 0  # documents read (sitemaps, CDX pages)
    failed_sources: list[Found] = field(default_factory=list)
    months: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (feed, origin, month): to fetch
    #: archived | duplicate | failed | abandoned, and robots (disallowed by robots.txt: not requested)
    pages: Counter[str] = field(default_factory=Counter)
    limited: bool = False  # stopped at --limit


class Backfill:
    """Backfill work over one archiver (its store, fetcher, pages flow and progress display)."""

    def __init__(self, archiver: Archiver, claims: FeedClaims | None = None) -> None:
        self.archiver = archiver
        #: the daemon's background work in a fleet claims each feed it works on; alone, all are its own
        self.claims: FeedClaims = claims or NoClaims()
        self.db = archiver.db
        self.store = archiver.db.store
        self.settings = archiver.settings
        self._enumeration_failed: dict[int, float] = {}  # job id -> monotonic time of its last failure

    # -- enumeration ---------------------------------------------------------------------------

    async def enumerate(
        self,
        feed: FeedSpec,
        since: date,
        until: date | None = None,
        *,
        limit: int | None = None,
        dry_run: bool = False,
        tally: Tally | None = None,
        job: BackfillJob | None = None,
    ) -> Tally:
        """Read the feed's sources over [since, until] and queue what is not archived (dry run: count
        it, by source and month, and queue nothing). ``limit``: queue at most this many."""
        tally = tally or Tally()
        window = Window.of(since, until, feed.include, feed.exclude)
        if not dry_run and job is None:
            job = await self.db.write(
                self.store.start_backfill, feed.id, since.isoformat(), until.isoformat() if until else None
            )
        skip = await self.db.read(self.store.sources_done, job.id) if job is not None else set()
        failures_before = len(tally.failed_sources)
        sources = enumerate_sources(feed, window, fetcher=self.archiver.fetcher, settings=self.settings, skip=skip)
        async for found in sources:
            tally.sources += 1
            if found.error is not None:
                tally.failed_sources.append(found)  # reported by the caller (the command, the daemon)
                log.info("backfill feed=%s: %s", feed.id, found.error)
                continue
            if found.warning:
                log.warning("backfill feed=%s: %s: %s", feed.id, found.source, found.warning)
            tally.found += len(found.candidates)
            unknown = set(await self.db.read(self.store.unknown_urls, feed.id, [c.url for c in found.candidates]))
            fresh = [c for c in found.candidates if c.url in unknown]
            room = None if limit is None else max(0, limit - tally.queued)
            take = fresh if room is None else fresh[:room]
            tally.known += len(found.candidates) - len(fresh)
            for candidate in take:
                tally.months[(feed.id, candidate.origin, candidate.month() or "undated")] += 1
            if job is not None:
                # a source cut short by the limit is read again by the next run
                queued = await self.db.write(
                    self.store.queue_backfill,
                    job,
                    found.source,
                    [c.entry() for c in take],
                    done=len(take) == len(fresh),
                )
                tally.queued += queued
            else:
                tally.queued += len(take)
            if room is not None and len(fresh) >= room:
                tally.limited = True
                await sources.aclose()
                break
        # A job stopped by its limit is over too (the daemon does not carry it past the limit; a
        # later run reads the sources again and queues what is left). One with a failed source
        # stays open, for the failed documents to be read again.
        if job is not None and len(tally.failed_sources) == failures_before:
            await self.db.write(self.store.finish_enumeration, job.id)
        return tally

    # -- archiving -----------------------------------------------------------------------------

    async def archive(
        self, feeds: Sequence[FeedSpec], *, limit: int | None = None, tally: Tally | None = None
    ) -> Tally:
        """Archive the feeds' queued entries that are due, until none is left due (``limit``: at most
        this many pages). Failures are recorded with their backoff, for a later run.

        Up to ``BATCH`` pages are under way at once, taken round robin over the feeds and topped up
        as they finish, so that no site waits for another's queue."""
        tally = tally or Tally()
        by_id = {feed.id: feed for feed in feeds}
        running: dict[tuple[str, str], asyncio.Task[list[PageResult]]] = {}
        started = 0
        try:
            while True:
                room = BATCH - len(running)
                if limit is not None:
                    room = min(room, limit - started)
                if room > 0 and len(running) <= BATCH // 2:
                    work = await self.db.read(
                        self.store.backfill_work,
                        list(by_id),
                        self.settings.max_attempts,
                        self.archiver.clock(),
                        2 * BATCH,
                    )
                    fresh = [item for item in work if (item.feed_id, item.key) not in running][:room]
                    for item in fresh:
                        page = self.archiver.pages.archive_work(by_id[item.feed_id], [item])
                        running[(item.feed_id, item.key)] = asyncio.create_task(page)
                    started += len(fresh)
                    await self.archiver.texts.record()
                if not running:
                    break
                done, _ = await asyncio.wait(running.values(), return_when=asyncio.FIRST_COMPLETED)
                for key, task in list(running.items()):
                    if task in done:
                        del running[key]
                        _count(tally, task.result())
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)
            await self.archiver.texts.record()
        return tally

    async def _batch(self, feeds: Sequence[FeedSpec], size: int) -> list[PageResult]:
        by_id = {feed.id: feed for feed in feeds}
        work = await self.db.read(
            self.store.backfill_work, list(by_id), self.settings.max_attempts, self.archiver.clock(), size
        )
        groups: dict[str, list[EntryWork]] = {}
        for item in work:
            groups.setdefault(item.feed_id, []).append(item)
        async with holding(self.claims, list(groups)) as mine:  # a feed another worker holds waits
            results = await asyncio.gather(
                *(
                    self.archiver.pages.archive_work(by_id[feed_id], items)
                    for feed_id, items in groups.items()
                    if feed_id in mine
                )
            )
            await self.archiver.texts.record()
        return [result for group in results for result in group]

    # -- the daemon's background work ----------------------------------------------------------

    async def step(self, feeds: Sequence[FeedSpec], tally: Tally | None = None) -> bool:
        """One piece of background work (a gap's job opened and enumerated, an open job enumerated,
        or a batch archived, counted in ``tally.pages``); False when there was nothing to do.
        Never raises (but for cancellation)."""
        try:
            return await self._step(feeds, tally or Tally())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # fault isolation: the daemon's background work goes on
            log.error("backfill: %s", failure(exc)[1], exc_info=log.isEnabledFor(logging.DEBUG))
            return False

    async def _step(self, feeds: Sequence[FeedSpec], tally: Tally) -> bool:
        by_id = {feed.id: feed for feed in feeds}
        for gap in await self.db.read(self.store.unfilled_gaps, list(by_id)):
            feed = by_id[gap["feed_id"]]
            if gap["job_id"] is None and feed.backfill_sources:  # open ones too: the feed may have a source now
                since, until = _gap_days(gap["gap_from"], gap["gap_to"])
                job = await self.db.write(
                    self.store.start_backfill,
                    feed.id,
                    since.isoformat(),
                    until.isoformat(),
                    origin="gap",
                    gap_id=gap["id"],
                )
                log.info("backfill feed=%s: filling the gap %s .. %s", feed.id, gap["gap_from"], gap["gap_to"])
                await self._claimed_job(feed, job)
                return True
        now = time.monotonic()
        for job in await self.db.read(self.store.open_backfills, list(by_id)):
            failed_at = self._enumeration_failed.get(job.id)
            if failed_at is not None and now - failed_at < RETRY_ENUMERATION:
                continue
            if await self._claimed_job(by_id[job.feed_id], job):
                return True
        batch = await self._batch(feeds, BATCH)
        _count(tally, batch)
        if await self.db.write(self.store.settle_gaps):
            log.info("backfill: gaps filled")
        return bool(batch)

    async def _claimed_job(self, feed: FeedSpec, job: BackfillJob) -> bool:
        """Run the job if its feed can be claimed (False: another worker holds it; later, then)."""
        async with holding(self.claims, [feed.id]) as mine:
            if mine:
                await self._run_job(feed, job)
            return bool(mine)

    async def _run_job(self, feed: FeedSpec, job: BackfillJob) -> None:
        since = date.fromisoformat(job.since)
        until = date.fromisoformat(job.until) if job.until else None
        tally = await self.enumerate(feed, since, until, job=job)
        if tally.failed_sources:
            self._enumeration_failed[job.id] = time.monotonic()
            for found in tally.failed_sources:
                log.warning("backfill feed=%s: source failed, read again later: %s", feed.id, found.error)
        log.info(
            "backfill feed=%s: %s .. %s: %d URLs found, %d queued, %d known%s",
            feed.id,
            job.since,
            job.until or "today",
            tally.found,
            tally.queued,
            tally.known,
            f", {len(tally.failed_sources)} sources failed (tried again later)" if tally.failed_sources else "",
            extra={"event": "backfill", "feed": feed.id},
        )


def _count(tally: Tally, results: list[PageResult]) -> None:
    for result in results:
        tally.pages["robots" if result.reason == "robots" else result.status] += 1


def _gap_days(gap_from: str, gap_to: str) -> tuple[date, date]:
    """The days a gap spans, a day wider on each side (the feed's dates and the sources' may be in
    other time zones; what is archived already is skipped anyway)."""
    start = datetime.fromisoformat(gap_from).date() - timedelta(days=1)
    end = datetime.fromisoformat(gap_to).date() + timedelta(days=1)
    return start, end
