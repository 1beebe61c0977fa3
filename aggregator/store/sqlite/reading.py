"""The read side: counts, articles one row at a time, full-text search (FTS5) and the checks
``doctor`` runs, all on the reading connection but the index rebuild."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from aggregator.errors import StoreError
from aggregator.profiles.model import VIA
from aggregator.store.query import RANK_WINDOW
from aggregator.store.records import ARTICLE_COLUMNS, TABLES
from aggregator.store.sqlite.connection import Connection
from aggregator.store.sqlite.searching import ArticleFilter, count_statement, match_in, search_statement

#: Every distinct ``articles.extractor``, one index seek each (a loose index scan).
_EXTRACTORS = (
    "extractors(name) AS (SELECT MIN(extractor) FROM articles UNION ALL "
    "SELECT (SELECT MIN(extractor) FROM articles WHERE extractor > name) FROM extractors WHERE name IS NOT NULL)"
)


class ReadSide(Connection):
    #: the last search's FTS5 expression: (query, whether its filter narrows, data_version, match)
    _last_match: tuple[str, bool, int, str] | None = None
    #: the last search's count: (match, filter, data_version, count); a count above RANK_WINDOW
    #: (RANK_WINDOW + 1) only says that more match than the window
    _last_count: tuple[str, ArticleFilter, int, int] | None = None

    def profile_drift(self) -> dict[str, dict[str, int]]:
        """Articles archived through the fallback (extractor ``generic@7 via tass@2019``), by feed and
        by the site profile that found no body: the alarm that a profile needs fixing."""
        # The distinct extractors are found by hopping along their index (a few dozen seeks, not
        # a scan of every article), then only the fallback's articles are counted, on that index.
        rows = self._rows(
            f"WITH RECURSIVE {_EXTRACTORS} "
            "SELECT feed_id, substr(extractor, instr(extractor, ?) + ?) AS profile, COUNT(*) AS articles "
            "FROM articles WHERE extractor IN (SELECT name FROM extractors WHERE instr(name, ?) > 0) "
            "GROUP BY feed_id, profile ORDER BY feed_id, profile",
            [VIA, len(VIA), VIA],
        )
        drift: dict[str, dict[str, int]] = {}
        for row in rows:
            drift.setdefault(row["feed_id"] or "", {})[row["profile"]] = int(row["articles"])
        return drift

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
        where, params = ArticleFilter(source, since=since, until=until).sql()
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
        """``query`` in the search language of ``store.query`` (raises InvalidQuery when it has no
        word). Rows have the article's columns plus ``snippet``: the best passage, the matches
        between ``marks``."""
        where = ArticleFilter(source, since=since, until=until)
        match, version = self._match(query, where)
        sql, params = search_statement(
            match, ARTICLE_COLUMNS, where, limit=limit, marks=marks, window=RANK_WINDOW, counted=True
        )
        rows = self._rows(sql, params)
        matched = [row.pop("matched") for row in rows][:1]
        # a search counts its matches as it ranks them (every one, or "more than the window"):
        # its count is not searched again
        self._last_count = (match, where, version, int(matched[0])) if matched and matched[0] is not None else None
        return rows

    def count_matches(
        self,
        query: str,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        at_most: int | None = None,
    ) -> int:
        where = ArticleFilter(source, since=since, until=until)
        match, version = self._match(query, where)
        last = self._last_count
        if last is not None and last[:3] == (match, where, version):
            count = last[3]
            if count <= RANK_WINDOW:  # every match counted
                return count if at_most is None else min(count, at_most + 1)
            if at_most is not None and at_most <= RANK_WINDOW:  # more than the window: more than at_most
                return at_most + 1
        sql, params = count_statement(match, where, at_most=at_most)
        return int(self._rows(sql, params)[0]["n"])

    def _match(self, query: str, where: ArticleFilter) -> tuple[str, int]:
        """``match_in`` for ``query`` and ``where``, and the archive's ``PRAGMA data_version``
        (it changes with every commit of another connection); the last one is kept while the
        archive is unchanged, so a search and its count read the prefixes' words once."""
        try:
            version = self.reader.execute("PRAGMA data_version").fetchone()[0]
            last = self._last_match
            if last is not None and last[:3] == (query, where.narrows, version):
                return last[3], int(version)
            match = match_in(self.reader, query, where)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: query failed: {exc}") from None
        self._last_match = (query, where.narrows, int(version), match)
        return match, int(version)

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
