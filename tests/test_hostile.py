"""Hostile servers, over real sockets: every misbehaviour ends the run normally, with a clear
recorded reason on the bad feed or page, the good TASS feed beside it archived as usual, memory
bounded and nothing junk stored. One parametrised test runs the real pipeline per case."""

from __future__ import annotations

import asyncio
import gzip
import sqlite3
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from aggregator.fetch.fetcher import Fetcher
from aggregator.models import FeedResult, FeedSpec, Settings
from aggregator.pipeline.archiver import Archiver
from aggregator.store import open_store
from aggregator.text import shorten
from tests.helpers import hostile
from tests.helpers.hostile import (
    HostileServer,
    compressed,
    deflated_zeros,
    drip,
    head,
    http_date,
    repeated,
    reset,
    send,
    stream,
    zeros,
)
from tests.helpers.site import FEED, GALLERY, REFERENCE_HTML, item, rss, tass_page

TASS = FeedSpec(id="tass", url="http://tass.com/rss/v2.xml", source="TASS", timezone="Europe/Moscow")
TASS_ARTICLES = [("https://tass.com/politics/1189047",), ("https://tass.com/world/1189100",)]
MB = 1024 * 1024
RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
RUSSIAN_TITLE = "Президенты России и Азербайджана обсудили региональные вопросы"
RUSSIAN_TEXT = (
    "МОСКВА, 13 августа. /ТАСС/. Президент России и президент Азербайджана в телефонном разговоре "
    "обсудили ситуацию в регионе и договорились продолжить контакты."
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 10))
    + b']><rss version="2.0"><channel><title>&lol9;</title></channel></rss>'
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><title>&xxe;</title></channel></rss>'
)


@dataclass(frozen=True)
class Case:
    """One misbehaviour: what the server does, and what the archive must record afterwards."""

    name: str
    serve: Callable[[BaseHTTPRequestHandler], None] | bytes | None  # None: the feed URL is given
    feed_reason: str | None  # feeds.last_error_reason of the hostile feed (None: the poll succeeded)
    entries: list[tuple[str | None, str, str | None]] = field(default_factory=list)  # (title, status, reason)
    page: Callable[[BaseHTTPRequestHandler], None] | None = None  # served at <feed>/page
    articles: list[tuple[str, str, str]] = field(default_factory=list)  # archived (url, title, published_via)
    url: str | None = None
    settings: dict[str, object] = field(default_factory=dict)
    measure: bool = False  # record the peak of traced memory
    runs: int = 1  # polls in a row (the last one's outcome is checked)
    requests: Callable[[list[tuple[str, dict[str, str]]]], None] | None = None  # checks the server's log

    @property
    def feed_url(self) -> str:
        return self.url or f"http://hostile.test/h/{self.name}"


