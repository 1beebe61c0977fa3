"""Which configured feed a page belongs to, by its site: what a page fetched on its own (``aggregator
article``) takes its source, time zone and profile from."""

from __future__ import annotations

from collections.abc import Iterable

from aggregator.models import FeedSpec
from aggregator.urls import host_of, registrable_domain


def feed_for_page(feeds: Iterable[FeedSpec], url: str) -> FeedSpec | None:
    """The first feed whose URL has the page's host, else the first on the page's registrable domain
    (``www.tass.com`` ~ ``tass.com``), else None. Feeds are taken in feeds.yaml order."""
    host = host_of(url)
    if not host:
        return None
    feeds = tuple(feeds)
    same_host = next((feed for feed in feeds if host_of(feed.url) == host), None)
    if same_host is not None:
        return same_host
    domain = registrable_domain(host)
    return next((feed for feed in feeds if registrable_domain(host_of(feed.url)) == domain), None)


def site_source(url: str) -> str:
    """The source name of a page no configured feed covers: its host name without ``www.``, in
    Unicode when it is an IDNA name (``xn--80aswg.xn--p1ai`` -> ``сайт.рф``)."""
    host = host_of(url).removeprefix("www.")
    try:
        return host.encode("ascii").decode("idna") or host
    except UnicodeError:  # not a name IDNA can decode: shown as written
        return host
