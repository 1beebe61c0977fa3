"""The read side: counts, articles one row at a time, full-text search (FTS5) and the checks
``doctor`` runs, all on the reading connection but the index rebuild."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from aggregator.errors import StoreError
from aggregator.store.records import ARTICLE_COLUMNS, TABLES
from aggregator.store.sqlite.connection import Connection


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
        return self._rows(
            f"SELECT {', '.join(f'a.{c}' for c in ARTICLE_COLUMNS)}, "
            "replace(replace(snippet(articles_fts, -1, ?, ?, '…', 24), char(10) || char(10), ' '), char(10), ' ') "
            "AS snippet "
            "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
            f"WHERE articles_fts MATCH ? AND {where} ORDER BY articles_fts.rank, a.published DESC LIMIT ?",
            [start, end, match, *params, limit],
        )

    def rebuild_fts(self) -> int:
        with self._write() as conn:
            conn.execute("INSERT INTO articles_fts(articles_fts) VALUES('rebuild')")
            conn.execute("INSERT INTO articles_fts(articles_fts) VALUES('optimize')")
        return self.count("articles")

    def integrity_problems(self) -> list[str]:
        """``PRAGMA integrity_check`` and the full-text index's own check."""
        problems = [str(row[0]) for row in self.reader.execute("PRAGMA integrity_check").fetchall()]
        problems = [] if problems == ["ok"] else problems
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')")
        except StoreError as exc:
            problems.append(f"full-text index: {exc} (run `aggregator fts-rebuild`)")
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
