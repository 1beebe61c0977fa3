"""Everything that talks to the network (the only httpx and httpcore user): the fetcher, its
transport and sockets, the SSRF guard and proxy choice, URL checks, retries, bodies under a size
cap, content decoding and cookies.

``Fetcher`` is the client; ``FEED_ACCEPT`` and ``PAGE_ACCEPT`` are the Accept headers to ask for a
feed and for an article page; ``parse_retry_after`` reads a Retry-After header.
"""

from __future__ import annotations

from aggregator.fetch.fetcher import Fetcher
from aggregator.fetch.headers import FEED_ACCEPT, PAGE_ACCEPT
from aggregator.fetch.responses import parse_retry_after

__all__ = ["FEED_ACCEPT", "PAGE_ACCEPT", "Fetcher", "parse_retry_after"]
