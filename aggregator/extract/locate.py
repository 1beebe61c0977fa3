"""Where the article is on the page: its container, its headline, its ``<meta>`` and canonical URL.

Everything is found with the profile's selectors, earliest selector first. A profile with a
container fallback (the generic one) takes a candidate only when it is likely (not navigation, an
aside, a comment) and holds enough paragraph text to be the body, else the densest element; a body
split around ads into several containers with the same class in one ``<article>`` is taken whole.
The page's own claims (``rel=canonical``, ``og:url``) are believed only on the site it came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from aggregator.errors import InvalidURL
from aggregator.extract.generic import densest_container, likely_container
from aggregator.html import dom
from aggregator.html.dom import Element
from aggregator.profiles import Profile
from aggregator.text import collapse, strip_controls
from aggregator.urls import canonical_url, is_http_url, same_site


def clean_text(text: str) -> str:
    """Text as extraction keeps it: whitespace collapsed (aggregator.text.collapse), and control
    characters (a page's raw ones, or its ``&#8;``) removed."""
    collapsed = collapse(text)
    if collapsed.isprintable():  # the common case, decided in one fast pass
        return collapsed
    return collapse(strip_controls(collapsed))


def text_length(elements: Iterable[Element]) -> int:
    """The length of the elements' text, as ``clean_text`` keeps it."""
    return sum(len(clean_text(dom.text(element))) for element in elements)


def first_match(
    root: Element, selectors: Sequence[str], accept: Callable[[Element], bool] | None = None
) -> tuple[Element | None, str]:
    """The first (accepted) element of the earliest selector that has one, and that selector."""
    for selector in selectors:
        for element in dom.select(root, selector):
            if accept is None or accept(element):
                return element, selector
    return None, ""


def container(root: Element, profile: Profile) -> list[Element]:
    """The article container (first), and for a fallback profile any further parts of a split body."""
    if profile.container_fallback is None:
        found = first_match(root, profile.container)[0]
        return [found] if found is not None else []

    def holds_the_body(element: Element) -> bool:
        return (
            likely_container(element, profile.unlikely)
            and text_length(element.iterdescendants("p")) >= profile.min_body_chars
        )

    found, selector = first_match(root, profile.container, holds_the_body)
    if found is not None:
        return [found, *_split_parts(found, selector)]
    found = densest_container(root, profile.unlikely)
    return [found] if found is not None else []


def _split_parts(first: Element, selector: str) -> list[Element]:
    """Later parts of a body split around ads: elements with the same body class in the same <article>.

    A bare tag selector (``article``, ``main``) names no body, so it never merges."""
    article = next(first.iterancestors("article"), None)
    if article is None or selector.isalpha():
        return []
    return [
        element
        for element in dom.select(article, selector)
        if element is not first and not any(parent is first for parent in element.iterancestors())
    ]


def _head(root: Element) -> Element:
    head = root.find("head")
    return head if head is not None else root


def meta(root: Element) -> dict[str, str]:
    """``<meta>`` contents by property/name (lower-cased); the first of a name wins."""
    found: dict[str, str] = {}
    for tag in _head(root).iter("meta"):
        key = tag.get("property") or tag.get("name")
        content = tag.get("content")
        if key and content is not None:
            found.setdefault(key.lower(), clean_text(content))
    return found


def title(root: Element, container: Element, profile: Profile, meta: dict[str, str], page_title: str) -> str:
    """The headline (in the container first, then anywhere), else og:title, else <title>; ``""`` if none.

    For the fallback profile a headline outside the container must share a word with what the page
    says its title is (og:title, <title>, their site suffix cut) when it says one: a site's logo, a
    section's name or a bookmark button in an ``<h1>`` is not the story's headline."""
    site_name = meta.get("og:site_name", "")
    claimed = [
        _strip_title_suffix(candidate, profile, site_name) for candidate in (meta.get("og:title", ""), page_title)
    ]
    words = _title_words(" ".join(claimed)) if profile.is_fallback else set()

    def has_text(element: Element) -> bool:
        return bool(dom.text(element).strip())

    def is_headline(element: Element) -> bool:
        text = dom.text(element)
        return bool(text.strip()) and (not words or bool(_title_words(text) & words))

    headline = first_match(container, profile.headline, has_text)[0]
    if headline is None:
        headline = first_match(root, profile.headline, is_headline)[0]
    if headline is not None:
        return clean_text(dom.text(headline))
    return next((found for found in claimed if found), "")


def _title_words(text: str) -> set[str]:
    """The words of a title that can tell two titles apart: of four letters or more, or not in
    ASCII (a CJK word is short)."""
    return {word for word in re.findall(r"\w+", text.casefold()) if len(word) >= 4 or not word.isascii()}


def _strip_title_suffix(title: str, profile: Profile, site_name: str) -> str:
    if profile.title_suffix:
        title = profile.title_suffix.sub("", title)
    if site_name:
        title = re.sub(rf"\s+[-|–—:·]\s+{re.escape(site_name)}$", "", title)
    return title.strip()


def canonical(root: Element, meta: dict[str, str], url: str) -> str | None:
    """The page's rel=canonical or og:url when it is a usable URL on the same site as ``url``."""
    for candidate in _claims(root, meta):
        try:
            absolute = canonical_url(candidate, base=url)
        except InvalidURL:  # the page's claim is malformed: not used, the fetched URL stands
            continue
        if is_http_url(absolute) and same_site(absolute, url):
            return absolute
    return None


def claimed_url(root: Element) -> str | None:
    """The page's own address, for a page saved without it: its rel=canonical, else its og:url,
    when that is an absolute http(s) URL (there is no address to resolve a relative one against)."""
    for candidate in _claims(root, meta(root)):
        try:
            absolute = canonical_url(candidate)
        except InvalidURL:
            continue
        if is_http_url(absolute):
            return absolute
    return None


def _claims(root: Element, meta: dict[str, str]) -> list[str]:
    """What the page says its URL is: the rel=canonical link's href, then og:url (the non-empty ones)."""
    link = dom.select_first(_head(root), "link[rel~=canonical][href]")
    return [claim for claim in (link.get("href", "") if link is not None else "", meta.get("og:url", "")) if claim]
