"""Plain frozen records that travel between the stages (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class FeedSpec:
    """One feed from feeds.yaml."""

    id: str
    url: str
    source: str
    timezone: str | None = None
    profile: str | None = None
    interval: int = 900  # seconds between polls
    enabled: bool = True
    #: inline extraction selectors for a site without a profile, as sorted (key, value) pairs
    selectors: tuple[tuple[str, str | int | tuple[str, ...]], ...] | None = None
    #: backfill sources: sitemap (or sitemap index) URLs, ``auto`` for robots.txt's Sitemap: lines
    sitemaps: tuple[str, ...] = ()
    #: backfill sources: URL prefixes (``tass.com/politics/``) to enumerate in the Wayback Machine
    wayback: tuple[str, ...] = ()
    #: regular expressions a backfilled URL must match one of (include) and none of (exclude)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: delays (seconds after first archived) of the revisits of its articles; None: the setting's
    revisit: tuple[int, ...] | None = None

    @property
    def backfill_sources(self) -> bool:
        return bool(self.sitemaps or self.wayback)


#: The URL schemes of a PostgreSQL database (any other ``database`` is an SQLite file path).
POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(database: str | Path) -> bool:
    """Whether ``database`` names a PostgreSQL database (a URL), not an SQLite file."""
    return isinstance(database, str) and database.startswith(POSTGRESQL_SCHEMES)


@dataclass(frozen=True)
class Settings:
    """The ``settings:`` block of feeds.yaml, paths already resolved."""

    #: an SQLite file, or a PostgreSQL database URL (``postgresql://...``, kept as written)
    database: Path | str = Path("archive/archive.db")
    archive_dir: Path = Path("archive")
    write_text: bool = True
    user_agent: str = "aggregator/0.1 (+news feed archiver)"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_feed_bytes: int = 10 * 1024 * 1024
    max_page_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 8
    per_host_concurrency: int = 2
    retries: int = 2
    retry_backoff: float = 1.0
    max_retry_after: float = 30.0
    proxy: str | None = None
    allow_private_networks: bool = False
    max_attempts: int = 5
    page_retry_delay: int = 600
    max_backoff: int = 21600
    keep_html: bool = True  # every page's HTTP exchanges kept as WARC records
    capture_feeds: bool = True  # and every feed's
    warc_max_bytes: int = 1_000_000_000  # a WARC file is closed once it is this large (and every UTC day)
    respect_robots: bool = True
    backfill_rate: float = 1.0  # requests per second per registrable domain, for backfill
    wayback_url: str = "https://web.archive.org"
    #: seconds a worker's claims on feeds hold without a heartbeat (it beats every third of it):
    #: how soon the feeds of a worker that died are polled by another
    worker_lease: int = 60
    #: when an archived article is fetched again for edits and removals: seconds after it was first
    #: archived (1 h, 6 h, 1 d, 3 d, 7 d); () for never
    revisit: tuple[int, ...] = (3600, 21600, 86400, 259200, 604800)


@dataclass(frozen=True)
class Config:
    path: Path
    settings: Settings
    feeds: tuple[FeedSpec, ...]

    def feed(self, feed_id: str) -> FeedSpec | None:
        return next((f for f in self.feeds if f.id == feed_id), None)


@dataclass(frozen=True)
class Response:
    """A fetched HTTP answer. ``status`` is 200 (``content`` holds the decoded-transfer body,
    i.e. decompressed) or 304 (``content`` is empty)."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]  # lower-cased names
    content: bytes = b""
    #: target of the last permanent (301/308) redirect followed, if any
    permanent_redirect: str | None = None
    #: every exchange of the request, redirects first, the answer last: the record of how the answer
    #: was had, not part of it (left out of comparisons and repr)
    exchanges: tuple[Exchange, ...] = field(default=(), compare=False, repr=False)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its answer as they crossed the wire, for the WARC record of it.

    Header names and values are text in which each character is one byte (Latin-1), in the
    order sent or received. ``payload`` is the body as received: its content coding (gzip, br)
    kept, its transfer coding (chunked) removed by the HTTP layer, so ``headers`` carry no
    Transfer-Encoding. A redirect's body is not read: its payload is empty."""

    url: str  # the request target
    started: datetime  # when the request was sent (UTC)
    request_headers: tuple[tuple[str, str], ...]
    http_version: str  # HTTP/1.1, HTTP/2
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    payload: bytes = b""
    ip: str | None = None  # the server's address, when the connection was not through a proxy


@dataclass(frozen=True)
class CaptureRef:
    """Where one WARC record (a response or a revisit) lives, and what it holds."""

    file: str  # the WARC file's name, relative to the WARC folder (never its ``.open`` name)
    offset: int  # of the record's gzip member
    length: int  # of the gzip member, in bytes
    record_type: str  # response | revisit
    url: str  # WARC-Target-URI
    date: str  # WARC-Date, ISO 8601 UTC with microseconds
    status: int | None  # the HTTP status of the response
    digest: str  # WARC-Payload-Digest, ``sha1:`` + base32
    content_type: str | None = None  # the response's Content-Type


@dataclass(frozen=True)
class Entry:
    """One item of a feed, as the feed describes it."""

    guid: str | None
    link: str | None  # absolute URL, as written in the feed
    title: str | None = None
    published: datetime | None = None  # timezone-aware
    #: the item's ``updated`` time as the feed wrote it: a change means the story was edited
    updated: str | None = None

    @property
    def key(self) -> str:
        """The entry's identity within its feed: the guid, else the link."""
        return self.guid or self.link or ""


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: tuple[Entry, ...]
    ttl_minutes: int | None = None
    #: set when the document was malformed but still yielded entries
    warning: str | None = None


@dataclass(frozen=True)
class Article:
    """What extraction found on a page (pure data, before dating and rendering)."""

    title: str
    paragraphs: tuple[str, ...]
    url: str  # canonical URL
    extractor: str  # profile name and version, e.g. "tass@2019"
    published: datetime | None = None  # timezone-aware, from the page
    published_via: str | None = None  # where on the page the time came from
    signals: dict[str, float | int | str] = field(default_factory=dict)
    #: a paywalled page of which only the public teaser was readable: the body is that teaser
    teaser: bool = False

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class FeedResult:
    """The outcome of one poll of one feed, as printed by ``aggregator fetch``."""

    feed_id: str
    outcome: str  # ok | not_modified | error
    entries: int = 0  # entries in the feed document
    new_entries: int = 0  # entries never seen before in this feed
    archived: int = 0  # new articles stored
    duplicates: int = 0  # entries merged into an article archived before
    failed: int = 0  # pages that failed this run (kept for a retry)
    abandoned: int = 0  # pages that failed for the last time
    http_status: int | None = None
    error_reason: str | None = None
    error: str | None = None
    warning: str | None = None
    page_errors: tuple[str, ...] = ()  # the reason of each page that failed this run
    #: articles stored this run whose text file could not be written (written by a later run)
    texts_failed: int = 0
    #: the poll shared no item with the feed's earlier ones: items published between these two
    #: times (ISO 8601) were probably missed, and are recorded as a gap
    gap: tuple[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != "error"
