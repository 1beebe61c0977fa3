"""HTML page -> Article: the headline, the body paragraphs and what the page says about itself.

Pure: no I/O. The page is parsed once (BeautifulSoup with lxml); everything a site does its own
way comes from its profile (``aggregator/profiles/*.yaml``). Quality gates raise ExtractError
with a ``reason`` instead of returning an article with nothing to archive:

    challenge    an anti-bot interstitial (Cloudflare, DDoS-Guard, "Checking your browser")
    consent      a consent wall instead of the article
    boilerplate  the body blocks found were all boilerplate ("Share this story", "Read more", ...)
    paywall      a teaser: the page says it is not free (JSON-LD ``isAccessibleForFree: false``) or
                 shows a paywall marker, and its body is shorter than ``_TEASER_MAX_CHARS``
    not_article  the profile's not_article rule: a gallery, a section front
    no_body      no body container, or no text in it
    too_short    less body text than the profile's min_body_chars
    no_title     no headline, og:title or <title>
    unknown_profile   the profile asked for does not exist

Challenge and consent pages are recognised first by their title or host; markers that real
articles can carry too (Cloudflare's challenge-platform script, a cookie banner) are only
believed when the page has no article to give.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import soupsieve
from bs4 import BeautifulSoup, Tag
from bs4.builder import LXMLTreeBuilder
from dateutil.parser import isoparse
from lxml import etree

from aggregator.datelines import strip_dateline
from aggregator.errors import ExtractError
from aggregator.models import Article
from aggregator.profiles import Profile, TimeSource, get_profile, profile_for_url
from aggregator.profiles.generic import MIN_AGREEMENT, agreement, densest_container, library_paragraphs
from aggregator.urls import canonical_url, host_of, is_http_url, same_site

#: Titles of interstitials, matched whole; narrow on purpose, since they are believed on any page.
_CHALLENGE_TITLE = re.compile(
    r"just a moment\.*|attention required!? \| cloudflare|ddos-guard|checking your browser before accessing\b.*",
    re.IGNORECASE,
)
_CONSENT_TITLE = re.compile(r"before you continue\b.*", re.IGNORECASE)
#: Markers that ordinary articles may carry too: believed only on a page that gave no article.
_CHALLENGE_MARKERS = re.compile(
    r"cf-browser-verification|cf_chl_opt|cf-challenge|challenge-platform|id=[\"']challenge-form"
    r"|ddos-guard|checking your browser|enable javascript and cookies to continue",
    re.IGNORECASE,
)
_CONSENT_WORDS = re.compile(
    r"cookies?|consent|privacy|personal data|(?:our|trusted|advertising) partners|accept all|reject all"
    r"|manage (?:options|settings|preferences)|legitimate interest",
    re.IGNORECASE,
)
_CONSENT_FRAME = 'iframe[src*="//consent."], iframe[src*="consent-"], iframe[id^="sp_message_iframe"]'
#: a page is "dominated" by consent text when at least this share of its words are consent words
_CONSENT_SHARE = 0.03
_CONSENT_MIN_HITS = 3
_INVISIBLE = frozenset({"script", "style", "noscript", "template"})
#: reasons after which a challenge or consent marker is the better explanation
_MAYBE_BLOCKED = frozenset({"no_body", "too_short", "no_title"})
#: A paywall is believed only when the body is shorter than this: a subscriber's full page is an article.
_TEASER_MAX_CHARS = 1000
_NOT_FREE = re.compile(r""""isAccessibleForFree"\s*:\s*"?false\b""", re.IGNORECASE)
_PAYWALL_MARKERS = re.compile(
    r"""(?:class|id)=["'][^"']*\b(?:paywall|paywalled|meteredContent|subscriber-only|premium-only)\b"""
    r"|subscribe (?:now )?to (?:continue|keep) reading|for subscribers only|already a subscriber\?"
    r"|to continue reading,? (?:please )?(?:subscribe|log in|sign in)",
    re.IGNORECASE,
)
#: body paragraphs and the quality signals measured on them
_Body = tuple[list[str], dict[str, float | int | str]]


