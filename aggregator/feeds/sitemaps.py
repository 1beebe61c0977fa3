"""Sitemaps -> ``Sitemap``: sitemaps.org XML (``<urlset>``, ``<sitemapindex>``), Google News sitemaps
and plain-text URL lists; pure functions of the bytes as fetched.

Why not ultimate-sitemap-parser (usp): it fetches by itself (requests, with its own retries, redirects
and size limit, following an index's child sitemaps on its own), while every request of ours must go
through our fetcher (robots.txt, pacing, the address guard, the size cap, conditional GET). Even its
string entry point (``usp.tree.sitemap_from_str``) is a fetcher underneath; it keeps no lastmod for
an index's child sitemaps, deduplicates, writes the pages it found to a pickled temporary file, and
says of a document it could not parse only that no parser supports it. It is also slower: on
50,000-URL documents (``python -m benchmarks.sitemaps``, best of 5) a 17.6 MB news sitemap took
0.64 s here against 2.6 s in usp (4.0x; 4.9x with its pages read back) and an 8.1 MB urlset with
lastmod 0.46 s against 1.6 s (3.5x), at a peak of 20 MB against 175 MB and 11 MB against 94 MB
(resident memory, the URLs found included).

How a body is read, and what is refused:

* A gzip body (magic ``1f 8b``: a ``.xml.gz`` served as ``application/gzip``, not undone by the
  fetcher's Content-Encoding) is decompressed here, never more than ``_PIECE`` bytes per zlib call;
  a document of more than ``max_bytes`` (decompressed) is refused (``too_large``) as soon as the
  count passes it, so a gzip bomb costs one piece of memory.
* What the document is comes from its first ``SNIFF_BYTES`` (decoded in the encoding its byte order
  mark or XML declaration names, UTF-8 by default): the root element, after the XML declaration,
  comments and DOCTYPE, is ``urlset`` or ``sitemapindex`` (in any namespace, or none), or the first
  line is an http(s) URL (a plain-text sitemap). Anything else is ``not_a_sitemap``, described
  (HTML page and its title, RSS or Atom feed, JSON, empty body ...).
* A document declaring XML entities is refused (``unsafe_xml``, as the feed parser refuses one):
  from the ``<!ENTITY`` text in its head, and again from the internal DTD libxml2 has read, looked
  at when the first entry (or the root) ends, before any entry is used. The parser never resolves
  entities, loads a DTD or touches the network, and keeps libxml2's limits (``huge_tree=False``:
  256 levels of nesting, 10 MB of text in one node).
* The text is decoded here, a piece at a time, as the head was (an invalid byte sequence becomes
  U+FFFD and is counted in the ``warning``, where libxml2 would end the document there), and fed
  to lxml's pull parser. Each ``<url>`` (``<sitemap>``) is read as it ends, and after each piece the
  entries read are dropped from the tree, so that the tree holds about one piece of the document:
  memory is the URLs kept plus a few pieces, whatever the document's size.
* A document that breaks off (a truncated transfer, a corrupt gzip stream, bad XML) keeps the
  entries read before the break, with a ``warning``; broken before any entry, it is ``malformed``.
* Elements match by local name (the standard namespace, none, or an old or wrong one); a Google
  News ``<news:news>`` gives the publication date and title; image, video and xhtml extensions are
  ignored. Dates are W3C datetimes (``parse_iso``): naive ones are UTC, unreadable ones None.
* ``<loc>`` values that are not absolute http(s) URLs are left out and counted (``skipped``);
  nothing is deduplicated or canonicalised (the caller does that).
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from aggregator.errors import FeedError
from aggregator.html.charset import BOMS, xml_encoding
from aggregator.html.markers import has_challenge_markers, is_challenge_title
from aggregator.isodates import parse_iso
from aggregator.text import collapse, one_line
from aggregator.urls import is_http_url

__all__ = ["NEWS_NS", "SITEMAP_NS", "SNIFF_BYTES", "Sitemap", "SitemapURL", "is_sitemap", "parse_sitemap"]

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
#: How much of the (decompressed) document decides what it is.
SNIFF_BYTES = 16 * 1024
#: The most bytes one zlib call produces, and the size of the pieces fed to the parser.
_PIECE = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_REPLACEMENT_UTF8 = "\ufffd".encode()
_GZIP_WBITS = 16 + zlib.MAX_WBITS
#: Root element (local name, as XML writes it: case matters) -> Sitemap.kind, and the entry element.
_KINDS = {"urlset": "urlset", "sitemapindex": "index"}
_ENTRY = {"urlset": "url", "index": "sitemap"}
_TAGS = ("{*}urlset", "{*}sitemapindex", "{*}url", "{*}sitemap")
#: An entry's elements read (a ``<news:news>`` holds the other two), by local name in any namespace or none.
_FIELDS = ("{*}loc", "{*}lastmod", "{*}news")
_NEWS_FIELDS = ("{*}publication_date", "{*}title")
_WIDE_STARTS = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
_PROLOG_ITEM = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)", re.DOTALL | re.IGNORECASE)
_ROOT_TAG = re.compile(r"\s*<([A-Za-z_][\w.:-]*)")
_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)
_HTML_DOCTYPE = re.compile(r"<!DOCTYPE\s+html", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.DOTALL | re.IGNORECASE)
_HTML_ROOTS = frozenset({"html", "head", "body", "script", "meta", "noscript"})
_FEED_ROOTS = {"rss": "RSS feed", "rdf": "RSS 1.0 (RDF) feed", "feed": "Atom feed"}
#: The common shape of an http(s) URL (ASCII host name, optional port, printable ASCII after it): every URL of
#: this shape is one ``is_http_url`` accepts, decided without ``urlsplit`` (several microseconds per new URL,
#: most of the time parsing a sitemap otherwise took). Any other text is asked of ``is_http_url``.
_PLAIN_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!-~]*)?", re.ASCII | re.IGNORECASE)
_MAX_SHOWN = 80
_MAX_PROBLEM = 200


@dataclass(frozen=True, slots=True)
class SitemapURL:
    loc: str  #: absolute http(s) URL, whitespace stripped, as written (not canonicalised)
    lastmod: datetime | None = None  #: timezone-aware (UTC when the text has no offset)
    published: datetime | None = None  #: Google News <news:publication_date>, aware
    title: str | None = None  #: Google News <news:title>, whitespace collapsed


@dataclass(frozen=True, slots=True)
class Sitemap:
    kind: str  #: "index" (a <sitemapindex>: urls are the child sitemaps) or "urlset"
    urls: tuple[SitemapURL, ...]
    skipped: int = 0  #: <loc> values (or entries without one) that are not absolute http(s) URLs, left out
    warning: str | None = None  #: a recoverable problem (a truncated document: the URLs before the break are kept)


class _Broken(Exception):
    """The gzip stream ends early or is corrupt: what was decompressed before is still the document's."""


