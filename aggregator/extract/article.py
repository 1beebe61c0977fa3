"""HTML page -> Article: the extraction flow, the gates, and the layouts tried in turn.

Pure: no I/O. The page is parsed once (lxml, through aggregator.html.dom); everything a site does
its own way comes from its profile (``aggregator/profiles/*.yaml``). The steps live beside this
module: blocked pages (``blocked``), the container, headline and URL (``locate``), the time
(``published``), the body and its signals (``body``), and the generic profile's fallback and second
opinion (``generic``). Quality gates raise ExtractError with a ``reason`` instead of returning an
article with nothing to archive:

    challenge    an anti-bot interstitial (Cloudflare, DDoS-Guard, "Checking your browser")
    consent      a consent wall instead of the article
    boilerplate  the body blocks found were all boilerplate ("Share this story", "Read more", ...)
    paywall      no longer raised by extraction: a paywalled page (JSON-LD ``isAccessibleForFree:
                 false``, a paywall marker) whose body is shorter than ``blocked.TEASER_MAX_CHARS``
                 is archived as the public teaser it shows, ``Article.teaser`` set (the other
                 gates still apply: a teaser too short is ``too_short``)
    not_article  the profile's not_article rule: a gallery, a section front
    no_body      no body container, or no text in it
    too_short    less body text than the profile's min_body_chars
    no_title     no headline, og:title or <title>
    bad_url      the page's own URL has no canonical form (aggregator.urls.canonical_url refuses it)
    unknown_profile   the profile asked for does not exist

A profile's layouts are tried newest first; an older one only when the newer finds no body, so a
page kept from before a redesign still extracts. When none finds a body (``no_body``: not the
profile's ``not_article`` verdict, nor a blocked page, nor a body too short) and the page does not
declare itself a website (the generic ``not_article`` rule, believed here whatever the page holds),
the site was redesigned: the page is extracted with the generic profile, through its gates, and
its extractor says so (``generic@7 via tass@2019``) until the profile is fixed and ``reextract``
run. A profile asked for exactly (``tass@2019``, a feed's inline selectors) has no fallback.
"""

from __future__ import annotations

import re
from dataclasses import replace

from aggregator.errors import ExtractError, InvalidURL
from aggregator.extract import locate
from aggregator.extract.blocked import (
    MAYBE_BLOCKED,
    is_teaser,
    raise_if_blocked_page,
    raise_if_blocking_markers,
)
from aggregator.extract.body import Body, Line, block_texts, body_blocks, paragraphs
from aggregator.extract.generic import (
    MIN_AGREEMENT,
    MIN_COVERAGE,
    agreement,
    data_paragraphs,
    library_paragraphs,
)
from aggregator.extract.locate import clean_text
from aggregator.extract.published import published
from aggregator.html import dom
from aggregator.html.dom import Element
from aggregator.models import Article
from aggregator.profiles import VIA, Profile, fallback_for, layouts
from aggregator.text import shorten
from aggregator.urls import canonical_url

