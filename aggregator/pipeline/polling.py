"""One poll of a feed: the conditional GET, the parse, the new entries recorded as pending.

A 200 whose body is byte for byte the last good poll's (its SHA-256) is a ``not_modified`` poll as
a 304 is (its ``http_status`` stays 200): nothing is parsed. Otherwise a cheap pass over the items'
identities (``scan_feed``) is compared with the entries the feed has shown, and feedparser runs on
the new and changed items only (``parse_new_items``); a body the pass is not sure of is parsed whole.

What the server said that matters for the next poll (validators, caching hints, Retry-After, a
permanent redirect) travels in the ``Poll``; the failures one expects of a feed (the fetch, not a
feed) are its result, anything else is raised to the archiver, which records it as the feed's.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from aggregator.errors import FeedError, FetchError, InvalidURL
from aggregator.feeds import parse_feed, parse_remainder, scan_feed
from aggregator.fetch import FEED_ACCEPT, Fetcher
from aggregator.models import Entry, FeedResult, FeedSpec, ParsedFeed, Settings
from aggregator.pipeline.captures import Captures
from aggregator.pipeline.database import Database
from aggregator.pipeline.timing import server_min_interval
from aggregator.store import FeedState, iso
from aggregator.urls import canonical_url, is_http_url, without_credentials

log = logging.getLogger("aggregator")

T = TypeVar("T")

#: A poll sharing no item with the last one is a gap only when it shows at least this many: a feed
#: of a single item shares nothing with its last poll whenever anything is published.
GAP_MIN_ITEMS = 2
#: A feed document up to this size is parsed on the event loop (milliseconds: a thread's hand-over
#: would cost more than it saves); a larger one in a thread, so that no fetch waits for it.
PARSE_ON_LOOP_BYTES = 256 * 1024


@dataclass(frozen=True)
class Poll:
    """A poll's result and what the server said that matters for the next one."""

    result: FeedResult
    etag: str | None = None  # validators to send next time (kept only from a good poll)
    last_modified: str | None = None
    server_delay: int | None = None  # <ttl>, Cache-Control max-age or Expires, in seconds
    retry_after: float | None = None
    permanent_redirect: str | None = None
    body_digest: str | None = None  # a parsed (or unchanged) body's SHA-256, and its <ttl>
    body_ttl: int | None = None


async def poll_feed(
    feed: FeedSpec,
    state: FeedState,
    *,
    settings: Settings,
    fetcher: Fetcher,
    db: Database,
    captures: Captures,
    clock: Callable[[], datetime],
) -> Poll:
    """Conditional GET (its exchanges captured) and parse; new entries are recorded as pending."""
    try:
        response = await fetcher.get(
            state.url,
            max_bytes=settings.max_feed_bytes,
            etag=state.etag,
            last_modified=state.last_modified,
            accept=FEED_ACCEPT,
        )
    except FetchError as exc:
        failed = FeedResult(
            feed.id, "error", http_status=getattr(exc, "status", None), error_reason=exc.reason, error=str(exc)
        )
        return Poll(failed, retry_after=getattr(exc, "retry_after", None))
    await captures.keep_feed(feed.id, response)
    etag = response.headers.get("etag") or state.etag
    last_modified = response.headers.get("last-modified") or state.last_modified
    redirect = response.permanent_redirect
    if response.not_modified:
        delay = server_min_interval(response.headers, None, clock())
        return Poll(
            FeedResult(feed.id, "not_modified", http_status=304),
            etag,
            last_modified,
            delay,
            permanent_redirect=redirect,
        )
    digest = hashlib.sha256(response.content).hexdigest()
    if digest == state.body_digest:  # the last good poll's body again: what it said is recorded
        delay = server_min_interval(response.headers, state.body_ttl, clock())
        unchanged = FeedResult(feed.id, "not_modified", http_status=response.status)
        return Poll(unchanged, etag, last_modified, delay, None, redirect, digest, state.body_ttl)
    try:
        parsed, shown = await _parse(feed, response.content, response.final_url, response.headers, db)
    except FeedError as exc:
        return Poll(FeedResult(feed.id, "error", http_status=response.status, error_reason=exc.reason, error=str(exc)))
    rows = list(entry_rows(parsed.entries))
    previous = state.newest_item_at if shown >= GAP_MIN_ITEMS else None
    new, linked = await db.write(db.store.add_entries, feed.id, rows)
    if parsed.warning:
        log.warning("feed %s: %s", feed.id, parsed.warning)
    gap = None
    # every item new: never so when the fast path left a known one out (then len(rows) < shown)
    if previous is not None and new == shown == len({row["key"] for row in rows}):
        gap = await _record_gap(feed, previous, rows, db, clock)
    result = FeedResult(
        feed.id,
        "ok",
        entries=shown,
        new_entries=new,
        duplicates=linked,
        http_status=response.status,
        warning=parsed.warning,
        gap=gap,
    )
    delay = server_min_interval(response.headers, parsed.ttl_minutes, clock())
    return Poll(result, etag, last_modified, delay, None, redirect, digest, parsed.ttl_minutes)


