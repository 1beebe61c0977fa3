"""HTML page -> Article: the headline, the body paragraphs and what the page says about itself.

Pure: no I/O. The page is parsed once (lxml, through aggregator.dom); everything a site does its own
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
    bad_url      the page's own URL has no canonical form (aggregator.urls.canonical_url refuses it)
    unknown_profile   the profile asked for does not exist

Challenge and consent pages are recognised first by their title or host; markers that real
articles can carry too (Cloudflare's challenge-platform script, a cookie banner) are only
believed when the page has no article to give.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime

from dateutil.parser import isoparse

from aggregator.errors import ExtractError, InvalidURL
from aggregator.extract.generic import (
    MIN_AGREEMENT,
    MIN_COVERAGE,
    agreement,
    densest_container,
    library_paragraphs,
    likely_container,
)
from aggregator.html import dom
from aggregator.html.dom import Element
from aggregator.models import Article
from aggregator.profiles import Profile, TimeSource, layouts
from aggregator.profiles.datelines import strip_dateline
from aggregator.text import shorten
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
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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
#: Longest headline kept (whole sentences fit; a page's whole text as its <h1> does not).
MAX_TITLE_CHARS = 1000
#: Page times outside these years are not believed: converting them to a time zone could overflow.
_MIN_YEAR, _MAX_YEAR = 2, 9998
#: body paragraphs and the quality signals measured on them
_Body = tuple[list[str], dict[str, float | int | str]]


def extract_article(html: str, url: str, *, profile: str | Profile | None = None) -> Article:
    """Extract the article of ``html`` fetched from ``url`` (the final URL, after redirects).

    ``profile`` names a profile (``"tass"``, ``"tass@2019"``) or is one (a feed's inline
    selectors); by default the site of ``url`` chooses one. Raises ExtractError when the page
    holds nothing to archive.
    """
    if _SURROGATE.search(url):  # the messages below name the URL, and must be storable text
        _page_url(url)  # raises: canonical_url refuses lone surrogates
    root = dom.parse(html)
    title_element = root.find(".//title")
    page_title = _collapse(dom.text(title_element)) if title_element is not None else ""
    _raise_if_blocked_page(page_title, url)
    error: ExtractError | None = None
    for chosen in layouts(profile, url):  # newest first; an older layout only when no body was found
        try:
            return _extract(root if error is None else dom.parse(html), html, url, chosen, page_title)
        except ExtractError as err:
            if err.reason != "no_body":  # the page's own verdict (a gallery, a paywall): no other layout
                error = err
                break
            error = error or err  # the newest layout's "no body" is the one reported
    assert error is not None
    if error.reason in _MAYBE_BLOCKED:
        _raise_if_blocking_markers(root, html, url)
    raise error


def _page_url(url: str) -> str:
    """The canonical form of the page's own URL; ExtractError ``bad_url`` when it has none."""
    try:
        return canonical_url(url)
    except InvalidURL as err:
        raise ExtractError(f"the page's own URL is unusable: {err}", reason="bad_url") from None


def _raise_if_blocked_page(page_title: str, url: str) -> None:
    """Strong signs, believed even on a page with text: the interstitial's own title or host."""
    if _CHALLENGE_TITLE.fullmatch(page_title):
        raise ExtractError(f"anti-bot challenge page ({page_title!r}): {url}", reason="challenge")
    if host_of(url).startswith("consent.") or _CONSENT_TITLE.fullmatch(page_title):
        raise ExtractError(f"consent wall ({page_title!r}): {url}", reason="consent")


def _raise_if_blocking_markers(root: Element, html: str, url: str) -> None:
    """Weak signs, believed only for a page that gave no article."""
    if _CHALLENGE_MARKERS.search(html):
        raise ExtractError(f"anti-bot challenge markers and no article: {url}", reason="challenge")
    if dom.select_first(root, _CONSENT_FRAME) is not None or _consent_dominated(root):
        raise ExtractError(f"consent wall and no article: {url}", reason="consent")


def _consent_dominated(root: Element) -> bool:
    text = " ".join(dom.visible_strings(root, _INVISIBLE))
    hits = len(_CONSENT_WORDS.findall(text))
    return hits >= _CONSENT_MIN_HITS and hits >= _CONSENT_SHARE * len(text.split())


