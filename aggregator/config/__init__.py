"""feeds.yaml: reading and validating it, editing it in place, OPML in and out."""

from __future__ import annotations

from aggregator.config.load import AUTO_SITEMAPS, find_config, load_config, parse_config

__all__ = ["AUTO_SITEMAPS", "find_config", "load_config", "parse_config"]
