"""The identity pass of ``items`` for the plainest RSS 2.0 documents, without a Python call per
element: expat checks the document is well formed (no callbacks: C speed), regular expressions
check its shape and find each item's guid, and the guids' texts are read all at once.

It answers only for a document whose every element it can place without a parser's stack: a
UTF-8 ``rss/channel`` whose children are leaves (text only) or elements of leaves (``<image>``), and
whose items hold leaves only, exactly one of them a lower-case unprefixed ``<guid>`` (no attribute
but ``isPermaLink``) whose text holds no CDATA section or comment, and none a name ``items`` reads
as another identity, a date or an item; no DOCTYPE, processing instruction past the prolog, default
namespace, ``xml:base``, nor ``>`` outside markup (then each ``>`` closes the tag the last ``<``
opened). Comments and CDATA sections elsewhere are masked first. A non-empty guid is the key
whatever the item's links say (``item_key``), so links are not read. For any other document it
returns None and ``items`` (the expat pass with callbacks) says; what it does answer is that pass's
answer (``tests/test_changed_feeds.py`` compares them).
"""

from __future__ import annotations

import itertools
import re
from xml.parsers import expat

from aggregator.feeds.entries import MAX_GUID_CHARS
from aggregator.feeds.items import ID_NAMES, ITEM_NAMES, UPDATED_NAMES, Item, Unsure, item_key

__all__ = ["quick_items"]

_NAME = rb"[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?"
#: The rest of a start tag (attributes, no ``/`` before its ``>``), and of an empty-element tag.
_OPEN = rb"(?:\s[^>]*)?(?<!/)>"
_EMPTY = rb"(?:\s[^>]*)?/>"


def _none_named(names: frozenset[str]) -> bytes:
    """A lookahead: the tag here is not one of these local names (any prefix, any case)."""
    return rb"(?!<(?:[\w.\-]+:)?(?i:" + "|".join(sorted(names)).encode() + rb")[\s/>])"


#: No leaf of an item may have a name ``items`` reads as an identity, a date or an item; the one guid
#: this pass reads is written ``<guid>`` in the item pattern.
_NOT_READ = _none_named(ID_NAMES | UPDATED_NAMES | ITEM_NAMES)
#: No element outside the items may have an item's name.
_NOT_ITEM = _none_named(ITEM_NAMES)


def _leaf(group: str, exclude: bytes) -> bytes:
    """An element holding text only (markup-free: CDATA and comments are masked), or an empty one."""
    g = group.encode()
    return (
        exclude
        + rb"(?:<(?P<"
        + g
        + rb">"
        + _NAME
        + rb")"
        + _OPEN
        + rb"[^<]*</(?P="
        + g
        + rb")\s*>|<"
        + _NAME
        + _EMPTY
        + rb")"
    )


def _item(suffix: str) -> bytes:
    """An item of leaves, exactly one of them its ``<guid>``; with an empty ``suffix``, groups name
    isPermaLink's value (``value``) and the guid's text (``guid``)."""
    quote, value, guid = (f"(?P<q{suffix}>" + "[\"'])").encode(), b"(?:", b"(?:"
    if not suffix:
        value, guid = b"(?P<value>", b"(?P<guid>"
    return (
        rb"<item>(?:\s*"
        + _leaf("a" + suffix, _NOT_READ)
        + rb")*\s*<guid(?:\s+isPermaLink\s*=\s*"
        + quote
        + value
        + rb"[^\"'&<]*)(?P=q"
        + suffix.encode()
        + rb"))?\s*>"
        + guid
        + rb"[^<]*)</guid\s*>(?:\s*"
        + _leaf("b" + suffix, _NOT_READ)
        + rb")*\s*</item>"
    )


_CHANNEL_CHILD = (
    rb"(?:"
    + _leaf("c", _NOT_ITEM)
    + rb"|"
    + _NOT_ITEM
    + rb"<(?P<p>"
    + _NAME
    + rb")"
    + _OPEN
    + rb"(?:\s*"
    + _leaf("d", _NOT_ITEM)
    + rb")*\s*</(?P=p)\s*>)"
)
_CHANNEL_PART = rb"(?:\s*" + _CHANNEL_CHILD + rb")*\s*"
#: Before the first item: a prolog, ``<rss>``, ``<channel>`` and its first children; between items
#: and after the last one, more of them (leaves, and elements of leaves), then the ends.
_BEFORE_ITEMS = re.compile(rb"(?:<\?[^>]*\?>|\s)*<rss" + _OPEN + rb"\s*<channel>" + _CHANNEL_PART)
_BETWEEN_ITEMS = re.compile(_CHANNEL_PART)
_AFTER_ITEMS = re.compile(_CHANNEL_PART + rb"</channel>\s*</rss>\s*")
_ITEM = re.compile(_item(""))
_GUID = _ITEM.groupindex["guid"]
_DECLARATION = re.compile(rb"<\?xml\s[^>]*?encoding\s*=\s*[\"']([^\"']*)", re.ASCII)
_DEFAULT_NAMESPACE = re.compile(rb"xmlns\s*=")
_REFERENCE = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
#: What makes a guid's text need more than ``strip`` to be its key (see ``_keys``); NUL, which no
#: XML text holds, separates the texts read at once.
_NOT_PLAIN = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f&\r<]")


