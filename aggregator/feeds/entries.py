"""feedparser's entries -> our Entry records: guids, links, titles and dates as the feed wrote them.

* Entries keep feed order; the first of each key (guid, else link) wins and repeats are counted.
* Titles are cut at ``MAX_TITLE_CHARS`` (a word boundary, marked "…"); a guid longer than
  ``MAX_GUID_CHARS`` is replaced by ``sha256:<hex>`` of it (still distinct and stable); a link
  ``canonical_url`` would refuse (malformed, longer than ``MAX_URL_CHARS``) is no link. Each is
  counted in the feed's warning.
* Links are resolved here, against the feed URL (feedparser gets no base URI, so that it leaves
  guids as written).
* Dates keep the offset written in the feed (feedparser's ``*_parsed`` fields are UTC); a time
  without a zone is UTC; a zone abbreviation that is not understood makes the date unparseable
  (None) rather than silently UTC.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from aggregator.isodates import parse_iso
from aggregator.models import Entry
from aggregator.text import collapse, shorten, strip_controls
from aggregator.urls import MAX_URL_CHARS, usable_http_url, written_as_http

#: Longest feed or entry title kept (a headline, not an article); a longer one is cut.
MAX_TITLE_CHARS = 1000
#: Longest guid kept as written; a longer one is replaced by its hash.
MAX_GUID_CHARS = 2048
_ISO_DATE = re.compile(r"\d{4}-?\d{2}", re.ASCII)
_UNKNOWN_ZONE = re.compile(r"\d\d\s+([A-Za-z]{1,6})\s*$", re.ASCII)


@dataclass
class Tally:
    """What ``entries`` did not keep as written, for the feed's warning."""

    skipped: int = 0  # no guid and no usable link
    duplicates: int = 0  # a guid or link seen before
    bad_links: int = 0  # an http(s) link that is malformed or longer than MAX_URL_CHARS
    hashed_guids: int = 0  # guids longer than MAX_GUID_CHARS, replaced by their hash

    def notes(self) -> list[str]:
        return [
            note
            for count, note in (
                (self.skipped, f"{_count(self.skipped)} without link or guid skipped"),
                (self.duplicates, f"{_count(self.duplicates)} with a repeated guid or link collapsed"),
                (
                    self.bad_links,
                    f"{_count(self.bad_links)} with a malformed link or one longer than"
                    f" {MAX_URL_CHARS} characters (link dropped)",
                ),
                (
                    self.hashed_guids,
                    f"{_count(self.hashed_guids)} with a guid longer than {MAX_GUID_CHARS}"
                    " characters (replaced by its SHA-256)",
                ),
            )
            if count
        ]


def entries(raw_entries: list[Any], url: str) -> tuple[tuple[Entry, ...], Tally]:
    """Entries in feed order, first occurrence of each key, and the tally of what was not kept
    as written."""
    kept: list[Entry] = []
    seen: set[str] = set()
    tally = Tally()
    for raw in raw_entries:
        entry = Entry(
            guid=_entry_guid(raw, tally),
            link=entry_link(raw, url, tally),
            title=title(field(raw, "title")),
            published=_entry_date(raw),
            updated=clean(field(raw, "updated")),
        )
        if not entry.key:
            tally.skipped += 1
        elif entry.key in seen:
            tally.duplicates += 1
        else:
            seen.add(entry.key)
            kept.append(entry)
    return tuple(kept), tally


def _entry_guid(raw: Mapping[str, Any], tally: Tally) -> str | None:
    """The guid as written; one longer than MAX_GUID_CHARS as ``sha256:<hex>``, which keeps it as
    distinct from other guids and as stable from poll to poll as it was (cutting it would not)."""
    guid = clean(field(raw, "id"))
    if guid is None or len(guid) <= MAX_GUID_CHARS:
        return guid
    tally.hashed_guids += 1
    return "sha256:" + hashlib.sha256(guid.encode("utf-8", "replace")).hexdigest()


def entry_link(raw: Mapping[str, Any], base: str, tally: Tally) -> str | None:
    """The entry's http(s) link, made absolute against the feed URL. A link ``canonical_url`` would
    refuse (malformed, longer than MAX_URL_CHARS) is no link, and counted; javascript:, mailto: or a
    permalink guid that is not an absolute URL is no link either, and nothing wrong."""
    written = field(raw, "link")
    link = clean(written)
    if link is None:
        return None
    # else feedparser took a permalink guid as the link: it only counts if already absolute
    own = any(field(item, "href") == written for item in field(raw, "links") or ())
    if own and len(link) <= MAX_URL_CHARS:
        link = _join(base, link) or link  # unjoinable (an unbalanced "["): refused just below
    if usable_http_url(link):
        return link
    if own and (len(link) > MAX_URL_CHARS or written_as_http(link)):
        tally.bad_links += 1
    return None


def _join(base: str, link: str) -> str | None:
    try:
        return urljoin(base, link)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None


def _entry_date(raw: Mapping[str, Any]) -> datetime | None:
    """``published``, else ``updated``, with the offset the feed wrote."""
    for key in ("published", "updated"):
        text = field(raw, key)
        if isinstance(text, str) and text.strip():
            return parse_date(text.strip())
    return None


def parse_date(text: str) -> datetime | None:
    """RFC 822 or ISO 8601 text -> an aware datetime with the written offset; None if it
    cannot be read."""
    try:
        if _ISO_DATE.match(text):
            parsed = parse_iso(text)
        else:
            parsed = parsedate_to_datetime(text)
            if parsed.tzinfo is None and _UNKNOWN_ZONE.search(text):
                return None  # a zone we cannot place ("MSK"): better unknown than wrong
        # the zones dateutil's parser gives (tzoffset, tzutc) become plain datetime.timezone; naive means UTC
        offset = parsed.utcoffset()
        return parsed.replace(tzinfo=UTC if offset is None else timezone(offset))
    except (ValueError, TypeError, OverflowError, IndexError):
        return None


def field(data: object, key: str) -> Any:
    """``data[key]`` as feedparser stored it: its ``get`` maps aliases (``updated`` falls back
    to ``published`` with a DeprecationWarning)."""
    return dict.get(data, key) if isinstance(data, dict) else None


def clean(value: object) -> str | None:
    """Text without control characters (NUL included) and outer whitespace; None if empty."""
    if not isinstance(value, str):
        return None
    return strip_controls(value).strip() or None


def title(value: object) -> str | None:
    """A feed or entry title, collapsed, and cut at a word boundary (marked "…") past MAX_TITLE_CHARS."""
    text = clean(value)
    return shorten(collapse(text), MAX_TITLE_CHARS) if text else None


def _count(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"
