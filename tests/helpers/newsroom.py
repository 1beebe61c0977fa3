"""Two real HTTP servers on 127.0.0.1 for backfill tests: a news site that published many stories
over a year (``Newsroom``), and a Wayback-Machine-like archive of it (``Wayback``).

Both are context managers (the socket is bound in ``__init__``, so ``base_url`` is known at once;
serving starts on enter and every connection is closed on exit), speak HTTP/1.1 with keep-alive,
and log every request, 404s included, before answering (``requests``).

The newsroom serves ``/robots.txt`` (``Disallow: /private/``), a sitemap index of monthly sitemaps
(some gzipped), a Google News sitemap, an RSS feed of the newest stories and one HTML page per
story, deterministic text derived from its number. The archive serves the CDX query API in the real
server's plain-text (or JSON) format, with resume keys, and ``/web/<timestamp>id_/<url>`` replays
of the same page bytes, redirecting an inexact timestamp to the capture.

    with Newsroom(stories=300) as site, Wayback(site, captured=range(1, 301, 2)) as archive:
        robots = httpx.get(site.base_url + "/robots.txt").text
        cdx = httpx.get(archive.base_url + "/cdx/search/cdx", params={"url": site.host + "/world/"}).text
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import hashlib
import json
import random
import re
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

SECTIONS = ("world", "politics", "sport")
PRIVATE = "private"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
#: the fields of a CDX line, in the order the real server prints them when ``fl`` is not given
CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
#: a capture is made this long after the story is published
CAPTURE_DELAY = timedelta(hours=1)

_XML = "application/xml; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
_HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Story:
    number: int
    path: str  # "/world/1234"; the section is one of SECTIONS or PRIVATE
    title: str
    published: datetime  # aware, UTC, whole seconds
    paragraphs: tuple[str, ...]

    @property
    def section(self) -> str:
        return self.path.split("/")[1]


@dataclass(frozen=True)
class Logged:
    """One request as it arrived: ``path`` without the query, ``query`` the raw query string."""

    time: float  # time.monotonic()
    path: str
    query: str
    user_agent: str
    status: int
    method: str = "GET"


@dataclass(frozen=True)
class Capture:
    """One line of the archive's CDX index."""

    story: Story
    timestamp: str  # 14 digits
    original: str  # the URL as captured (sometimes with ``?utm_source=x``)
    urlkey: str  # its SURT-like sort key


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _text(status: int, text: str, content_type: str = _TEXT) -> _Response:
    return _Response(status, text.encode("utf-8"), {"Content-Type": content_type})


_NOT_FOUND = _text(404, "not found\n")


class _Server:
    """A ThreadingHTTPServer in a daemon thread that answers with ``self._respond`` and logs every request."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._log: list[Logged] = []
        self._connections: set[socket.socket] = set()
        self._accepted = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with owner._lock:
                    owner._connections.add(self.connection)
                    owner._accepted += 1

            def finish(self) -> None:
                with owner._lock:
                    owner._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def do_GET(self) -> None:
                owner._serve(self, body=True)

            def do_HEAD(self) -> None:
                owner._serve(self, body=False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the host as URLs name it."""
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def requests(self) -> list[Logged]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._log)

    @property
    def connections(self) -> int:
        """How many TCP connections were accepted so far (keep-alive reuses one)."""
        with self._lock:
            return self._accepted

    def paths_requested(self) -> list[str]:
        """The path of every request so far, in arrival order (repeats kept)."""
        return [entry.path for entry in self.requests]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which never ran otherwise
            self.httpd.shutdown()
        self.httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # idle keep-alive connections would keep their threads waiting
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _serve(self, handler: BaseHTTPRequestHandler, *, body: bool) -> None:
        target = handler.path
        if not target.startswith("/"):  # absolute form, as sent to a proxy
            parts = urlsplit(target)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        try:
            response = self._respond(target, path, query)
        except Exception as exc:  # a bug in the helper: say so rather than hang the client
            response = _text(500, f"{type(exc).__name__}: {exc}\n")
        user_agent = handler.headers.get("User-Agent", "")
        with self._lock:
            self._log.append(Logged(time.monotonic(), path, query, user_agent, response.status, handler.command))
        try:
            handler.send_response(response.status)
            for name, value in response.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(response.body)))
            handler.end_headers()
            if body:
                handler.wfile.write(response.body)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True

    def _respond(self, target: str, path: str, query: str) -> _Response:
        raise NotImplementedError