def a_feed(*items: str, declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return rss(*items).replace('<?xml version="1.0" encoding="UTF-8"?>', declaration).encode()


def page_feed(name: str, title: str = "a page") -> bytes:
    return a_feed(item(f"http://hostile.test/h/{name}/page", title))


def static(status: int, headers: dict[str, str], body: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda handler: send(handler, status, headers, body)


Serve = Callable[[BaseHTTPRequestHandler], None]


def streamed(headers: dict[str, str], chunks: Callable[[], Iterator[bytes]]) -> Serve:
    def serve(handler: BaseHTTPRequestHandler) -> None:
        head(handler, 200, headers)
        hostile.stream(handler, chunks())

    return serve


def redirect(location: str | Callable[[BaseHTTPRequestHandler], str]) -> Callable[[BaseHTTPRequestHandler], None]:
    def serve(handler: BaseHTTPRequestHandler) -> None:
        target = location(handler) if callable(location) else location
        send(handler, 302, {"Location": target}, b"")

    return serve


def next_hop(handler: BaseHTTPRequestHandler) -> str:
    hop = int(handler.path.rpartition("=")[2]) if "hop=" in handler.path else 0
    return f"http://hostile.test/h/redirect-chain?hop={hop + 1}"


def length_lie(handler: BaseHTTPRequestHandler) -> None:
    head(handler, 200, {**RSS, "Content-Length": "100000"})
    stream(handler, iter([FEED.encode()[:500]]))


def reset_mid_body(handler: BaseHTTPRequestHandler) -> None:
    body = FEED.encode()
    head(handler, 200, {**RSS, "Content-Length": str(len(body))})
    stream(handler, iter([body[: len(body) // 2]]))
    reset(handler)


def russian_page(number: int) -> str:
    return tass_page(
        number, RUSSIAN_TITLE, [RUSSIAN_TEXT, "Второй абзац текста статьи достаточно длинный."], 1597267560
    ).replace('<meta charset="utf-8">', "")


def dates_page(number: int) -> bytes:
    page = tass_page(number, f"Story {number}", [f"MOSCOW, August 13. /TASS/. Story {number} is long enough."], 0)
    return page.replace('mode="abs"', 'mode="rel"').replace('"datePublished"', '"x"').encode()


def page_with(number: int, head: str = "", title: str | None = None) -> bytes:
    """A TASS article page at /world/<number>, with ``head`` added to its <head>."""
    page = tass_page(
        number,
        title or f"Story {number}",
        [f"MOSCOW, August 13. /TASS/. Story {number} is long enough to be one."],
        1597267560,
    )
    return page.replace("</head>", head + "</head>", 1).encode()


def canonical(href: str) -> str:
    return f'<link rel="canonical" href="{href}">'


def json_ld(text: str) -> str:
    return f'<script type="application/ld+json">{text}</script>'


def story(number: int, scheme: str = "https") -> tuple[str, str, str]:
    """The archived row of the story page_with(number) serves."""
    return f"{scheme}://tass.com/world/{number}", f"Story {number}", "page:dateformat"


LONG_WORDS = " ".join(["word"] * 10_000)  # a 50 KB title
CUT_TITLE = shorten(LONG_WORDS, 1000)
LABEL_64 = "a" * 64


def validator_feed(etag: bytes) -> Serve:
    """A feed whose ETag is ``etag`` (raw bytes), answering 304 when it comes back byte for byte."""

    def serve(handler: BaseHTTPRequestHandler) -> None:
        # http.server reads header values as Latin-1: each character is one byte as sent
        if handler.headers.get("If-None-Match", "").encode("latin-1") == etag:
            head(handler, 304, {})
            return
        body = page_feed("x")
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("ETag", etag.decode("latin-1"))  # http.server writes it back as these bytes
        handler.end_headers()
        handler.wfile.write(body)

    return serve


def cookie_flood(page: bool) -> Serve:
    """200 new cookies of 100 bytes on every answer; 431 when a request's Cookie header passes 8 KB,
    as real servers refuse it. The page itself is 404 (so its reason shows the request got through)."""
    counter = iter(range(10**9))

    def serve(handler: BaseHTTPRequestHandler) -> None:
        if len(handler.headers.get("Cookie", "")) > 8192:
            send(handler, 431, {}, b"Request Header Fields Too Large")
            return
        batch = next(counter)
        handler.send_response(404 if page else 200)
        for n in range(200):
            handler.send_header("Set-Cookie", f"c{batch}_{n}={'v' * 100}; Path=/")
        body = b"not found" if page else page_feed("cookie-flood")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return serve


def huge_header(handler: BaseHTTPRequestHandler) -> None:
    send(handler, 200, {**RSS, "X-Padding": "x" * 200_000}, page_feed("huge-header"))


def nested_feed() -> bytes:
    """About 9 MB of elements nested inside an item, each level a few bytes."""
    depth = 1_300_000
    return a_feed(
        "<item><title>deep</title><guid>deep</guid><description>"
        + "<a>" * depth
        + "</a>" * depth
        + "</description></item>"
    )


def no_credentials_sent(requests: list[tuple[str, dict[str, str]]]) -> None:
    assert any("3000031" in target for target, _ in requests)
    assert not any("secret" in target or "authorization" in headers for target, headers in requests)


def fetched_once(path: str) -> Callable[[list[tuple[str, dict[str, str]]]], None]:
    def check(requests: list[tuple[str, dict[str, str]]]) -> None:
        assert sum(urlsplit(target).path == path for target, _ in requests) == 1

    return check


def the_same_validator_came_back(etag: bytes) -> Callable[[list[tuple[str, dict[str, str]]]], None]:
    def check(requests: list[tuple[str, dict[str, str]]]) -> None:
        sent = [headers.get("if-none-match") for _, headers in requests if headers.get("if-none-match")]
        assert sent and all(value.encode("latin-1") == etag for value in sent)

    return check


def _feed_of_10000() -> bytes:
    items = "".join(f"<item><title>n{n}</title><guid isPermaLink='false'>g{n}</guid></item>" for n in range(10_000))
    return a_feed(items)


def _cases() -> list[Case]:
    challenge = (
        b"<html><head><title>Just a moment...</title></head><body>"
        b"<div id='cf-browser-verification'>Checking your browser</div></body></html>"
    )
    consent = (
        b"<html><head><title>Before you continue</title></head><body><div class='consent'>"
        b"We use cookies. <button>Accept all</button></div></body></html>"
    )
    big_item = b"<item><title>x</title><description>" + b"y" * 900 + b"</description></item>\n"
    rss_head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>'
    return [
        # -- time and size -----------------------------------------------------------------------
        Case("drip", lambda h: drip(h, "application/rss+xml", b"<?xml"), "timeout"),
        Case(
            "page-drip",
            page_feed("page-drip"),
            None,
            [("a page", "failed", "timeout")],
            page=lambda h: drip(h, "text/html", b"<html>"),
        ),
        Case("endless-body", streamed(RSS, lambda: repeated(rss_head, big_item, 10**12)), "too_large", measure=True),
        Case("content-length-lie", length_lie, "network"),
        Case(
            "gzip-bomb",
            streamed({**RSS, "Content-Encoding": "gzip"}, lambda: compressed(zeros(2**30), 31)),
            "too_large",
            measure=True,
        ),
        Case(
            "deflate-bomb",
            streamed({**RSS, "Content-Encoding": "deflate"}, lambda: compressed(zeros(2**30), 15)),
            "too_large",
            measure=True,
        ),
        Case(
            "page-gzip-bomb",
            page_feed("page-gzip-bomb"),
            None,
            [("a page", "failed", "too_large")],
            page=streamed({**HTML, "Content-Encoding": "gzip"}, lambda: compressed(zeros(2**30), 31)),
            measure=True,
        ),
        Case(
            "feed-50mb",
            streamed(RSS, lambda: repeated(rss_head, big_item, 50 * MB, b"</channel></rss>")),
            "too_large",
            measure=True,
        ),
        Case(
            "feed-50mb-declared",
            lambda h: (
                head(h, 200, {**RSS, "Content-Length": str(50 * MB)}),
                stream(h, repeated(rss_head, big_item, 50 * MB)),
            ),
            "too_large",
            measure=True,
        ),
        Case(
            "page-20mb-line",
            page_feed("page-20mb-line"),
            None,
            [("a page", "failed", "too_large")],
            page=streamed(HTML, lambda: repeated(b"<html><body><p>", b"word ", 20 * MB, b"</p></body></html>")),
            measure=True,
        ),
        # -- redirects ---------------------------------------------------------------------------
        Case("redirect-loop", redirect("http://hostile.test/h/redirect-loop"), "redirects"),
        Case("redirect-chain", redirect(next_hop), "redirects"),
        Case("redirect-private", redirect("http://10.0.0.1/feed.xml"), "blocked"),
        Case("redirect-loopback", redirect("http://127.0.0.1:1/feed.xml"), "blocked"),
        Case("redirect-metadata", redirect("http://169.254.169.254/latest/meta-data/"), "blocked"),
        Case("redirect-file", redirect("file:///etc/passwd"), "blocked"),
        Case("redirect-ftp", redirect("ftp://hostile.test/feed.xml"), "blocked"),
        Case(
            "page-redirect-private",
            page_feed("page-redirect-private"),
            None,
            [("a page", "failed", "blocked")],
            page=redirect("http://[::ffff:10.0.0.1]/"),
        ),
        # -- status codes and connections --------------------------------------------------------
        Case("429-retry-after-seconds", static(429, {"Retry-After": "3600"}, b"slow down"), "http_429"),
        Case(
            "503-retry-after-date",
            lambda h: send(h, 503, {"Retry-After": http_date(timedelta(hours=2))}, b""),
            "http_503",
        ),
        Case("500", static(500, {"Content-Type": "text/plain"}, b"oops"), "http_500"),
        Case("reset-mid-body", reset_mid_body, "network"),
        Case("refused", None, "network", url="http://127.0.0.1:1/feed.xml", settings={"allow_private_networks": True}),
        # -- XML and encodings -------------------------------------------------------------------
        Case("billion-laughs", BILLION_LAUGHS, "unsafe_xml", measure=True),
        Case("external-entity", XXE, "unsafe_xml"),
        Case(
            "nul-bytes",
            a_feed(item("http://hostile.test/h/nul-bytes/page", "N\0U\0L title")).replace(
                b"<title>TASS", b"<title>\0TASS"
            ),
            None,
            [("NUL title", "failed", "http_404")],
        ),
        Case(
            "invalid-utf8",
            a_feed(item("http://hostile.test/h/invalid-utf8/page", f"{RUSSIAN_TITLE} café")).replace(
                "café".encode(), b"caf\xc3"
            ),
            None,
            [(f"{RUSSIAN_TITLE} caf\ufffd", "failed", "http_404")],
        ),
        Case(
            "wrong-declared-charset",
            a_feed(item("http://hostile.test/h/wrong-declared-charset/page", RUSSIAN_TITLE)).decode().encode("cp1251"),
            None,
            [(RUSSIAN_TITLE, "failed", "http_404")],
        ),
        Case(
            "cp1251-feed-undeclared",
            a_feed(
                item("http://hostile.test/h/cp1251-feed-undeclared/page", RUSSIAN_TITLE),
                declaration='<?xml version="1.0"?>',
            )
            .decode()
            .encode("cp1251"),
            None,
            [(RUSSIAN_TITLE, "failed", "http_404")],
        ),
        Case(
            "koi8r-feed-undeclared",
            a_feed(
                item("http://hostile.test/h/koi8r-feed-undeclared/page", RUSSIAN_TITLE),
                declaration='<?xml version="1.0"?>',
            )
            .decode()
            .encode("koi8-r"),
            None,
            [(RUSSIAN_TITLE, "failed", "http_404")],
        ),
        Case(
            "cp1251-page-undeclared",
            a_feed(item("http://tass.com/world/3000001", "ru")),
            None,
            [("ru", "archived", None)],
            articles=[("https://tass.com/world/3000001", RUSSIAN_TITLE, "page:dateformat")],
        ),
        Case(
            "koi8r-page-undeclared",
            a_feed(item("http://tass.com/world/3000002", "ru")),
            None,
            [("ru", "archived", None)],
            articles=[("https://tass.com/world/3000002", RUSSIAN_TITLE, "page:dateformat")],
        ),
        # -- not a feed, or a feed full of traps -------------------------------------------------
        Case(
            "html-instead",
            static(200, RSS, b"<!DOCTYPE html><html><head><title>Home</title></head></html>"),
            "not_a_feed",
        ),
        Case(
            "json-error", static(200, {"Content-Type": "application/json"}, b'{"error": "rate limited"}'), "not_a_feed"
        ),
        Case("empty-200", static(200, RSS, b""), "not_a_feed"),
        Case("challenge-200", static(200, HTML, challenge), "not_a_feed"),
        Case("challenge-403", static(403, HTML, challenge), "http_403"),
        Case("consent-wall", static(200, HTML, consent), "not_a_feed"),
        Case(
            "page-challenge-200",
            page_feed("page-challenge-200"),
            None,
            [("a page", "failed", "challenge")],
            page=static(200, HTML, challenge),
        ),
        Case(
            "page-challenge-403",
            page_feed("page-challenge-403"),
            None,
            [("a page", "failed", "http_403")],
            page=static(403, HTML, challenge),
        ),
        Case(
            "page-consent-wall",
            page_feed("page-consent-wall"),
            None,
            [("a page", "failed", "consent")],
            page=static(200, HTML, consent),
        ),
        # -- round two (issue 13): inputs that crashed the archiver or escaped its caps ------------
        Case(
            "page-jsonld-graph-int",
            a_feed(item("http://tass.com/world/3000021", "g")),
            None,
            [("g", "archived", None)],
            articles=[story(3000021, "https")],
        ),
        Case(
            "page-jsonld-50000-deep",
            a_feed(item("http://tass.com/world/3000022", "d")),
            None,
            [("d", "archived", None)],
            articles=[story(3000022, "https")],
        ),
        Case(
            "page-canonical-bad-ipv6",
            a_feed(item("http://tass.com/world/3000023", "c")),
            None,
            [("c", "archived", None)],
            articles=[story(3000023, "http")],
        ),
        Case(
            "page-canonical-long-label",
            a_feed(item("http://tass.com/world/3000024", "l")),
            None,
            [("l", "archived", None)],
            articles=[story(3000024, "http")],
        ),
        Case(
            "page-50kb-headline",
            a_feed(item("http://tass.com/world/3000025", "h")),
            None,
            [("h", "archived", None)],
            articles=[("https://tass.com/world/3000025", CUT_TITLE, "page:dateformat")],
        ),
        Case(
            "feed-50kb-title",
            a_feed(item("http://hostile.test/h/feed-50kb-title/page", LONG_WORDS)),
            None,
            [(shorten(LONG_WORDS, 1000), "failed", "http_404")],
        ),
        Case(
            "feed-link-long-label",
            a_feed(item(f"http://{LABEL_64}.com/x", "long label")),
            None,
            [("long label", "abandoned", "no_link")],
        ),
        Case(
            "page-redirect-long-label",
            page_feed("page-redirect-long-label"),
            None,
            [("a page", "failed", "bad_url")],
            page=redirect(f"http://{LABEL_64}.com/x"),
        ),
        Case("redirect-long-label", redirect(f"http://{LABEL_64}.com/feed.xml"), "bad_url"),
        Case(
            "link-with-credentials",
            a_feed(item("http://user:secret@tass.com/world/3000031", "creds")),
            None,
            [("creds", "archived", None)],
            articles=[("https://tass.com/world/3000031", "Story 3000031", "page:dateformat")],
            requests=no_credentials_sent,
        ),
        Case(
            "one-link-2000-items",
            a_feed(
                *(
                    f"<item><title>s{n}</title><link>http://tass.com/world/3000041</link>"
                    f"<guid isPermaLink='false'>s{n}</guid></item>"
                    for n in range(2000)
                )
            ),
            None,
            [(f"s{n}", "archived", None) for n in range(2000)],
            articles=[("https://tass.com/world/3000041", "Story 3000041", "page:dateformat")],
            requests=fetched_once("/world/3000041"),
        ),
        Case(
            "etag-utf8",
            validator_feed('"Привет"'.encode()),
            None,
            [("a page", "failed", "http_404")],
            runs=2,
            requests=the_same_validator_came_back('"Привет"'.encode()),
        ),
        Case(
            "etag-latin1",
            validator_feed('"caf\xe9"'.encode("latin-1")),
            None,
            [("a page", "failed", "http_404")],
            runs=2,
            requests=the_same_validator_came_back('"caf\xe9"'.encode("latin-1")),
        ),
        Case(
            "gzip-gzip-bomb",
            static(200, {**RSS, "Content-Encoding": "gzip, gzip"}, gzip.compress(deflated_zeros(2**30, 31))),
            "too_large",
            measure=True,
        ),
        Case(
            "page-deflate-gzip-bomb",
            page_feed("page-deflate-gzip-bomb"),
            None,
            [("a page", "failed", "too_large")],
            page=static(200, {**HTML, "Content-Encoding": "deflate, gzip"}, gzip.compress(deflated_zeros(2**30, 15))),
            measure=True,
        ),
        Case(
            "cookie-flood",
            cookie_flood(page=False),
            None,
            [("a page", "failed", "http_404")],
            runs=3,
            page=cookie_flood(page=True),
        ),
        Case("huge-header", huge_header, "too_large"),
        Case("nested-xml-9mb", nested_feed(), "too_complex", measure=True, settings={"max_feed_bytes": 10 * MB}),
        Case("feed-10000-entries", _feed_of_10000(), None, [(f"n{n}", "abandoned", "no_link") for n in range(10_000)]),
        Case(
            "duplicate-guids",
            a_feed(*(item("http://hostile.test/h/duplicate-guids/page", f"copy {n}") for n in range(3))),
            None,
            [("copy 0", "failed", "http_404")],
        ),
        Case(
            "bad-links",
            a_feed(
                "<item><title>none</title><guid isPermaLink='false'>k1</guid></item>",
                item("../relative/1", "relative"),
                item("javascript:alert(1)", "js"),
            ),
            None,
            [("js", "abandoned", "no_link"), ("none", "abandoned", "no_link"), ("relative", "failed", "http_404")],
        ),
        Case(
            "odd-dates",
            a_feed(
                item("http://tass.com/world/3000011", "future", "Sat, 01 Jan 2150 00:00:00 +0000"),
                item("http://tass.com/world/3000012", "old", "Mon, 01 Jan 1979 00:00:00 +0000"),
                item("http://tass.com/world/3000013", "garbage", "the day after tomorrow"),
            ),
            None,
            [("future", "archived", None), ("garbage", "archived", None), ("old", "archived", None)],
            articles=[
                ("https://tass.com/world/3000011", "Story 3000011", "first_seen"),
                ("https://tass.com/world/3000012", "Story 3000012", "first_seen"),
                ("https://tass.com/world/3000013", "Story 3000013", "first_seen"),
            ],
        ),
    ]


CASES = _cases()
STATIC_PAGES: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/rss/v2.xml": (200, RSS, FEED.encode()),
    "/politics/1189047": (200, HTML, REFERENCE_HTML.encode()),
    "/world/1189100": (
        200,
        HTML,
        tass_page(
            1189100,
            "Second story",
            ["NEW YORK, August 13. /TASS/. The first paragraph of the second story is long enough to count."],
            1597309200,
        ).encode(),
    ),
    "/society/1189200": (200, HTML, GALLERY.encode()),
    "/world/3000001": (200, {"Content-Type": "text/html"}, russian_page(3000001).encode("cp1251")),
    "/world/3000002": (200, {"Content-Type": "text/html"}, russian_page(3000002).encode("koi8-r")),
    **{f"/world/{n}": (200, HTML, dates_page(n)) for n in (3000011, 3000012, 3000013)},
    "/world/3000021": (200, HTML, page_with(3000021, json_ld('{"@graph": 5}'))),
    "/world/3000022": (200, HTML, page_with(3000022, json_ld("[" * 50_000 + "]" * 50_000))),
    "/world/3000023": (200, HTML, page_with(3000023).replace(b'https://tass.com/world/3000023"', b'http://[::1/x"', 2)),
    "/world/3000024": (
        200,
        HTML,
        page_with(3000024).replace(b'https://tass.com/world/3000024"', f'http://{LABEL_64}.tass.com/x"'.encode(), 2),
    ),
    "/world/3000025": (200, HTML, page_with(3000025, title=LONG_WORDS)),
    "/world/3000031": (200, HTML, page_with(3000031)),
    "/world/3000041": (200, HTML, page_with(3000041)),
}


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        running.routes.update(STATIC_PAGES)
        for case in CASES:
            path = f"/h/{case.name}"
            if isinstance(case.serve, bytes):
                running.routes[path] = (200, RSS, case.serve)
            elif case.serve is not None:
                running.behaviours[path] = case.serve
            if case.page is not None:
                running.behaviours[f"{path}/page"] = case.page
        yield running


def archive(tmp_path: Path, case: Case) -> tuple[list[list[FeedResult]], sqlite3.Connection, int]:
    """Fetch the hostile feed and the TASS feed together, ``case.runs`` times with one fetcher (as the
    daemon does); returns each run's results, the db and the traced peak."""
    settings = Settings(
        database=tmp_path / "a.db",
        archive_dir=tmp_path / "archive",
        retries=1,
        retry_backoff=0.01,
        total_timeout=1.5,
        read_timeout=1.0,
        connect_timeout=2.0,
        **{
            "max_feed_bytes": 4 * MB,
            "max_page_bytes": 2 * MB,
            "max_retry_after": 1,
            "page_retry_delay": 0,
            **case.settings,
        },
    )  # type: ignore[arg-type]
    feeds = (FeedSpec(id="hostile", url=case.feed_url, source="Hostile", timezone="Europe/Moscow"), TASS)

    async def main() -> list[list[FeedResult]]:
        with open_store(settings.database) as store:
            async with Fetcher(settings) as fetcher:
                archiver = Archiver(settings, store, fetcher)
                return [await archiver.fetch_all(feeds) for _ in range(case.runs)]

    if case.measure:
        tracemalloc.start()
    try:
        results = asyncio.run(main())
        peak = tracemalloc.get_traced_memory()[1] if case.measure else 0
    finally:
        tracemalloc.stop()
    return results, sqlite3.connect(settings.database), peak


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_server_is_survived(
    case: Case, server: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures: dict[str, object]
) -> None:
    # Everything goes through the hostile server as a proxy, except 127.0.0.1 itself.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.origin)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    started, logged = datetime.now(UTC), len(server.requests)
    runs, db, peak = archive(tmp_path, case)
    hostile_result, tass_result = runs[-1]
    assert db.execute("SELECT last_error_reason FROM feeds WHERE id = 'hostile'").fetchall() == [(case.feed_reason,)]
    assert hostile_result.error_reason == case.feed_reason
    assert sorted(
        db.execute("SELECT title, status, last_error_reason FROM entries WHERE feed_id = 'hostile'"), key=repr
    ) == sorted(case.entries, key=repr)
    archived = db.execute("SELECT url, title, published_via FROM articles WHERE feed_id = 'hostile' ORDER BY url")
    assert archived.fetchall() == case.articles
    # the good feed beside it is archived as usual, and nothing else is stored
    # a later run finds the same TASS body: unchanged, as a 304 would say
    assert tass_result.outcome in ("ok", "not_modified") and tass_result.error is None
    assert sum(tass.archived for _, tass in runs) == 2
    assert db.execute("SELECT url FROM articles WHERE feed_id = 'tass' ORDER BY url").fetchall() == TASS_ARTICLES
    assert len(list((tmp_path / "archive").rglob("*.txt"))) == 2 + len(case.articles)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    if case.feed_reason in ("http_429", "http_503"):
        (next_poll,) = db.execute("SELECT next_poll_at FROM feeds WHERE id = 'hostile'").fetchone()
        assert datetime.fromisoformat(next_poll) >= started + timedelta(seconds=3600 - 5)
    if case.measure:
        assert peak < 60 * MB, f"traced memory peaked at {peak / MB:.1f} MB"
    if case.requests is not None:
        case.requests(server.requests[logged:])
    figures.setdefault("hostile", {})[case.name] = {  # type: ignore[union-attr]
        "feed_reason": case.feed_reason,
        "entries": len(case.entries),
        "entry_reasons": sorted({reason for _, _, reason in case.entries if reason}),
        "peak_mb": round(peak / MB, 1) if case.measure else None,
    }


def test_brotli_is_not_requested(server: HostileServer, tmp_path: Path) -> None:
    """httpx asks for ``br`` only when a brotli package is installed; none is, so no brotli
    bomb can reach the decoder (gzip and deflate bombs are capped above)."""
    settings = Settings(database=tmp_path / "a.db", archive_dir=tmp_path / "archive", proxy=server.origin, retries=0)

    async def main() -> None:
        async with Fetcher(settings) as fetcher:
            await fetcher.get("http://tass.com/rss/v2.xml", max_bytes=MB)

    asyncio.run(main())
    encodings = {
        headers.get("accept-encoding") for target, headers in server.requests if target == "http://tass.com/rss/v2.xml"
    }
    assert encodings == {"gzip, deflate"}