def _extract(root: Element, html: str, url: str, profile: Profile, page_title: str) -> Article:
    parts = _container(root, profile)
    if not parts and not profile.second_opinion:
        raise _no_body(root, html, url, profile, "no article container")
    container = parts[0] if parts else root
    published, via = _published(root, container, profile.time)  # before removals: scripts hold JSON-LD
    blocks, scope_chars = _body_blocks(parts, profile)  # removes what is never body
    meta = _meta(root)
    title = _title(root, container, profile, meta, page_title)
    paragraphs, signals = _paragraphs([_block_text(block) for block in blocks], profile, title)
    signals["coverage"] = round(int(signals["body_chars"]) / scope_chars, 3) if scope_chars else 0.0
    if profile.second_opinion:
        paragraphs, signals = _second_opinion(html, url, profile, title, (paragraphs, signals))
    missing = "no body text" if parts else "no article container"
    _raise_if_no_body(root, html, url, profile, (paragraphs, signals), missing)
    if not title:
        raise ExtractError(f"no headline or title: {url}", reason="no_title")
    signals["container"] = dom.describe(container) if parts else "none"
    if len(title) > MAX_TITLE_CHARS:
        signals["title_cut"] = len(title)  # the headline's length before the cut
        title = shorten(title, MAX_TITLE_CHARS)
    return Article(
        title=title,
        paragraphs=tuple(paragraphs),
        url=_canonical(root, meta, url) or _page_url(url),
        extractor=profile.id,
        published=published,
        published_via=via,
        signals=signals,
    )


def _second_opinion(html: str, url: str, profile: Profile, title: str, ours: _Body) -> _Body:
    """Our body, unless it looks weak and covers less than half of what the second-opinion library found."""
    if not _weak(ours, html, profile):
        return ours
    ours[1]["second_opinion"] = "asked"
    theirs = library_paragraphs(html, url)
    if not theirs or (ours[0] and agreement(ours[0], theirs) >= MIN_AGREEMENT):
        return ours
    paragraphs, signals = _paragraphs([(text, 0) for text in theirs], profile, title)
    if not paragraphs:
        return ours
    signals["body_from"] = str(profile.second_opinion)
    signals["coverage"] = ours[1]["coverage"]  # what made ours look weak
    signals["second_opinion"] = "asked"
    return paragraphs, signals


def _weak(body: _Body, html: str, profile: Profile) -> bool:
    """A body worth a second opinion: none, too short, a paywall teaser by the gate below, or one that
    leaves much of its container's text out (a table, text in <div>s and <br>s)."""
    paragraphs, signals = body
    chars = int(signals["body_chars"])
    return (
        not paragraphs
        or chars < profile.min_body_chars
        or float(signals["coverage"]) < MIN_COVERAGE
        or (chars < _TEASER_MAX_CHARS and _paywalled(html))
    )


def _paywalled(html: str) -> bool:
    return bool(_NOT_FREE.search(html) or _PAYWALL_MARKERS.search(html))


def _raise_if_no_body(root: Element, html: str, url: str, profile: Profile, body: _Body, what: str) -> None:
    """The body gates, in order: nothing at all, only boilerplate, a paywall teaser, too short."""
    paragraphs, signals = body
    if not paragraphs and signals["dropped_blocks"]:
        raise ExtractError(f"only boilerplate ({signals['dropped_blocks']} blocks, no body text): {url}",
                           reason="boilerplate")
    if not paragraphs:
        raise _no_body(root, html, url, profile, what)
    chars = int(signals["body_chars"])
    if chars < _TEASER_MAX_CHARS and _paywalled(html):
        raise ExtractError(f"paywall teaser ({chars} characters of body): {url}", reason="paywall")
    if chars < profile.min_body_chars:
        raise ExtractError(f"body too short ({chars} characters): {url}", reason="too_short")


def _no_body(root: Element, html: str, url: str, profile: Profile, what: str) -> ExtractError:
    rule = profile.not_article
    if any(marker in html for marker in rule.text) or (
        rule.selectors and dom.select_first(root, ", ".join(rule.selectors)) is not None
    ):
        return ExtractError(f"not an article (gallery or section page): {url}", reason="not_article")
    return ExtractError(f"{what}: {url}", reason="no_body")


# --- finding things ---------------------------------------------------------------------------


def _collapse(text: str) -> str:
    """Whitespace (spaces, NBSP, tabs, newlines) collapsed to single spaces, ends stripped, control
    characters (a page's raw ones, or its ``&#8;``) removed."""
    collapsed = " ".join(text.split())
    if collapsed.isprintable():  # the common case, decided in one fast pass
        return collapsed
    return " ".join(_CONTROL.sub("", collapsed).split())


