"""Feed documents -> ``ParsedFeed`` (the only user of feedparser).

``parse_feed`` is pure: it gets the response body and headers, never a URL to fetch, and
either returns what the feed says or raises ``FeedError`` with a one-line reason.

Decisions worth knowing:

* The body goes to feedparser wrapped in ``BytesIO``. Passing ``bytes`` directly would make
  feedparser try ``open(content)`` first, i.e. read a local file if the body happens to be
  a path.
* feedparser gets no base URI, so it does not rewrite guids ("12345" would become
  ``https://host/12345``, and change whenever the feed URL does). Entry links are resolved
  here, against the feed URL. Summaries are kept as written (``sanitize_html=False``,
  ``resolve_relative_uris=False``): this module records what the feed says.
* A document declaring XML entities (``<!DOCTYPE ...[<!ENTITY ...>]>``) is refused before
  parsing. feedparser strips such declarations but re-inserts the "safe" literal ones, and
  its fallback parser then expands them without any limit: one 100 kB entity referenced
  20,000 times made a 160 kB document take 46 s and 5.8 GB. expat's own amplification
  guard only covers the strict parser.
* A document nested deeper than 256 elements (libxml2's own limit), or with more elements
  and references than its size explains, is refused before parsing (reason ``too_complex``):
  feedparser keeps Python objects for every open element, every entry, every piece of
  content, so that nested ``<a>``s took many times the document's size. The check is
  one regular-expression pass over the tags; what passes it costs at most ``MAX_PARSE_FACTOR``
  times its size.
* Numeric character references to no character (``&#xD800;``, ``&#x110000;``) become U+FFFD
  before parsing: one of them made the loose parser fail on the whole feed.
* Titles are cut at ``MAX_TITLE_CHARS`` (a word boundary, marked "…"); a guid longer than
  ``MAX_GUID_CHARS`` is replaced by ``sha256:<hex>`` of it (still distinct and stable); a link
  ``canonical_url`` would refuse (malformed, longer than 8192 characters) is no link. Each
  is counted in the feed's warning.
* Dates keep the offset written in the feed (feedparser's ``*_parsed`` fields are UTC);
  a time without a zone is UTC; a zone abbreviation that is not understood makes the date
  unparseable (None) rather than silently UTC.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from dateutil.parser import isoparse

from aggregator.errors import FeedError
from aggregator.html.charset import guess_encoding
from aggregator.models import Entry, ParsedFeed
from aggregator.text import shorten
from aggregator.urls import MAX_URL_CHARS, usable_http_url

__all__ = ["parse_feed"]

#: Root elements of the formats feedparser reads (local names, lower case).
_FEED_ROOTS = frozenset({"rss", "rdf", "feed"})
#: Roots that mean an HTML page, whatever the server said it was.
_HTML_ROOTS = frozenset({"html", "head", "body", "script", "meta", "noscript"})
_CHALLENGE_MARKERS = (
    b"<title>just a moment",
    b"_cf_chl",
    b"cf-browser-verification",
    b"/cdn-cgi/challenge-platform/",
    b"<title>attention required! | cloudflare",
    b"ddos-guard",
)
_REDIRECT_MARKERS = (
    b"window.location",
    b"document.location",
    b"location.href",
    b"location.replace",
    b'http-equiv="refresh"',
    b"http-equiv='refresh'",
    b"http-equiv=refresh",
)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")  # UTF-16 and UTF-32
#: How much of a page is searched for challenge/redirect markers and its <title>.
_SNIFF_BYTES = 256 * 1024
#: The largest body decoded as JSON to say that it is JSON (Python objects for "[{},{}...]" take
#: many times the document's size).
_JSON_SNIFF_BYTES = 1024 * 1024

_PROLOG_ITEM = re.compile(
    rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)", re.DOTALL | re.IGNORECASE
)
_ROOT_TAG = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
#: A numeric character reference to no character: a surrogate, beyond U+10FFFF, or more digits than
#: any character needs. feedparser's loose parser fails on the whole document for one of them.
_BAD_CHAR_REF = re.compile(
    rb"&#(?:[0-9]{8,}|111411[2-9]|11141[2-9][0-9]|1114[2-9][0-9]{2}|111[5-9][0-9]{3}|11[2-9][0-9]{4}"
    rb"|1[2-9][0-9]{5}|[2-9][0-9]{6}|0*(?:5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}|573[0-3][0-9]"
    rb"|5734[0-3])|[xX](?:[0-9a-fA-F]{7,}|(?:1[1-9a-fA-F]|[2-9a-fA-F][0-9a-fA-F])[0-9a-fA-F]{4}"
    rb"|0*[dD][89a-fA-F][0-9a-fA-F]{2}));"
)
_CHANNEL = re.compile(rb"<(?:[\w.-]+:)?channel[\s>/]", re.IGNORECASE)
_HTML_DOCTYPE = re.compile(rb"<!DOCTYPE\s+html", re.IGNORECASE)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.DOTALL | re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC, which feedparser recognises
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ISO_DATE = re.compile(r"\d{4}-?\d{2}", re.ASCII)
_UNKNOWN_ZONE = re.compile(r"\d\d\s+([A-Za-z]{1,6})\s*$", re.ASCII)
_TTL = re.compile(r"\d{1,9}", re.ASCII)
_MAX_WARNING = 200
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
#: Longest feed or entry title kept (a headline, not an article); a longer one is cut.
MAX_TITLE_CHARS = 1000
#: Longest guid kept as written; a longer one is replaced by its hash.
MAX_GUID_CHARS = 2048
#: Deepest element nesting accepted: libxml2's default (``xmlParserMaxDepth``). feedparser keeps
#: state for every open element, whatever the element.
MAX_DEPTH = 256
#: A start or end tag that is not self-closing (its name, "/" first for an end tag), or a comment or
#: CDATA section (no name: their "<" are text). An attribute value holding ">" ends the tag early,
#: which can only make a self-closing tag count as open.
_MARKUP = re.compile(rb"<(/?[A-Za-z_][^\s/>]*)[^>]*(?<!/)>|<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)", re.DOTALL)
#: Upper estimates of the memory feedparser keeps per element and per character or entity
#: reference, at their most expensive (an entry's fields, an Atom <link/>, a reference in content).
_ELEMENT_COST = 600
_REFERENCE_COST = 110
#: A document is refused when that estimate passes this multiple of its size plus this allowance,
#: so that no document costs more; ordinary feeds stay well under the multiple.
MAX_PARSE_FACTOR = 20
PARSE_ALLOWANCE = 16 * 1024 * 1024


def parse_feed(content: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse an RSS 0.9x/1.0/2.0 or Atom 0.3/1.0 document fetched from ``url``.

    ``headers`` are the HTTP response headers (their ``Content-Type`` charset decides the
    encoding when the document declares none). Raises ``FeedError`` when the body is not a
    feed: empty, an HTML page (error, redirect or challenge page), JSON, garbage (reason
    ``not_a_feed``), a document declaring XML entities (``unsafe_xml``), or one too deeply
    nested or dense to parse within bounded memory (``too_complex``).
    """
    response_headers = {name.lower(): value for name, value in (headers or {}).items()}
    # Relative links are resolved here against ``url``; a Content-Location base would make
    # feedparser rewrite relative-looking guids as well.
    response_headers.pop("content-location", None)

    view = _ascii_view(content)
    if not view.strip():
        raise FeedError(f"{url}: not a feed: empty body")
    if _declares_entities(content, view, response_headers):
        raise FeedError(
            f"{url}: refused: the document declares XML entities (<!DOCTYPE> with <!ENTITY>),"
            " which can expand without bound or read local files",
            reason="unsafe_xml",
        )
    content, repaired = _repair_utf8(content, view, response_headers)
    content, legacy = _transcode_legacy(content, view, response_headers)
    if legacy:
        response_headers["content-type"] = _with_utf8_charset(response_headers.get("content-type", ""))
    root, html_doctype = _root_element(view)
    if root in _HTML_ROOTS or (root is None and html_doctype):
        raise FeedError(f"{url}: not a feed: {_describe_html(view)}")
    if view.lstrip()[:1] in (b"{", b"["):
        if len(content) > _JSON_SNIFF_BYTES:  # no XML starts so; decoding it could cost 25x its size
            raise FeedError(f"{url}: not a feed: starts like JSON, not XML")
        if _is_json(content):
            raise FeedError(f"{url}: not a feed: JSON document")
    _check_structure(view, url)
    content, bad_refs = _BAD_CHAR_REF.subn(b"&#xFFFD;", content)

    try:
        result = feedparser.parse(
            io.BytesIO(content),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser's fallback parser has no exception tree of its own
        raise FeedError(f"{url}: not a feed: the parser failed ({_describe(exc)})") from exc

    feed = result.get("feed") or {}
    raw_entries = result.get("entries") or []
    title = _title(_field(feed, "title"))
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if not raw_entries:
        _check_empty_feed(url, result.get("version") or "", root, view, title, problem)

    entries, tally = _entries(raw_entries, url)
    notes = []
    if repaired:
        notes.append(f"{repaired} invalid UTF-8 byte sequence(s) replaced with U+FFFD")
    if legacy:
        notes.append(f"not UTF-8 as declared or implied: read as {legacy}")
    if bad_refs:
        notes.append(f"{bad_refs} reference(s) to no character (a surrogate, beyond U+10FFFF) replaced with U+FFFD")
    if problem is not None:
        notes.append(_describe(problem))
    notes.extend(tally.notes())
    return ParsedFeed(
        title=title,
        entries=entries,
        ttl_minutes=_ttl(_field(feed, "ttl")),
        warning="; ".join(notes) or None,
    )


# --- is it a feed at all? ---------------------------------------------------------------


def _ascii_view(content: bytes) -> bytes:
    """The body with NUL bytes and byte order marks removed: UTF-16/32 markup reads as ASCII."""
    view = content.replace(b"\x00", b"")
    for bom in _BOMS:
        if view.startswith(bom):
            return view[len(bom) :]
    return view


def _declares_entities(content: bytes, view: bytes, headers: Mapping[str, str]) -> bool:
    """True when the document has a DOCTYPE and an ENTITY declaration in any encoding
    feedparser might decode it with (ASCII-compatible, UTF-16/32, EBCDIC, declared ones)."""
    if _DOCTYPE.search(view) and _ENTITY.search(view):
        return True
    encodings = set()
    if match := _CHARSET.search(headers.get("content-type", "")):
        encodings.add(match.group(1))
    if match := _XML_ENCODING.match(view):
        encodings.add(match.group(1).decode("ascii"))
    if content.startswith(_EBCDIC_XML):
        encodings.add("cp037")
    for encoding in encodings:
        try:
            text = content.decode(encoding, "replace").encode("utf-8", "replace")
        except (LookupError, ValueError, TypeError):
            continue
        if _DOCTYPE.search(text) and _ENTITY.search(text):
            return True
    return False


def _declared_encoding(view: bytes, headers: Mapping[str, str]) -> str | None:
    """The charset of the Content-Type header, else of the XML declaration."""
    if match := _CHARSET.search(headers.get("content-type", "")):
        return match.group(1)
    if match := _XML_ENCODING.match(view):
        return match.group(1).decode("ascii")
    return None


def _repair_utf8(content: bytes, view: bytes, headers: Mapping[str, str]) -> tuple[bytes, int]:
    """A UTF-8 document (declared, or undeclared as XML defaults) with a few invalid byte
    sequences gets them replaced by U+FFFD; returns the body and how many were replaced.

    feedparser would instead re-decode the whole document as windows-1252, garbling every
    non-ASCII character because of one truncated one. A body with more invalid sequences
    than valid non-ASCII characters is more likely a legacy encoding: left to feedparser.
    """
    if content.startswith(_WIDE_BOMS) or b"\x00" in content[:4]:
        return content, 0
    declared = _declared_encoding(view, headers)
    try:
        if declared is not None and codecs.lookup(declared).name != "utf-8":
            return content, 0
    except LookupError:
        return content, 0
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return content, 0
    text = content.decode("utf-8", "replace")
    invalid = text.count("\ufffd") - content.count("\ufffd".encode())
    valid = len(text) - len(text.encode("ascii", "ignore")) - text.count("\ufffd")
    if valid < invalid:
        return content, 0
    return text.encode("utf-8"), max(invalid, 1)


def _transcode_legacy(content: bytes, view: bytes, headers: Mapping[str, str]) -> tuple[bytes, str | None]:
    """A body that declares UTF-8, or nothing (XML's default), but is not UTF-8 is in a legacy
    encoding (a cp1251 or KOI8-R feed, say): the encoding is detected and the body handed on as
    UTF-8. Returns the body and the encoding detected (None: nothing to do)."""
    if content.startswith(_WIDE_BOMS) or b"\x00" in content[:4]:
        return content, None
    declared = _declared_encoding(view, headers)
    try:
        if declared is not None and codecs.lookup(declared).name != "utf-8":
            return content, None  # a declared legacy encoding is feedparser's to apply
    except LookupError:
        pass
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return content, None
    guessed = guess_encoding(content)
    if guessed is None:
        return content, None
    try:
        return content.decode(guessed).encode("utf-8"), guessed
    except (UnicodeError, LookupError):  # UnicodeError: UTF-7 decodes to lone surrogates, unencodable
        return content, None


def _with_utf8_charset(content_type: str) -> str:
    media_type = content_type.split(";")[0].strip() or "application/xml"
    return f"{media_type}; charset=utf-8"


def _root_element(view: bytes) -> tuple[str | None, bool]:
    """The local name of the root element (lower case, None if there is no markup) and
    whether the prolog has an HTML doctype."""
    pos, html_doctype = 0, False
    while (item := _PROLOG_ITEM.match(view, pos)) and item.end() > pos:
        html_doctype = html_doctype or bool(_HTML_DOCTYPE.match(item.group().lstrip()))
        pos = item.end()
    tag = _ROOT_TAG.match(view, pos)
    if tag is None:
        return None, html_doctype
    return tag.group(1).decode("ascii").rpartition(":")[2].lower(), html_doctype


def _describe_html(view: bytes) -> str:
    sample = view[:_SNIFF_BYTES].lower()
    if any(marker in sample for marker in _CHALLENGE_MARKERS):
        kind = "anti-bot challenge page"
    elif any(marker in sample for marker in _REDIRECT_MARKERS):
        kind = "redirect page"
    else:
        kind = "HTML page"
    match = _HTML_TITLE.search(view[:_SNIFF_BYTES])
    page_title = _collapse(match.group(1).decode("utf-8", "replace")) if match else None
    return f"{kind} “{page_title[:80]}”" if page_title else kind


def _is_json(content: bytes) -> bool:
    try:
        json.loads(content)
    except (ValueError, RecursionError):
        return False
    return True


def _check_empty_feed(
    url: str, version: str, root: str | None, view: bytes, title: str | None, problem: object
) -> None:
    """A document without entries is an empty feed only if it is recognisably one."""
    if not version:
        found = f"root element <{root}>" if root else "no XML markup"
        raise FeedError(f"{url}: not a feed: no RSS or Atom document ({found})")
    # Encoding and Content-Type notices do not make a document malformed.
    malformed = problem is not None and not isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe)
    if malformed and not title:
        raise FeedError(f"{url}: not a feed: unparseable ({_describe(problem)})")
    if root is not None and root not in _FEED_ROOTS:
        raise FeedError(f"{url}: not a feed: root element <{root}>")
    if root in ("rss", "rdf") and not _CHANNEL.search(view):
        raise FeedError(f"{url}: not a feed: <{root}> without a channel")


