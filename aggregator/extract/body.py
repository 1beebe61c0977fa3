"""The body: the container's blocks as paragraphs, and the quality signals measured on them.

What is never body (the profile's ``lead`` and ``remove`` selectors) is taken out of the tree
first; each innermost block (a ``<p>`` in a ``<blockquote>`` is its own line) becomes a paragraph
with its whitespace collapsed, unless it is boilerplate (too much of it in links, or a short block
matching the profile's pattern) or repeats the headline. The fallback profile reads more of the
page's shape (``block_texts``, ``paragraphs``): a block's own text around the blocks it holds (the
container's too: prose written straight into it, between <br>s, beside its paragraphs), a
list item judged by its list's links, a teaser card of another story, a heading judged by its
section; a site profile's output stays what its version gave. The first paragraph loses its agency
dateline. The signals (paragraphs, body characters, link density, dropped blocks, and the caller's
coverage) say how good the body looks, to the gates and to whoever reads the archive.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

from aggregator.extract.locate import clean_text, text_length
from aggregator.html import dom
from aggregator.html.dom import Element
from aggregator.profiles import Profile
from aggregator.profiles.datelines import strip_dateline

#: body paragraphs and the quality signals measured on them
Body = tuple[list[str], dict[str, float | int | str]]
#: the fallback profile's headings: one whose section holds no body line is a box's title, not body
_HEADINGS = {f"h{n}": n for n in range(2, 7)}


class Line(NamedTuple):
    """A line of the body before the boilerplate filter: its text, how much of it is in links, and
    its heading level (2 for ``<h2>`` ...; 0 for a line that is no heading, and for every line of a
    site profile)."""

    text: str
    links: int
    heading: int = 0


#: the most text a teaser card holds (a headline, an excerpt, a date)
CARD_MAX_CHARS = 400
_CARD_HEADINGS = tuple(f"h{n}" for n in range(1, 7))
#: text outside links a list item needs for its list to count as prose (a sentence, not a label)
SENTENCE_CHARS = 80


def body_blocks(parts: list[Element], profile: Profile) -> tuple[list[Element], int]:
    """The body blocks of the container's parts, in page order (a block holding others among them;
    for the fallback profile each scope holding blocks too, first, for its own text between them),
    after removing what is never body (mutates the tree), and how much text the body scopes hold
    (for the ``coverage`` signal)."""
    never_body = ", ".join((*profile.lead, *profile.remove))
    blocks: list[Element] = []
    scope_chars = 0
    for part in parts:
        for scope in dom.select(part, ", ".join(profile.body)) if profile.body else [part]:
            if never_body:
                kept = _holding(scope, profile.keep)
                for element in dom.select(scope, never_body):
                    if element not in kept:
                        dom.remove(element)
            for br in scope.iter("br"):
                dom.set_tail(br, "\n" + (br.tail or ""))
            scope_chars += len(clean_text(dom.text(scope)))
            inner = dom.select(scope, profile.blocks)
            if profile.is_fallback and inner:  # the scope holds blocks: its own text between them is body too
                blocks.append(scope)
            blocks.extend(inner)
    return blocks, scope_chars


def _holding(scope: Element, keep: tuple[str, ...]) -> set[Element]:
    """The elements the profile keeps (``keep``) inside ``scope``, and every element holding one."""
    found: set[Element] = set()
    for element in dom.select(scope, ", ".join(keep)) if keep else []:
        found.add(element)
        found.update(element.iterancestors())
    return found


def block_texts(blocks: list[Element], profile: Profile) -> list[Line]:
    """The ``Line`` of each line of the body blocks, in page order.

    Each innermost block is a line (a ``<p>`` in a ``<blockquote>`` or ``<li>`` is its own line).
    For the fallback profile, a block holding others keeps its own text too: each run of it between
    the inner blocks is a line (``<li>In progress:<ul>...``, a ``<dd>`` holding a ``<dl>``), and an
    item of a list is judged by its list's link density, not its own (a line that is one link, in
    a list of prose, is body). Site profiles keep the innermost blocks only, as their version says.
    """
    if not profile.is_fallback:
        return [Line(*block_text(block)) for block in _innermost(blocks)]
    lines = _Lines(blocks, profile.max_link_density)
    # the outermost blocks are the scopes (body_blocks): their own text runs are read as a scope's
    return [line for scope in lines.outermost() for line in lines.of(scope, in_scope=True)]


class _Lines:
    """The lines of the fallback profile's blocks (see ``block_texts``)."""

    def __init__(self, blocks: list[Element], max_link_density: float) -> None:
        self.members = set(blocks)
        self.blocks = blocks
        self.holding: set[Element] = set()  # every ancestor of a block
        for block in blocks:
            for parent in block.iterancestors():
                if parent in self.holding:
                    break
                self.holding.add(parent)
        self.max_link_density = max_link_density
        self.lists: dict[Element, bool] = {}  # a list -> whether it is prose (not mostly links)
        self.cards: dict[Element, bool] = {}  # an element -> whether it is a teaser card

    def outermost(self) -> list[Element]:
        """The blocks inside no other block, in page order, once each."""
        seen: set[Element] = set()
        for block in self.blocks:  # the outer holders first, in page order: each element once
            if block in self.holding and block not in seen:
                seen.update(block.iterdescendants())
        found = []
        for block in self.blocks:
            if block in seen:
                continue
            seen.add(block)
            found.append(block)
        return found

    def of(self, block: Element, *, in_scope: bool = False) -> list[Line]:
        if block not in self.holding:
            text, links = block_text(block)
            return [Line(text, self._judged_links(block, text, links), _HEADINGS.get(block.tag, 0))]
        return list(self._runs(block, in_scope=in_scope))

    def _runs(self, element: Element, *, in_scope: bool = False) -> Iterator[Line]:
        """The inner blocks' lines of ``element``, and its own text between them, in order. In a scope
        only text and inline elements make a run: any other element holding no block (a byline's
        <div>, a table) ends the run and is left out, as it was before scopes had runs."""
        run, links = [element.text or ""], 0
        for child in element:
            if child in self.members or child in self.holding:
                yield from _line("".join(run), links)
                run, links = [], 0
                yield from self.of(child) if child in self.members else self._runs(child, in_scope=in_scope)
            elif in_scope and isinstance(child.tag, str) and child.tag not in dom.INLINE_TAGS:
                yield from _line("".join(run), links)
                run, links = [], 0
            elif isinstance(child.tag, str):  # not a comment
                run.append(dom.text(child))
                links += text_length(child.iter("a"))
            run.append(child.tail or "")
        yield from _line("".join(run), links)

    def _judged_links(self, block: Element, text: str, links: int) -> int:
        """A list item's characters in links, scaled to its list's link density when the list is prose;
        all of a teaser's, beside a linked headline in a card (``_is_card``)."""
        parent = block.getparent()
        if parent is not None and block.tag not in _HEADINGS:
            if parent not in self.cards:
                self.cards[parent] = _is_card(parent)
            if self.cards[parent]:
                return len(text)
        if block.tag != "li" or parent is None or links <= self.max_link_density * len(text):
            return links
        if parent not in self.lists:
            self.lists[parent] = self._is_prose(parent)
        return int(self.max_link_density * len(text)) if self.lists[parent] else links

    def _is_prose(self, items: Element) -> bool:
        """A list not mostly in links, with an item that says a sentence outside its links (not a
        menu, nor a breadcrumb or a bar of short labels)."""
        chars = links = longest = 0
        for item in items.iterchildren("li"):
            item_chars = len(clean_text(dom.text(item)))
            item_links = text_length(item.iterdescendants("a"))
            chars, links = chars + item_chars, links + item_links
            longest = max(longest, item_chars - item_links)
        return longest >= SENTENCE_CHARS and links <= self.max_link_density * chars