@dataclass(frozen=True, slots=True)
class _Head:
    """What the first SNIFF_BYTES of a document say it is."""

    kind: str | None  #: "urlset", "index", "text" (a plain-text sitemap), None: not a sitemap
    codec: str  #: the Python codec the document is read with
    looks_like: str = ""  #: for a document that is not a sitemap, what it is
    unsafe: bool = False  #: declares entities


def is_sitemap(content: bytes) -> bool:
    """Whether the body is an XML sitemap or sitemap index (root element urlset / sitemapindex, any or no namespace),
    judged from its first few KB (after gunzip if gzipped). Cheap: called on feed bodies."""
    head = content[:SNIFF_BYTES]
    if content.startswith(_GZIP_MAGIC):
        head = b""
        try:
            for piece in _pieces(content, "", max_bytes=None):
                head += piece
                if len(head) >= SNIFF_BYTES:
                    break
        except _Broken:
            pass
    return _sniff(head[:SNIFF_BYTES], complete=len(head) < SNIFF_BYTES).kind in ("urlset", "index")


def parse_sitemap(content: bytes, *, url: str, max_bytes: int) -> Sitemap:
    """Bytes of a sitemap document as fetched (possibly gzip: magic 1f 8b, e.g. a .xml.gz served as application/gzip,
    decompressed here in bounded pieces, more than max_bytes decompressed -> FeedError reason "too_large"),
    -> Sitemap. XML (urlset / sitemapindex), and plain-text sitemaps (one URL per line, UTF-8) as kind "urlset".
    Anything else -> FeedError reason "not_a_sitemap" with a one-line message naming url and what it looked like
    (HTML page, RSS feed, empty...). A document declaring XML entities -> "unsafe_xml"; one broken before its
    first entry (bad XML, corrupt gzip data) -> "malformed"."""
    gzipped = content.startswith(_GZIP_MAGIC)
    pieces = _pieces(content, url, max_bytes)
    first: list[bytes] = []
    size, broken = 0, None
    try:
        while size < SNIFF_BYTES and (piece := next(pieces, None)) is not None:
            first.append(piece)
            size += len(piece)
    except _Broken as exc:
        broken = str(exc)
    start = b"".join(first)
    head = _sniff(start[:SNIFF_BYTES], complete=size < SNIFF_BYTES and broken is None)
    if head.kind is None:
        if broken and not start:
            raise _malformed(url, broken)
        looks_like = head.looks_like + (" (gzip-compressed)" if gzipped else "")
        raise FeedError(f"{url}: not a sitemap: {looks_like}", reason="not_a_sitemap")
    if head.unsafe:
        raise _unsafe(url)
    rest = iter(()) if broken else pieces
    if head.kind == "text":
        return _parse_text(start, rest, head.codec, broken, url)
    return _XMLReader(head.kind, head.codec, url).read(start, rest, broken)