def extract_article(html: str, url: str, *, profile: str | Profile | None = None) -> Article:
    """Extract the article of ``html`` fetched from ``url`` (the final URL, after redirects).

    ``profile`` names a profile (``"tass"``, ``"tass@2019"``) or is one (a feed's inline
    selectors); by default the site of ``url`` chooses one. Raises ExtractError when the page
    holds nothing to archive.
    """
    lean = _lean_extract(html, url, profile)
    if lean is not None:
        return lean
    soup = BeautifulSoup(html, "lxml")
    page_title = _collapse(soup.title.get_text()) if soup.title else ""
    _raise_if_blocked_page(page_title, url)
    chosen = _choose(profile, url)
    try:
        return _extract(soup, html, url, chosen, page_title)
    except ExtractError as err:
        if err.reason in _MAYBE_BLOCKED:
            _raise_if_blocking_markers(soup, html, url)
        raise


# --- the lean parse: a site profile's article without building the whole page in BeautifulSoup ---------
#
# Building BeautifulSoup's tree costs about 15 µs per element, three quarters of the time of a
# 60 KB news page, most of whose elements (menus, "All news" ribbons, footers) no step of a site
# profile's extraction ever looks at. For a profile without fallbacks, a successful extraction reads
# only: the <head>, <title>, <meta> and <link> elements, the elements its container, headline and
# document-wide time selectors can match, everything inside those, and their ancestors. So lxml
# parses the page (the same libxml2 parser BeautifulSoup's "lxml" builder drives), the elements
# that may match are found by a necessary condition (tag, class, id or attribute), and
# BeautifulSoup's own lxml builder is fed the parser events of just those subtrees and their
# ancestors, in document order. Selectors keep matching the same elements in the same order:
# the fast path is only taken when every such selector is a chain of simple compounds joined by
# descendant or child combinators (no sibling combinators, no pseudo-classes). Whenever the lean
# extraction fails, for whatever reason, the page is extracted again the ordinary way, so every
# error (and every check that reads the whole page) is exactly what the full parse gives.

_LEAN_TAGS = frozenset({"head", "title", "meta", "link"})
_COMBINATOR = re.compile(r"\s*>\s*|\s+")
_BRACKET_WITH_SEPARATOR = re.compile(r"\[[^\]]*[\s,>][^\]]*\]")
#: HTML boolean attributes to which libxml2's tree (not its parser events) gives their name as value
#: when the page gives none: selectors testing them are left to the full parse.
_TREE_BOOLEAN_ATTRIBUTE = re.compile(
    r"\[\s*(?:checked|compact|declare|defer|disabled|ismap|multiple|nohref|noresize|noshade|nowrap|readonly"
    r"|selected)\b", re.IGNORECASE,
)


def _choose(profile: str | Profile | None, url: str) -> Profile:
    if isinstance(profile, Profile):
        return profile
    return get_profile(profile) if profile else profile_for_url(url)


def _lean_extract(html: str, url: str, profile: str | Profile | None) -> Article | None:
    """The article from a pruned parse, or None: the full parse then decides (and raises)."""
    try:
        chosen = _choose(profile, url)
        keys = _lean_keys(chosen)
        if keys is None:
            return None
        soup = _lean_soup(html, keys)
        page_title = _collapse(soup.title.get_text()) if soup.title else ""
        _raise_if_blocked_page(page_title, url)
        return _extract(soup, html, url, chosen, page_title)
    except Exception:  # any failure at all: the ordinary path gives the answer and the error
        return None


@cache
def _lean_keys(profile: Profile) -> tuple[_Key, ...] | None:
    """Necessary conditions (tag, attribute, value) for the elements a successful extraction with
    ``profile`` may read outside its container; None when the profile needs the whole page."""
    if profile.container_fallback or profile.second_opinion:
        return None
    every = (*profile.container, *profile.headline, *profile.body, profile.blocks, *profile.lead, *profile.remove,
             *(t.selector for t in profile.time))
    if any(_TREE_BOOLEAN_ATTRIBUTE.search(selector) for selector in every):
        return None
    selectors = [*profile.container, *profile.headline, *(t.selector for t in profile.time if t.scope != "container")]
    keys: list[_Key] = []
    for selector in selectors:
        if _BRACKET_WITH_SEPARATOR.search(selector):
            return None
        for part in selector.split(","):
            compounds = _COMBINATOR.split(part.strip())
            if not all(_SIMPLE_SELECTOR.fullmatch(compound) for compound in compounds):
                return None
            key = _prefilter_key(compounds[-1])
            if key is None:
                return None
            keys.append(key)
    return tuple(keys)


