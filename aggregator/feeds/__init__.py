"""Feed documents -> entries (the only feedparser user); pure functions of bytes and headers."""

from __future__ import annotations

from aggregator.feeds.parse import parse_feed

__all__ = ["parse_feed"]
