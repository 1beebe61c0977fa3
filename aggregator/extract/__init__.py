"""Page bytes -> Article: the generic extractor and the site profiles applied to the tree; no I/O."""

from __future__ import annotations

from aggregator.extract.article import extract_article

__all__ = ["extract_article"]
