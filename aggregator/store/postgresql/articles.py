"""Articles and their text files' state: one article per canonical URL, its running number in its
folder given once, its text file marked written once it is on disk.

Concurrent writers: ``save_article`` takes an advisory lock on each of the article's URLs (in
one order, so two writers never wait for each other in a circle) before asking whether one is
archived, and a lock on the folder before giving the next running number, both held to the end
of its transaction: two writers saving one story make one article, and two stories of one folder
get two numbers."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any

from aggregator.document.render import document_relpath
from aggregator.store.postgresql.captures import add_capture, capture_row
from aggregator.store.postgresql.connection import Connection, Session, insert, update
from aggregator.store.postgresql.entries import article_for_url
from aggregator.store.postgresql.schema import ARTICLE_TABLE_COLUMNS, FOLDER_LOCKS, URL_LOCKS
from aggregator.store.postgresql.searching import ArticleFilter
from aggregator.store.records import NewArticle, Saved, iso, utc_now

#: NewArticle fields that are not columns of ``articles``
_NOT_COLUMNS = ("aliases", "article_id", "captures")
_EXTRACTED = ("title", "body", "document", "extractor", "published", "published_via", "date_flag", "teaser")


def lock_names(session: Session, namespace: int, names: list[str]) -> None:
    """Advisory locks on ``names`` (their hashes, in ascending order), held until the transaction ends."""
    rows = session.rows("SELECT DISTINCT hashtext(n) AS h FROM unnest(%s::text[]) AS n ORDER BY h", [names])
    for row in rows:
        session.value("SELECT pg_advisory_xact_lock(%s::int, %s::int)", [namespace, row["h"]])


class ArticleRows(Connection):
    def save_article(self, article: NewArticle, entry: tuple[str, str] | None) -> Saved:
        now = iso(utc_now())
        urls = list(dict.fromkeys((article.url, *article.aliases)))
        day = date.fromisoformat(article.day)
        path: str | None = None
        with self._write() as session:
            lock_names(session, URL_LOCKS, urls)
            existing = next(filter(None, (article_for_url(session, url) for url in urls)), None)
            article_id = existing or article.article_id
            if existing is None:
                folder = str(document_relpath(article.source, day, 0, article.article_id).parent)
                lock_names(session, FOLDER_LOCKS, [folder])
                seq = int(session.value("SELECT COALESCE(MAX(seq) + 1, 0) FROM articles WHERE folder = %s", [folder]))
                path = str(document_relpath(article.source, day, seq, article.article_id))
                record = {f.name: getattr(article, f.name) for f in fields(article) if f.name not in _NOT_COLUMNS}
                record["teaser"] = int(article.teaser)  # an integer column, 0/1, as in SQLite
                insert(session, "articles", {**record, "id": article_id, "folder": folder, "seq": seq, "path": path})
            for ref in article.captures:  # kept for an article archived meanwhile too: it is what was fetched
                add_capture(session, capture_row("page", ref, article_id=article_id))
            for url in urls:
                session.run(
                    "INSERT INTO article_urls (url, article_id, first_seen) VALUES (%s, %s, %s) "
                    "ON CONFLICT (url) DO NOTHING",
                    [url, article_id, now],
                )
            if entry is not None:
                session.run(
                    "UPDATE entries SET status = 'archived', article_id = %s, attempts = attempts + 1, "
                    "last_attempt_at = %s, last_error_reason = NULL, last_error = NULL "
                    "WHERE feed_id = %s AND key = %s",
                    [article_id, now, *entry],
                )
        return Saved(article_id, existing is None, path, article.document if existing is None else None)

    def articles_without_text(self) -> list[tuple[str, str, str]]:
        rows = self._rows("SELECT id, path, document FROM articles WHERE text_written_at IS NULL ORDER BY rowid")
        return [(r["id"], r["path"], r["document"]) for r in rows]

    def mark_text_written(self, *article_ids: str) -> None:
        if not article_ids:
            return
        with self._write() as session:
            session.run(
                "UPDATE articles SET text_written_at = %s WHERE id = ANY(%s)", [iso(utc_now()), list(article_ids)]
            )

    def article(self, article_id: str) -> dict[str, Any] | None:
        return self.reader.one(f"SELECT {', '.join(ARTICLE_TABLE_COLUMNS)} FROM articles WHERE id = %s", [article_id])

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
        with self._write() as session:
            update(session, "articles", article_id, {**values, "text_written_at": None})
