"""One poll of a feed: the conditional GET, the parse, the new entries recorded as pending.

What the server said that matters for the next poll (validators, caching hints, Retry-After, a
permanent redirect) travels in the ``Poll``; the failures one expects of a feed (the fetch, not a
feed) are its result, anything else is raised to the archiver, which records it as the feed's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from aggregator.errors import FeedError, FetchError, InvalidURL
from aggregator.feeds import parse_feed
from aggregator.fetch import FEED_ACCEPT, Fetcher
from aggregator.models import Entry, FeedResult, FeedSpec, Settings
from aggregator.pipeline.database import Database
from aggregator.pipeline.timing import server_min_interval
from aggregator.store import FeedState
from aggregator.urls import canonical_url, is_http_url, without_credentials

log = logging.getLogger("aggregator")


@dataclass(frozen=True)
class Poll:
    """A poll's result and what the server said that matters for the next one."""

    result: FeedResult
    etag: str | None = None  # validators to send next time (kept only from a good poll)
    last_modified: str | None = None
    server_delay: int | None = None  # <ttl>, Cache-Control max-age or Expires, in seconds
    retry_after: float | None = None
    permanent_redirect: str | None = None


async def poll_feed(
    feed: FeedSpec,
    state: FeedState,
    *,
    settings: Settings,
    fetcher: Fetcher,
    db: Database,
    clock: Callable[[], datetime],
) -> Poll:
    """Conditional GET and parse; new entries are recorded as pending in the store."""
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
    try:
        parsed = parse_feed(response.content, url=response.final_url, headers=response.headers)
    except FeedError as exc:
        return Poll(FeedResult(feed.id, "error", http_status=response.status, error_reason=exc.reason, error=str(exc)))
    new, linked = await db.write(db.store.add_entries, feed.id, list(entry_rows(parsed.entries)))
    if parsed.warning:
        log.warning("feed %s: %s", feed.id, parsed.warning)
    result = FeedResult(
        feed.id,
        "ok",
        entries=len(parsed.entries),
        new_entries=new,
        duplicates=linked,
        http_status=response.status,
        warning=parsed.warning,
    )
    delay = server_min_interval(response.headers, parsed.ttl_minutes, clock())
    return Poll(result, etag, last_modified, delay, permanent_redirect=redirect)


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
