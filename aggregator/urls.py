"""Canonical URLs and article identity (the only user of url-normalize and publicsuffixlist).

Normalisation itself (case, default ports, percent-encoding, dot segments, IDNA) is
url-normalize's job; this module adds what an archive needs on top: tracking parameters and
fragments removed, "same site" by registrable domain, and the 16-hex id of FORMAT.md.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from publicsuffixlist import PublicSuffixList
from url_normalize import url_normalize

#: Query parameters that only track the reader: exact names and name prefixes.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "ysclid", "twclid", "igshid",
        "mc_cid", "mc_eid", "_ga", "_gl", "ocid", "cmpid", "ncid", "sr_share", "rss", "ref_src",
        "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
        "spm", "share", "smid", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "wt_mc",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_", "itm_", "wt.")

_psl = PublicSuffixList()


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str, base: str | None = None) -> str:
    """Normalise ``url`` (made absolute against ``base``), drop tracking parameters and the fragment."""
    if base:
        url = urljoin(base, url.strip())
    normalized = url_normalize(url.strip()) or url.strip()
    parts = urlsplit(normalized)
    kept = [pair for pair in parts.query.split("&") if pair and not is_tracking_param(unquote(pair.split("=")[0]))]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "&".join(kept), ""))


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@lru_cache(maxsize=4096)
def registrable_domain(host: str) -> str:
    """``news.bbc.co.uk`` -> ``bbc.co.uk``; an IP address or a bare name stays as it is."""
    host = host.lower().rstrip(".")
    return _psl.privatesuffix(host) or host


def same_site(a: str, b: str) -> bool:
    """True when both URLs are on the same registrable domain (``www.tass.com`` ~ ``tass.com``)."""
    host_a, host_b = host_of(a), host_of(b)
    return bool(host_a) and registrable_domain(host_a) == registrable_domain(host_b)


def url_hash16(url: str) -> str:
    """The archive id: the first 16 hex digits of SHA-256 of the canonical URL."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
