"""The read side: counts, articles a page at a time, full-text search and the checks ``doctor``
runs, all on the reading connection."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from aggregator.errors import StoreError
from aggregator.profiles.model import VIA
from aggregator.store.postgresql.connection import Connection
from aggregator.store.postgresql.schema import SCHEMA_VERSION, schema_version
from aggregator.store.postgresql.searching import ArticleFilter, count_statement, search_statement
from aggregator.store.records import ARTICLE_COLUMNS, TABLES

#: how many articles ``iter_articles`` reads at a time
_PAGE = 500


class ReadSide(Connection):
    def profile_drift(self) -> dict[str, dict[str, int]]:
        """Articles archived through the fallback (extractor ``generic@3 via tass@2019``), by feed and
        by the site profile that found no body."""
        rows = self._rows(
            "SELECT feed_id, substr(extractor, strpos(extractor, %s) + %s) AS profile, COUNT(*) AS articles "
            "FROM articles WHERE strpos(extractor, %s) > 0 GROUP BY feed_id, profile ORDER BY feed_id, profile",
            [VIA, len(VIA), VIA],
        )
        drift: dict[str, dict[str, int]] = {}
        for row in rows:
            drift.setdefault(row["feed_id"] or "", {})[row["profile"]] = int(row["articles"])
        return drift

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        return int(self.reader.value(f"SELECT COUNT(*) AS n FROM {table}"))

    def iter_articles(
        self,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``source`` matches the source name (case-insensitive); ``since``/``until`` are ISO dates
        (YYYY-MM-DD), both inclusive. Read a page of rows at a time, in the order archived."""
        columns = tuple(columns or ARTICLE_COLUMNS)
        unknown = [c for c in columns if c not in ARTICLE_COLUMNS]
        if unknown:
            raise StoreError(f"unknown article column {unknown[0]!r}")
        where, params = ArticleFilter(source, since=since, until=until).sql()
        sql = (
            f"SELECT a.rowid AS rowid_, {', '.join(f'a.{c}' for c in columns)} FROM articles a "
            f"WHERE {where} AND a.rowid > %s ORDER BY a.rowid LIMIT {_PAGE}"
        )
        last = 0
        while True:
            rows = self._rows(sql, [*params, last])
            for row in rows:
                last = row.pop("rowid_")
                yield row
            if len(rows) < _PAGE:
                return

    def search(
        self,
        query: str,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 20,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[dict[str, Any]]:
        sql, params = search_statement(
            query, ARTICLE_COLUMNS, ArticleFilter(source, since=since, until=until), limit=limit, marks=marks
        )
        return self._rows(sql, params)

    def count_matches(
        self,
        query: str,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        at_most: int | None = None,
    ) -> int:
        sql, params = count_statement(query, ArticleFilter(source, since=since, until=until), at_most=at_most)
        return int(self.reader.value(sql, params))

    def rebuild_fts(self) -> int:
        """The search column is generated from each row's text: it cannot drift, so there is
        nothing to rebuild. Returns how many articles it covers, as SQLite's rebuild does."""
        return self.count("articles")

    def integrity_problems(self) -> list[str]:
        """What PostgreSQL can check cheaply: the schema is this aggregator's, and no index of the
        archive is invalid (a failed concurrent build). The rest (foreign keys, the search
        column) the server keeps true by itself."""
        problems = []
        version = schema_version(self.reader)
        if version != SCHEMA_VERSION:
            problems.append(f"schema version {version}, expected {SCHEMA_VERSION}")
        rows = self._rows(
            "SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT (i.indisvalid AND i.indisready) ORDER BY 1"
        )
        problems += [f"index {row['name']} is invalid (REINDEX it)" for row in rows]
        return problems

    def dangling_entries(self) -> list[tuple[str, str, str]]:
        rows = self._rows(
            "SELECT feed_id, key, article_id FROM entries e WHERE article_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = e.article_id) ORDER BY feed_id, key"
        )
        return [(r["feed_id"], r["key"], r["article_id"]) for r in rows]
