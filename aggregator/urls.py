"""Canonical URLs and article identity (the only user of url-normalize and publicsuffixlist).

Normalisation itself (case, default ports, percent-encoding, dot segments, IDNA) is
url-normalize's job; this module adds what an archive needs on top: tracking parameters, the
fragment and credentials (``user:pass@``) removed, "same site" by registrable domain, and the
16-hex id of FORMAT.md.

URLs come from servers, so none is trusted: ``canonical_url`` returns a URL or raises
``InvalidURL`` (an unbalanced ``[``, a port out of range, an empty or over-long host label, a host
that IDNA cannot encode, a lone surrogate, control characters or spaces in the host, a URL longer
than ``MAX_URL_CHARS``); ``is_http_url``, ``usable_http_url``, ``written_as_http``, ``host_of``,
``same_site`` and ``registrable_domain`` never raise. Every layer asks this module whether a link is
an http(s) URL, so the answer is decided once.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit

from publicsuffixlist import PublicSuffixList
from url_normalize import url_normalize

from aggregator.errors import InvalidURL
from aggregator.text import UNPRINTABLE, one_line

#: Query parameters that only track the reader: exact names and name prefixes.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "ysclid", "twclid", "igshid",
        "mc_cid", "mc_eid", "_ga", "_gl", "ocid", "cmpid", "ncid", "sr_share", "rss", "ref_src",
        "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
        "spm", "share", "smid", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "wt_mc",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_", "itm_", "wt.")

#: The longest URL accepted, before and after normalisation (what common servers accept in a
#: request line); a canonical URL is at most this long, so it is always accepted again.
MAX_URL_CHARS = 8192
#: How many ``canonical_url`` answers are remembered (a few MB at most).
CANONICAL_CACHE = 8192
#: DNS limits (RFC 1035): a host name of at most 253 characters, labels of 1 to 63.
MAX_HOST_CHARS = 253
#: A normalised (ASCII) host name: labels of letters, digits, "-" and "_".
_HOST = re.compile(r"(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}", re.ASCII)
_IP_LITERAL = re.compile(r"\[[^\[\]]*\](?::[0-9]*)?")
#: Never valid in a canonical URL (url-normalize percent-encodes them outside the host).
_UNSAFE = re.compile(r"[\x00-\x20\x7f\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SHOWN_CHARS = 120
_HTTP_SCHEMES = ("http", "https")

_psl = PublicSuffixList()


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


@lru_cache(maxsize=CANONICAL_CACHE)
def canonical_url(url: str, base: str | None = None) -> str:
    """Normalise ``url`` (made absolute against ``base``), drop tracking parameters, the fragment and
    any ``user:password@``; InvalidURL (one line naming the URL) when it cannot be normalised.
    Remembered for the last ``CANONICAL_CACHE`` URLs: a story shown by many feeds (or by one feed
    poll after poll) is normalised once (url-normalize and IDNA cost a tenth of a millisecond)."""
    _check_length(url, url)
    if _SURROGATE.search(url) or (base and _SURROGATE.search(base)):
        raise _invalid(url, base, "a lone surrogate (not text)")
    try:
        joined = urljoin(base, url.strip()) if base else url.strip()
        _check_length(joined, url)
        _check_host(urlsplit(joined).hostname or "")
        normalized = url_normalize(joined) or joined
        parts = urlsplit(normalized)
        netloc = _checked_netloc(parts)
    except ValueError as exc:  # urllib's and IDNA's (UnicodeError is a ValueError): bad brackets, labels
        raise _invalid(url, base, _describe(exc)) from None
    kept = [pair for pair in parts.query.split("&") if pair and not is_tracking_param(unquote(pair.split("=")[0]))]
    canonical = urlunsplit((parts.scheme, netloc, parts.path or "/", "&".join(kept), ""))
    if _UNSAFE.search(canonical):
        raise _invalid(url, base, "control character, space or lone surrogate")
    _check_length(canonical, url)
    return canonical


def _check_length(text: str, url: str) -> None:
    if len(text) > MAX_URL_CHARS:
        raise _invalid(url, None, f"longer than {MAX_URL_CHARS} characters ({len(text)})")


def _check_host(host: str) -> None:
    """The host as written: an empty label (``a..com``, ``.a.com``) or a space or control character
    in it is an error, not something url-normalize may drop."""
    if ".." in host or host.startswith("."):
        raise ValueError(f"empty label in host {_shown(host)}")
    if _UNSAFE.search(host):
        raise ValueError(f"bad host name {_shown(host)}")


def _checked_netloc(parts: SplitResult) -> str:
    """The authority without userinfo, once its host and port are known to be valid (else ValueError)."""
    _check_port(parts)
    hostport = parts.netloc.rpartition("@")[2]
    if hostport.startswith("["):  # an IP literal, which urlsplit has checked, then only a port
        if not _IP_LITERAL.fullmatch(hostport):
            raise ValueError(f"text after the IP literal in {_shown(hostport)}")
        return hostport
    host, colon, port = hostport.partition(":")
    host = host.removesuffix(".")  # "example.com." is "example.com", as url-normalize has it for http
    if not host and (parts.scheme in _HTTP_SCHEMES or parts.geturl().startswith(f"{parts.scheme}://")):
        raise ValueError("no host")  # an authority ("//") with no host in it: ftp://@/x, file:///x
    if host and not _is_host_name(host):
        raise ValueError(f"bad host name {_shown(host)}")
    return host + colon + port


def _check_port(parts: SplitResult) -> None:
    """ValueError unless the port, if any, is a number in 0-65535 (urllib's ``port`` raises it too)."""
    if parts.port is not None and not 0 <= parts.port <= 65535:
        raise ValueError(f"port out of range: {parts.port}")


def _is_host_name(host: str) -> bool:
    """A normalised (lower-case ASCII) host name within the DNS limits, no label empty."""
    return len(host) <= MAX_HOST_CHARS and bool(_HOST.fullmatch(host))


def _invalid(url: str, base: str | None, why: str) -> InvalidURL:
    against = f" (against {_shown(base)})" if base else ""
    return InvalidURL(f"invalid URL {_shown(url)}{against}: {why}")


def _shown(text: str) -> str:
    """``text`` quoted for a one-line message: control characters and surrogates escaped, shortened."""
    shown = UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text[:_SHOWN_CHARS])
    if len(shown) > _SHOWN_CHARS or len(text) > _SHOWN_CHARS:
        shown = f"{shown[:_SHOWN_CHARS]}… ({len(text)} characters)"
    return f"'{shown}'"


