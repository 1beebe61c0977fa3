"""Signs of an anti-bot interstitial (Cloudflare, DDoS-Guard, "Checking your browser"), in one table.

Two layers must tell such a page from content: extraction (a page that gave no article) and feed
parsing (an HTML page where a feed was expected). Both ask this module, so a marker learnt from one
such page is known to both.

A title is a strong sign, believed on any page; the markers in a page's source are weak ones that
real pages can carry too (Cloudflare's challenge-platform script on an ordinary article), to be
believed only when the page gave nothing else.
"""

from __future__ import annotations

import re

#: Titles of interstitials, matched whole on the collapsed title; narrow on purpose.
_CHALLENGE_TITLE = re.compile(
    r"just a moment\.*|attention required!? \| cloudflare|ddos-guard|checking your browser before accessing\b.*",
    re.IGNORECASE,
)
#: Markers in the page source (regular expression sources, matched case-insensitively).
_CHALLENGE_MARKERS = (
    r"cf-browser-verification",
    r"_cf_chl",
    r"cf_chl_opt",
    r"cf-challenge",
    r"challenge-platform",
    r"id=[\"']challenge-form",
    r"ddos-guard",
    r"checking your browser",
    r"enable javascript and cookies to continue",
)
_MARKERS_TEXT = re.compile("|".join(_CHALLENGE_MARKERS), re.IGNORECASE)
_MARKERS_BYTES = re.compile("|".join(_CHALLENGE_MARKERS).encode("ascii"), re.IGNORECASE)


def is_challenge_title(title: str) -> bool:
    """True when ``title`` (whitespace collapsed) is an interstitial's own title."""
    return bool(_CHALLENGE_TITLE.fullmatch(title))


def has_challenge_markers(source: str | bytes) -> bool:
    """True when the page source (text, or undecoded bytes) holds a challenge marker."""
    if isinstance(source, bytes):
        return bool(_MARKERS_BYTES.search(source))
    return bool(_MARKERS_TEXT.search(source))