def _may_be_read(element: Any, keys: Sequence[_Key]) -> bool:
    """True for an lxml element that may match one of ``keys`` (compared without case: a superset)."""
    tag = element.tag
    if tag in _LEAN_TAGS:
        return True
    for key_tag, attribute, value in keys:
        if key_tag is not None and tag != key_tag:
            continue
        if attribute is None:
            return True
        found = element.get(attribute)
        if found is None:
            continue
        if value is None or attribute != "class" or value.lower() in found.lower().split():
            return True
    return False


def _lean_soup(html: str, keys: Sequence[_Key]) -> BeautifulSoup:
    """BeautifulSoup of the elements of ``html`` that may match ``keys`` (whole) and their ancestors."""
    parser = etree.HTMLParser(recover=True)
    parser.feed(html[1:] if html[:1] == "\ufeff" else html)  # as BeautifulSoup feeds it
    root = parser.close()
    whole = [element for element in root.iter(etree.Element) if _may_be_read(element, keys)]
    on_path: set[Any] = set()
    for element in whole:
        for ancestor in element.iterancestors():
            if ancestor in on_path:
                break
            on_path.add(ancestor)
    return BeautifulSoup(html, builder=_ReplayBuilder(root, set(whole), on_path))


class _ReplayBuilder(LXMLTreeBuilder):
    """BeautifulSoup's lxml builder, fed the events of a parsed tree's kept parts instead of markup."""

    def __init__(self, root: Any, whole: set[Any], on_path: set[Any]) -> None:
        super().__init__()
        self._root, self._whole, self._on_path = root, whole, on_path

    def prepare_markup(self, markup: Any, *args: Any, **kwargs: Any) -> Iterator[tuple[Any, None, None, bool]]:
        yield markup, None, None, False

    def feed(self, markup: Any) -> None:
        if self._root in self._whole or self._root in self._on_path:
            self._replay(self._root, self._root in self._whole)

    def _replay(self, element: Any, whole: bool) -> None:
        tag = element.tag
        if tag is etree.Comment:
            self.comment(element.text or "")
            return
        if tag is etree.ProcessingInstruction:
            self.pi(element.target, element.text or "")
            return
        if not isinstance(tag, str):
            return
        self.start(tag, element.attrib, {})
        if element.text:
            self.data(element.text)
        for child in element:
            if whole or child in self._whole or child in self._on_path:
                self._replay(child, whole or child in self._whole)
            if child.tail:
                self.data(child.tail)
        self.end(tag)


def _raise_if_blocked_page(page_title: str, url: str) -> None:
    """Strong signs, believed even on a page with text: the interstitial's own title or host."""
    if _CHALLENGE_TITLE.fullmatch(page_title):
        raise ExtractError(f"anti-bot challenge page ({page_title!r}): {url}", reason="challenge")
    if host_of(url).startswith("consent.") or _CONSENT_TITLE.fullmatch(page_title):
        raise ExtractError(f"consent wall ({page_title!r}): {url}", reason="consent")


def _raise_if_blocking_markers(soup: BeautifulSoup, html: str, url: str) -> None:
    """Weak signs, believed only for a page that gave no article."""
    if _CHALLENGE_MARKERS.search(html):
        raise ExtractError(f"anti-bot challenge markers and no article: {url}", reason="challenge")
    if soup.select_one(_CONSENT_FRAME) or _consent_dominated(soup):
        raise ExtractError(f"consent wall and no article: {url}", reason="consent")


def _consent_dominated(soup: BeautifulSoup) -> bool:
    text = " ".join(s for s in soup.find_all(string=True) if s.parent and s.parent.name not in _INVISIBLE)
    hits = len(_CONSENT_WORDS.findall(text))
    return hits >= _CONSENT_MIN_HITS and hits >= _CONSENT_SHARE * len(text.split())


