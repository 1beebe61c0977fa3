"""What the generic profile needs beyond its data: the "densest element" container fallback.

Used when none of the profile's container selectors holds enough text. Each ``<p>`` adds its
length not in links to its parent, and half of it to its grandparent (so that paragraphs wrapped
one by one in ``<div>`` still count for their container); an element inside navigation, an aside,
a footer, a header or a form, or whose own class/id matches the profile's ``unlikely`` pattern,
is passed over. The element with the highest score is the body container. One pass over the ``<p>``
elements of the page, then a walk up from each scored element.
"""

from __future__ import annotations

import re
from collections import defaultdict

from bs4 import BeautifulSoup, Tag

#: Elements whose content is never the article body.
_OUTSIDE_TAGS = frozenset({"nav", "aside", "footer", "header", "form"})
_ROOTS = frozenset({"body", "html", "[document]"})


def densest_container(soup: BeautifulSoup, unlikely: re.Pattern[str] | None) -> Tag | None:
    scores: defaultdict[int, float] = defaultdict(float)
    elements: dict[int, Tag] = {}
    for paragraph in soup.find_all("p"):
        weight = len(paragraph.get_text()) - sum(len(a.get_text()) for a in paragraph.find_all("a"))
        if weight <= 0:
            continue
        for share, element in zip((1.0, 0.5), paragraph.parents, strict=False):
            if element.name not in _ROOTS:
                scores[id(element)] += weight * share
                elements[id(element)] = element
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    return next((elements[key] for key in ranked if _likely(elements[key], unlikely)), None)


def _likely(element: Tag, unlikely: re.Pattern[str] | None) -> bool:
    if unlikely and unlikely.search(_class_and_id(element)):
        return False
    return not any(node.name in _OUTSIDE_TAGS for node in (element, *element.parents))


def _class_and_id(element: Tag) -> str:
    return " ".join([*element.get_attribute_list("class"), element.get("id") or ""])
