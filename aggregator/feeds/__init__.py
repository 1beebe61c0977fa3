"""Feed documents -> entries (the only feedparser user); pure functions of bytes and headers.

``parse_feed`` is the package's public face: ``sniff`` and ``structure`` check a body before the
parser sees it, ``parse`` calls feedparser, ``entries`` reads the entries it found.
"""

from __future__ import annotations

from aggregator.feeds.parse import FeedScan, parse_feed, parse_new_items, parse_remainder, scan_feed

__all__ = ["FeedScan", "parse_feed", "parse_new_items", "parse_remainder", "scan_feed"]
