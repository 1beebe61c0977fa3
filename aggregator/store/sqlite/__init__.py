"""The SQLite backend of the store (the only sqlite3 and sqlite-utils user), split by what it
stores: the schema, the feeds and polls, the entries, backfill and gaps, the articles, the
captures, revisits and versions, the workers and their claims, and the read side."""

from __future__ import annotations

from aggregator.store.sqlite.articles import ArticleRows
from aggregator.store.sqlite.backfill import BackfillRows
from aggregator.store.sqlite.captures import CaptureRows
from aggregator.store.sqlite.entries import EntryRows
from aggregator.store.sqlite.feeds import FeedRows
from aggregator.store.sqlite.reading import ReadSide
from aggregator.store.sqlite.schema import SCHEMA_VERSION
from aggregator.store.sqlite.versions import RevisitRows
from aggregator.store.sqlite.workers import WorkerRows

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]


class SQLiteStore(FeedRows, EntryRows, BackfillRows, ArticleRows, CaptureRows, RevisitRows, WorkerRows, ReadSide):
    """An archive in one SQLite file (WAL mode)."""

    def __enter__(self) -> SQLiteStore:
        return self