# -- the news site ----------------------------------------------------------------------------------

_PLACES = ("Riverton", "Eastbridge", "Northfield", "Lakeside", "Harborview", "Millbrook", "Stonegate", "Fairhaven")
_SUBJECTS = (
    "the council", "local farmers", "the regional court", "a group of engineers", "the harbour authority",
    "teachers", "the football club", "the opposition party", "researchers", "the national bank",
    "transport officials", "a coalition of residents", "the ministry", "the mayor", "volunteers",
)  # fmt: skip
_VERBS = (
    "approved", "questioned", "rejected", "welcomed", "announced", "reviewed", "postponed", "defended",
    "criticised", "funded", "inspected", "proposed", "debated", "extended", "completed",
)  # fmt: skip
_OBJECTS = (
    "a new bridge", "the budget for schools", "plans for a rail link", "the water supply contract",
    "a stadium renovation", "rules on street markets", "the harbour expansion", "a wind farm",
    "the hospital wing", "changes to bus routes", "the library project", "a housing scheme",
    "the flood defences", "a tax on parking", "the cycling lanes",
)  # fmt: skip
_DETAILS = (
    "after a long meeting on Tuesday", "despite objections from neighbours", "following months of talks",
    "with support from both sides", "ahead of the winter season", "citing rising costs",
    "in a vote that surprised observers", "according to officials familiar with the matter",
    "as the deadline approached", "while the weather held", "before the summer holidays",
)  # fmt: skip
_HEADLINE_VERBS = ("approves", "questions", "rejects", "welcomes", "announces", "reviews", "postpones", "funds")


def _sentences(count: int) -> tuple[tuple[str, ...], ...]:
    """``count`` sentences (as lists of words) made of the phrases above, the same on every run."""
    rng = random.Random(20250101)
    result = []
    for _ in range(count):
        text = f"{rng.choice(_SUBJECTS)} in {rng.choice(_PLACES)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
        if rng.random() < 0.6:
            text += f" {rng.choice(_DETAILS)}"
        result.append(tuple((text[0].upper() + text[1:] + ".").split()))
    return tuple(result)


_SENTENCES = _sentences(4099)


@functools.cache
def _paragraphs(number: int) -> tuple[str, ...]:
    """4 to 6 paragraphs of 30 to 60 words, deterministic, each naming the story's number (and
    sentences chosen by it)."""
    result = []
    for index in range(4 + (number * 2654435761 >> 7) % 3):
        target = 30 + (number * 13 + index * 17) % 31
        words = ["Story", f"{number},", "part", f"{index + 1}:"]
        draw = number * 7919 + index * 104729
        while len(words) < target:
            draw = (draw * 1103515245 + 12345) % 2147483648
            words += _SENTENCES[draw % len(_SENTENCES)]
        if len(words) > 60:  # cut at 60 words, ending the last sentence there
            words = words[:60]
            words[-1] = words[-1].rstrip(",.") + "."
        result.append(" ".join(words))
    return tuple(result)


