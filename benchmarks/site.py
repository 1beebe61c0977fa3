"""A synthetic TASS-like site for the benchmarks, served over real sockets by its own process.

Feeds and article pages are generated on request, deterministically, from the path:

    /feed/<first>-<count>.xml   an RSS 2.0 feed of articles first .. first+count-1 (other query keys
                                ignored, so that many feeds can show the same articles); ``?links=HOST``:
                                its items link to pages on HOST rather than on the host asked;
                                ``?validators=no``: no ETag or Last-Modified, every poll a 200 of the
                                same body
    /live/<feed>.xml            a feed that grows by ``?per=K`` (default 2) articles per cycle:
                                the 20 newest of articles 3_000_000 + feed * 100_000 + 0 .. (cycle+1)*K-1
                                (``?links=HOST`` as above)
    /ring/<feed>.xml            ``?items=N&per=K&pool=P`` (default 100, 2, 400): N articles of a ring of
                                P (RING_BASE ..), starting at feed * 3 + cycle * K, so that each cycle
                                shows K items the feed did not show before; no validators, as many
                                servers send none: every poll is a 200 with a changed body
    /_cycle/<n>                 sets the cycle of the /live and /ring feeds (answers 204)
    /sitemap/<first>-<count>.xml  a sitemap (urlset) of articles first .. first+count-1, with lastmod
    /<section>/<n>              article page n: 40-80 KB of HTML in the layout of
                                tests/fixtures/tass/politics-1189047.html, padded with the navigation,
                                "All news" ribbon, inline scripts and footer a real tass.com page carries

Every 200 but a /ring feed's (and a ``validators=no`` one's) carries an ETag and a Last-Modified;
If-None-Match / If-Modified-Since get a 304. The server answers for any host: links in a feed
point at the host the request named (``Host``) unless ``links=`` says otherwise, so
the same site is ``http://tass.com/...`` through the archiver's ``proxy:`` setting (absolute-form
request lines are understood, the TASS profile then runs as in production) and
``http://127.0.0.1:PORT/...`` for a client that connects directly.

The server is a small asyncio HTTP/1.1 server with keep-alive (one process, no threads), so that
the client under test, not the server, is what gets measured. Run it on its own:

    /work/venv/bin/python -m benchmarks.site [--port 0]      # prints the port, serves until killed
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import random
import subprocess
import sys
import time
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "tests" / "fixtures" / "tass" / "politics-1189047.html"
SECTIONS = ("politics", "world", "economy", "defense", "science", "emergencies", "society", "sports")
SECTION_NAMES = {
    "politics": "Russian Politics &amp; Diplomacy",
    "world": "World",
    "economy": "Business &amp; Economy",
    "defense": "Military &amp; Defense",
    "science": "Science &amp; Space",
    "emergencies": "Emergencies",
    "society": "Society &amp; Culture",
    "sports": "Sports",
}
PLACES = (
    "MOSCOW",
    "ST. PETERSBURG",
    "NEW YORK",
    "BEIJING",
    "UNITED NATIONS",
    "MINSK",
    "BERLIN",
    "TOKYO",
    "IGORA /Leningrad Region/",
    "VLADIVOSTOK",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WORDS_TEXT = (
    "the president government minister said talks agreement security council cooperation economic "
    "region border situation foreign ministry spokesperson military exercise forces energy gas oil "
    "prices market bank inflation rate percent billion rubles dollars sanctions trade export import "
    "delegation summit leaders discussed bilateral relations international organization parliament "
    "deputy chairman committee law draft reading adopted vaccine health ministry cases hospital "
    "scientists space station launch satellite rocket program research university students "
    "championship team players coach season match final victory record olympic federation "
    "weather storm emergency rescue services fire region residents evacuated authorities reported "
    "according to statement press service kremlin spokesman added stressed noted earlier week "
    "on monday tuesday wednesday thursday friday saturday sunday a an in of for with by from at "
    "and which that this these those its their was were has have had will would could should"
)
WORDS = _WORDS_TEXT.split()
BASE_TIME = 1_597_267_560  # 2020-08-13 00:26 Moscow time, as in the reference page
LIVE_BASE = 3_000_000
RING_BASE = 4_000_000


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 22)) for _ in range(rng.randint(2, 5)))


def article_time(number: int) -> int:
    return BASE_TIME + (number % 1_000_000) * 97


def section_of(number: int) -> str:
    return SECTIONS[number % len(SECTIONS)]


def title_of(number: int) -> str:
    rng = random.Random(number * 7 + 1)
    return _sentence(rng, rng.randint(6, 12)).rstrip(".") + f" ({number})"


def _script_blob(rng: random.Random, size: int) -> str:
    """Minified-looking JavaScript: the configuration and vendor code a news page inlines."""
    parts, total = [], 0
    while total < size:
        name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
        part = (
            f"window.__{name}=function(e,t){{var n=e&&e.{name}||{{}};for(var r=0;r<t.length;r++)"
            f"{{n[t[r].id]=t[r].value||'{rng.choice(WORDS)}';}}return n}};"
        )
        parts.append(part)
        total += len(part)
    return "".join(parts)


@lru_cache(maxsize=1)
def _reference() -> str:
    return REFERENCE.read_text(encoding="utf-8")


@lru_cache(maxsize=8192)
def article_page(number: int) -> bytes:
    """Article ``number``'s page: the reference layout with its own text, padded to 40-80 KB."""
    rng = random.Random(number)
    page = _reference()
    section = section_of(number)
    when = article_time(number)
    moment = time.gmtime(when + 3 * 3600)
    place = rng.choice(PLACES)
    paragraphs = [_paragraph(rng) for _ in range(rng.randint(4, 12))]
    paragraphs[0] = f"{place}, {MONTHS[moment.tm_mon - 1]} {moment.tm_mday}. /TASS/. {paragraphs[0]}"
    start = page.index('<div class="text-block">') + len('<div class="text-block">')
    end = page.index("</div>", start)
    body = "\n".join(f"        <p>{p}</p>" for p in paragraphs)
    page = page[:start] + "\n" + body + "\n      " + page[end:]
    old_title = "Presidents of Russia and Azerbaijan discuss regional issues in phone call"
    page = (
        page.replace(old_title, title_of(number))
        .replace("politics/1189047", f"{section}/{number}")
        .replace('time="1597267560"', f'time="{when}"')
        .replace("1189047", str(number))
    )
    # the padding a real page carries: a mega menu, the "All news" ribbon, inline scripts, a big footer
    menu = "\n".join(
        f'      <a class="menu__item menu__item_sub" href="/{rng.choice(SECTIONS)}/{rng.randint(1, 99)}">'
        f"{_sentence(rng, rng.randint(1, 3)).rstrip('.')}</a>"
        for _ in range(rng.randint(60, 120))
    )
    ribbon = "\n".join(
        f'    <div class="news-feed__item"><a href="/{section_of(n)}/{n}">{title_of(n)}</a>'
        f'<span class="news-feed__section">{SECTION_NAMES[section_of(n)]}</span> '
        f'<dateformat time="{article_time(n)}" mode="rel">August 12, 23:40</dateformat></div>'
        for n in range(max(1, number - rng.randint(40, 80)), number)
    )
    footer = "\n".join(
        f'    <a class="footer__link" href="/{rng.choice(SECTIONS)}">{_sentence(rng, rng.randint(1, 4)).rstrip(".")}'
        "</a>"
        for _ in range(rng.randint(40, 90))
    )
    head_script = f"<script>{_script_blob(rng, rng.randint(8_000, 22_000))}</script>\n"
    tail_script = f"<script>{_script_blob(rng, rng.randint(3_000, 10_000))}</script>\n"
    page = page.replace('<nav class="menu">\n', f'<nav class="menu">\n{menu}\n', 1)
    marker = '<div class="news-feed__item"><a href="/world/1189040">'
    page = page.replace(marker, ribbon + "\n    " + marker, 1)
    page = page.replace("</head>", head_script + "</head>", 1)
    page = page.replace("</footer>", f'  <nav class="footer__nav">\n{footer}\n  </nav>\n</footer>', 1)
    page = page.replace("</body>", tail_script + "</body>", 1)
    return page.encode("utf-8")


