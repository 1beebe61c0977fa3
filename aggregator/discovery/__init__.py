"""Finding the URLs a feed no longer shows: its sitemaps (indexes followed, gzipped parts read,
Google News and ``lastmod`` understood) and the Wayback Machine's CDX index, over a window of
days, with the feed's include/exclude patterns; and the Wayback capture of a page the live site
no longer serves. Every request goes through the fetcher (SSRF guard, size caps, robots.txt,
the backfill pace), as ``background`` requests.
"""

from __future__ import annotations

from aggregator.discovery.candidates import Candidate, Window
from aggregator.discovery.enumerate import Found, enumerate_sources
from aggregator.discovery.wayback import fetch_capture

__all__ = ["Candidate", "Found", "Window", "enumerate_sources", "fetch_capture"]