@functools.cache
def _title(number: int) -> str:
    rng = random.Random(-number)
    obj = rng.choice(_OBJECTS).removeprefix("a ").removeprefix("the ")
    return f"{rng.choice(_PLACES)} council {rng.choice(_HEADLINE_VERBS)} {obj}, story {number}"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class Newsroom(_Server):
    """A news site: ``stories`` stories spread evenly over ``days`` days from ``start``.

    Story ``n`` (1-based, in publication order) is under ``/private/n`` when ``n`` is a multiple of
    ``private_every`` (0: never), else under one of SECTIONS. ``gone`` stories answer 404 (the
    archive still has them); ``fail_robots`` makes /robots.txt answer 503. ``gone`` and
    ``fail_robots`` may be changed while serving.
    """

    def __init__(
        self,
        *,
        stories: int = 2000,
        start: datetime = datetime(2025, 1, 1, tzinfo=UTC),
        days: int = 365,
        feed_size: int = 20,
        crawl_delay: float | None = None,
        gone: Iterable[int] = (),
        gzipped_months: Iterable[int] = (2, 5, 11),
        private_every: int = 50,
        fail_robots: bool = False,
    ) -> None:
        super().__init__()
        if stories < 0 or days <= 0 or feed_size < 0 or private_every < 0:
            raise ValueError("stories, feed_size and private_every must be >= 0, days > 0")
        self.start = _aware(start)
        self.feed_size = feed_size
        self.crawl_delay = crawl_delay
        self.gone: set[int] = set(gone)
        self.gzipped_months = frozenset(gzipped_months)
        self.private_every = private_every
        self.fail_robots = fail_robots
        self.interval = timedelta(days=days) / max(stories, 1)  # between two stories
        self._stories: list[Story] = []
        self._by_path: dict[str, Story] = {}
        self._pages: dict[int, bytes] = {}
        step = self.interval.total_seconds()
        self._add([self.start + timedelta(seconds=int(index * step)) for index in range(stories)])

    # -- the stories

    @property
    def stories(self) -> list[Story]:
        """Every story, in publication order (a copy)."""
        with self._lock:
            return list(self._stories)

    def story(self, number: int) -> Story:
        with self._lock:
            for story in self._stories:
                if story.number == number:
                    return story
        raise KeyError(number)

    def publish(self, count: int, *, at: datetime | None = None) -> list[Story]:
        """Add ``count`` newer stories: at the regular interval after the newest one, or, with ``at``,
        at ``at`` and one second apart after it (``at`` must not be older than the newest story)."""
        with self._lock:
            newest = self._stories[-1].published if self._stories else None
            if at is None:
                first = newest + self.interval if newest is not None else self.start
                whole = timedelta(seconds=int(self.interval.total_seconds()) or 1)
                times = [first.replace(microsecond=0) + whole * index for index in range(count)]
            else:
                at = _aware(at).replace(microsecond=0)
                if newest is not None and at < newest:
                    raise ValueError(f"{at} is older than the newest story ({newest})")
                times = [at + timedelta(seconds=index) for index in range(count)]
            return self._add(times)

    def _add(self, times: list[datetime]) -> list[Story]:
        with self._lock:
            number = self._stories[-1].number if self._stories else 0
            added = []
            for moment in times:
                number += 1
                private = self.private_every and number % self.private_every == 0
                section = PRIVATE if private else SECTIONS[number % len(SECTIONS)]
                story = Story(number, f"/{section}/{number}", _title(number), moment, _paragraphs(number))
                added.append(story)
                self._by_path[story.path] = story
            self._stories.extend(added)
            return added

    def url(self, story: Story) -> str:
        return self.base_url + story.path

    def html(self, story: Story) -> bytes:
        """The page of ``story``, as served (also for ``gone`` stories: the archive replays it)."""
        page = self._pages.get(story.number)
        if page is None:
            page = self._page(story).encode("utf-8")
            self._pages[story.number] = page
        return page

    def _page(self, story: Story) -> str:
        title = escape(story.title)
        when = _iso(story.published)
        nav = "".join(f'<a href="/{section}/">{section.title()}</a> ' for section in SECTIONS)
        body = "".join(f"<p>{escape(text)}</p>\n" for text in story.paragraphs)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{title} | Newsroom</title>"
            f'<link rel="canonical" href="{self.url(story)}">'
            f'<meta property="og:title" content="{title}">'
            f'<meta property="article:published_time" content="{when}">'
            "</head><body>\n"
            f'<header><a href="/">Newsroom</a> <nav>{nav}</nav></header>\n'
            f'<article><h1>{title}</h1><time datetime="{when}">{story.published:%d %B %Y, %H:%M} UTC</time>\n'
            f"{body}</article>\n"
            '<footer><p>© Newsroom. All rights reserved.</p><a href="/rss.xml">RSS</a></footer>\n'
            "</body></html>\n"
        )

    # -- the routes

    def _respond(self, target: str, path: str, query: str) -> _Response:
        if path == "/robots.txt":
            return self._robots()
        if path == "/sitemap.xml":
            return _text(200, self._sitemap_index(), _XML)
        if path == "/sitemaps/news.xml":
            return _text(200, self._news_sitemap(), _XML)
        if path == "/rss.xml":
            return _text(200, self._rss(), "application/rss+xml; charset=utf-8")
        match = re.fullmatch(r"/sitemaps/(\d{4})-(\d{2})\.xml(\.gz)?", path)
        if match:
            return self._month(int(match[1]), int(match[2]), gzipped=bool(match[3]))
        with self._lock:
            story = self._by_path.get(path)
            gone = story is not None and story.number in self.gone
        if story is None or gone:
            return _NOT_FOUND
        return _Response(200, self.html(story), {"Content-Type": _HTML})

    def _robots(self) -> _Response:
        if self.fail_robots:
            return _text(503, "service unavailable\n")
        lines = ["User-agent: *", f"Disallow: /{PRIVATE}/"]
        if self.crawl_delay is not None:
            lines.append(f"Crawl-delay: {self.crawl_delay:g}")
        lines += ["", f"Sitemap: {self.base_url}/sitemap.xml", ""]
        return _text(200, "\n".join(lines))

    def months(self) -> dict[tuple[int, int], list[Story]]:
        """(year, month) -> that month's stories, oldest month first."""
        result: dict[tuple[int, int], list[Story]] = {}
        for story in self.stories:
            result.setdefault((story.published.year, story.published.month), []).append(story)
        return result

    def sitemap_path(self, year: int, month: int) -> str:
        gz = ".gz" if month in self.gzipped_months else ""
        return f"/sitemaps/{year:04d}-{month:02d}.xml{gz}"

    def _sitemap_index(self) -> str:
        entries = [
            f"<sitemap><loc>{self.base_url}{self.sitemap_path(*month)}</loc>"
            f"<lastmod>{_iso(stories[-1].published)}</lastmod></sitemap>"
            for month, stories in self.months().items()
        ]
        entries.append(f"<sitemap><loc>{self.base_url}/sitemaps/news.xml</loc></sitemap>")
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n' + (
            "\n".join(entries) + "\n</sitemapindex>\n"
        )

    def _month(self, year: int, month: int, *, gzipped: bool) -> _Response:
        stories = self.months().get((year, month))
        if not stories or gzipped != (month in self.gzipped_months):
            return _NOT_FOUND
        urls = "".join(
            f"<url><loc>{self.url(story)}</loc><lastmod>{_iso(story.published)}</lastmod></url>\n" for story in stories
        )
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n{urls}</urlset>\n'
        if gzipped:
            return _Response(200, gzip.compress(xml.encode("utf-8"), mtime=0), {"Content-Type": "application/gzip"})
        return _text(200, xml, _XML)

    def news_stories(self) -> list[Story]:
        """The stories of the news sitemap: those of the last two days before the newest one."""
        stories = self.stories
        if not stories:
            return []
        since = stories[-1].published - timedelta(days=2)
        return [story for story in stories if story.published >= since]

    def _news_sitemap(self) -> str:
        urls = "".join(
            f"<url><loc>{self.url(story)}</loc><news:news><news:publication><news:name>Newsroom</news:name>"
            "<news:language>en</news:language></news:publication>"
            f"<news:publication_date>{_iso(story.published)}</news:publication_date>"
            f"<news:title>{escape(story.title)}</news:title></news:news></url>\n"
            for story in self.news_stories()
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}">\n'
            f"{urls}</urlset>\n"
        )

    def feed_stories(self) -> list[Story]:
        """The stories of the RSS feed, newest first."""
        stories = self.stories
        return stories[::-1][: self.feed_size]

    def _rss(self) -> str:
        items = "".join(
            f"<item><title>{escape(story.title)}</title><link>{self.url(story)}</link>"
            f'<guid isPermaLink="true">{self.url(story)}</guid>'
            f"<pubDate>{format_datetime(story.published, usegmt=True)}</pubDate></item>\n"
            for story in self.feed_stories()
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Newsroom</title>'
            f"<link>{self.base_url}/</link><description>The newest stories</description>\n{items}</channel></rss>\n"
        )