def _extract(soup: BeautifulSoup, html: str, url: str, profile: Profile, page_title: str) -> Article:
    parts = _container(soup, profile)
    if not parts and not profile.second_opinion:
        raise _no_body(soup, html, url, profile, "no article container")
    container = parts[0] if parts else soup
    published, via = _published(soup, container, profile.time)  # before removals: scripts hold JSON-LD
    blocks = _innermost([b for part in parts for b in _body_blocks(part, profile)])  # removes never-body
    meta = _meta(soup)
    title = _title(soup, container, profile, meta, page_title)
    paragraphs, signals = _paragraphs([_block_text(block) for block in blocks], profile, title)
    if profile.second_opinion:
        paragraphs, signals = _second_opinion(html, url, profile, title, (paragraphs, signals))
    missing = "no body text" if parts else "no article container"
    _raise_if_no_body(soup, html, url, profile, (paragraphs, signals), missing)
    if not title:
        raise ExtractError(f"no headline or title: {url}", reason="no_title")
    signals["container"] = _describe(container) if parts else "none"
    return Article(
        title=title,
        paragraphs=tuple(paragraphs),
        url=_canonical(soup, meta, url),
        extractor=profile.id,
        published=published,
        published_via=via,
        signals=signals,
    )


def _second_opinion(html: str, url: str, profile: Profile, title: str, ours: _Body) -> _Body:
    """Our body, unless it covers less than half of what the second-opinion library found."""
    theirs = library_paragraphs(html, url)
    if not theirs or (ours[0] and agreement(ours[0], theirs) >= MIN_AGREEMENT):
        return ours
    paragraphs, signals = _paragraphs([(text, 0) for text in theirs], profile, title)
    if not paragraphs:
        return ours
    signals["body_from"] = str(profile.second_opinion)
    return paragraphs, signals


def _raise_if_no_body(soup: BeautifulSoup, html: str, url: str, profile: Profile, body: _Body, what: str) -> None:
    """The body gates, in order: nothing at all, only boilerplate, a paywall teaser, too short."""
    paragraphs, signals = body
    if not paragraphs and signals["dropped_blocks"]:
        raise ExtractError(f"only boilerplate ({signals['dropped_blocks']} blocks, no body text): {url}",
                           reason="boilerplate")
    if not paragraphs:
        raise _no_body(soup, html, url, profile, what)
    chars = int(signals["body_chars"])
    if chars < _TEASER_MAX_CHARS and (_NOT_FREE.search(html) or _PAYWALL_MARKERS.search(html)):
        raise ExtractError(f"paywall teaser ({chars} characters of body): {url}", reason="paywall")
    if chars < profile.min_body_chars:
        raise ExtractError(f"body too short ({chars} characters): {url}", reason="too_short")


def _no_body(soup: BeautifulSoup, html: str, url: str, profile: Profile, what: str) -> ExtractError:
    rule = profile.not_article
    if any(marker in html for marker in rule.text) or (rule.selectors and soup.select_one(", ".join(rule.selectors))):
        return ExtractError(f"not an article (gallery or section page): {url}", reason="not_article")
    return ExtractError(f"{what}: {url}", reason="no_body")


# --- finding things ---------------------------------------------------------------------------


def _collapse(text: str) -> str:
    """Whitespace (spaces, NBSP, tabs, newlines) collapsed to single spaces, ends stripped."""
    return " ".join(text.split())


def _first(root: Tag, selectors: Sequence[str], accept: Callable[[Tag], bool] | None = None) -> Tag | None:
    """The first (accepted) element of the earliest selector that has one."""
    return _first_match(root, selectors, accept)[0]


def _first_match(
    root: Tag, selectors: Sequence[str], accept: Callable[[Tag], bool] | None = None
) -> tuple[Tag | None, str]:
    """``_first`` and the selector that found it. One walk of the tree for all the selectors (soupsieve
    walks the whole tree per call), then the few candidates are matched selector by selector."""
    if not selectors:
        return None, ""
    candidates = _select(root, selectors)
    for selector in selectors:
        compiled = soupsieve.compile(selector)
        for element in candidates:
            if compiled.match(element) and (accept is None or accept(element)):
                return element, selector
    return None, ""


