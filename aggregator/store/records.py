"""The records that cross the store's interface, and the store's one timestamp format (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aggregator.models import CaptureRef

#: The article columns the read side exposes (everything but the bookkeeping ones), in export order.
ARTICLE_COLUMNS = (
    "id",
    "url",
    "title",
    "published",
    "published_via",
    "day",
    "source",
    "feed_id",
    "extractor",
    "fetched_at",
    "path",
    "date_flag",
    "fetched_via",
    "capture_time",
    "body",
    "document",
)
#: The tables ``Store.count`` knows.
TABLES = ("feeds", "articles", "article_urls", "entries", "polls", "captures", "gaps", "backfill_jobs")


def utc_now() -> datetime:
    """Now, in UTC, to the second: the precision every stored time has."""
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    """A timestamp as stored: UTC, whole seconds, ISO 8601, so that text order is time order."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat() if moment is not None else None


@dataclass(frozen=True)
class FeedState:
    """What the store remembers about a feed between polls."""

    id: str
    url: str  # the URL polled: the configured one, or a permanent redirect's target once adopted
    etag: str | None
    last_modified: str | None
    status: str = "new"
    error_count: int = 0
    redirect_url: str | None = None  # a permanent redirect seen on the last polls
    redirect_count: int = 0  # on how many consecutive polls
    unfinished: bool = False  # entries pending or failed (to fetch now or later): False spares the query
    newest_item_at: str | None = None  # the newest item the feed showed (UTC ISO 8601); None: none yet


@dataclass(frozen=True)
class PollRecord:
    """What a finished poll changes on the feed row besides the poll log."""

    status: str  # ok, backing_off, failing, gone
    next_poll_at: datetime | None  # None: never again (gone)
    etag: str | None = None
    last_modified: str | None = None
    server_min_interval: int | None = None
    redirect_url: str | None = None
    redirect_count: int = 0
    adopt_url: str | None = None  # a permanent redirect seen often enough: the feed's new URL


@dataclass(frozen=True)
class EntryWork:
    """A feed entry that still needs its article page."""

    feed_id: str
    key: str
    link: str
    url: str  # canonical form of the link
    feed_published: str | None
    first_seen: str
    attempts: int
    origin: str | None = None  # None: the feed showed it; sitemap | wayback: backfill found it
    capture: str | None = None  # the Wayback capture it was listed with (14-digit timestamp)


@dataclass(frozen=True)
class NewArticle:
    """Everything the store needs to archive one article. Its text file's place (folder, running
    number, name) is the store's to give, by the document format's naming rule."""

    url: str
    article_id: str
    title: str
    published: str  # ISO 8601 with the offset it is rendered in
    published_via: str
    day: str  # YYYY-MM-DD of ``published``
    source: str
    feed_id: str | None
    body: str
    document: str
    extractor: str
    fetched_at: str
    aliases: tuple[str, ...] = ()
    #: the WARC records of the page's exchanges (redirects first), recorded with the article
    captures: tuple[CaptureRef, ...] = ()
    date_flag: str | None = None  # the page's and the feed's dates far apart
    fetched_via: str = "live"  # live | wayback (the page came from a Wayback capture)
    capture_time: str | None = None  # when the Wayback capture was made (fetched_via wayback)


@dataclass(frozen=True)
class KeptPage:
    """A page kept in the database before the archive wrote WARC files, to be moved into one."""

    article_id: str
    url: str
    content_type: str | None
    fetched_at: str | None
    html: bytes


@dataclass(frozen=True)
class BackfillJob:
    """One enumeration of a feed's backfill sources over a window of days (inclusive)."""

    id: int
    feed_id: str
    since: str  # YYYY-MM-DD
    until: str | None  # YYYY-MM-DD; None: up to now
    origin: str  # command | gap
    status: str  # enumerating | queued
    gap_id: int | None = None


@dataclass(frozen=True)
class Saved:
    """The outcome of ``save_article``."""

    article_id: str
    created: bool  # False: the URL was already archived (a duplicate merged)
    path: str | None  # relative path of the text file (None for duplicates)
    document: str | None