# -- the archive --------------------------------------------------------------------------------------


def _strip_scheme(url: str) -> str:
    return re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*:/{1,3}", "", url)


def urlkey(url: str) -> str:
    """The SURT-like key the CDX index sorts by: ``127.0.0.1:8080)/world/12``, ``com,example)/a?b``
    (scheme and ``www.`` dropped, host reversed unless it is an address, port 80 dropped, lowercased)."""
    rest = _strip_scheme(url.strip())
    split = re.search(r"[/?#]", rest)
    host, tail = (rest[: split.start()], rest[split.start() :]) if split else (rest, "")
    tail = tail.split("#")[0]
    host = host.lower().removeprefix("www.").removesuffix(":80")
    name, colon, port = host.partition(":")
    if not re.fullmatch(r"[\d.]+", name):
        name = ",".join(reversed(name.split(".")))
    if not tail.startswith("/"):
        tail = "/" + tail
    return f"{name}{colon}{port}){tail}".lower()


def _encode_key(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]} {key[1]}".encode()).decode().rstrip("=")


def _decode_key(text: str) -> tuple[str, str] | None:
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except ValueError:
        return None
    key, _, timestamp = decoded.rpartition(" ")
    return (key, timestamp) if key else None


class Wayback(_Server):
    """A Wayback-Machine-like archive of ``newsroom``: one capture per story in ``captured`` (default:
    every story the newsroom has when this is made), made an hour after it was published.

    About one capture in ten (chosen by a hash of the story number) records its URL with ``?utm_source=x``.
    A CDX answer holds at most ``page_size`` lines (fewer with ``limit``); with
    ``showResumeKey=true`` a truncated answer ends with a blank line and the key to resume from.
    """

    def __init__(self, newsroom: Newsroom, *, captured: Iterable[int] | None = None, page_size: int = 500) -> None:
        super().__init__()
        if page_size <= 0:
            raise ValueError("page_size must be > 0")
        self.newsroom = newsroom
        self.page_size = page_size
        stories = newsroom.stories
        if captured is not None:
            wanted = set(captured)
            unknown = wanted - {story.number for story in stories}
            if unknown:
                raise ValueError(f"no such stories: {sorted(unknown)[:10]}")
            stories = [story for story in stories if story.number in wanted]
        captures = []
        for story in stories:
            tracked = hashlib.sha1(b"%d" % story.number).digest()[0] < 26  # about one in ten, whatever the numbers
            original = f"http://{newsroom.host}{story.path}" + ("?utm_source=x" if tracked else "")
            timestamp = f"{story.published + CAPTURE_DELAY:%Y%m%d%H%M%S}"
            captures.append(Capture(story, timestamp, original, urlkey(original)))
        captures.sort(key=lambda capture: (capture.urlkey, capture.timestamp))
        self._captures = captures
        self._keys = [(capture.urlkey, capture.timestamp) for capture in captures]
        self._by_url = {_strip_scheme(capture.original).lower(): capture for capture in captures}

    @property
    def captures(self) -> list[Capture]:
        """Every capture, in the index's order (urlkey, then timestamp), not publication order."""
        return list(self._captures)

    def replay_url(self, capture: Capture) -> str:
        """Where the archive replays ``capture`` verbatim."""
        return f"{self.base_url}/web/{capture.timestamp}id_/{capture.original}"

    def _respond(self, target: str, path: str, query: str) -> _Response:
        if path in ("/cdx/search/cdx", "/cdx/search/cdx/"):
            return self._cdx(parse_qs(query, keep_blank_values=True))
        match = re.fullmatch(r"/web/(\d{1,14})id_/(.+)", target)
        if match:
            return self._replay(match[1], match[2])
        return _NOT_FOUND

    def _replay(self, timestamp: str, url: str) -> _Response:
        capture = self._by_url.get(_strip_scheme(url).lower())
        if capture is None:
            return _text(404, f"{url} is not in the archive\n", _HTML)
        if timestamp != capture.timestamp:
            location = self.replay_url(capture)
            return _Response(302, b"", {"Location": location, "Content-Type": _HTML})
        moment = datetime.strptime(capture.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        headers = {"Content-Type": _HTML, "Memento-Datetime": format_datetime(moment, usegmt=True)}
        return _Response(200, self.newsroom.html(capture.story), headers)

    def _fields(self, capture: Capture, *, page: bool) -> dict[str, str]:
        """The CDX fields of ``capture``; ``digest`` and ``length`` (of the page) only with ``page``."""
        values = {
            "urlkey": capture.urlkey,
            "timestamp": capture.timestamp,
            "original": capture.original,
            "mimetype": "text/html",
            "statuscode": "200",
        }
        if page:
            body = self.newsroom.html(capture.story)
            values["digest"] = base64.b32encode(hashlib.sha1(body).digest()).decode()
            values["length"] = str(len(body))
        return values

    def _cdx(self, params: dict[str, list[str]]) -> _Response:
        def one(name: str, default: str = "") -> str:
            return params.get(name, [default])[-1]

        url = one("url")
        if not url:
            return _text(400, "Error: the url parameter is required\n")
        match_type = one("matchType", "exact")
        if url.endswith("*"):
            url, match_type = url.rstrip("*"), "prefix"
        if url.startswith("*."):
            url, match_type = url[2:], "domain"
        fields = [name for name in one("fl").split(",") if name] or list(CDX_FIELDS)
        bounds = [one("from"), one("to")]
        limit_text = one("limit")
        if (
            any(name not in CDX_FIELDS for name in fields)
            or match_type not in ("exact", "prefix", "host", "domain")
            or any(bound and not re.fullmatch(r"\d{1,14}", bound) for bound in bounds)
            or (limit_text and not re.fullmatch(r"\d+", limit_text))
        ):
            return _text(400, "Error: bad parameter\n")
        low = bounds[0].ljust(14, "0") if bounds[0] else ""
        high = bounds[1].ljust(14, "9") if bounds[1] else "9" * 14
        wanted = urlkey(url)
        wanted_host = wanted.split(")")[0]

        def in_scope(key: str) -> bool:
            if match_type == "exact":
                return key == wanted
            if match_type == "prefix":
                return key.startswith(wanted)
            host = key.split(")")[0]
            return host == wanted_host or (match_type == "domain" and host.startswith(wanted_host + ","))

        filters = []
        for text in params.get("filter", []):
            negate = text.startswith("!")
            name, _, pattern = text.lstrip("!").partition(":")
            if name not in CDX_FIELDS:
                return _text(400, "Error: bad filter\n")
            filters.append((negate, name, re.compile(pattern)))
        collapse_name, _, collapse_chars = one("collapse").partition(":")
        if collapse_name and collapse_name not in CDX_FIELDS:
            return _text(400, "Error: bad collapse\n")
        width = int(collapse_chars) if collapse_chars.isdigit() else None

        needs_page = bool({"digest", "length"} & {*fields, collapse_name, *(name for _, name, _ in filters)})
        begin = 0
        if one("resumeKey"):
            key = _decode_key(one("resumeKey"))
            if key is None:
                return _text(400, "Error: bad resumeKey\n")
            begin = next((index for index, other in enumerate(self._keys) if other > key), len(self._keys))
        cap = min(int(limit_text), self.page_size) if limit_text else self.page_size
        rows: list[dict[str, str]] = []
        last: Capture | None = None
        more = False
        previous: str | None = None
        for capture in self._captures[begin:]:
            if not in_scope(capture.urlkey) or not low <= capture.timestamp <= high:
                continue
            values = self._fields(capture, page=needs_page)
            if any(bool(pattern.fullmatch(values[name])) == negate for negate, name, pattern in filters):
                continue
            if collapse_name:
                value = values[collapse_name][:width]
                if value == previous:
                    continue
                previous = value
            if len(rows) == cap:
                more = True
                break
            rows.append(values)
            last = capture
        resume = _encode_key((last.urlkey, last.timestamp)) if more and last is not None else None
        show_key = one("showResumeKey").lower() == "true" and resume is not None
        if one("output") == "json":
            table: list[list[str]] = [fields, *([row[name] for name in fields] for row in rows)] if rows else []
            if show_key and resume is not None:
                table += [[], [resume]]
            return _text(200, json.dumps(table) + "\n", "application/json")
        lines = [" ".join(row[name] for name in fields) for row in rows]
        if show_key:
            lines += ["", str(resume)]
        return _text(200, "".join(line + "\n" for line in lines))
