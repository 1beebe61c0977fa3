"""aggregator: archive news agency feeds into SQLite and plain-text documents.

The public API, for scripts and notebooks (the command line is built on the same names):

* ``load_config(path)`` -> ``Config``: a feeds.yaml read and checked.
* ``open_store(database)`` -> ``Store``: the archive, through its interface.
* ``Fetcher(settings)`` and ``Archiver(settings, store, fetcher)``: one refresh of some feeds
  (``await archiver.fetch_all(config.feeds)``).
* ``parse_feed(content, url=...)``, ``extract_article(html, url)``, ``render_document(...)``: the
  pure stages, bytes and strings in, records and text out.
* ``AggregatorError``: the base of everything the package raises.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: each public name -> the module that defines it; imported on first use, so that importing one
#: layer (``aggregator.models``, say) does not load them all
_PUBLIC = {
    "AggregatorError": "aggregator.errors",
    "Archiver": "aggregator.pipeline.archiver",
    "Fetcher": "aggregator.fetch",
    "extract_article": "aggregator.extract",
    "load_config": "aggregator.config",
    "open_store": "aggregator.store",
    "parse_feed": "aggregator.feeds",
    "render_document": "aggregator.document",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'aggregator' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