# --- what parsing it would cost -------------------------------------------------------


def _check_structure(view: bytes, url: str) -> None:
    """Refuse (``too_complex``) a document nested deeper than ``MAX_DEPTH``, or holding so many
    elements and references for its size that feedparser's state for them would pass
    ``MAX_PARSE_FACTOR`` times the size (plus ``PARSE_ALLOWANCE``).

    One pass over the tags with a stack of open element names. An end tag closes the nearest open
    element of its name, if any (what feedparser's loose parser and browsers do with unclosed
    ``<br>``s); an end tag matching nothing closes nothing, as in feedparser, whose stack it
    therefore does not shrink either. Names compare case-insensitively, as the loose parser's do.
    """
    budget = MAX_PARSE_FACTOR * len(view) + PARSE_ALLOWANCE
    max_tags = budget // _ELEMENT_COST  # more start tags than this alone pass the budget
    stack: list[bytes] = []
    tags = 0
    for match in _MARKUP.finditer(view):
        name = match[1]
        if name is None:  # a comment or a CDATA section
            continue
        name = name.lower()
        if name[0] != 0x2F:  # "/"
            tags += 1
            stack.append(name)
            if len(stack) > MAX_DEPTH:
                raise FeedError(
                    f"{url}: refused: elements nested deeper than {MAX_DEPTH} levels (the limit libxml2"
                    " sets), which would make the parser hold state for every level",
                    reason="too_complex",
                )
            if tags > max_tags:
                raise _too_dense(url, len(view), budget)
        elif stack and stack[-1] == name[1:]:
            stack.pop()
        elif name[1:] in stack:
            del stack[len(stack) - 1 - stack[::-1].index(name[1:]) :]
    # self-closing tags, which _MARKUP skips: an Atom <link/> costs what an element does
    estimate = _ELEMENT_COST * (tags + view.count(b"/>")) + _REFERENCE_COST * view.count(b"&")
    if estimate > budget:
        raise _too_dense(url, len(view), budget)


