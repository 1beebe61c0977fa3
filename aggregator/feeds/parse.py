"""Feed documents -> ``ParsedFeed``: the one call of feedparser, and what its result says.

``parse_feed`` is pure: it gets the response body and headers, never a URL to fetch, and
either returns what the feed says or raises ``FeedError`` with a one-line reason. The body is
checked and repaired before feedparser sees it (``sniff``: not a feed, unsafe, unreadable text;
``structure``: too deep or dense to parse in bounded memory); its entries are read by ``entries``.

Decisions worth knowing about the call itself:

* The body goes to feedparser wrapped in ``BytesIO``. Passing ``bytes`` directly would make
  feedparser try ``open(content)`` first, i.e. read a local file if the body happens to be
  a path.
* feedparser gets no base URI (nor the ``Content-Location`` header, which would be one), so it
  does not rewrite guids ("12345" would become ``https://host/12345``, and change whenever the
  feed URL does). Entry links are resolved by ``entries``, against the feed URL. Content is kept
  as written (``sanitize_html=False``, ``resolve_relative_uris=False``): this module records what
  the feed says.
* A document without entries is an empty feed only when it is recognisably one (an RSS or Atom
  root, an RSS channel, a title when the parser complained).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import feedparser
import feedparser.api

from aggregator.errors import FeedError
from aggregator.feeds.entries import entries, field, title
from aggregator.feeds.items import Item, scan_items
from aggregator.feeds.quickscan import quick_items
from aggregator.feeds.sitemaps import is_sitemap, parse_sitemap
from aggregator.feeds.sniff import (
    ascii_view,
    has_channel,
    refuse_non_feed,
    refuse_unsafe,
    repair_utf8,
    replace_bad_char_refs,
    transcode_legacy,
    with_utf8_charset,
)
from aggregator.feeds.structure import check_structure, well_within_budget
from aggregator.models import Entry, ParsedFeed
from aggregator.text import one_line

__all__ = ["FeedScan", "parse_feed", "parse_new_items", "parse_remainder", "scan_feed"]

#: Root elements of the formats feedparser reads (local names, lower case).
_FEED_ROOTS = frozenset({"rss", "rdf", "feed"})
_TTL = re.compile(r"\d{1,9}", re.ASCII)
_MAX_WARNING = 200
#: A sitemap polled as a feed may be this large decompressed (the sitemaps protocol's limit).
MAX_SITEMAP_FEED_BYTES = 50 * 1024 * 1024

# feedparser tries its preferred SAX drivers (libxml2's) before the standard library's expat, and a
# driver that is not installed is a failed import, a search of the whole sys.path, on every parse
# (a tenth of feedparser's time on a feed's few new items). expat is the parser the identity pass
# (``items``) reads with, and the one every result here was checked with: it is asked for alone.
feedparser.api.PREFERRED_XML_PARSERS = []


def parse_feed(content: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse an RSS 0.9x/1.0/2.0 or Atom 0.3/1.0 document (or a news sitemap) fetched from ``url``.

    ``headers`` are the HTTP response headers (their ``Content-Type`` charset decides the
    encoding when the document declares none). Raises ``FeedError`` when the body is not a
    feed: empty, an HTML page (error, redirect or challenge page), JSON, garbage (reason
    ``not_a_feed``), a document declaring XML entities (``unsafe_xml``), or one too deeply
    nested or dense to parse within bounded memory (``too_complex``).
    """
    if is_sitemap(content):  # a news sitemap polled as a feed, as large news archives do
        return _sitemap_feed(content, url)
    response_headers = {name.lower(): value for name, value in (headers or {}).items()}
    response_headers.pop("content-location", None)  # a base URI: see the module's docstring
    view = ascii_view(content)
    refuse_unsafe(content, view, response_headers, url)
    content, repaired = repair_utf8(content, view, response_headers)
    content, legacy = transcode_legacy(content, view, response_headers)
    if legacy:
        response_headers["content-type"] = with_utf8_charset(response_headers.get("content-type", ""))
    root = refuse_non_feed(content, view, url)
    check_structure(view, url)
    content, bad_refs = replace_bad_char_refs(content)
    notes = []
    if repaired:
        notes.append(f"{repaired} invalid UTF-8 byte sequence(s) replaced with U+FFFD")
    if legacy:
        notes.append(f"not UTF-8 as declared or implied: read as {legacy}")
    if bad_refs:
        notes.append(f"{bad_refs} reference(s) to no character (a surrogate, beyond U+10FFFF) replaced with U+FFFD")
    return _read(_feedparser(content, response_headers, url), url, root, view, notes)


@dataclass(frozen=True)
class FeedScan:
    """A body ``scan_feed`` could read the items of: what ``parse_new_items`` needs."""

    content: bytes
    url: str
    headers: dict[str, str]
    root: str | None
    view: bytes
    items: tuple[Item, ...]

    @property
    def keys(self) -> list[str]:
        return [item.key for item in self.items]

    def remainder(self, known: Mapping[str, str | None]) -> bytes:
        """The body without the items whose key is in ``known`` (key -> the ``updated`` text stored
        for it) and whose ``updated`` is that text: the channel and the new or changed items."""
        pieces, at = [], 0
        for item in self.items:
            if item.key in known and item.sure and item.updated in (None, known[item.key]):
                pieces.append(self.content[at : item.start])
                at = item.end
        pieces.append(self.content[at:])
        return b"".join(pieces)