def _describe(exc: Exception) -> str:
    return one_line(str(exc))[:200] or type(exc).__name__


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # an unbalanced "[" or a bad IP literal
        return None


def usable_http_url(url: str) -> bool:
    """True when ``url`` is an absolute http(s) URL that ``canonical_url`` accepts.

    Decided without normalising in the common case (ASCII, at most a third of MAX_URL_CHARS, a host
    name): percent-encoding then keeps it under the limit, and such a host normalises when its
    labels are valid. Anything else is asked of ``canonical_url`` itself."""
    url = url.strip()  # as canonical_url does
    parts = _split(url)
    if parts is None or parts.scheme not in _HTTP_SCHEMES or not parts.hostname:
        return False
    if not url.isascii() or 3 * len(url) > MAX_URL_CHARS or "[" in parts.netloc:
        try:
            return is_http_url(canonical_url(url))
        except InvalidURL:
            return False
    try:
        _check_port(parts)
    except ValueError:
        return False
    return _is_host_name(parts.hostname.removesuffix("."))


def without_credentials(url: str) -> str:
    """``url`` without a ``user:password@`` in its authority, otherwise as written: credentials in
    a link someone else wrote are never stored, and never sent (httpx would send them as Basic auth)."""
    parts = _split(url)
    if parts is None or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def is_http_url(url: str) -> bool:
    """True when ``url`` parses as an http(s) URL with a host (not that ``canonical_url`` accepts it)."""
    parts = _split(url)
    return parts is not None and parts.scheme in _HTTP_SCHEMES and bool(parts.hostname)


def written_as_http(url: str) -> bool:
    """True when ``url`` starts with an ``http:`` or ``https:`` scheme (any case), whether or not the
    rest is a URL: a link that means to be a web address, even when it is a broken one."""
    return url[:6].lower().startswith(("http:", "https:"))


def host_of(url: str) -> str:
    """The URL's host name in lower case; ``""`` when it has none or cannot be parsed."""
    parts = _split(url)
    return (parts.hostname or "").lower() if parts is not None else ""


def registrable_domain(host: str) -> str:
    """``news.bbc.co.uk`` -> ``bbc.co.uk``; an IP address or a bare name stays as it is."""
    host = host.lower().rstrip(".")
    if len(host) > MAX_HOST_CHARS:  # no such host in DNS; kept out of the cache, whose entries stay small
        return host
    return _registrable(host)


@lru_cache(maxsize=4096)
def _registrable(host: str) -> str:
    if ":" in host or host.replace(".", "").isdigit():  # IPv6, IPv4: no public suffix applies
        return host
    return _psl.privatesuffix(host) or host


def same_site(a: str, b: str) -> bool:
    """True when both URLs are on the same registrable domain (``www.tass.com`` ~ ``tass.com``)."""
    host_a, host_b = host_of(a), host_of(b)
    return bool(host_a) and registrable_domain(host_a) == registrable_domain(host_b)


def url_hash16(url: str) -> str:
    """The archive id: the first 16 hex digits of SHA-256 of the canonical URL."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def is_section_of(final: str, original: str) -> bool:
    """True when ``final`` (where a request for the article ``original`` ended) is a section or the
    front page of its site: same site, a path that is a proper prefix of the article's, segment by
    segment (``/politics/1189047`` -> ``/politics/`` or ``/``). How sites answer for a story they
    took down without a 404."""
    a, b = _split(final), _split(original)
    if a is None or b is None or not same_site(final, original):
        return False
    section = [part for part in a.path.split("/") if part]
    article = [part for part in b.path.split("/") if part]
    return len(section) < len(article) and article[: len(section)] == section