def _too_dense(url: str, size: int, budget: int) -> FeedError:
    return FeedError(
        f"{url}: refused: too many elements and character references for its size ({size / 1e6:.1f} MB):"
        f" parsing it would take more than {budget // 1_000_000} MB",
        reason="too_complex",
    )


# --- entries ----------------------------------------------------------------------------


@dataclass
class _Tally:
    """What ``_entries`` did not keep as written, for the feed's warning."""

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
                (self.bad_links, f"{_count(self.bad_links)} with a malformed link or one longer than"
                                 f" {MAX_URL_CHARS} characters (link dropped)"),
                (self.hashed_guids, f"{_count(self.hashed_guids)} with a guid longer than {MAX_GUID_CHARS}"
                                    " characters (replaced by its SHA-256)"),
            )
            if count
        ]


def _entries(raw_entries: list[Any], url: str) -> tuple[tuple[Entry, ...], _Tally]:
    """Entries in feed order, first occurrence of each key, and the tally of what was not kept
    as written."""
    entries: list[Entry] = []
    seen: set[str] = set()
    tally = _Tally()
    for raw in raw_entries:
        entry = Entry(
            guid=_entry_guid(raw, tally),
            link=_entry_link(raw, url, tally),
            title=_title(_field(raw, "title")),
            published=_entry_date(raw),
            summary=_clean(_field(raw, "summary")),
        )
        if not entry.key:
            tally.skipped += 1
        elif entry.key in seen:
            tally.duplicates += 1
        else:
            seen.add(entry.key)
            entries.append(entry)
    return tuple(entries), tally