def _pieces(content: bytes, url: str, max_bytes: int | None) -> Iterator[bytes]:
    """The document in pieces of at most _PIECE bytes: gunzipped if it is gzip (members one after
    another are one document; what follows the last is ignored). FeedError (``too_large``) once more than
    ``max_bytes`` (None: no limit) came; _Broken after the last piece of a gzip stream that is corrupt or cut short."""
    if not content.startswith(_GZIP_MAGIC):
        if max_bytes is not None and len(content) > max_bytes:
            raise _too_large(url, max_bytes, "")
        for start in range(0, len(content), _PIECE):
            yield content[start : start + _PIECE]
        return
    total, member = 0, 0
    while True:
        stream, pos = zlib.decompressobj(_GZIP_WBITS), member
        while not stream.eof:
            if pos >= len(content):
                raise _Broken("the gzip data is cut short")
            data = content[pos : pos + _PIECE]
            pos += len(data)
            while True:  # output filled to the limit may leave more pending in zlib, even with no input left
                try:
                    piece = stream.decompress(data, _PIECE)
                except zlib.error as exc:
                    raise _Broken(f"the gzip data is corrupt ({exc})") from None
                if piece:
                    total += len(piece)
                    if max_bytes is not None and total > max_bytes:
                        raise _too_large(url, max_bytes, " decompressed")
                    yield piece
                data = stream.unconsumed_tail
                if stream.eof or (not data and len(piece) < _PIECE):
                    break
        member = pos - len(stream.unused_data)
        if not content.startswith(_GZIP_MAGIC, member):
            return


def _too_large(url: str, max_bytes: int, how: str) -> FeedError:
    return FeedError(f"{url}: sitemap too large: more than {max_bytes:,} bytes{how}", reason="too_large")


def _malformed(url: str, problem: str) -> FeedError:
    return FeedError(f"{url}: malformed sitemap: {_problem(problem)}", reason="malformed")


def _replaced(text: str, data: bytes, codec: str) -> int:
    """How many U+FFFD decoding ``data`` as ``codec`` gave ``text`` that the bytes did not hold."""
    if "\ufffd" not in text:
        return 0
    return text.count("\ufffd") - (data.count(_REPLACEMENT_UTF8) if codec == "utf-8" else 0)


def _unsafe(url: str) -> FeedError:
    return FeedError(
        f"{url}: refused: the sitemap declares XML entities (<!DOCTYPE> with <!ENTITY>),"
        " which can expand without bound or read local files",
        reason="unsafe_xml",
    )


def _codec(head: bytes) -> str | None:
    """The codec of the document: its byte order mark's, UTF-16 by the look of ``<?``, the XML
    declaration's encoding, else UTF-8; None for a declared encoding Python does not know."""
    for bom, codec in BOMS:
        if head.startswith(bom):
            return codec
    for start, codec in _WIDE_STARTS:
        if head.startswith(start):
            return codec
    label = xml_encoding(head)
    if label is None:
        return "utf-8"
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None
    # A declaration readable as ASCII is no UTF-16 or UTF-32 document's, whatever it says.
    return "utf-8" if codec.startswith(("utf-16", "utf-32")) else codec


