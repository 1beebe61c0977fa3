"""What the generic profile needs beyond its data (the only user of trafilatura).

Three things, each chosen by its score on the extraction dev set (``benchmarks/extraction.py``;
the README gives the figures):

* Which candidates may be the container: not one inside navigation, an aside, a footer or a
  header, nor one whose own class/id matches the profile's ``unlikely`` pattern (a reader's
  comment, a "related" box). Applied to the selector candidates and to the fallback alike.
* The "densest element" container fallback, used when none of the profile's container
  selectors holds enough text. Each ``<p>`` adds its length not in links (nor in a script or a
  style sheet) to its parent, and half of it to its grandparent (so that paragraphs wrapped one
  by one in ``<div>`` still count for their container); prose written straight into an element
  (between ``<br>``s, beside its blocks) is a paragraph of its own. The first likely element by
  score wins.
* A second opinion (``second_opinion: trafilatura``): trafilatura's main text, with
  ``favor_precision``, asked only when our body looks weak (none, too short, a paywall-sized
  teaser, or less than ``MIN_COVERAGE`` of its container's text: a table, text in ``<div>``s and
  ``<br>``s). It wins when ours covers less than ``MIN_AGREEMENT`` of it. Asked on weak bodies
  only, because asked on every page it costs several times our own extraction and seldom changes
  the answer (not always for the better); a page with a good body never waits for it.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import chain

from aggregator.html import dom
from aggregator.html.dom import Element
from aggregator.text import collapse

#: Elements whose content is never the article body (not <form>: ASP.NET pages wrap the whole page in one).
_OUTSIDE_TAGS = frozenset({"nav", "aside", "footer", "header"})
_ROOTS = frozenset({"body", "html"})
#: Elements whose text no reader sees.
_INVISIBLE_TAGS = ("script", "style", "noscript", "template")
#: trafilatura's output elements that are one paragraph each (innermost wins)
_LIBRARY_BLOCKS = frozenset({"p", "head", "item", "row", "quote"})
#: our paragraphs must cover at least this share of the library's word 4-grams to be kept
MIN_AGREEMENT = 0.5
#: a body holding less than this share of its container's text asks for the second opinion
MIN_COVERAGE = 0.6
_WORD = re.compile(r"\w+")
#: where a camelCase name starts a new word: a capital after a small letter
_CAMEL_HUMP = re.compile(r"(?<=[a-z])(?=[A-Z])")
#: a block of trafilatura's output of one word (an e-mail address, a site's name) is not body, unless
#: it is in a script written without spaces
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


#: Elements that make a <div> more than one paragraph: a <div> holding none of them is scored as one.
_BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "table", "ul", "ol", "dl", "pre", "blockquote", "form", "figure"}
    | {f"h{n}" for n in range(1, 7)}
)


#: Elements that may hold prose written straight into them (the others hold it in a paragraph).
_HOLDERS = ("div", "article", "section", "main", "td", "center", "body")


def _paragraphs(root: Element) -> Iterator[Element]:
    """Every <p>, and every <div> that holds no block (text written in <div>s, one per line, as
    some sites do: readability counts those as paragraphs too)."""
    for element in root.iter("p", "div"):
        if element.tag == "p" or not any(inner.tag in _BLOCK_TAGS for inner in element.iterdescendants()):
            yield element


def densest_container(root: Element, unlikely: re.Pattern[str] | None) -> Element | None:
    scores: defaultdict[Element, float] = defaultdict(float)
    paragraphs = list(_paragraphs(root))  # in page order: the first of equal scores wins
    for paragraph in paragraphs:
        _add(scores, _prose_chars(paragraph), paragraph.iterancestors())
    counted = set(paragraphs)
    for holder in root.iter(*_HOLDERS):
        if holder not in counted:  # a <div> holding no block is a paragraph, its text counted above
            _add(scores, _loose_chars(holder), chain([holder], holder.iterancestors()))
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    return next((element for element in ranked if likely_container(element, unlikely)), None)


def _add(scores: defaultdict[Element, float], weight: float, holders: Iterator[Element]) -> None:
    """A paragraph's weight to the element holding it, and half of it to that one's parent."""
    if weight <= 0:
        return
    for share, element in zip((1.0, 0.5), holders, strict=False):
        # <body> counts its own paragraphs only (a page written straight into it), never half
        # of every paragraph of its children, or it would hold the comments and asides beside them
        if element.tag not in _ROOTS or (element.tag == "body" and share == 1.0):
            scores[element] += weight * share


def _loose_chars(element: Element) -> int:
    """The characters of prose written straight into ``element`` (between <br>s, beside its blocks):
    its own text and its inline elements', not in links, as one paragraph of it."""
    pieces = [element.text or ""]
    for child in element:
        if child.tag in dom.INLINE_TAGS and child.tag != "a":
            pieces.append(dom.text(child))
        pieces.append(child.tail or "")
    return len(collapse("".join(pieces)))


