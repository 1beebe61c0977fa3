"""The SQLite backend's own particulars: its schema, its journal, its numbering and its index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.errors import StoreError
from aggregator.models import FeedSpec
from aggregator.store.sqlite import SCHEMA_VERSION, SQLiteStore
from tests.helpers.stores import FEED
from tests.helpers.stores import new_article as article


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "a.db") as opened:
        opened.sync_feeds([FEED])
        yield opened


def test_schema_is_versioned_and_in_wal_mode(store: SQLiteStore) -> None:
    assert store.schema_version == SCHEMA_VERSION == 12
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert set(store.db.table_names()) >= {"feeds", "articles", "article_urls", "entries", "polls", "captures"}
    assert "pages" not in store.db.table_names()  # a new archive keeps its pages in WARC files only


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        SQLiteStore(path)


def test_a_file_that_is_no_database_is_one_store_error(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the archive database"):
        SQLiteStore(path)


def test_running_numbers_are_per_folder_and_contiguous(store: SQLiteStore) -> None:
    for n in range(3):
        store.save_article(article(f"https://tass.com/{n}", f"{n}" * 16), None)
    rows = store.db.execute("SELECT folder, seq FROM articles ORDER BY seq").fetchall()
    assert rows == [("tass/2020-08-13", 0), ("tass/2020-08-13", 1), ("tass/2020-08-13", 2)]


def test_bookkeeping_leaves_the_full_text_index_alone(store: SQLiteStore) -> None:
    store.save_article(article("https://tass.com/a", "1" * 16), None)

    def changes() -> int:
        return int(store.db.execute("SELECT total_changes()").fetchone()[0])

    before = changes()
    store.mark_text_written("1" * 16)  # one row updated, no index row touched
    assert changes() - before == 1


def test_a_failed_entry_keeps_its_reason_and_attempts(store: SQLiteStore) -> None:
    store.add_entries("tass", [{"key": "a", "link": "a", "url": "a", "title": None, "feed_published": None}])
    store.entry_failed("tass", "a", reason="http_404", error="GET a: HTTP 404", max_attempts=1)
    row = store.db.execute("SELECT status, attempts, last_error_reason, last_error FROM entries").fetchone()
    assert row == ("abandoned", 1, "http_404", "GET a: HTTP 404")


def test_backfill_work_takes_the_feeds_round_robin_and_a_resumed_job_skips_its_read_sources(
    store: SQLiteStore,
) -> None:
    store.sync_feeds([FeedSpec("a", "http://a.example/rss", "A"), FeedSpec("b", "http://b.example/rss", "B")])
    for feed_id in ("a", "b"):
        job = store.start_backfill(feed_id, "2025-01-01", None)
        rows = [
            {"key": f"http://{feed_id}.example/{n}", "link": f"http://{feed_id}.example/{n}", "origin": "sitemap"}
            for n in range(3)
        ]
        rows = [{**row, "url": row["link"]} for row in rows]
        assert store.queue_backfill(job, f"http://{feed_id}.example/sitemap.xml", rows) == 3
        assert store.queue_backfill(job, f"http://{feed_id}.example/sitemap.xml", rows) == 0  # queued already
    work = store.backfill_work(["a", "b"], max_attempts=5, limit=4)
    assert [item.feed_id for item in work] == ["a", "b", "a", "b"]
    again = store.start_backfill("a", "2025-01-01", None)
    assert store.sources_done(again.id) == {"http://a.example/sitemap.xml"}
    store.finish_enumeration(again.id)
    assert [job.feed_id for job in store.open_backfills(["a", "b"])] == ["b"]
    assert store.backfill_left(["a", "b"]) == 6
    # the live poll never sees the backfill entries
    assert store.entries_to_fetch("a", 5) == [] and not store.feed_state("a").unfinished


def test_an_article_missing_from_the_full_text_index_is_a_problem(store: SQLiteStore) -> None:
    store.save_article(article("https://tass.com/a", "1" * 16, body="Aliyev spoke"), None)
    assert store.integrity_problems() == []
    store.db.execute("DELETE FROM articles_fts WHERE rowid = 1")  # search no longer finds it
    store.db.conn.commit()
    assert store.search("Aliyev") == []
    (problem,) = store.integrity_problems()
    assert problem.startswith("full-text index articles_fts: ") and problem.endswith("(run `aggregator fts-rebuild`)")
    store.rebuild_fts()
    assert store.integrity_problems() == [] and [row["id"] for row in store.search("Aliyev")] == ["1" * 16]
