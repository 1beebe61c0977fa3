"""The records that cross the store's interface, and the store's one timestamp format (stdlib only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aggregator.models import CaptureRef, FeedResult

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
    "teaser",
    "fetched_via",
    "capture_time",
    "version",
    "status",
    "changed_at",
    "removed_at",
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
    body_digest: str | None = None  # SHA-256 (hex) of the body of the last poll that parsed one
    body_ttl: int | None = None  # that body's <ttl> in minutes


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
    body_digest: str | None = None  # a good poll's body (SHA-256 hex) and <ttl>; None: keep what is stored
    body_ttl: int | None = None


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
    etag: str | None = None  # the page's validators, for a conditional revisit
    last_modified: str | None = None
    teaser: bool = False  # a paywalled page: the body is the public teaser


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


@dataclass(frozen=True)
class RevisitWork:
    """An archived article due to be fetched again, with what a revisit compares and dates by."""

    article_id: str
    url: str  # canonical
    feed_id: str | None
    source: str
    title: str
    body: str
    version: int  # of the latest version (the articles row)
    status: str  # live | removed
    fetched_at: str  # when it was first archived: the revisit delays count from it
    step: int  # revisits of its schedule done
    attempts: int  # failed revisits in a row
    etag: str | None
    last_modified: str | None
    path: str  # of the latest version's text file
    feed_published: str | None  # what the pipeline dated it by, for the new version's date
    first_seen: str | None
    capture: CaptureRef | None  # the newest full capture: what a revisit record refers to


@dataclass(frozen=True)
class NewVersion:
    """An article's title or body as a revisit found it changed, rendered."""

    title: str
    body: str
    document: str
    extractor: str
    published: str
    published_via: str
    date_flag: str | None
    teaser: bool = False  # the page now shows only its public teaser (or no longer does: False)


@dataclass(frozen=True)
class Revisited:
    """What one revisit found, recorded in one transaction. ``gone``: True when the page is no
    longer served (404, 410, a redirect to a section or the front page), False when it answered,
    None when the revisit failed (``failure``: reason, message) and says nothing of either."""

    article_id: str
    seen_at: str  # ISO 8601 UTC
    gone: bool | None
    captures: tuple[CaptureRef, ...] = ()
    version: NewVersion | None = None
    detail: str | None = None  # why it is gone ("HTTP 404", "redirected to https://tass.com/")
    failure: tuple[str, str] | None = None
    step: int | None = None  # revisits of the schedule done after this one
    next_at: str | None = None  # None: the schedule is over
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class RevisitOutcome:
    """What recording a revisit changed: ``outcome`` (unchanged, edited, removed, restored, failed)
    and, for a new version, its number, text file and document."""

    outcome: str
    version: int | None = None
    path: str | None = None
    document: str | None = None


@dataclass(frozen=True)
class WorkerBeat:
    """A worker's heartbeat: who it is, and until when its claims hold without another beat."""

    id: str  # ``<host>-<pid>``, as in the names of the WARC files it writes
    host: str
    pid: int
    started_at: str
    beat_at: str
    expires_at: str  # its lease: past this without a beat, the worker is gone and its claims lapse
    metrics: str | None = None  # the address of its /metrics, when it serves one


# -- what both backends write, decided once ----------------------------------------------------


def poll_row(result: FeedResult, started_at: datetime, finished: str | None, duration_ms: int) -> dict[str, Any]:
    """A poll's row in ``polls``."""
    return {
        "feed_id": result.feed_id,
        "started_at": iso(started_at),
        "finished_at": finished,
        "duration_ms": duration_ms,
        "outcome": result.outcome,
        "http_status": result.http_status,
        "entries": result.entries,
        "new_articles": result.archived,
        "duplicates": result.duplicates,
        "failed": result.failed,
        "error_reason": result.error_reason,
        "error": result.error,
    }


def feed_after_poll(
    result: FeedResult, record: PollRecord, finished: str | None, current: tuple[str, str | None] | None
) -> dict[str, Any]:
    """The feed row's new values after a poll (a failed one also counts one more error, which the
    backend adds in SQL). ``current``: the feed's URL and ``previous_urls`` as stored, needed when
    the poll adopts a permanent redirect (``record.adopt_url``)."""
    values: dict[str, Any] = {
        "status": record.status,
        "last_polled_at": finished,
        "last_http_status": result.http_status,
        "next_poll_at": iso(record.next_poll_at),
        "server_min_interval": record.server_min_interval,
        "redirect_url": record.redirect_url,
        "redirect_count": record.redirect_count,
    }
    if result.ok:
        values.update(
            error_count=0,
            last_error_reason=None,
            last_error=None,
            last_success_at=finished,
            etag=record.etag,
            last_modified=record.last_modified,
        )
        if record.body_digest is not None:
            values.update(body_digest=record.body_digest, body_ttl=record.body_ttl)
    else:
        values.update(last_error_reason=result.error_reason, last_error=result.error)
    if record.adopt_url:
        assert current is not None, "adopting a redirect needs the feed's current URL"
        url, previous_urls = current
        values.update(
            url=record.adopt_url,
            previous_urls=json.dumps([*json.loads(previous_urls or "[]"), url]),
            redirect_url=None,
            redirect_count=0,
            etag=None,
            last_modified=None,
            body_digest=None,
        )
    return values


def first_version(article: dict[str, Any]) -> dict[str, Any]:
    """An article never edited, as the one version of its history (it has no ``article_versions`` row)."""
    keys = ("title", "body", "document", "path")
    return {"version": 1, "seen_at": article["fetched_at"], **{key: article[key] for key in keys}}