def _entry_guid(raw: Mapping[str, Any], tally: _Tally) -> str | None:
    """The guid as written; one longer than MAX_GUID_CHARS as ``sha256:<hex>``, which keeps it as
    distinct from other guids and as stable from poll to poll as it was (cutting it would not)."""
    guid = _clean(_field(raw, "id"))
    if guid is None or len(guid) <= MAX_GUID_CHARS:
        return guid
    tally.hashed_guids += 1
    return "sha256:" + hashlib.sha256(guid.encode("utf-8", "replace")).hexdigest()


def _entry_link(raw: Mapping[str, Any], base: str, tally: _Tally) -> str | None:
    """The entry's http(s) link, made absolute against the feed URL. A link ``canonical_url`` would
    refuse (malformed, longer than MAX_URL_CHARS) is no link, and counted; javascript:, mailto: or a
    permalink guid that is not an absolute URL is no link either, and nothing wrong."""
    written = _field(raw, "link")
    link = _clean(written)
    if link is None:
        return None
    # else feedparser took a permalink guid as the link: it only counts if already absolute
    own = any(_field(item, "href") == written for item in _field(raw, "links") or ())
    if own and len(link) <= MAX_URL_CHARS:
        link = _join(base, link) or link  # unjoinable (an unbalanced "["): refused just below
    if usable_http_url(link):
        return link
    if own and (len(link) > MAX_URL_CHARS or link[:6].lower().startswith(("http:", "https:"))):
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
        text = _field(raw, key)
        if isinstance(text, str) and text.strip():
            return _parse_date(text.strip())
    return None