def scan_feed(content: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> FeedScan | None:
    """The identities of a feed's items without feedparser (``quickscan``, else ``items``), or None when only a full
    ``parse_feed`` can say (a sitemap, a body ``parse_feed`` would repair, transcode or refuse,
    anything the pass is not sure of): then call ``parse_feed``, which raises what it must."""
    if is_sitemap(content):
        return None
    response_headers = {name.lower(): value for name, value in (headers or {}).items()}
    response_headers.pop("content-location", None)
    view = ascii_view(content)
    try:
        refuse_unsafe(content, view, response_headers, url)
        if repair_utf8(content, view, response_headers)[1] or transcode_legacy(content, view, response_headers)[1]:
            return None
        root = refuse_non_feed(content, view, url)
    except FeedError:
        return None
    if not well_within_budget(view):  # check_structure might refuse it: the full parse says
        return None
    if replace_bad_char_refs(content)[1]:
        return None
    items = quick_items(content, url) or scan_items(content, url)  # the plainest feeds, then any other
    return FeedScan(content, url, response_headers, root, view, items) if items is not None else None


def parse_new_items(scan: FeedScan, known: Mapping[str, str | None]) -> ParsedFeed:
    """``parse_feed`` of the scanned body with the items whose key is in ``known`` (key -> the
    ``updated`` text stored for it) and whose ``updated`` is that text left out: feedparser runs
    on the rest of the document, channel and all. Its entries are exactly those of a full parse
    that are new or changed; its warning speaks of those alone."""
    return parse_remainder(scan, scan.remainder(known))


def parse_remainder(scan: FeedScan, document: bytes) -> ParsedFeed:
    """``parse_new_items`` of a ``scan.remainder(known)`` already cut."""
    return _read(_feedparser(document, dict(scan.headers), scan.url), scan.url, scan.root, scan.view, [])


def _sitemap_feed(content: bytes, url: str) -> ParsedFeed:
    """A (news) sitemap's URLs as entries: the link is the identity, ``news:title`` the title, the
    publication date (else ``lastmod``) the entry's date. An index lists sitemaps, not articles."""
    sitemap = parse_sitemap(content, url=url, max_bytes=MAX_SITEMAP_FEED_BYTES)
    if sitemap.kind == "index":
        raise FeedError(
            f"{url}: not a feed: a sitemap index (list it under the feed's sitemaps: for backfill, "
            "or poll one of its sitemaps)"
        )
    items = tuple(Entry(None, item.loc, item.title, item.published or item.lastmod) for item in sitemap.urls)
    return ParsedFeed(None, items, warning=sitemap.warning)


def _feedparser(content: bytes, headers: dict[str, str], url: str) -> Any:
    try:
        return feedparser.parse(
            io.BytesIO(content),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser's fallback parser has no exception tree of its own
        raise FeedError(f"{url}: not a feed: the parser failed ({_describe(exc)})") from exc


def _read(result: Any, url: str, root: str | None, view: bytes, notes: list[str]) -> ParsedFeed:
    """The ParsedFeed of feedparser's ``result``, its warning made of ``notes`` and the parser's complaint."""
    feed = result.get("feed") or {}
    raw_entries = result.get("entries") or []
    feed_title = title(field(feed, "title"))
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if not raw_entries:
        _check_empty_feed(url, result.get("version") or "", root, view, feed_title, problem)
    kept, tally = entries(raw_entries, url)
    if problem is not None:
        notes.append(_describe(problem))
    notes.extend(tally.notes())
    return ParsedFeed(
        title=feed_title,
        entries=kept,
        ttl_minutes=_ttl(field(feed, "ttl")),
        warning="; ".join(notes) or None,
    )


def _check_empty_feed(
    url: str, version: str, root: str | None, view: bytes, feed_title: str | None, problem: object
) -> None:
    """A document without entries is an empty feed only if it is recognisably one."""
    if not version:
        found = f"root element <{root}>" if root else "no XML markup"
        raise FeedError(f"{url}: not a feed: no RSS or Atom document ({found})")
    # Encoding and Content-Type notices do not make a document malformed.
    malformed = problem is not None and not isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe)
    if malformed and not feed_title:
        raise FeedError(f"{url}: not a feed: unparseable ({_describe(problem)})")
    if root is not None and root not in _FEED_ROOTS:
        raise FeedError(f"{url}: not a feed: root element <{root}>")
    if root in ("rss", "rdf") and not has_channel(view):
        raise FeedError(f"{url}: not a feed: <{root}> without a channel")


def _ttl(value: object) -> int | None:
    text = value.strip() if isinstance(value, str) else ""
    minutes = int(text) if _TTL.fullmatch(text) else 0
    return minutes if minutes > 0 else None


def _describe(exc: object) -> str:
    """One line for a warning or error: no control characters nor lone surrogates (the database
    stores it as UTF-8), at most _MAX_WARNING characters."""
    text = one_line(f"{type(exc).__name__}: {exc}")
    return text if len(text) <= _MAX_WARNING else text[: _MAX_WARNING - 1] + "…"