def _sniff(head: bytes, *, complete: bool) -> _Head:
    """What the document whose first bytes are ``head`` is (``complete``: ``head`` is all of it)."""
    codec = _codec(head)
    if codec is None:
        label = xml_encoding(head) or ""
        return _Head(None, "utf-8", looks_like=f"XML in an unknown encoding “{_shown(label)}”")
    text = codecs.getincrementaldecoder(codec)("replace").decode(head).lstrip("\ufeff").lstrip()
    if not text:
        return _Head(None, codec, looks_like="empty body" if complete else "nothing but whitespace")
    if text[0] != "<":
        return _sniff_text(codec, text, head)
    pos, html_doctype = 0, False
    while (item := _PROLOG_ITEM.match(text, pos)) and item.end() > pos:
        html_doctype = html_doctype or bool(_HTML_DOCTYPE.match(item.group().lstrip()))
        pos = item.end()
    tag = _ROOT_TAG.match(text, pos)
    name = tag.group(1) if tag else None
    local = name.rpartition(":")[2] if name else None
    if local in _KINDS:
        return _Head(_KINDS[local], codec, unsafe=bool(_ENTITY.search(text)))
    lowered = (local or "").lower()
    if lowered in _HTML_ROOTS or (name is None and html_doctype):
        looks_like = _describe_html(text, head)
    elif lowered in _FEED_ROOTS:
        looks_like = _FEED_ROOTS[lowered]
    elif name is not None:
        looks_like = f"XML document with root element <{_shown(name)}>"
    else:
        looks_like = f"markup with no root element in its first {SNIFF_BYTES // 1024} KB"
    return _Head(None, codec, looks_like=looks_like)


def _sniff_text(codec: str, text: str, head: bytes) -> _Head:
    """A plain-text sitemap when the first line is an http(s) URL."""
    first_line = text.split("\n", 1)[0].strip()
    if is_http_url(first_line):
        return _Head("text", codec)
    if text[0] in "{[":
        return _Head(None, codec, looks_like="JSON, not XML")
    if "\x00" in text or text.count("\ufffd") * 10 > len(text) or head.startswith(_GZIP_MAGIC):
        return _Head(None, codec, looks_like="binary data")
    return _Head(None, codec, looks_like=f"text whose first line is not a URL: “{_shown(first_line)}”")


def _describe_html(text: str, head: bytes) -> str:
    match = _HTML_TITLE.search(text)
    page_title = collapse(match.group(1)) if match else ""
    kind = "anti-bot challenge page" if has_challenge_markers(head) or is_challenge_title(page_title) else "HTML page"
    return f"{kind} “{_shown(page_title)}”" if page_title else kind


def _shown(text: str) -> str:
    shown = one_line(text)
    return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 1] + "…"


def _problem(text: str) -> str:
    text = one_line(text)
    return text if len(text) <= _MAX_PROBLEM else text[: _MAX_PROBLEM - 1] + "…"


def _http_url(text: str) -> bool:
    return bool(_PLAIN_HTTP_URL.fullmatch(text)) or is_http_url(text)


def _xml_problem(exc: etree.XMLSyntaxError) -> str:
    return f"the XML breaks off ({exc.msg or type(exc).__name__})"


def _date(text: str | None) -> datetime | None:
    """A W3C datetime (``2024``, ``2024-03``, ``2024-03-05``, with a time, an offset or ``Z``,
    fractions of a second), aware (UTC when it names no offset); None when it is none."""
    if not text:
        return None
    try:
        value = parse_iso(text)
    except (ValueError, OverflowError):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parse_text(start: bytes, rest: Iterator[bytes], codec: str, broken: str | None, url: str) -> Sitemap:
    """One URL per line; blank lines ignored, other lines that are no http(s) URL skipped."""
    chunks = [start]
    try:
        chunks.extend(rest)
    except _Broken as exc:
        broken = str(exc)
    body = b"".join(chunks)
    text = body.decode(codec, "replace").lstrip("\ufeff")
    replaced = _replaced(text, body, codec)
    notes = [f"{replaced} invalid {codec} byte sequence(s) replaced with U+FFFD"] if replaced > 0 else []
    urls, skipped = [], 0
    for line in text.splitlines():
        loc = line.strip()
        if not loc:
            continue
        if _http_url(loc):
            urls.append(SitemapURL(loc))
        else:
            skipped += 1
    if broken:
        if not urls:
            raise _malformed(url, broken)
        notes.append(f"{broken}; the {len(urls) + skipped} lines before the break kept")
    return Sitemap("urlset", tuple(urls), skipped, _problem("; ".join(notes)) if notes else None)


