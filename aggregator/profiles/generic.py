"""What the generic profile needs beyond its data (the only user of trafilatura).

Two things, both measured on the extraction dev set (``benchmarks/extraction.py``):

* The "densest element" container fallback, used when none of the profile's container
  selectors holds enough text. Each ``<p>`` adds its length not in links to its parent, and half
  of it to its grandparent (so that paragraphs wrapped one by one in ``<div>`` still count for
  their container); an element inside navigation, an aside, a footer, a header or a form, or
  whose own class/id matches the profile's ``unlikely`` pattern, is passed over.
* A second opinion (``second_opinion: trafilatura``): trafilatura's main text, with
  ``favor_precision``. Our own selectors and cleaning win when they cover at least half of what
  the library found; when they cover less (we took a comment, a teaser or a table of contents, or
  found no container at all), the page's body is the library's. The two fail on different pages,
  which is why the pair measures better than either alone.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

from aggregator import dom
from aggregator.dom import Element

#: Elements whose content is never the article body.
_OUTSIDE_TAGS = frozenset({"nav", "aside", "footer", "header", "form"})
_ROOTS = frozenset({"body", "html"})
#: trafilatura's output elements that are one paragraph each (innermost wins)
_LIBRARY_BLOCKS = frozenset({"p", "head", "item", "row", "quote"})
#: our paragraphs must cover at least this share of the library's word 4-grams to be kept
MIN_AGREEMENT = 0.5
_WORD = re.compile(r"\w+")


def densest_container(root: Element, unlikely: re.Pattern[str] | None) -> Element | None:
    scores: defaultdict[Element, float] = defaultdict(float)
    for paragraph in root.iter("p"):
        weight = len(dom.text(paragraph)) - sum(len(dom.text(a)) for a in paragraph.iterdescendants("a"))
        if weight <= 0:
            continue
        for share, element in zip((1.0, 0.5), paragraph.iterancestors(), strict=False):
            if element.tag not in _ROOTS:
                scores[element] += weight * share
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    return next((element for element in ranked if _likely(element, unlikely)), None)


def _likely(element: Element, unlikely: re.Pattern[str] | None) -> bool:
    if unlikely and unlikely.search(_class_and_id(element)):
        return False
    return not any(node.tag in _OUTSIDE_TAGS for node in (element, *element.iterancestors()))


def _class_and_id(element: Element) -> str:
    return " ".join([*(element.get("class") or "").split(), element.get("id") or ""])


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
    return [" ".join(text.split()) for text in _block_texts(body) if text.strip()]


def _block_texts(body: object) -> Iterator[str]:
    for element in body.iter():  # type: ignore[attr-defined]
        if element.tag in _LIBRARY_BLOCKS and not any(child.tag in _LIBRARY_BLOCKS for child in element.iter()
                                                      if child is not element):
            yield " ".join(element.itertext()) if element.tag == "row" else "".join(element.itertext())


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