def quick_items(content: bytes, url: str) -> tuple[Item, ...] | None:
    """``items.scan_items(content, url)`` for a plain RSS 2.0 document (see the module's
    docstring); None when the document is not one (then ask ``scan_items``)."""
    if not content.startswith(b"<") or b"xml:base" in content or _DEFAULT_NAMESPACE.search(content):
        return None
    declared = _DECLARATION.match(content)
    if declared and declared[1].lower() != b"utf-8":
        return None
    skeleton = _masked(content)
    if skeleton is None:
        return None
    root = skeleton.find(b"<rss")
    if root < 0 or b"<?" in skeleton[root:] or skeleton.count(b"<") != skeleton.count(b">"):
        return None  # past the prolog, every "<" opens a tag that the next ">" closes
    if not _well_formed(content):
        return None
    found = list(_ITEM.finditer(skeleton))
    if not found or len(found) != skeleton.count(b"<item") or len(found) != skeleton.count(b"</item>"):
        return None  # an item without a guid, <item attr>, <itemCount>: not items this pass reads
    if not _in_channel(skeleton, found):
        return None
    keys = _keys(content, found, url)
    if keys is None or len(set(keys)) != len(keys):
        return None  # a repeated key: which one wins is entries' business
    # no date child (_NOT_READ): nothing to be unsure of
    return tuple(Item(key, None, True, match.start(), match.end()) for key, match in zip(keys, found, strict=True))


def _in_channel(skeleton: bytes, found: list[re.Match[bytes]]) -> bool:
    """Whether the items are children of ``rss/channel`` and all else in it leaves or elements of
    leaves: then each item's span is an item's, and every element is placed without a stack."""
    if not _BEFORE_ITEMS.fullmatch(skeleton, 0, found[0].start()):
        return False
    if not _AFTER_ITEMS.fullmatch(skeleton, found[-1].end()):
        return False
    for before, after in itertools.pairwise(found):
        start, end = before.end(), after.start()
        if start != end and not skeleton[start:end].isspace() and not _BETWEEN_ITEMS.fullmatch(skeleton, start, end):
            return False
    return True


def _keys(content: bytes, found: list[re.Match[bytes]], url: str) -> list[str] | None:
    """Each item's key as ``items`` gives it (``item_key``); None when that pass would not be sure.
    Texts without references, carriage returns, control characters, CDATA or ":///" need only
    ``strip`` (``clean`` and ``_resolve`` leave them as they are): those are read all at once."""
    texts = b"\x00".join([content[slice(*match.span(_GUID))] for match in found]).decode("utf-8")
    if _NOT_PLAIN.search(texts) is None and ":///" not in texts:
        keys = [text.strip() for text in texts.split("\x00")]
        if all(keys) and max(map(len, keys)) <= MAX_GUID_CHARS:
            return keys
    slow = []
    for match in found:
        value = match["value"]
        attrs = [] if value is None else ["isPermaLink", value.decode("ascii")]
        text = _text(content[match.start("guid") : match.end("guid")])
        if text is None:
            return None
        try:
            slow.append(item_key("rss", url, [("", "guid", attrs, [text])]))
        except Unsure:
            return None
    return slow


def _masked(content: bytes) -> bytes | None:
    """``content`` with each comment and CDATA section blanked out (same length); None for any other
    ``<!`` (a DOCTYPE) or an unclosed one."""
    at = content.find(b"<!")
    if at < 0:
        return content
    pieces: list[bytes] = []
    done = 0
    while at >= 0:
        if content.startswith(b"<!--", at):
            end = content.find(b"-->", at + 4)
        elif content.startswith(b"<![CDATA[", at):
            end = content.find(b"]]>", at + 9)
        else:
            return None
        if end < 0:
            return None
        end += 3
        pieces += (content[done:at], b" " * (end - at))
        done = end
        at = content.find(b"<!", end)
    pieces.append(content[done:])
    return b"".join(pieces)


def _well_formed(content: bytes) -> bool:
    """Whether expat, reading names as ``items`` does (namespaces: every prefix bound), parses it."""
    parser = expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(content, True)
    except expat.ExpatError:
        return False
    return True


def _text(raw: bytes) -> str | None:
    """Character data as expat gives it: line ends normalised, references replaced; None when it
    holds a comment or CDATA section (left to the expat pass)."""
    if b"<" in raw:
        return None
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    text = raw.decode("utf-8")
    return _REFERENCE.sub(_character, text) if "&" in text else text


def _character(reference: re.Match[str]) -> str:
    name, decimal, hexadecimal = reference.groups()
    if name:
        return _ENTITIES[name]
    return chr(int(decimal) if decimal else int(hexadecimal, 16))