def _prose_chars(paragraph: Element) -> int:
    """A paragraph's characters a reader sees outside links: not its links', nor a script's or a
    style sheet's (an ad's code in a <div> is no paragraph, however long)."""
    unread = paragraph.iterdescendants("a", *_INVISIBLE_TAGS)
    return len(dom.text(paragraph)) - sum(len(dom.text(element)) for element in unread)


def likely_container(element: Element, unlikely: re.Pattern[str] | None) -> bool:
    """False for an element in navigation, an aside, a footer or a header, or named like one (``unlikely``)."""
    if unlikely and unlikely.search(_class_and_id(element)):
        return False
    return not any(node.tag in _OUTSIDE_TAGS for node in (element, *element.iterancestors()))


def _class_and_id(element: Element) -> str:
    """The element's class and id words, a camelCase word split into its parts ("commentsDiv" is
    "comments Div"), as the ``unlikely`` pattern reads them."""
    words = " ".join([*(element.get("class") or "").split(), element.get("id") or ""])
    return _CAMEL_HUMP.sub(" ", words)


# --- the second opinion -------------------------------------------------------------------------


def library_paragraphs(html: str, url: str) -> list[str]:
    """trafilatura's main text of the page, one string per block; ``[]`` when it finds none."""
    import trafilatura  # imported on first use: only pages of sites without a profile need it

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # its complaints become our ExtractError
    try:
        document = trafilatura.bare_extraction(
            html, url=url, favor_precision=True, include_comments=False, with_metadata=False
        )
    except (ValueError, TypeError, AttributeError):  # the library's own failures on odd markup
        return []
    body = getattr(document, "body", None)
    if body is None:
        return []
    return [text for text in map(collapse, _block_texts(body)) if len(text.split()) > 1 or _CJK.search(text)]


_LD_JSON = re.compile(
    r"""<script[^>]*type=["']?application/ld\+json["']?[^>]*>(.*?)</script>""", re.IGNORECASE | re.DOTALL
)


def data_paragraphs(html: str) -> list[str]:
    """The longest ``articleBody`` of the page's JSON-LD (an item, a list, an ``@graph``), a
    paragraph per line; ``[]`` when there is none."""
    found: list[str] = []
    for source in _LD_JSON.findall(html):
        try:
            pending = [json.loads(source)]
        except (ValueError, RecursionError):
            continue
        while pending:
            item = pending.pop()
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                value = item.get("articleBody")
                if isinstance(value, str):
                    found.append(value)
                if isinstance(item.get("@graph"), list | dict):
                    pending.append(item["@graph"])
    best = max(found, key=len, default="")
    return [text for text in map(collapse, best.splitlines()) if text]


def _block_texts(body: Element) -> Iterator[str]:
    """The text of each innermost block of trafilatura's output tree (a table row's cells spaced),
    and the text outside any block (prose straight in its ``<doc>``/``<div>``, between ``<lb/>``s)
    as blocks of its own, in order: flattened to its paragraph elements only, a page whose
    article is loose text lost all of it."""
    loose: list[str] = [body.text or ""]
    for child in body:
        if child.tag in _LIBRARY_BLOCKS and not any(
            inner.tag in _LIBRARY_BLOCKS for inner in child.iter() if inner is not child
        ):
            yield "".join(loose)
            loose = []
            yield " ".join(_texts(child)) if child.tag == "row" else "".join(_texts(child))
        elif any(inner.tag in _LIBRARY_BLOCKS for inner in child.iter()):
            yield "".join(loose)
            loose = []
            yield from _block_texts(child)
        else:
            loose.append("\n" if child.tag == "lb" else "".join(_texts(child)))
        loose.append(child.tail or "")
    yield "".join(loose)


def _texts(element: Element) -> list[str]:
    """The text nodes inside ``element``, in order (lxml gives ``str`` for a tree parsed from text)."""
    return [piece for piece in element.itertext() if isinstance(piece, str)]


def agreement(ours: Iterable[str], theirs: Iterable[str]) -> float:
    """The share of ``theirs``' word 4-grams (as a set) that ``ours`` has too; 1.0 when theirs is empty."""
    wanted = _four_grams(theirs)
    return len(wanted & _four_grams(ours)) / len(wanted) if wanted else 1.0


def _four_grams(texts: Iterable[str]) -> set[tuple[str, ...]]:
    grams: set[tuple[str, ...]] = set()
    for text in texts:
        words = _WORD.findall(text)
        grams.update(tuple(words[i : i + 4]) for i in range(max(1, len(words) - 3)) if words)
    return grams