_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: Longest headline kept (whole sentences fit; a page's whole text as its <h1> does not).
MAX_TITLE_CHARS = 1000


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
    page_title = clean_text(dom.text(title_element)) if title_element is not None else ""
    raise_if_blocked_page(page_title, url)
    error: ExtractError | None = None
    tried = layouts(profile, url)
    for chosen in tried:  # newest first; an older layout only when no body was found
        try:
            return _extract(root if error is None else dom.parse(html), html, url, chosen, page_title)
        except ExtractError as err:
            if err.reason != "no_body":  # the page's own verdict (a gallery, a paywall): no other layout
                error = err
                break
            error = error or err  # the newest layout's "no body" is the one reported
    assert error is not None
    if error.reason in MAYBE_BLOCKED:
        raise_if_blocking_markers(root, html, url)
    fallback = fallback_for(profile, url) if error.reason == "no_body" else None
    page = dom.parse(html) if fallback is not None else root
    if fallback is None or _says_not_article(page, html, fallback):  # a section front, whatever its body
        raise error
    try:  # the site was redesigned: the fallback archives the page meanwhile, through its own gates
        article = _extract(page, html, url, fallback, page_title)
    except ExtractError:
        raise error from None  # nothing the fallback would archive either: the profile's verdict stands
    return replace(article, extractor=f"{fallback.id}{VIA}{tried[0].id}")


def _page_url(url: str) -> str:
    """The canonical form of the page's own URL; ExtractError ``bad_url`` when it has none."""
    try:
        return canonical_url(url)
    except InvalidURL as err:
        raise ExtractError(f"the page's own URL is unusable: {err}", reason="bad_url") from None


def _extract(root: Element, html: str, url: str, profile: Profile, page_title: str) -> Article:
    parts = locate.container(root, profile)
    if not parts and not profile.second_opinion:
        raise _no_body(root, html, url, profile, "no article container")
    container = parts[0] if parts else root
    when, via = published(root, container, profile.time)  # before removals: scripts hold JSON-LD
    blocks, scope_chars = body_blocks(parts, profile)  # removes what is never body
    meta = locate.meta(root)
    title = locate.title(root, container, profile, meta, page_title)
    body, signals = paragraphs(block_texts(blocks, profile), profile, title)
    signals["coverage"] = round(int(signals["body_chars"]) / scope_chars, 3) if scope_chars else 0.0
    if profile.second_opinion:
        body, signals = _second_opinion(html, url, profile, title, (body, signals))
        if int(signals["body_chars"]) < profile.min_body_chars:  # a page rendered by script: its data
            body, signals = _data_body(html, profile, title, (body, signals))
    missing = "no body text" if parts else "no article container"
    _raise_if_no_body(root, html, url, profile, (body, signals), missing)
    teaser = is_teaser(int(signals["body_chars"]), html)
    if not title:
        raise ExtractError(f"no headline or title: {url}", reason="no_title")
    signals["container"] = dom.describe(container) if parts else "none"
    if len(title) > MAX_TITLE_CHARS:
        signals["title_cut"] = len(title)  # the headline's length before the cut
        title = shorten(title, MAX_TITLE_CHARS)
    return Article(
        title=title,
        paragraphs=tuple(body),
        url=locate.canonical(root, meta, url) or _page_url(url),
        extractor=profile.id,
        published=when,
        published_via=via,
        signals=signals,
        teaser=teaser,
    )


def _second_opinion(html: str, url: str, profile: Profile, title: str, ours: Body) -> Body:
    """Our body, unless it looks weak and covers less than half of what the second-opinion library found."""
    if not _weak(ours, html, profile):
        return ours
    ours[1]["second_opinion"] = "asked"
    theirs = library_paragraphs(html, url)
    if not theirs or (ours[0] and agreement(ours[0], theirs) >= MIN_AGREEMENT):
        return ours
    body, signals = paragraphs([Line(text, 0) for text in theirs], profile, title)
    if not body:
        return ours
    signals["body_from"] = str(profile.second_opinion)
    signals["coverage"] = ours[1]["coverage"]  # what made ours look weak
    signals["second_opinion"] = "asked"
    return body, signals


def _data_body(html: str, profile: Profile, title: str, ours: Body) -> Body:
    """The JSON-LD ``articleBody`` of a page whose HTML holds no body (rendered by script), one
    paragraph per line; ours when there is none or it is no longer."""
    theirs = data_paragraphs(html)
    if sum(map(len, theirs)) <= int(ours[1]["body_chars"]):
        return ours
    body, signals = paragraphs([Line(text, 0) for text in theirs], profile, title)
    if not body:
        return ours
    signals["body_from"] = "json-ld"
    signals["coverage"] = ours[1]["coverage"]
    return body, signals


def _weak(body: Body, html: str, profile: Profile) -> bool:
    """A body worth a second opinion: none, too short, a paywall teaser by the gate below, or one that
    leaves much of its container's text out (a table, text in <div>s and <br>s)."""
    found, signals = body
    chars = int(signals["body_chars"])
    return (
        not found
        or chars < profile.min_body_chars
        or float(signals["coverage"]) < MIN_COVERAGE
        or is_teaser(chars, html)
    )


def _raise_if_no_body(root: Element, html: str, url: str, profile: Profile, body: Body, what: str) -> None:
    """The body gates, in order: nothing at all, only boilerplate, too short (a paywall teaser is
    archived, flagged: ``Article.teaser``)."""
    found, signals = body
    if not found and signals["dropped_blocks"]:
        raise ExtractError(
            f"only boilerplate ({signals['dropped_blocks']} blocks, no body text): {url}", reason="boilerplate"
        )
    if not found:
        raise _no_body(root, html, url, profile, what)
    chars = int(signals["body_chars"])
    if chars < profile.min_body_chars:
        raise ExtractError(f"body too short ({chars} characters): {url}", reason="too_short")


def _no_body(root: Element, html: str, url: str, profile: Profile, what: str) -> ExtractError:
    if _says_not_article(root, html, profile):
        return ExtractError(f"not an article (gallery or section page): {url}", reason="not_article")
    return ExtractError(f"{what}: {url}", reason="no_body")


def _says_not_article(root: Element, html: str, profile: Profile) -> bool:
    """Whether the page shows the profile's not_article markers (a gallery slider, ``og:type website``)."""
    rule = profile.not_article
    return any(marker in html for marker in rule.text) or bool(
        rule.selectors and dom.select_first(root, ", ".join(rule.selectors)) is not None
    )
