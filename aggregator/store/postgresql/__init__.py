"""The PostgreSQL backend of the store (psycopg is imported by ``connection`` alone), split as the
SQLite backend is, by what it stores: the schema, the feeds and polls, the entries, backfill and
gaps, the articles, the captures, revisits and versions, the workers and their claims, and the
read side. Many workers may share one database: their claims in it keep them apart."""

from __future__ import annotations

from aggregator.store.postgresql.articles import ArticleRows
from aggregator.store.postgresql.backfill import BackfillRows
from aggregator.store.postgresql.captures import CaptureRows
from aggregator.store.postgresql.connection import public_url
from aggregator.store.postgresql.entries import EntryRows
from aggregator.store.postgresql.feeds import FeedRows
from aggregator.store.postgresql.reading import ReadSide
from aggregator.store.postgresql.schema import SCHEMA_VERSION
from aggregator.store.postgresql.versions import RevisitRows
from aggregator.store.postgresql.workers import WorkerRows

__all__ = ["SCHEMA_VERSION", "PostgreSQLStore", "public_url"]


class PostgreSQLStore(FeedRows, EntryRows, BackfillRows, ArticleRows, CaptureRows, RevisitRows, WorkerRows, ReadSide):
    """An archive in a PostgreSQL database, named by its URL (``postgresql://user@host/db``)."""

    def __enter__(self) -> PostgreSQLStore:
        return self