def _is_card(element: Element) -> bool:
    """A teaser of another page: a small element (``CARD_MAX_CHARS``) holding a headline that is a
    link (a heading in a link, or a heading mostly in links), beside its excerpt or date."""
    chars = len(clean_text(dom.text(element)))
    if chars > CARD_MAX_CHARS:
        return False
    for heading in element.iter(*_CARD_HEADINGS):
        heading_chars = len(clean_text(dom.text(heading)))
        in_link = any(parent.tag == "a" for parent in heading.iterancestors()) or (
            text_length(heading.iterdescendants("a")) * 2 > heading_chars
        )
        if heading_chars and in_link:
            return True
    return False


def _line(text: str, links: int) -> Iterator[Line]:
    cleaned = clean_text(text)
    if cleaned:
        yield Line(cleaned, links)


def _innermost(blocks: list[Element]) -> list[Element]:
    """Blocks holding no other block (a <p> in a <blockquote> or <li> is its own line), no repeats."""
    members = set(blocks)
    holders: set[Element] = set()
    climbed: set[Element] = set()  # every ancestor of a block seen so far, and so all of theirs
    for block in blocks:
        for parent in block.iterancestors():
            if parent in climbed:  # the rest of the way up was climbed from an earlier block
                break
            climbed.add(parent)
            if parent in members:
                holders.add(parent)
    seen: set[Element] = set()
    kept = []
    for block in blocks:
        if block not in holders and block not in seen:
            seen.add(block)
            kept.append(block)
    return kept


def block_text(block: Element) -> tuple[str, int]:
    """A block's text (whitespace collapsed) and how much of it is in links."""
    return clean_text(dom.text(block)), text_length(block.iterdescendants("a"))


def paragraphs(lines: Sequence[Line], profile: Profile, title: str) -> Body:
    """The paragraphs kept of the lines, and their signals. A heading is dropped when the lines of
    its section (up to the next heading of its level or higher) are all dropped, the title of a
    link list or a sidebar, or when nothing follows it at all."""
    keep = [
        bool(line.text)
        and not _is_boilerplate(line.text, line.links, profile)
        and line.text.casefold() != title.casefold()
        for line in lines
    ]
    for index, line in enumerate(lines):
        if line.heading and keep[index]:
            end = _section_end(lines, index)
            body = any(keep[i] and not lines[i].heading for i in range(index + 1, end))
            keep[index] = body or index + 1 == end < len(lines)
    kept: list[str] = []
    link_chars = dropped = 0
    for line, chosen in zip(lines, keep, strict=True):
        if chosen:
            kept.append(line.text)
            link_chars += line.links
        elif line.text:
            dropped += 1
    if kept:
        kept[:1] = [p for p in [strip_dateline(kept[0], profile.datelines)] if p]
    body_chars = sum(map(len, kept))
    signals: dict[str, float | int | str] = {
        "paragraphs": len(kept),
        "body_chars": body_chars,
        "link_density": round(link_chars / body_chars, 3) if body_chars else 0.0,
        "dropped_blocks": dropped,
    }
    return kept, signals


def _section_end(lines: Sequence[Line], heading: int) -> int:
    """The index of the next heading of the level of ``lines[heading]`` or higher, else ``len(lines)``."""
    level = lines[heading].heading
    return next((i for i in range(heading + 1, len(lines)) if 0 < lines[i].heading <= level), len(lines))


def _is_boilerplate(text: str, link_chars: int, profile: Profile) -> bool:
    if link_chars > profile.max_link_density * len(text):
        return True
    return bool(profile.boilerplate and len(text) <= profile.boilerplate_max_chars and profile.boilerplate.match(text))
