"""OPML 2.0 subscription lists in and out: the only user of defusedxml.

Reading goes through defusedxml, so a hostile file cannot expand entities or reach the network.
Every ``<outline>`` with an ``xmlUrl`` is a feed, at any depth (folders are flattened). Our own
export adds ``source`` and ``timezone`` attributes to each outline, which the import reads back,
so export -> import gives the same feeds. An outline whose URL cannot be fetched, or whose zone
is unknown, refuses the whole file with one line naming the file and the outline.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from aggregator.config.settings import known_zone, url_problem
from aggregator.errors import ConfigError, InvalidURL
from aggregator.models import FeedSpec
from aggregator.text import collapse, slug
from aggregator.urls import canonical_url, host_of

_ID_MAX = 48


@dataclass(frozen=True)
class Outline:
    """One feed of an OPML file."""

    title: str
    url: str
    source: str | None = None  # our own attribute
    timezone: str | None = None  # our own attribute


@dataclass(frozen=True)
class Plan:
    """What an import adds, and what it leaves out as already configured (with --skip-existing)."""

    feeds: tuple[FeedSpec, ...]
    skipped: tuple[str, ...]  # one line per skipped outline


def parse_opml(data: bytes, name: str) -> list[Outline]:
    """The feeds of an OPML document, in document order. ConfigError naming ``name`` when it is not one."""
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ConfigError(f"{name}: refusing an OPML file that declares XML entities or external references") from None
    except ET.ParseError as exc:
        raise ConfigError(f"{name}: not an OPML file: {exc}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError(f"{name}: not an OPML file (no <opml><body>)")
    outlines = []
    for number, node in enumerate(body.iter("outline"), start=1):
        url = (node.get("xmlUrl") or "").strip()
        if not url:
            continue  # a folder, or a link that is not a feed
        title = _text(node.get("title") or node.get("text"))
        where = f"{name}: outline '{title}'" if title else f"{name}: outline #{number}"
        problem = url_problem(url)
        if problem:
            raise ConfigError(f"{where}: bad url '{url}' ({problem})")
        timezone = _text(node.get("timezone")) or None
        if timezone is not None and not known_zone(timezone):
            raise ConfigError(f"{where}: unknown time zone '{timezone}'")
        outlines.append(
            Outline(
                title=title or host_of(url) or url, url=url, source=_text(node.get("source")) or None, timezone=timezone
            )
        )
    return outlines


def _text(value: str | None) -> str:
    """An attribute as one line of text: whitespace collapsed, control characters dropped (XML 1.0
    allows C1 controls such as U+009B, which no title or source name means)."""
    printable = "".join(char for char in value or "" if unicodedata.category(char) != "Cc" or char.isspace())
    return collapse(printable)


def plan_import(
    outlines: Iterable[Outline],
    existing: Sequence[FeedSpec],
    *,
    source: str | None = None,
    timezone: str | None = None,
    skip_existing: bool = False,
) -> Plan:
    """FeedSpecs for the outlines: id from the title (slugified, made unique with ``-2``, ``-3``...),
    source from ``source``, else the outline's own, else its title; timezone likewise.

    An outline whose feed URL is already configured (or appears twice) is a duplicate: ConfigError
    naming it, or skipped with ``skip_existing``."""
    taken_ids = {feed.id for feed in existing}
    known_urls = {canonical_url(feed.url): feed.id for feed in existing}  # configured: valid URLs
    feeds: list[FeedSpec] = []
    skipped: list[str] = []
    for outline in outlines:
        try:
            key = canonical_url(outline.url)
        except InvalidURL as exc:  # parse_opml refuses these; an Outline made elsewhere may not
            raise ConfigError(f"feed '{outline.title}': {exc}") from None
        if key in known_urls:
            message = f"feed '{outline.title}' ({outline.url}) is already configured as '{known_urls[key]}'"
            if not skip_existing:
                raise ConfigError(message)
            skipped.append(message)
            continue
        feed_id = unique_id(outline.title, outline.url, taken_ids)
        taken_ids.add(feed_id)
        known_urls[key] = feed_id
        feeds.append(
            FeedSpec(
                id=feed_id,
                url=outline.url,
                source=source or outline.source or outline.title,
                timezone=timezone or outline.timezone,
            )
        )
    return Plan(tuple(feeds), tuple(skipped))


def unique_id(title: str, url: str, taken: set[str]) -> str:
    """``BBC News - World`` -> ``bbc-news-world`` (ASCII; the feed's host when the title has no
    letters or digits), with ``-2``, ``-3`` ... appended until it is not in ``taken``."""
    base = _slug(title) or _slug(host_of(url)) or "feed"
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _slug(text: str) -> str:
    return slug(text, max_chars=_ID_MAX, ascii_only=True)


def render_opml(feeds: Iterable[FeedSpec], title: str = "aggregator feeds") -> str:
    """An OPML 2.0 document with one ``<outline type="rss">`` per feed (UTF-8 text, final newline)."""
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = title
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attributes = {"type": "rss", "text": feed.id, "title": feed.id, "xmlUrl": feed.url, "source": feed.source}
        if feed.timezone:
            attributes["timezone"] = feed.timezone
        ET.SubElement(body, "outline", attributes)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
