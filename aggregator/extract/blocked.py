"""Pages that stand in for the article: anti-bot challenges, consent walls, paywall teasers.

Each is told apart here so that it fails with its own reason (``challenge``, ``consent``,
``paywall``) instead of being archived as an article, or reported as a page without a body.
Challenge and consent pages are recognised first by their title or host, strong signs believed
on any page; markers that real articles can carry too (Cloudflare's challenge-platform script, a
cookie banner) are believed only when the page has no article to give. A paywall is believed only
for a teaser-sized body: a subscriber's full page is an article.
"""

from __future__ import annotations

import re

from aggregator.errors import ExtractError
from aggregator.html import dom
from aggregator.html.dom import Element
from aggregator.html.markers import has_challenge_markers, is_challenge_title
from aggregator.urls import host_of

_CONSENT_TITLE = re.compile(r"before you continue\b.*", re.IGNORECASE)
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
MAYBE_BLOCKED = frozenset({"no_body", "too_short", "no_title"})
#: A paywall is believed only when the body is shorter than this: a subscriber's full page is an article.
TEASER_MAX_CHARS = 1000
_NOT_FREE = re.compile(r""""isAccessibleForFree"\s*:\s*"?false\b""", re.IGNORECASE)
_PAYWALL_MARKERS = re.compile(
    r"""(?:class|id)=["'][^"']*\b(?:paywall|paywalled|meteredContent|subscriber-only|premium-only)\b"""
    r"|subscribe (?:now )?to (?:continue|keep) reading|for subscribers only|already a subscriber\?"
    r"|to continue reading,? (?:please )?(?:subscribe|log in|sign in)",
    re.IGNORECASE,
)


def raise_if_blocked_page(page_title: str, url: str) -> None:
    """Strong signs, believed even on a page with text: the interstitial's own title or host."""
    if is_challenge_title(page_title):
        raise ExtractError(f"anti-bot challenge page ({page_title!r}): {url}", reason="challenge")
    if host_of(url).startswith("consent.") or _CONSENT_TITLE.fullmatch(page_title):
        raise ExtractError(f"consent wall ({page_title!r}): {url}", reason="consent")


def raise_if_blocking_markers(root: Element, html: str, url: str) -> None:
    """Weak signs, believed only for a page that gave no article."""
    if has_challenge_markers(html):
        raise ExtractError(f"anti-bot challenge markers and no article: {url}", reason="challenge")
    if dom.select_first(root, _CONSENT_FRAME) is not None or _consent_dominated(root):
        raise ExtractError(f"consent wall and no article: {url}", reason="consent")


def _consent_dominated(root: Element) -> bool:
    text = " ".join(dom.visible_strings(root, _INVISIBLE))
    hits = len(_CONSENT_WORDS.findall(text))
    return hits >= _CONSENT_MIN_HITS and hits >= _CONSENT_SHARE * len(text.split())


def is_teaser(body_chars: int, html: str) -> bool:
    """A body this short on a page that says it is not free (JSON-LD ``isAccessibleForFree: false``)
    or shows a paywall marker."""
    return body_chars < TEASER_MAX_CHARS and bool(_NOT_FREE.search(html) or _PAYWALL_MARKERS.search(html))
