"""A cheap pass over a feed's items: each item's identity (the key ``entries`` would give it), the
``updated`` text feedparser would give it, and where it lies in the body, so that feedparser (the
parser of record) can be run on the items that are new or changed only.

The pass uses the standard library's expat (a C parser, one Python call per element) and gives up
(returns None) whenever it cannot be sure its answer is feedparser's: a document that is not
plain RSS 2.0 (``rss/channel/item``) or Atom 1.0 (``feed/entry``), a parse error, a DOCTYPE,
``xml:base`` anywhere, an item without a guid/id (RSS items keyed by their ``<link>`` are read
when they have a single plain one), an identity feedparser would take from elsewhere
(``rdf:about``, a second guid or id), a guid longer than ``MAX_GUID_CHARS``, a key seen twice.
An item whose ``updated`` it cannot read with certainty is marked so, and is always parsed.
``quickscan`` answers as this pass does for the plainest RSS feeds, without a call per element; its
items' keys are read here (``item_key``).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import urljoin
from xml.parsers import expat

from aggregator.feeds.entries import MAX_GUID_CHARS, Tally, clean, entry_link
from aggregator.feeds.structure import MAX_DEPTH

__all__ = ["ID_NAMES", "ITEM_NAMES", "UPDATED_NAMES", "Child", "Item", "Unsure", "item_key", "scan_items"]

_ATOM = "http://www.w3.org/2005/Atom"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
#: Local names of the children feedparser takes an entry's id from.
ID_NAMES = frozenset({"guid", "id"})
#: Local names of the children feedparser takes an entry's ``updated`` from (in any namespace).
UPDATED_NAMES = frozenset({"updated", "modified", "lastbuilddate", "date"})
ITEM_NAMES = frozenset({"item", "entry"})
_WATCHED = ID_NAMES | UPDATED_NAMES | {"link"}
_ITEMS = ITEM_NAMES
_ATOM_FEED = _ATOM + " feed"
_ATOM_ENTRY = _ATOM + " entry"
_XML_BASE = _XML_NS + " base"
#: feedparser's own fix of ``scheme:///path`` before it resolves a permalink guid or a link.
_URIFIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
#: ``updated`` texts the pass reads exactly as feedparser does (dates, not markup).
_PLAIN = re.compile(r"[\w:+\-., /]*", re.ASCII)


class Item(NamedTuple):
    """One item of the document: its key, its ``updated`` text (``sure``: read with certainty),
    and its byte span (the start tag's ``<`` to just after the end tag's ``>``)."""

    key: str
    updated: str | None
    sure: bool
    start: int
    end: int


#: A child of an item the pass reads: namespace, lower-case local name, attributes [name, value, ...],
#: its text (pieces).
Child = tuple[str, str, list[str], list[str]]


class Unsure(Exception):
    """The pass cannot say what feedparser would."""


def scan_items(content: bytes, url: str) -> tuple[Item, ...] | None:
    """Every item of a UTF-8 RSS 2.0 or Atom 1.0 document ``content`` fetched from ``url``, in
    order; None when the pass cannot be sure of feedparser's answer (see the module's docstring)."""
    scanner = _Scanner(content, url)
    try:
        scanner.parser.Parse(content, True)
    except (expat.ExpatError, Unsure, ValueError):
        return None
    if scanner.root is None or not scanner.items:
        return None
    return tuple(scanner.items)


class _Scanner:
    def __init__(self, content: bytes, url: str) -> None:
        self.content, self.url = content, url
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.ordered_attributes = True  # [name, value, ...]: cheaper than a dict per element
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.StartDoctypeDeclHandler = self.doctype
        self.parser = parser
        self.depth = 0
        self.root: str | None = None  # "rss" or "atom"
        self.item_name = ""  # the expanded name of an item of that root, and the depth it lies at
        self.item_level = 0
        self.item_depth = 0
        self.item_start = 0
        self.children: list[Child] = []  # ns, name, attrs, text
        self.child: list[str] | None = None  # the text of a watched child being read
        self.items: list[Item] = []
        self.keys: set[str] = set()
        self.names: dict[str, tuple[str, str]] = {}  # expanded name -> namespace, lower-case local name

    def doctype(self, *_: Any) -> None:
        raise Unsure

    def start(self, name: str, attrs: list[str]) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unsure  # what check_structure refuses, the full parse must say
        if attrs and any(key.startswith(_XML_BASE) for key in attrs[::2]):
            raise Unsure
        if self.item_depth:
            if self.depth == self.item_depth + 1:
                split = self.names.get(name)
                if split is None:
                    split = self.names[name] = _split(name)
                ns, lower = split
                if lower in _WATCHED:
                    self.child = []
                    self.children.append((ns, lower, attrs, self.child))
                    self.parser.CharacterDataHandler = self.child.append
                elif lower in _ITEMS:
                    raise Unsure  # a nested item
            elif self.child is not None or name.rpartition(" ")[2].lower() in _ITEMS:
                raise Unsure  # markup in an identity or a date, a nested item
            return
        if self.depth == 1:
            if name not in ("rss", _ATOM_FEED):
                raise Unsure
            self.root = "rss" if name == "rss" else "atom"
            self.item_name, self.item_level = ("item", 3) if name == "rss" else (_ATOM_ENTRY, 2)
            return
        if name == self.item_name:
            if self.depth != self.item_level or any(not key.endswith(" lang") for key in attrs[::2]):
                raise Unsure
            self.item_depth, self.item_start = self.depth, self.parser.CurrentByteIndex
            self.children = []
        elif name.rpartition(" ")[2].lower() in _ITEMS:
            raise Unsure  # an item where feedparser might still see one

    def end(self, name: str) -> None:
        if self.item_depth:
            if self.depth == self.item_depth + 1:
                if self.child is not None:
                    self.child = None
                    self.parser.CharacterDataHandler = None
            elif self.depth == self.item_depth:
                self.item_depth = 0
                self.finish_item(self.parser.CurrentByteIndex)
        self.depth -= 1

    def finish_item(self, end_tag: int) -> None:
        content = self.content
        if end_tag <= self.item_start or content[end_tag : end_tag + 2] != b"</":
            raise Unsure  # an empty-element tag, or offsets that are not what they seem
        end = content.index(b">", end_tag) + 1
        key = self.key()
        if key in self.keys:
            raise Unsure  # a repeated key: which one wins is entries' business
        self.keys.add(key)
        updated, sure = self.updated()
        self.items.append(Item(key, updated, sure, self.item_start, end))

    def key(self) -> str:
        return item_key(self.root or "", self.url, self.children)

    def updated(self) -> tuple[str | None, bool]:
        dates = [child for child in self.children if child[1] in UPDATED_NAMES]
        if not dates:
            return None, True
        text = "".join(dates[0][3]).strip()
        return clean(text), len(dates) == 1 and _PLAIN.fullmatch(text) is not None


def item_key(root: str, url: str, children: list[Child]) -> str:
    """The key ``entries`` gives an item of a ``root`` ("rss" or "atom") document fetched from ``url``,
    from its identity children; raises ``Unsure`` when feedparser might take it from elsewhere."""
    ids = [child for child in children if child[1] in ID_NAMES]
    if len(ids) > 1:
        raise Unsure
    if ids:
        ns, name, attrs, text = ids[0]
        if (root, ns, name) not in (("rss", "", "guid"), ("atom", _ATOM, "id")):
            raise Unsure
        if (attrs and attrs[0] != "isPermaLink") or len(attrs) > 2:
            raise Unsure
        permalink = root != "rss" or not attrs or attrs[1] == "true"
        written = "".join(text).strip()
        guid = clean(_resolve(written) if permalink and written else written)
        if guid is not None:
            if len(guid) > MAX_GUID_CHARS:
                raise Unsure
            return guid
        if permalink:
            raise Unsure  # an empty permalink guid: what becomes the link is feedparser's business
    links = [child for child in children if child[1] == "link"]
    if root != "rss" or len(links) != 1 or links[0][0] != "" or links[0][2]:
        raise Unsure
    written = "".join(links[0][3]).strip()
    link = _resolve(written) if written else written
    found = entry_link({"link": link, "links": [{"href": link}]}, url, Tally())
    if found is None:
        raise Unsure  # no identity: entries skips it and counts it
    return found


def _split(name: str) -> tuple[str, str]:
    ns, _, local = name.rpartition(" ")
    return ns, local.lower()


def _resolve(uri: str) -> str:
    """What feedparser makes of a permalink guid or a link without a base URI."""
    if ":///" in uri:  # else the fix changes nothing
        uri = _URIFIXER.sub(r"\1\3", uri)
    try:
        return urljoin("", uri)
    except ValueError:
        return ""