def _rss_item(host: str, number: int) -> str:
    link = f"http://{host}/{section_of(number)}/{number}"
    date = formatdate(article_time(number), usegmt=True)
    return (
        f"<item><title>{title_of(number)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{date}</pubDate><description>Story {number}</description>"
        f"<category>{SECTION_NAMES[section_of(number)]}</category></item>"
    )


def feed_xml(host: str, numbers: list[int]) -> bytes:
    items = "".join(_rss_item(host, n) for n in reversed(numbers))  # newest first, like tass.com
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>TASS</title>'
        f"<link>http://{host}</link><description>TASS news</description>{items}</channel></rss>"
    ).encode()


def sitemap_xml(host: str, numbers: list[int]) -> bytes:
    urls = "".join(
        f"<url><loc>http://{host}/{section_of(n)}/{n}</loc>"
        f"<lastmod>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(article_time(n)))}</lastmod></url>"
        for n in numbers
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


class Site:
    """What to answer; the state is the /live feeds' cycle."""

    def __init__(self) -> None:
        self.cycle = 0

    def answer(self, target: str, headers: dict[str, str]) -> tuple[int, str, bytes, int | None]:
        """(status, content type, body, last-modified unix time) for a request target."""
        parts = urlsplit(target)
        host = parts.netloc or headers.get("host", "localhost")
        path = parts.path
        query = dict(p.partition("=")[::2] for p in parts.query.split("&") if p)
        links = query.get("links") or host
        if path.startswith("/feed/") and path.endswith(".xml"):
            first, _, count = path[6:-4].partition("-")
            numbers = list(range(int(first), int(first) + int(count)))
            modified = None if query.get("validators") == "no" else article_time(numbers[-1])
            return 200, "application/rss+xml; charset=utf-8", feed_xml(links, numbers), modified
        if path.startswith("/live/") and path.endswith(".xml"):
            feed, per = int(path[6:-4]), int(query.get("per", "2"))
            start = LIVE_BASE + feed * 100_000
            newest = (self.cycle + 1) * per
            numbers = [start + n for n in range(max(0, newest - 20), newest)]
            return 200, "application/rss+xml; charset=utf-8", feed_xml(links, numbers), BASE_TIME + self.cycle * 3600
        if path.startswith("/ring/") and path.endswith(".xml"):
            feed, items = int(path[6:-4]), int(query.get("items", "100"))
            per, pool = int(query.get("per", "2")), int(query.get("pool", "400"))
            start = feed * 3 + self.cycle * per
            numbers = [RING_BASE + (start + n) % pool for n in range(items)]
            return 200, "application/rss+xml; charset=utf-8", feed_xml(host, numbers), None
        if path.startswith("/sitemap/") and path.endswith(".xml"):
            first, _, count = path[9:-4].partition("-")
            numbers = list(range(int(first), int(first) + int(count)))
            return 200, "application/xml; charset=utf-8", sitemap_xml(host, numbers), article_time(numbers[-1])
        if path.startswith("/_cycle/"):
            self.cycle = int(path[8:])
            return 204, "text/plain", b"", None
        section, _, number = path.strip("/").partition("/")
        if section in SECTIONS and number.isdigit() and section_of(int(number)) == section:
            return 200, "text/html; charset=utf-8", article_page(int(number)), article_time(int(number))
        return 404, "text/plain", b"not found", None


def _not_modified(headers: dict[str, str], etag: str, last_modified: str) -> bool:
    if "if-none-match" in headers:
        return etag in [tag.strip() for tag in headers["if-none-match"].split(",")]
    since = headers.get("if-modified-since")
    if since:
        with contextlib.suppress(TypeError, ValueError):
            return parsedate_to_datetime(since) >= parsedate_to_datetime(last_modified)
    return False


async def _serve_connection(site: Site, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            status, content_type, body, modified = site.answer(target, headers)
            extra = ""
            if status == 200 and modified is not None:  # else a body without validators
                etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
                last_modified = formatdate(modified, usegmt=True)
                extra = f"ETag: {etag}\r\nLast-Modified: {last_modified}\r\nCache-Control: max-age=60\r\n"
                if _not_modified(headers, etag, last_modified):
                    status, body = 304, b""
            reason = {200: "OK", 204: "No Content", 304: "Not Modified", 404: "Not Found"}[status]
            close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            response = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n{extra}Connection: {'close' if close else 'keep-alive'}"
                "\r\n\r\n"
            ).encode("latin-1")
            writer.write(response + (body if method != "HEAD" else b""))
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def serve(port: int, prewarm: list[tuple[int, int]]) -> None:
    for first, last in prewarm:  # generated before the port is announced: no run pays for it
        for number in range(first, last):
            article_page(number)
    site = Site()
    server = await asyncio.start_server(lambda r, w: _serve_connection(site, r, w), "127.0.0.1", port, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


class SiteProcess:
    """The site in a child process; ``with SiteProcess() as site: site.origin``."""

    def __init__(self, prewarm: str = "") -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.site", "--prewarm", prewarm], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.origin = f"http://127.0.0.1:{self.port}"

    def set_cycle(self, cycle: int) -> None:
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an environment proxy
        with opener.open(f"{self.origin}/_cycle/{cycle}", timeout=10):
            pass

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> SiteProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="serve the synthetic TASS-like site")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prewarm", default="", help="article ranges to generate first: FIRST-LAST,FIRST-LAST")
    args = parser.parse_args()
    ranges = [tuple(map(int, r.split("-"))) for r in args.prewarm.split(",") if r]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, ranges))  # type: ignore[arg-type]