def _select(root: Tag, selectors: Sequence[str]) -> list[Tag]:
    """The elements under ``root`` that match any of ``selectors``, in document order.

    soupsieve costs about a microsecond per element and selector, so selectors of the simple form
    ``tag``, ``tag.class``, ``#id`` or ``tag[attr=value]`` first narrow the walk to elements with
    that tag, class, id or attribute value (a cheap necessary condition); soupsieve decides on
    those only."""
    keys = [_prefilter_key(selector) for selector in selectors]  # (tag, attribute, value) or None
    compiled = soupsieve.compile(", ".join(selectors))
    if any(key is None for key in keys):
        return compiled.select(root)
    return [el for el in root.find_all(True) if _may_match(el, keys) and compiled.match(el)]  # type: ignore[arg-type]


#: ``tag``, ``.class``, ``#id``, ``[attr...]`` and compounds of them, no combinators or pseudo-classes
_SIMPLE_SELECTOR = re.compile(r"([a-z][a-z0-9]*)?((?:[.#][\w-]+|\[[\w:-]+(?:[~|^$*]?=[^\]]*)?\])*)", re.I)
#: the first condition of a compound: ``.class``, ``#id``, ``[attr]`` or ``[attr=value]``
_FIRST_CONDITION = re.compile(r"""\.([\w-]+)|#([\w-]+)|\[([\w:-]+)(?:(=)["']?([^"'\]]*)["']?)?\]""")
_Key = tuple[str | None, str | None, str | None]


def _prefilter_key(selector: str) -> _Key | None:
    """(tag, attribute, value) that every element matching ``selector`` has; None for a complex one."""
    match = _SIMPLE_SELECTOR.fullmatch(selector.strip())
    if not match or not any(match.groups()):
        return None
    tag = (match.group(1) or "").lower() or None
    condition = _FIRST_CONDITION.match(match.group(2) or "")
    if condition is None:
        return tag, None, None
    class_name, ident, attribute, equals, value = condition.groups()
    if class_name:
        return tag, "class", class_name
    if ident:
        return tag, "id", ident
    return tag, attribute.lower(), value if equals else None


def _may_match(element: Tag, keys: Sequence[_Key | None]) -> bool:
    for tag, attribute, value in filter(None, keys):
        if tag is not None and element.name != tag:
            continue
        if attribute is None:
            return True
        if not element.has_attr(attribute):
            continue
        # compared without case: a weaker test than soupsieve's (``type``, quirks-mode classes)
        if value is None or value.lower() in (str(v).lower() for v in element.get_attribute_list(attribute)):
            return True
    return False


def _container(soup: BeautifulSoup, profile: Profile) -> list[Tag]:
    """The article container (first), and for a fallback profile any further parts of a split body."""
    if profile.container_fallback is None:
        found = _first(soup, profile.container)
        return [found] if found is not None else []
    # a profile that can fall back only takes a candidate holding enough text to be the body
    found, selector = _first_match(
        soup, profile.container, lambda el: _text_length(el.find_all("p")) >= profile.min_body_chars
    )
    if found is not None:
        return [found, *_split_parts(found, selector)]
    found = densest_container(soup, profile.unlikely)
    return [found] if found is not None else []


def _split_parts(first: Tag, selector: str) -> list[Tag]:
    """Later parts of a body split around ads: elements with the same body class in the same <article>.

    A bare tag selector (``article``, ``main``) names no body, so it never merges."""
    article = first.find_parent("article")
    if article is None or selector.isalpha():
        return []
    return [
        element for element in soupsieve.iselect(selector, article)
        if element is not first and not any(parent is first for parent in element.parents)
    ]


def _text_length(elements: Iterable[Tag]) -> int:
    return sum(len(_collapse(element.get_text())) for element in elements)


def _meta(soup: BeautifulSoup) -> dict[str, str]:
    """``<meta>`` contents by property/name (lower-cased); the first of a name wins."""
    found: dict[str, str] = {}
    for tag in (soup.head or soup).find_all("meta", content=True):
        key = tag.get("property") or tag.get("name")
        if key:
            found.setdefault(str(key).lower(), _collapse(str(tag["content"])))
    return found


