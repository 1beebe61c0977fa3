"""Revisits: every archived article fetched again on its feed's schedule, and what changed recorded.

A revisit is a conditional GET of the article's canonical URL, at background priority (the
backfill rate, live polls first). What it finds:

* unchanged (a 304, the same payload, or a new payload whose title and body are the same): its
  captures, a WARC revisit record for the first two, and the next revisit;
* edited (the title or body differs after extraction): a new version, its document written in
  the fixed format beside the first (``NNN_<id>.vK.txt``);
* removed (404, 410, or a redirect to a section or the front page): the article marked removed
  with the time it was first seen gone; its versions and captures stay;
* restored (a removed article answering again): marked live, and compared as above;
* failed (a network error, a 5xx, a page that no longer extracts): recorded, and tried again
  after the page backoff; a revisit that keeps failing moves on to the next delay.

Per-article failures are data, as everywhere: nothing here raises for one article.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aggregator.document.article import render_article
from aggregator.document.dating import date_flag
from aggregator.errors import FetchError, HTTPStatusError, failure
from aggregator.fetch import PAGE_ACCEPT
from aggregator.models import CaptureRef, FeedSpec, Response
from aggregator.pipeline.archiver import Archiver
from aggregator.pipeline.claims import FeedClaims, NoClaims, holding
from aggregator.pipeline.timing import first_revisit, page_retry_at, revisit_plan
from aggregator.profiles import fallback_from, feed_profile
from aggregator.store import NewVersion, Revisited, RevisitWork, iso
from aggregator.urls import canonical_url, is_section_of

log = logging.getLogger("aggregator")

#: revisits under way at once (the fetcher's background slots and the backfill rate bound the
#: requests themselves)
BATCH = 32
#: articles scheduled per transaction when their revisits are planned
SCHEDULE_BATCH = 1000
#: what a revisit can find, in the order summaries name them
OUTCOMES = ("unchanged", "edited", "removed", "restored", "failed")


@dataclass
class RevisitTally:
    """What revisits found, per feed."""

    by_feed: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, feed_id: str, outcome: str) -> None:
        self.by_feed.setdefault(feed_id, Counter())[outcome] += 1

    @property
    def total(self) -> Counter[str]:
        return sum(self.by_feed.values(), Counter())


class Revisits:
    """The revisits of one archiver's feeds (its store, fetcher, captures, extraction, text files)."""

    def __init__(self, archiver: Archiver, claims: FeedClaims | None = None) -> None:
        self.archiver = archiver
        self.claims: FeedClaims = claims or NoClaims()  # as Backfill's
        self.settings = archiver.settings
        self.db = archiver.db

    def delays(self, feed: FeedSpec) -> tuple[int, ...]:
        return feed.revisit if feed.revisit is not None else self.settings.revisit

    async def schedule(self, feeds: Sequence[FeedSpec]) -> int:
        """Plan the revisits of the articles not scheduled yet (new ones, and all of them in an
        archive from before revisits); returns how many were planned."""
        by_id = {feed.id: feed for feed in feeds}
        now = self.archiver.clock()
        planned = 0
        while batch := await self.db.read(self.db.store.unscheduled_revisits, SCHEDULE_BATCH):
            plans = []
            for article_id, feed_id, fetched_at in batch:
                feed = by_id.get(feed_id or "")
                delays = self.delays(feed) if feed is not None else self.settings.revisit
                step, when = first_revisit(datetime.fromisoformat(fetched_at), delays, now)
                plans.append((article_id, step, iso(when)))
            await self.db.write(self.db.store.schedule_revisits, plans)
            planned += len(plans)
        return planned

    async def run(self, feeds: Sequence[FeedSpec], tally: RevisitTally, *, limit: int | None = None) -> int:
        """Every revisit due now of these feeds' articles (at most ``limit``); returns how many."""
        await self.schedule(feeds)
        done = 0
        while limit is None or done < limit:
            size = BATCH if limit is None else min(BATCH, limit - done)
            if not await self._batch(feeds, tally, size):
                break
            done += size
        return done

    async def step(self, feeds: Sequence[FeedSpec], tally: RevisitTally) -> bool:
        """One batch of due revisits (the daemon's background work); False when none was due, or
        when the database could not say (logged: the next step asks again)."""
        try:
            await self.schedule(feeds)
            return await self._batch(feeds, tally, BATCH)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("revisits: cannot read or plan what is due: %s", failure(exc)[1])
            return False

    async def _batch(self, feeds: Sequence[FeedSpec], tally: RevisitTally, size: int) -> bool:
        by_id = {feed.id: feed for feed in feeds if feed.enabled and self.delays(feed)}
        now = iso(self.archiver.clock()) or ""
        work = await self.db.read(self.db.store.due_revisits, list(by_id), now, size)
        if not work:
            return False
        async with holding(self.claims, [item.feed_id or "" for item in work]) as mine:  # another's waits
            work = [item for item in work if (item.feed_id or "") in mine]
            outcomes = await asyncio.gather(*(self.revisit(by_id[item.feed_id or ""], item) for item in work))
            for item, outcome in zip(work, outcomes, strict=True):
                tally.add(item.feed_id or "", outcome)
            await self.archiver.texts.record()
        return bool(work)

    async def revisit(self, feed: FeedSpec, work: RevisitWork) -> str:
        """Fetch one article again and record what it found; returns the outcome. Never raises
        (but for cancellation)."""
        try:
            found = await self._look(feed, work)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # fault isolation: one article's failure, whatever it is
            found = self._failed(feed, work, *failure(exc), ())
        try:
            outcome = await self.db.write(self.db.store.record_revisit, found)
        except Exception as exc:  # the database: the revisit stays due and is tried again
            log.error("revisit %s: could not be recorded: %s", work.url, failure(exc)[1])
            return "failed"
        if outcome.path is not None and outcome.document is not None:
            await self.archiver.texts.write(work.article_id, outcome.path, outcome.document)
        if outcome.outcome != "unchanged":
            log.info(
                "revisit feed=%s url=%s: %s%s",
                feed.id,
                work.url,
                outcome.outcome,
                f" (version {outcome.version})" if outcome.version else "",
                extra={"event": "revisit", "feed": feed.id, "outcome": outcome.outcome},
            )
        return outcome.outcome

    async def _look(self, feed: FeedSpec, work: RevisitWork) -> Revisited:
        captures = self.archiver.captures
        # The URL that last answered with the page (its canonical URL may be one the site does not
        # serve as such: another scheme, a mirror); the canonical one when nothing was captured.
        url = work.capture.url if work.capture is not None else work.url
        try:
            response = await self.archiver.fetcher.get(
                url,
                max_bytes=self.settings.max_page_bytes,
                etag=work.etag,
                last_modified=work.last_modified,
                accept=PAGE_ACCEPT,
                background=True,
            )
        except HTTPStatusError as exc:
            refs = await captures.write_again(exc.exchanges, None)
            if exc.status in (404, 410):
                return self._seen(feed, work, gone=True, captures=refs, detail=f"HTTP {exc.status}")
            return self._failed(feed, work, exc.reason, str(exc), refs)
        except FetchError as exc:
            return self._failed(feed, work, exc.reason, str(exc), ())
        if response.final_url != url and is_section_of(response.final_url, url):
            refs = await captures.write_again(response.exchanges, None)
            return self._seen(feed, work, gone=True, captures=refs, detail=f"redirected to {response.final_url}")
        refs = await captures.write_again(response.exchanges, work.capture)
        validators = (
            response.headers.get("etag") or work.etag,
            response.headers.get("last-modified") or work.last_modified,
        )
        if response.not_modified or (refs and refs[-1].record_type == "revisit"):
            return self._seen(feed, work, gone=False, captures=refs, validators=validators)
        return await self._compare(feed, work, response, refs, validators)

    async def _compare(
        self,
        feed: FeedSpec,
        work: RevisitWork,
        response: Response,
        refs: tuple[CaptureRef, ...],
        validators: tuple[str | None, str | None],
    ) -> Revisited:
        """A new payload: a new version when its title or body differ from the latest."""
        try:
            article = await self.archiver.pages.extract(response, feed_profile(feed))
        except Exception as exc:  # a page that no longer extracts says nothing of the story: tried again
            reason, message = failure(exc)
            return self._failed(feed, work, reason, message, refs)
        drifted = fallback_from(article.extractor)
        if drifted is not None:  # the fallback's text differs from any profile's: no measure of an edit
            message = f"profile {drifted} found no body (profile_drift), the page is not compared: {work.url}"
            return self._failed(feed, work, "no_body", message, refs)
        version = None
        if article.title != work.title or article.body != work.body:
            first_seen = datetime.fromisoformat(work.first_seen or work.fetched_at)
            feed_published = datetime.fromisoformat(work.feed_published) if work.feed_published else None
            document, published, via = render_article(
                article,
                source=work.source,
                timezone=feed.timezone,
                feed_published=feed_published,
                first_seen=first_seen,
            )
            version = NewVersion(
                title=article.title,
                body=article.body,
                document=document,
                extractor=article.extractor,
                published=published.isoformat(),
                published_via=via,
                date_flag=date_flag(article.published, feed_published),
                teaser=article.teaser,
            )
        if canonical_url(article.url) != work.url:
            log.info("revisit %s: the page now names %s as its URL (kept as the same article)", work.url, article.url)
        return self._seen(feed, work, gone=False, captures=refs, version=version, validators=validators)

    def _seen(
        self,
        feed: FeedSpec,
        work: RevisitWork,
        *,
        gone: bool,
        captures: tuple[CaptureRef, ...],
        detail: str | None = None,
        version: NewVersion | None = None,
        validators: tuple[str | None, str | None] = (None, None),
    ) -> Revisited:
        now = self.archiver.clock()
        step, when = revisit_plan(datetime.fromisoformat(work.fetched_at), self.delays(feed), work.step, now)
        return Revisited(
            article_id=work.article_id,
            seen_at=iso(now) or "",
            gone=gone,
            captures=captures,
            version=version,
            detail=detail,
            step=step,
            next_at=iso(when),
            etag=validators[0],
            last_modified=validators[1],
        )

    def _failed(
        self, feed: FeedSpec, work: RevisitWork, reason: str, message: str, captures: tuple[CaptureRef, ...]
    ) -> Revisited:
        """Tried again after the page backoff; after ``max_attempts`` failures in a row, at the
        next delay of the schedule instead."""
        now = self.archiver.clock()
        log.warning("revisit %s failed: %s", work.url, message)
        step: int = work.step
        when: datetime | None = page_retry_at(
            now, work.attempts + 1, self.settings.page_retry_delay, self.settings.max_backoff
        )
        if work.attempts + 1 >= self.settings.max_attempts:
            step, when = revisit_plan(datetime.fromisoformat(work.fetched_at), self.delays(feed), work.step + 1, now)
        return Revisited(
            article_id=work.article_id,
            seen_at=iso(now) or "",
            gone=None,
            captures=captures,
            failure=(reason, message),
            step=step,
            next_at=iso(when),
        )
