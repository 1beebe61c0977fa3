"""The SQLite backend's own particulars: its schema, its journal, its numbering and its index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.errors import StoreError
from aggregator.store import compress_page
from aggregator.store.sqlite import SCHEMA_VERSION, SQLiteStore
from tests.helpers.stores import FEED
from tests.helpers.stores import new_article as article


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "a.db") as opened:
        opened.sync_feeds([FEED])
        yield opened


def test_schema_is_versioned_and_in_wal_mode(store: SQLiteStore) -> None:
    assert store.schema_version == SCHEMA_VERSION == 4
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert set(store.db.table_names()) >= {"feeds", "articles", "article_urls", "entries", "polls", "pages"}


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


def test_a_page_is_stored_as_the_caller_compressed_it(store: SQLiteStore) -> None:
    html = b"<html><body>" + b"news " * 1000 + b"</body></html>"
    store.save_article(article("https://tass.com/a", "1" * 16, page_gzip=compress_page(html)), None)
    (stored,) = store.db.execute("SELECT html_gzip FROM pages").fetchone()
    assert stored == compress_page(html)


def test_a_failed_entry_keeps_its_reason_and_attempts(store: SQLiteStore) -> None:
    store.add_entries("tass", [{"key": "a", "link": "a", "url": "a", "title": None, "feed_published": None}])
    store.entry_failed("tass", "a", reason="http_404", error="GET a: HTTP 404", max_attempts=1)
    row = store.db.execute("SELECT status, attempts, last_error_reason, last_error FROM entries").fetchone()
    assert row == ("abandoned", 1, "http_404", "GET a: HTTP 404")
