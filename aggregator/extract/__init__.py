"""Page bytes -> Article: the site profiles and the generic extractor applied to the tree; no I/O.

``extract_article`` is the package's public face (``article``: the flow and its gates); the steps
are ``blocked`` (challenge, consent, paywall), ``locate`` (container, headline, meta, canonical
URL), ``published`` (the time), ``body`` (paragraphs and their signals) and ``generic`` (the
generic profile's fallback and second opinion).
"""

from __future__ import annotations

from aggregator.extract.article import extract_article

__all__ = ["extract_article"]