def _first(root: Element, selectors: Sequence[str], accept: Callable[[Element], bool] | None = None) -> Element | None:
    """The first (accepted) element of the earliest selector that has one."""
    return _first_match(root, selectors, accept)[0]


def _first_match(
    root: Element, selectors: Sequence[str], accept: Callable[[Element], bool] | None = None
) -> tuple[Element | None, str]:
    """``_first`` and the selector that found it."""
    for selector in selectors:
        for element in dom.select(root, selector):
            if accept is None or accept(element):
                return element, selector
    return None, ""


def _container(root: Element, profile: Profile) -> list[Element]:
    """The article container (first), and for a fallback profile any further parts of a split body."""
    if profile.container_fallback is None:
        found = _first(root, profile.container)
        return [found] if found is not None else []
    # a profile that can fall back only takes a candidate holding enough text to be the body
    found, selector = _first_match(
        root,
        profile.container,
        lambda el: likely_container(el, profile.unlikely)
        and _text_length(el.iterdescendants("p")) >= profile.min_body_chars,
    )
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
        element for element in dom.select(article, selector)
        if element is not first and not any(parent is first for parent in element.iterancestors())
    ]


def _text_length(elements: Iterable[Element]) -> int:
    return sum(len(_collapse(dom.text(element))) for element in elements)


def _head(root: Element) -> Element:
    head = root.find("head")
    return head if head is not None else root


def _meta(root: Element) -> dict[str, str]:
    """``<meta>`` contents by property/name (lower-cased); the first of a name wins."""
    found: dict[str, str] = {}
    for tag in _head(root).iter("meta"):
        key = tag.get("property") or tag.get("name")
        content = tag.get("content")
        if key and content is not None:
            found.setdefault(key.lower(), _collapse(content))
    return found


def _title(root: Element, container: Element, profile: Profile, meta: dict[str, str], page_title: str) -> str:
    def has_text(element: Element) -> bool:
        return bool(dom.text(element).strip())

    headline = _first(container, profile.headline, has_text)
    if headline is None:
        headline = _first(root, profile.headline, has_text)
    if headline is not None:
        return _collapse(dom.text(headline))
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


def _canonical(root: Element, meta: dict[str, str], url: str) -> str | None:
    """The page's rel=canonical or og:url when it is a usable URL on the same site as ``url``."""
    link = dom.select_first(_head(root), "link[rel~=canonical][href]")
    for candidate in (link.get("href", "") if link is not None else "", meta.get("og:url", "")):
        if candidate:
            try:
                absolute = canonical_url(candidate, base=url)
            except InvalidURL:  # the page's claim is malformed: not used, the fetched URL stands
                continue
            if is_http_url(absolute) and same_site(absolute, url):
                return absolute
    return None


# --- publication time -------------------------------------------------------------------------


def _published(
    root: Element, container: Element, sources: Sequence[TimeSource]
) -> tuple[datetime | None, str | None]:
    for source in sources:
        scope = container if source.scope == "container" else root
        for element in dom.select(scope, source.selector):
            raw = element.get(source.attribute) if source.attribute else dom.text(element)
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
        pending = deque([json.loads(raw)])
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder recurses
        return
    while pending:  # breadth first: the page's own item before anything nested in it
        item = pending.popleft()
        if isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            value = item.get("datePublished")
            if isinstance(value, list):
                yield from value
            elif value:
                yield value
            graph = item.get("@graph")
            if isinstance(graph, list | dict):  # a page may write anything there: 5, "x", null
                pending.append(graph)


def _parse_time(value: object, fmt: str) -> datetime | None:
    """An aware datetime that converts to any time zone, or None (unparseable, no time zone to be
    known, or a year such as 1 or 9999 that a conversion would take out of range)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromtimestamp(int(value), tz=UTC) if fmt == "unix" else _iso(value)
        if when.tzinfo is None or when.utcoffset() is None:
            return None
        if not _MIN_YEAR <= when.astimezone(UTC).year <= _MAX_YEAR:
            return None
    except (ValueError, OverflowError, OSError):  # OverflowError: the offset takes it past year 1 or 9999
        return None
    return when


def _iso(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return isoparse(value.strip())


# --- body -------------------------------------------------------------------------------------


def _body_blocks(parts: list[Element], profile: Profile) -> tuple[list[Element], int]:
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
            scope_chars += len(_collapse(dom.text(scope)))
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


def _block_text(block: Element) -> tuple[str, int]:
    """A block's text (whitespace collapsed) and how much of it is in links."""
    return _collapse(dom.text(block)), _text_length(block.iterdescendants("a"))


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