async def _parse(
    feed: FeedSpec, content: bytes, url: str, headers: dict[str, str], db: Database
) -> tuple[ParsedFeed, int]:
    """The feed's new and changed entries, and how many entries it shows (new or not). Only items
    the feed has not shown, or whose ``updated`` changed, go through feedparser when the identity
    pass is sure of the body; else the whole body does. Raises ``FeedError`` as ``parse_feed`` does.
    Whatever is parsed, it is parsed in a thread when larger than ``PARSE_ON_LOOP_BYTES`` (so a
    large feed showing a few new items has only its identity pass there)."""
    scan = await _on_loop_or_thread(len(content), partial(scan_feed, content, url=url, headers=headers))
    known = await db.read(db.store.known_entries, feed.id, scan.keys) if scan is not None else None
    if scan is None or not known:  # nothing to leave out: the full parse, as before
        parsed = await _on_loop_or_thread(len(content), partial(parse_feed, content, url=url, headers=headers))
        return parsed, len(parsed.entries)
    document = scan.remainder(known)
    return await _on_loop_or_thread(len(document), partial(parse_remainder, scan, document)), len(scan.items)


async def _on_loop_or_thread(size: int, call: Callable[[], T]) -> T:
    """``call()`` on the event loop for a document up to ``PARSE_ON_LOOP_BYTES``, else in a thread
    (seconds for the largest feeds: the loop goes on fetching meanwhile)."""
    return await asyncio.to_thread(call) if size > PARSE_ON_LOOP_BYTES else call()


async def _record_gap(
    feed: FeedSpec, previous: str, rows: list[dict[str, object]], db: Database, clock: Callable[[], datetime]
) -> tuple[str, str]:
    """Every item of this poll is new: what was published between the newest item seen before and
    the oldest of these was probably missed. Recorded as a gap (filled in the background when the
    feed has backfill sources); returns its window."""
    published = [iso(datetime.fromisoformat(str(row["feed_published"]))) for row in rows if row.get("feed_published")]
    oldest_now = min(filter(None, published), default=iso(clock()) or "")
    window = (min(previous, oldest_now), max(previous, oldest_now))
    await db.write(db.store.record_gap, feed.id, *window, fillable=feed.backfill_sources)
    log.warning(
        "feed %s: no item in common with the last poll: items between %s and %s were probably missed (%s)",
        feed.id,
        *window,
        "filling the gap from its backfill sources" if feed.backfill_sources else "it has no backfill source",
        extra={"event": "gap", "feed": feed.id},
    )
    return window


def entry_rows(entries: Iterable[Entry]) -> Iterable[dict[str, object]]:
    """Entries as store rows; one without a usable link is kept, abandoned, with its reason. A link
    loses any ``user:password@`` before it is stored or fetched."""
    for entry in entries:
        link = without_credentials(entry.link) if entry.link and is_http_url(entry.link) else None
        row: dict[str, object] = {
            "key": entry.key,
            "link": link,
            "url": None,
            "title": entry.title,
            "feed_published": entry.published.isoformat() if entry.published else None,
            "feed_updated": entry.updated,
        }
        if link is None:
            row.update(status="abandoned", last_error_reason="no_link", last_error="feed entry has no http(s) link")
            yield row
            continue
        try:
            row["url"] = canonical_url(link)
        except InvalidURL as exc:
            row.update(status="abandoned", last_error_reason=exc.reason, last_error=str(exc))
        yield row
