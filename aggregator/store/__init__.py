"""The archive database behind one interface (``Store``, a typing.Protocol) and its backends:
``open_store`` chooses one from the database setting."""

from __future__ import annotations

from pathlib import Path

from aggregator.models import is_database_url
from aggregator.store.protocol import Store
from aggregator.store.records import (
    ARTICLE_COLUMNS,
    BackfillJob,
    EntryWork,
    FeedState,
    KeptPage,
    NewArticle,
    NewVersion,
    PollRecord,
    Revisited,
    RevisitOutcome,
    RevisitWork,
    Saved,
    WorkerBeat,
    iso,
    utc_now,
)

__all__ = [
    "ARTICLE_COLUMNS",
    "BackfillJob",
    "EntryWork",
    "FeedState",
    "KeptPage",
    "NewArticle",
    "NewVersion",
    "PollRecord",
    "RevisitOutcome",
    "RevisitWork",
    "Revisited",
    "Saved",
    "Store",
    "WorkerBeat",
    "is_database_url",
    "iso",
    "open_store",
    "utc_now",
]


def open_store(database: str | Path) -> Store:
    """The archive at ``database``: a PostgreSQL URL (``postgresql://`` or ``postgres://``), or
    else an SQLite file path."""
    if is_database_url(database):
        from aggregator.store.postgresql import PostgreSQLStore

        return PostgreSQLStore(str(database))
    from aggregator.store.sqlite import SQLiteStore

    return SQLiteStore(database)
