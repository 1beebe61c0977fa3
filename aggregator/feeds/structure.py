"""What parsing a feed would cost: documents too deep or too dense are refused before feedparser.

feedparser keeps Python objects for every open element, every entry and every piece of content,
so that a document of nested or repeated elements can take many times its size. A document nested
deeper than ``MAX_DEPTH`` elements (libxml2's own limit), or with more elements and references than
its size explains, is refused (reason ``too_complex``) after one regular-expression pass over its
tags: what passes costs at most ``MAX_PARSE_FACTOR`` times its size (plus ``PARSE_ALLOWANCE``).
"""

from __future__ import annotations

import re

from aggregator.errors import FeedError

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


def check_structure(view: bytes, url: str) -> None:
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
                raise _too_deep(url)
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


def well_within_budget(view: bytes) -> bool:
    """Whether ``check_structure`` cannot refuse ``view`` for its density, by a bound that counts
    every ``<`` and ``/>`` as an element (a pass over the bytes, not the tags). Depth is not bounded:
    a parser that walks the elements checks it against ``MAX_DEPTH`` itself."""
    estimate = _ELEMENT_COST * (view.count(b"<") + view.count(b"/>")) + _REFERENCE_COST * view.count(b"&")
    return estimate <= MAX_PARSE_FACTOR * len(view) + PARSE_ALLOWANCE


def _too_deep(url: str) -> FeedError:
    return FeedError(
        f"{url}: refused: elements nested deeper than {MAX_DEPTH} levels (the limit libxml2"
        " sets), which would make the parser hold state for every level",
        reason="too_complex",
    )


def _too_dense(url: str, size: int, budget: int) -> FeedError:
    return FeedError(
        f"{url}: refused: too many elements and character references for its size ({size / 1e6:.1f} MB):"
        f" parsing it would take more than {budget // 1_000_000} MB",
        reason="too_complex",
    )