def _title(soup: BeautifulSoup, container: Tag, profile: Profile, meta: dict[str, str], page_title: str) -> str:
    def has_text(element: Tag) -> bool:
        return bool(element.get_text().strip())

    headline = _first(container, profile.headline, has_text) or _first(soup, profile.headline, has_text)
    if headline is not None:
        return _collapse(headline.get_text())
    site_name = meta.get("og:site_name", "")
    for candidate in (meta.get("og:title", ""), page_title):
        title = _strip_title_suffix(candidate, profile, site_name)
        if title:
            return title
    return ""


def _strip_title_suffix(title: str, profile: Profile, site_name: str) -> str:
    if profile.title_suffix:
        title = profile.title_suffix.sub("", title)
    if site_name:
        title = re.sub(rf"\s+[-|–—:·]\s+{re.escape(site_name)}$", "", title)
    return title.strip()


def _canonical(soup: BeautifulSoup, meta: dict[str, str], url: str) -> str:
    """The page's rel=canonical or og:url when on the same site as ``url``, else ``url``."""
    link = (soup.head or soup).select_one("link[rel~=canonical][href]")
    for candidate in (str(link["href"]) if link else "", meta.get("og:url", "")):
        if candidate:
            absolute = canonical_url(candidate, base=url)
            if is_http_url(absolute) and same_site(absolute, url):
                return absolute
    return canonical_url(url)


def _describe(element: Tag) -> str:
    classes = ".".join(element.get_attribute_list("class", []))
    ident = f"#{element['id']}" if element.get("id") else ""
    return f"{element.name}{ident}{'.' + classes if classes else ''}"


# --- publication time -------------------------------------------------------------------------


def _published(
    soup: BeautifulSoup, container: Tag, sources: Sequence[TimeSource]
) -> tuple[datetime | None, str | None]:
    for source in sources:
        root = container if source.scope == "container" else soup
        for element in _select(root, [source.selector]):
            raw = element.get(source.attribute) if source.attribute else element.get_text()
            for value in _time_values(str(raw or ""), source.format):
                when = _parse_time(value, source.format)
                if when is not None:
                    return when, source.via
    return None, None


def _time_values(raw: str, fmt: str) -> Iterator[object]:
    if fmt != "json-ld":
        yield raw.strip()
        return
    try:
        pending = [json.loads(raw)]
    except ValueError:
        return
    while pending:  # breadth first: the page's own item before anything nested in it
        item = pending.pop(0)
        if isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            value = item.get("datePublished")
            if isinstance(value, list):
                yield from value
            elif value:
                yield value
            pending.extend(item.get("@graph") or [])


def _parse_time(value: object, fmt: str) -> datetime | None:
    """An aware datetime, or None (unparseable, or no time zone to be known)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if fmt == "unix":
            return datetime.fromtimestamp(int(value), tz=UTC)
        when = _iso(value)
    except (ValueError, OverflowError, OSError):
        return None
    return when if when.tzinfo is not None else None


def _iso(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return isoparse(value.strip())


# --- body -------------------------------------------------------------------------------------


def _body_blocks(container: Tag, profile: Profile) -> list[Tag]:
    """The body blocks, in page order, after removing what is never body (mutates the tree)."""
    scopes = container.select(", ".join(profile.body)) if profile.body else [container]
    never_body = ", ".join((*profile.lead, *profile.remove))
    blocks: list[Tag] = []
    for scope in scopes:
        if never_body:
            for element in scope.select(never_body):
                element.extract()
        for br in scope.find_all("br"):
            br.replace_with("\n")
        blocks.extend(scope.select(profile.blocks))
    return _innermost(blocks)


def _innermost(blocks: list[Tag]) -> list[Tag]:
    """Blocks holding no other block (a <p> in a <blockquote> or <li> is its own line), no repeats."""
    ids = {id(block) for block in blocks}
    holders = {id(parent) for block in blocks for parent in block.parents if id(parent) in ids}
    seen: set[int] = set()
    kept = []
    for block in blocks:
        if id(block) not in holders and id(block) not in seen:
            seen.add(id(block))
            kept.append(block)
    return kept


def _block_text(block: Tag) -> tuple[str, int]:
    """A block's text (whitespace collapsed) and how much of it is in links."""
    return _collapse(block.get_text()), _text_length(block.find_all("a"))


def _paragraphs(blocks: list[tuple[str, int]], profile: Profile, title: str) -> _Body:
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