class _XMLReader:
    """One XML sitemap read through lxml's pull parser: each entry read as it ends, the entries read
    dropped from the tree after every piece fed."""

    def __init__(self, kind: str, codec: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self.entry = _ENTRY[kind]
        self.codec = codec
        self.root: etree._Element | None = None
        self.urls: list[SitemapURL] = []
        self.skipped = 0
        self.replaced = 0  # invalid byte sequences decoded as U+FFFD
        self.parser = etree.XMLPullParser(
            events=("end",),
            tag=_TAGS,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )

    def read(self, start: bytes, rest: Iterator[bytes], broken: str | None) -> Sitemap:
        problem = broken
        try:
            self._feed_all(start, rest)
        except etree.XMLSyntaxError as exc:
            problem = _xml_problem(exc)
        except _Broken as exc:
            problem = str(exc)
        self._drain()  # the entries that ended in what was fed, before any break
        if problem is None:
            try:
                self.parser.close()
            except etree.XMLSyntaxError as exc:
                # A document cut short: what closing reports is not read, since lxml 6.2 (libxml2
                # 2.14) ends the elements left open then, and a cut <url> would pass for a whole one.
                problem = _xml_problem(exc)
            else:
                self._drain()
        read = len(self.urls) + self.skipped
        notes = (
            [f"{self.replaced} invalid {self.codec} byte sequence(s) replaced with U+FFFD"] if self.replaced > 0 else []
        )
        if problem is not None:
            if not read:
                raise _malformed(self.url, problem)
            notes.append(f"{problem}; the {read} entries before the break kept")
        return Sitemap(self.kind, tuple(self.urls), self.skipped, _problem("; ".join(notes)) if notes else None)

    def _feed_all(self, start: bytes, rest: Iterator[bytes]) -> None:
        """Every piece to the parser, the entries read after each. The bytes are decoded here, as the
        head was, so that the parser reads the text the checks read, and an invalid byte sequence is
        one U+FFFD (counted) rather than the end of the document for libxml2."""
        decoder = codecs.getincrementaldecoder(self.codec)("replace")
        self._feed(start, decoder, first=True)
        for piece in rest:
            self._feed(piece, decoder)
        self._feed(b"", decoder, final=True)

    def _feed(
        self, data: bytes, decoder: codecs.IncrementalDecoder, *, first: bool = False, final: bool = False
    ) -> None:
        text = decoder.decode(data, final)
        if first:
            text = text.lstrip("\ufeff").lstrip()  # libxml2 wants the XML declaration first
        self.replaced += _replaced(text, data, self.codec)
        if text:
            self.parser.feed(text)
            self._drain()

    def _drain(self) -> None:
        root, entry = self.root, self.entry
        for _, element in self.parser.read_events():
            if not isinstance(element, etree._Element):  # only element events are asked for
                continue
            if root is None:  # the first element to end: the DOCTYPE and the root's start tag are read
                root = self.root = self._check_root(element.getroottree().getroot())
            # Of the four names the parser reports, only the entry's own ends so ("sitemapindex" does not).
            if element.tag.endswith(entry) and element.getparent() is root:
                self._read_entry(element)
        if root is not None and len(root) > 1:
            del root[:-1]  # the entries read; the last child may still be open

    def _check_root(self, element: etree._Element) -> etree._Element:
        """The root element, once the parser has read the DOCTYPE: one declaring entities is refused."""
        dtd = element.getroottree().docinfo.internalDTD
        # lxml-stubs lack DTD.iterentities (lxml has had it since 3.1)
        if dtd is not None and next(iter(dtd.iterentities()), None) is not None:  # type: ignore[attr-defined]
            raise _unsafe(self.url)
        tag = element.tag
        local = tag[tag.rfind("}") + 1 :]
        if _KINDS.get(local) != self.kind:  # the head said otherwise: a prolog that fooled the sniffing
            raise FeedError(
                f"{self.url}: not a sitemap: XML document with root element <{_shown(local)}>", reason="not_a_sitemap"
            )
        return element

    def _read_entry(self, element: etree._Element) -> None:
        loc = lastmod = published = title = None
        for child in element.iterchildren(_FIELDS):  # the filter runs in libxml2's tree: few Python objects
            tag = child.tag
            if tag.endswith("loc"):
                if loc is None:
                    loc = child.text
            elif tag.endswith("lastmod"):
                lastmod = child.text
            else:
                for item in child.iterdescendants(_NEWS_FIELDS):
                    if item.tag.endswith("title"):
                        title = item.text
                    else:
                        published = item.text
        loc = loc.strip() if loc else ""
        if not _http_url(loc):
            self.skipped += 1
            return
        self.urls.append(
            SitemapURL(
                loc,
                _date(lastmod),
                _date(published),
                (collapse(title) or None) if title else None,
            )
        )
