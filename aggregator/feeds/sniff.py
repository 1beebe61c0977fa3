"""Before feedparser sees a body: is it a feed at all, is it safe to parse, and is its text readable.

Each check answers from the raw bytes, without parsing, so that a body feedparser would
mishandle is refused or repaired first:

* An empty body, an HTML page (an error, redirect or anti-bot challenge page, whatever the server
  called it) and a JSON document are not feeds (reason ``not_a_feed``); the HTML page is described
  by its kind and title.
* A document declaring XML entities (``<!DOCTYPE ...[<!ENTITY ...>]>``), in any encoding
  feedparser might decode it with, is refused (``unsafe_xml``). feedparser strips such
  declarations but re-inserts the "safe" literal ones, and its fallback parser then expands them
  without any limit, so that a small document can take unbounded time and memory; expat's own
  amplification guard only covers the strict parser.
* A UTF-8 document (declared, or undeclared as XML defaults) with a few invalid byte sequences gets
  them replaced by U+FFFD; one that is not UTF-8 at all is in a legacy encoding, detected and
  handed on as UTF-8. feedparser would instead re-decode it as windows-1252 and garble every
  non-ASCII character.
* Numeric character references to no character (``&#xD800;``, ``&#x110000;``) become U+FFFD: one
  of them made the loose parser fail on the whole feed.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping

from aggregator.errors import FeedError
from aggregator.html.charset import guess_encoding, header_charset, xml_encoding
from aggregator.html.markers import has_challenge_markers, is_challenge_title
from aggregator.text import collapse, strip_controls

#: Roots that mean an HTML page, whatever the server said it was.
_HTML_ROOTS = frozenset({"html", "head", "body", "script", "meta", "noscript"})
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
_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)", re.DOTALL | re.IGNORECASE)
_ROOT_TAG = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_CHANNEL = re.compile(rb"<(?:[\w.-]+:)?channel[\s>/]", re.IGNORECASE)
_HTML_DOCTYPE = re.compile(rb"<!DOCTYPE\s+html", re.IGNORECASE)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.DOTALL | re.IGNORECASE)
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC, which feedparser recognises
#: A numeric character reference to no character: a surrogate, beyond U+10FFFF, or more digits than
#: any character needs.
_BAD_CHAR_REF = re.compile(
    rb"&#(?:[0-9]{8,}|111411[2-9]|11141[2-9][0-9]|1114[2-9][0-9]{2}|111[5-9][0-9]{3}|11[2-9][0-9]{4}"
    rb"|1[2-9][0-9]{5}|[2-9][0-9]{6}|0*(?:5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}|573[0-3][0-9]"
    rb"|5734[0-3])|[xX](?:[0-9a-fA-F]{7,}|(?:1[1-9a-fA-F]|[2-9a-fA-F][0-9a-fA-F])[0-9a-fA-F]{4}"
    rb"|0*[dD][89a-fA-F][0-9a-fA-F]{2}));"
)


def ascii_view(content: bytes) -> bytes:
    """The body with NUL bytes and byte order marks removed: UTF-16/32 markup reads as ASCII."""
    view = content.replace(b"\x00", b"")
    for bom in _BOMS:
        if view.startswith(bom):
            return view[len(bom) :]
    return view


def refuse_unsafe(content: bytes, view: bytes, headers: Mapping[str, str], url: str) -> None:
    """FeedError for an empty body (``not_a_feed``) or one that declares XML entities (``unsafe_xml``)."""
    if not view.strip():
        raise FeedError(f"{url}: not a feed: empty body")
    if _declares_entities(content, view, headers):
        raise FeedError(
            f"{url}: refused: the document declares XML entities (<!DOCTYPE> with <!ENTITY>),"
            " which can expand without bound or read local files",
            reason="unsafe_xml",
        )


def refuse_non_feed(content: bytes, view: bytes, url: str) -> str | None:
    """FeedError (``not_a_feed``) for an HTML page or a JSON document; else the root element's local
    name (lower case, None when there is no markup)."""
    root, html_doctype = _root_element(view)
    if root in _HTML_ROOTS or (root is None and html_doctype):
        raise FeedError(f"{url}: not a feed: {_describe_html(view)}")
    if view.lstrip()[:1] in (b"{", b"["):
        if len(content) > _JSON_SNIFF_BYTES:  # no XML starts so; decoding it would cost many times its size
            raise FeedError(f"{url}: not a feed: starts like JSON, not XML")
        if _is_json(content):
            raise FeedError(f"{url}: not a feed: JSON document")
    return root


def _declares_entities(content: bytes, view: bytes, headers: Mapping[str, str]) -> bool:
    """True when the document has a DOCTYPE and an ENTITY declaration in any encoding
    feedparser might decode it with (ASCII-compatible, UTF-16/32, EBCDIC, declared ones)."""
    if _DOCTYPE.search(view) and _ENTITY.search(view):
        return True
    encodings = {label for label in (header_charset(headers.get("content-type", "")), xml_encoding(view)) if label}
    if content.startswith(_EBCDIC_XML):
        encodings.add("cp037")
    for encoding in encodings:
        try:
            if codecs.lookup(encoding).name == "utf-8":
                # decoded and encoded again, UTF-8 keeps every ASCII run (what the patterns match) and
                # only replaces invalid bytes: a match there is one in ``view``, searched above
                continue
            text = content.decode(encoding, "replace").encode("utf-8", "replace")
        except (LookupError, ValueError, TypeError):
            continue
        if _DOCTYPE.search(text) and _ENTITY.search(text):
            return True
    return False


def _declares_other_than_utf8(content: bytes, view: bytes, headers: Mapping[str, str]) -> bool | None:
    """True when the body is UTF-16/32 or the header's charset (else the XML declaration's encoding)
    names an encoding other than UTF-8; False when it names UTF-8 or nothing (XML's default); None
    for a label Python does not know."""
    if content.startswith(_WIDE_BOMS) or b"\x00" in content[:4]:
        return True
    declared = header_charset(headers.get("content-type", "")) or xml_encoding(view)
    if declared is None:
        return False
    try:
        return codecs.lookup(declared).name != "utf-8"
    except LookupError:
        return None


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def repair_utf8(content: bytes, view: bytes, headers: Mapping[str, str]) -> tuple[bytes, int]:
    """A UTF-8 document with a few invalid byte sequences, with them replaced by U+FFFD; returns the
    body and how many were replaced. A body with more invalid sequences than valid non-ASCII
    characters is more likely a legacy encoding (``transcode_legacy``): left as it is."""
    if _declares_other_than_utf8(content, view, headers) is not False or _is_utf8(content):
        return content, 0
    text = content.decode("utf-8", "replace")
    invalid = text.count("\ufffd") - content.count("\ufffd".encode())
    valid = len(text) - len(text.encode("ascii", "ignore")) - text.count("\ufffd")
    if valid < invalid:
        return content, 0
    return text.encode("utf-8"), max(invalid, 1)


def transcode_legacy(content: bytes, view: bytes, headers: Mapping[str, str]) -> tuple[bytes, str | None]:
    """A body that declares UTF-8, or nothing (XML's default), but is not UTF-8 is in a legacy
    encoding (a cp1251 or KOI8-R feed, say): the encoding is detected and the body handed on as
    UTF-8. Returns the body and the encoding detected (None: nothing to do). A declared legacy
    encoding is feedparser's to apply."""
    if _declares_other_than_utf8(content, view, headers) or _is_utf8(content):
        return content, None
    guessed = guess_encoding(content)
    if guessed is None:
        return content, None
    try:
        return content.decode(guessed).encode("utf-8"), guessed
    except (UnicodeError, LookupError):  # UnicodeError: UTF-7 decodes to lone surrogates, unencodable
        return content, None


def with_utf8_charset(content_type: str) -> str:
    """The ``Content-Type`` of a body handed on as UTF-8."""
    media_type = content_type.split(";")[0].strip() or "application/xml"
    return f"{media_type}; charset=utf-8"


def replace_bad_char_refs(content: bytes) -> tuple[bytes, int]:
    """The body with references to no character as ``&#xFFFD;``, and how many there were."""
    return _BAD_CHAR_REF.subn(b"&#xFFFD;", content)


def has_channel(view: bytes) -> bool:
    """True when an RSS document holds a ``<channel>`` (in any namespace prefix)."""
    return bool(_CHANNEL.search(view))


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
    sample = view[:_SNIFF_BYTES]
    match = _HTML_TITLE.search(sample)
    page_title = collapse(strip_controls(match.group(1).decode("utf-8", "replace"))) if match else ""
    if has_challenge_markers(sample) or is_challenge_title(page_title):
        kind = "anti-bot challenge page"
    elif any(marker in sample.lower() for marker in _REDIRECT_MARKERS):
        kind = "redirect page"
    else:
        kind = "HTML page"
    return f"{kind} “{page_title[:80]}”" if page_title else kind


def _is_json(content: bytes) -> bool:
    try:
        json.loads(content)
    except (ValueError, RecursionError):
        return False
    return True
