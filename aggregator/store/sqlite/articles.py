"""Articles, the captures of their pages and their text files' state: one article per canonical URL, its
running number in its folder given once, its text file marked written once it is on disk."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any

from aggregator.document.render import document_relpath
from aggregator.store.records import NewArticle, Saved, iso, utc_now
from aggregator.store.sqlite.captures import capture_row
from aggregator.store.sqlite.connection import Connection
from aggregator.store.sqlite.entries import article_for_url
from aggregator.store.sqlite.searching import ArticleFilter

#: NewArticle fields that are not columns of ``articles``
_NOT_COLUMNS = ("aliases", "article_id", "captures")
_EXTRACTED = ("title", "body", "document", "extractor", "published", "published_via", "date_flag", "teaser")


class ArticleRows(Connection):
    def save_article(self, article: NewArticle, entry: tuple[str, str] | None) -> Saved:
        now = iso(utc_now())
        urls = dict.fromkeys((article.url, *article.aliases))
        day = date.fromisoformat(article.day)
        path: str | None = None
        with self._write() as conn:
            existing = next(filter(None, (article_for_url(conn, url) for url in urls)), None)
            article_id = existing or article.article_id
            if existing is None:
                folder = str(document_relpath(article.source, day, 0, article.article_id).parent)
                seq = conn.execute(
                    "SELECT COALESCE(MAX(seq) + 1, 0) FROM articles WHERE folder = ?", [folder]
                ).fetchone()[0]
                path = str(document_relpath(article.source, day, seq, article.article_id))
                record = {f.name: getattr(article, f.name) for f in fields(article) if f.name not in _NOT_COLUMNS}
                self._insert("articles", {**record, "id": article_id, "folder": folder, "seq": seq, "path": path})
            for ref in article.captures:  # kept for an article archived meanwhile too: it is what was fetched
                self._insert("captures", capture_row("page", ref, article_id=article_id))
            for url in urls:
                conn.execute(
                    "INSERT OR IGNORE INTO article_urls (url, article_id, first_seen) VALUES (?, ?, ?)",
                    [url, article_id, now],
                )
            if entry is not None:
                conn.execute(
                    "UPDATE entries SET status = 'archived', article_id = ?, attempts = attempts + 1, "
                    "last_attempt_at = ?, last_error_reason = NULL, last_error = NULL WHERE feed_id = ? AND key = ?",
                    [article_id, now, *entry],
                )
        return Saved(article_id, existing is None, path, article.document if existing is None else None)

    def articles_without_text(self) -> list[tuple[str, str, str]]:
        rows = self._rows("SELECT id, path, document FROM articles WHERE text_written_at IS NULL ORDER BY rowid")
        return [(r["id"], r["path"], r["document"]) for r in rows]

    def mark_text_written(self, *article_ids: str) -> None:
        if not article_ids:
            return
        now = iso(utc_now())
        with self._write() as conn:
            for start in range(0, len(article_ids), 500):
                chunk = list(article_ids[start : start + 500])
                conn.execute(
                    f"UPDATE articles SET text_written_at = ? WHERE id IN ({', '.join('?' * len(chunk))})",
                    [now, *chunk],
                )

    def article(self, article_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM articles WHERE id = ?", [article_id])
        return rows[0] if rows else None

    def articles_to_reextract(
        self, *, source: str | None = None, since: str | None = None, until: str | None = None
    ) -> list[dict[str, Any]]:
        where, params = ArticleFilter(source, since=since, until=until).sql()
        return self._rows(
            "SELECT a.id, a.url, a.title, a.body, a.document, a.extractor, a.published, a.published_via, "
            "a.source, a.feed_id, a.fetched_at, a.path, a.teaser, "
            "(SELECT e.feed_published FROM entries e WHERE e.article_id = a.id ORDER BY e.first_seen LIMIT 1) "
            "AS feed_published, "
            "(SELECT MIN(e.first_seen) FROM entries e WHERE e.article_id = a.id) AS first_seen "
            f"FROM articles a WHERE {where} ORDER BY a.rowid",
            params,
        )

    def update_extraction(self, article_id: str, fields: dict[str, Any]) -> None:
        values = {name: fields[name] for name in _EXTRACTED if name in fields}
        with self._write():
            self._update("articles", article_id, {**values, "text_written_at": None})
