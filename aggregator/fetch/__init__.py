"""Everything that talks to the network: the fetcher, its transport and sockets, the SSRF guard and proxy
choice, content decoding and cookies (the only httpx and httpcore user)."""

from __future__ import annotations

from aggregator.fetch.fetcher import Fetcher, parse_retry_after

__all__ = ["Fetcher", "parse_retry_after"]
