"""The body: the container's blocks as paragraphs, and the quality signals measured on them.

What is never body (the profile's ``lead`` and ``remove`` selectors) is taken out of the tree
first; each innermost block (a ``<p>`` in a ``<blockquote>`` is its own line) becomes a paragraph
with its whitespace collapsed, unless it is boilerplate (too much of it in links, or a short block
matching the profile's pattern) or repeats the headline. The first paragraph loses its agency
dateline. The signals (paragraphs, body characters, link density, dropped blocks, and the caller's
coverage) say how good the body looks, to the gates and to whoever reads the archive.
"""

from __future__ import annotations

from aggregator.extract.locate import clean_text, text_length
from aggregator.html import dom
from aggregator.html.dom import Element
from aggregator.profiles import Profile
from aggregator.profiles.datelines import strip_dateline

#: body paragraphs and the quality signals measured on them
Body = tuple[list[str], dict[str, float | int | str]]


def body_blocks(parts: list[Element], profile: Profile) -> tuple[list[Element], int]:
    """The body blocks of the container's parts, in page order, after removing what is never body
    (mutates the tree), and how much text the body scopes hold (for the ``coverage`` signal)."""
    never_body = ", ".join((*profile.lead, *profile.remove))
    blocks: list[Element] = []
    scope_chars = 0
    for part in parts:
        for scope in dom.select(part, ", ".join(profile.body)) if profile.body else [part]:
            if never_body:
                for element in dom.select(scope, never_body):
                    dom.remove(element)
            for br in scope.iter("br"):
                dom.set_tail(br, "\n" + (br.tail or ""))
            scope_chars += len(clean_text(dom.text(scope)))
            blocks.extend(dom.select(scope, profile.blocks))
    return _innermost(blocks), scope_chars


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


def paragraphs(blocks: list[tuple[str, int]], profile: Profile, title: str) -> Body:
    """The paragraphs kept of ``(text, characters in links)`` blocks, and their signals."""
    kept: list[str] = []
    link_chars = dropped = 0
    for text, links in blocks:
        if not text:
            continue
        if _is_boilerplate(text, links, profile) or text.casefold() == title.casefold():
            dropped += 1
            continue
        kept.append(text)
        link_chars += links
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


def _is_boilerplate(text: str, link_chars: int, profile: Profile) -> bool:
    if link_chars > profile.max_link_density * len(text):
        return True
    return bool(profile.boilerplate and len(text) <= profile.boilerplate_max_chars and profile.boilerplate.match(text))
