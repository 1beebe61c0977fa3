"""The read side: counts, articles one row at a time, full-text search (FTS5) and the checks
``doctor`` runs, all on the reading connection but the index rebuild."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from aggregator.errors import StoreError
from aggregator.store.records import ARTICLE_COLUMNS, TABLES
from aggregator.store.sqlite.connection import Connection

#: A search result's passage, its line breaks as spaces (``table``: the FTS5 table matched).
_SNIPPET = "replace(replace(snippet({table}, -1, ?, ?, '…', 24), char(10) || char(10), ' '), char(10), ' ') AS snippet"


class ReadSide(Connection):
    def count(self, table: str) -> int:
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        return int(self._rows(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])

    def iter_articles(
        self,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``source`` matches the source name (case-insensitive); ``since``/``until`` are ISO dates
        (YYYY-MM-DD), both inclusive, compared with the publication day in the publisher's zone."""
        columns = tuple(columns or ARTICLE_COLUMNS)
        unknown = [c for c in columns if c not in ARTICLE_COLUMNS]
        if unknown:
            raise StoreError(f"unknown article column {unknown[0]!r}")
        where, params = _article_filter(source, since, until)
        sql = f"SELECT {', '.join(f'a.{c}' for c in columns)} FROM articles a WHERE {where} ORDER BY a.rowid"
        try:
            for row in self.reader.execute(sql, params):
                yield dict(zip(columns, row, strict=True))
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: query failed: {exc}") from None

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
        """Every word of ``query`` must occur (words are quoted, so ``OR``/``NOT`` are plain words).
        Rows have the article's columns plus ``snippet``: the best passage, the matches between ``marks``."""
        match = self.db.quote_fts(query)
        if not match:
            raise StoreError("the search query has no words")
        where, params = _article_filter(source, since, until)
        start, end = marks
        # The latest text of every article, and every earlier version of an edited one: an article
        # is found by words that only an older version had, with that version's snippet.
        return self._rows(
            "WITH hits AS ("
            f"SELECT articles_fts.rowid AS r, articles_fts.rank AS rank, {_SNIPPET.format(table='articles_fts')} "
            "FROM articles_fts WHERE articles_fts MATCH ? "
            f"UNION ALL SELECT a.rowid, article_versions_fts.rank, {_SNIPPET.format(table='article_versions_fts')} "
            "FROM article_versions_fts JOIN article_versions v ON v.rowid = article_versions_fts.rowid "
            "JOIN articles a ON a.id = v.article_id WHERE article_versions_fts MATCH ?), "
            "best AS (SELECT r, MIN(rank) AS rank, snippet FROM hits GROUP BY r) "
            f"SELECT {', '.join(f'a.{c}' for c in ARTICLE_COLUMNS)}, best.snippet "
            f"FROM best JOIN articles a ON a.rowid = best.r WHERE {where} ORDER BY best.rank, a.published DESC LIMIT ?",
            [start, end, match, start, end, match, *params, limit],
        )

    def count_matches(
        self, query: str, *, source: str | None = None, since: str | None = None, until: str | None = None
    ) -> int:
        match = self.db.quote_fts(query)
        if not match:
            raise StoreError("the search query has no words")
        where, params = _article_filter(source, since, until)
        rows = self._rows(
            "SELECT COUNT(*) AS n FROM (SELECT rowid AS r FROM articles_fts WHERE articles_fts MATCH ? "
            "UNION SELECT a.rowid FROM article_versions_fts JOIN article_versions v "
            "ON v.rowid = article_versions_fts.rowid JOIN articles a ON a.id = v.article_id "
            f"WHERE article_versions_fts MATCH ?) hits JOIN articles a ON a.rowid = hits.r WHERE {where}",
            [match, match, *params],
        )
        return int(rows[0]["n"])

    def rebuild_fts(self) -> int:
        with self._write() as conn:
            for table in ("articles_fts", "article_versions_fts"):
                conn.execute(f"INSERT INTO {table}({table}) VALUES('rebuild')")
                conn.execute(f"INSERT INTO {table}({table}) VALUES('optimize')")
        return self.count("articles")

    def integrity_problems(self) -> list[str]:
        """``PRAGMA integrity_check`` and the full-text indexes' own checks against their content."""
        problems = [str(row[0]) for row in self.reader.execute("PRAGMA integrity_check").fetchall()]
        problems = [] if problems == ["ok"] else problems
        for table in ("articles_fts", "article_versions_fts"):
            try:
                with self._write() as conn:
                    # rank 1: the index compared with its content table, row by row (without it, FTS5
                    # only checks that the index is consistent with itself)
                    conn.execute(f"INSERT INTO {table}({table}, rank) VALUES('integrity-check', 1)")
            except StoreError as exc:
                problems.append(f"full-text index {table}: {exc} (run `aggregator fts-rebuild`)")
        return problems

    def dangling_entries(self) -> list[tuple[str, str, str]]:
        rows = self._rows(
            "SELECT feed_id, key, article_id FROM entries WHERE article_id IS NOT NULL "
            "AND article_id NOT IN (SELECT id FROM articles) ORDER BY feed_id, key"
        )
        return [(r["feed_id"], r["key"], r["article_id"]) for r in rows]


def _article_filter(source: str | None, since: str | None, until: str | None) -> tuple[str, list[Any]]:
    """SQL conditions on ``articles a`` for a source and an inclusive range of publication days."""
    clauses, params = ["1"], []
    for clause, value in (("a.source = ? COLLATE NOCASE", source), ("a.day >= ?", since), ("a.day <= ?", until)):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return " AND ".join(clauses), params
