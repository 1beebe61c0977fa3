"""aggregator: archive news agency feeds into SQLite and plain-text documents."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "extract_article"]


def __getattr__(name: str) -> Any:
    # The public entry point is imported lazily so that `import aggregator.models` stays cheap.
    if name == "extract_article":
        from aggregator.extract.article import extract_article

        return extract_article
    raise AttributeError(name)
