"""feeds.yaml: reading and validating it, editing it in place, OPML in and out, the feed
a page belongs to."""

from __future__ import annotations

from aggregator.config.load import AUTO_SITEMAPS, find_config, load_config, parse_config
from aggregator.config.sites import feed_for_page, site_source

__all__ = ["AUTO_SITEMAPS", "feed_for_page", "find_config", "load_config", "parse_config", "site_source"]
