"""A web site on a real socket, the TASS-like pages and feeds it serves, config files for it, and
the real command line in a subprocess.

``Site`` wraps a pytest-httpserver that answers for any host name (it is also an HTTP proxy), so
a feeds.yaml with ``proxy:`` pointing at it reaches ``http://tass.com/...`` exactly as it would
reach tass.com. The ``site`` and ``tass_site`` fixtures (tests/conftest.py) start one.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pytest_httpserver import HTTPServer, URIPattern
from werkzeug import Request, Response

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class Site:
    """A web site served on 127.0.0.1 that answers for any host name (it is also an HTTP proxy).

    Routes are keyed by path (query ignored). Every 200 carries an ETag and honours
    If-None-Match, like a well-behaved news site. ``hits`` counts requests per path.
    """

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.routes: dict[str, Page] = {}
        self.hits: dict[str, int] = {}
        server.expect_request(_AnyPath()).respond_with_handler(self._handle)

    def __setitem__(self, path: str, page: Page | bytes | str) -> None:
        if isinstance(page, str):
            page = page.encode("utf-8")
        self.routes[path] = page if isinstance(page, Page) else Page(page)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def _handle(self, request: Request) -> Response:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        page = self.routes.get(request.path)
        if page is None:
            return Response("not found", status=404, content_type="text/plain")
        etag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
        if page.status == 200 and request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag, **page.headers} if page.status == 200 else dict(page.headers)
        return Response(page.body, status=page.status, content_type=page.content_type, headers=headers)


class _AnyPath(URIPattern):
    """A path matcher that accepts every path."""

    def match(self, uri: str) -> bool:
        return True


def write_config(tmp_path: Path, feeds: str, *, settings: str = "") -> Path:
    """A feeds.yaml in ``tmp_path`` (archive and database go beside it)."""
    path = tmp_path / "feeds.yaml"
    base = "  retries: 0\n  total_timeout: 10\n"
    path.write_text(f"settings:\n{base}{settings}feeds:\n{feeds}", encoding="utf-8")
    return path


def run_cli(
    *args: str, config: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a subprocess, as a user would."""
    command = [sys.executable, "-m", "aggregator"]
    if config is not None:
        command += ["--config", str(config)]
    full_env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    full_env.update(env or {})
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout, env=full_env, check=False)


# -- a TASS-like site ---------------------------------------------------------------------------

REFERENCE_HTML = (FIXTURES / "tass" / "politics-1189047.html").read_text(encoding="utf-8")


def item(link: str, title: str, date: str = "Wed, 12 Aug 2020 21:26:00 +0000", guid: bool = True) -> str:
    guid_xml = f"<guid>{link.split('?')[0]}</guid>" if guid else ""
    return f"<item><title>{title}</title><link>{link}</link>{guid_xml}<pubDate>{date}</pubDate></item>"


def rss(*items: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>TASS</title>'
        f"<link>https://tass.com</link><description>TASS</description>{''.join(items)}</channel></rss>"
    )


def tass_page(number: int, title: str, paragraphs: list[str], unix_time: int) -> str:
    """Another article in the same page layout as the reference page."""
    start = REFERENCE_HTML.index('<div class="text-block">') + len('<div class="text-block">')
    end = REFERENCE_HTML.index("</div>", start)
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    page = REFERENCE_HTML[:start] + body + REFERENCE_HTML[end:]
    old_title = "Presidents of Russia and Azerbaijan discuss regional issues in phone call"
    return (
        page.replace(old_title, title)
        .replace("politics/1189047", f"world/{number}")
        .replace('time="1597267560"', f'time="{unix_time}"')
    )


#: The second story of the TASS-like site and of the read-side archive.
SECOND_STORY = tass_page(
    1189100,
    "Second story",
    [
        "NEW YORK, August 13. /TASS/. The first paragraph of the second story is long enough to count.",
        "A second paragraph mentions /TASS/ in the middle of a sentence and keeps it.",
    ],
    1597309200,
)

GALLERY = """<html><head><title>Photo gallery - TASS</title></head><body><div class="news">
<h1 class="news-header__title">Moscow in snow</h1><div class="gallery">Photo {{sliderIndex+1}} from 15</div>
</div></body></html>"""

FEED = rss(
    item(
        "http://tass.com/politics/1189047?utm_source=rss&amp;utm_medium=feed",
        "Presidents of Russia and Azerbaijan discuss regional issues in phone call",
    ),
    item("http://tass.com/world/1189100?utm_source=rss", "Second story", "Thu, 13 Aug 2020 09:00:00 +0000"),
    item("http://tass.com/society/1189200", "A gallery"),
    item("http://tass.com/politics/1189999", "A page that is gone"),
)


def serve_tass(site: Site) -> Site:
    """The TASS-like site: the feed, the reference story, a second story, a gallery (and a 404)."""
    site["/rss/v2.xml"] = Page(FEED.encode(), "application/rss+xml; charset=utf-8")
    site["/politics/1189047"] = REFERENCE_HTML
    site["/world/1189100"] = SECOND_STORY
    site["/society/1189200"] = GALLERY
    return site


def tass_config(tmp_path: Path, site: Site, extra_feeds: str = "") -> Path:
    """A feeds.yaml for the TASS-like feed (and ``extra_feeds``), reached through ``site`` as proxy."""
    feeds = "  - {id: tass, url: 'http://tass.com/rss/v2.xml', source: TASS, timezone: Europe/Moscow}\n" + extra_feeds
    return write_config(tmp_path, feeds, settings=f"  proxy: {site.origin}\n  max_attempts: 3\n  page_retry_delay: 0\n")


# -- a large site: many feeds of many distinct stories (crash and concurrency tests) -------------

LARGE_FEEDS = 4
LARGE_PER_FEED = 250  # enough that an ingest outlasts several kills


def large_site(
    site: Site, feeds: int = LARGE_FEEDS, per_feed: int = LARGE_PER_FEED, start: int = 5_000_000
) -> set[str]:
    """``feeds`` feeds of ``per_feed`` distinct TASS-like stories each; returns the canonical URLs."""
    urls = set()
    for feed in range(feeds):
        items = []
        for n in range(start + feed * per_feed, start + (feed + 1) * per_feed):
            site[f"/world/{n}"] = tass_page(
                n,
                f"Story {n}",
                [
                    f"MOSCOW, August 13. /TASS/. Story number {n} has a first paragraph long enough to count.",
                    f"Its second paragraph says something else about story {n}.",
                ],
                1597267560 + n % 86400,
            )
            items.append(item(f"http://tass.com/world/{n}?utm_source=rss", f"Story {n}"))
            urls.add(f"https://tass.com/world/{n}")
        site[f"/rss/feed-{feed}.xml"] = Page(rss(*items).encode(), "application/rss+xml")
    return urls


def large_site_config(tmp_path: Path, site: Site, feeds: int = LARGE_FEEDS) -> Path:
    """A feeds.yaml for the feeds of ``large_site``, polled every minute, through ``site`` as proxy."""
    lines = "".join(
        f"  - {{id: feed-{n}, url: 'http://tass.com/rss/feed-{n}.xml', source: TASS, "
        f"timezone: Europe/Moscow, interval: 1m}}\n"
        for n in range(feeds)
    )
    return write_config(tmp_path, lines, settings=f"  proxy: {site.origin}\n  per_host_concurrency: 8\n")