def _parse_date(text: str) -> datetime | None:
    """RFC 822 or ISO 8601 text -> an aware datetime with the written offset; None if it
    cannot be read."""
    try:
        if _ISO_DATE.match(text):
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                parsed = isoparse(text)
        else:
            parsed = parsedate_to_datetime(text)
            if parsed.tzinfo is None and _UNKNOWN_ZONE.search(text):
                return None  # a zone we cannot place ("MSK"): better unknown than wrong
        # dateutil's tzoffset/tzutc become plain datetime.timezone; naive means UTC
        offset = parsed.utcoffset()
        return parsed.replace(tzinfo=UTC if offset is None else timezone(offset))
    except (ValueError, TypeError, OverflowError, IndexError):
        return None


# --- small helpers ----------------------------------------------------------------------


def _field(data: object, key: str) -> Any:
    """``data[key]`` as feedparser stored it: its ``get`` maps aliases (``updated`` falls back
    to ``published`` with a DeprecationWarning)."""
    return dict.get(data, key) if isinstance(data, dict) else None


def _clean(value: object) -> str | None:
    """Text without control characters (NUL included) and outer whitespace; None if empty."""
    if not isinstance(value, str):
        return None
    return _CONTROL_CHARS.sub("", value).strip() or None


def _collapse(value: object) -> str | None:
    text = _clean(value)
    return " ".join(text.split()) if text else None


def _title(value: object) -> str | None:
    """A feed or entry title, collapsed, and cut at a word boundary (marked "…") past MAX_TITLE_CHARS."""
    text = _collapse(value)
    return shorten(text, MAX_TITLE_CHARS) if text is not None else None


def _ttl(value: object) -> int | None:
    text = value.strip() if isinstance(value, str) else ""
    minutes = int(text) if _TTL.fullmatch(text) else 0
    return minutes if minutes > 0 else None


def _describe(exc: object) -> str:
    """One line for a warning or error: no control characters nor lone surrogates (the database
    stores it as UTF-8), at most _MAX_WARNING characters."""
    text = _UNPRINTABLE.sub("?", " ".join(f"{type(exc).__name__}: {exc}".split()))
    return text if len(text) <= _MAX_WARNING else text[: _MAX_WARNING - 1] + "…"


def _count(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"
