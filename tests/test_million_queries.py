"""Queries rewritten for an archive of a million articles (issue 19) give what they gave before:
the articles of each feed counted once however many of its items led to them, the failed items
read off their own index in the stored query's order, and a command that imports only its own
module."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.models import FeedSpec
from aggregator.store.sqlite import SQLiteStore
from aggregator.tools.serve import metadata
from tests.test_counts import FEEDS, Driver, sql

ENTRIES = [
    # feed, key, article, status, last attempt, first seen
    ("a", "k1", "x", "archived", "2020-01-01", "2020-01-01"),
    ("a", "k2", "x", "archived", "2020-01-02", "2020-01-02"),  # the same article again, same feed
    ("a", "k3", "y", "archived", "2020-01-03", "2020-01-03"),
    ("b", "k1", "x", "archived", "2020-01-04", "2020-01-04"),  # and in another feed
    ("a", "k4", None, "failed", "2020-01-05", "2020-01-01"),
    ("b", "k5", None, "abandoned", "2020-01-07", "2020-01-02"),
    ("b", "k6", None, "failed", "2020-01-05", "2020-01-03"),
    ("b", "k7", None, "pending", None, "2020-01-09"),
]


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "a.db"
    with SQLiteStore(path) as store:
        store.sync_feeds([FeedSpec("a", "http://a.example/rss", "A"), FeedSpec("b", "http://b.example/rss", "B")])
        with store._write() as conn:
            for n, article in enumerate(("x", "y")):
                conn.execute(
                    "INSERT INTO articles (id, url, title, published, day, source, feed_id, body, document, folder, "
                    "seq, path) VALUES (?, ?, 't', '2020-01-01T00:00:00+00:00', '2020-01-01', 'A', 'a', 'b', 'd', "
                    "'f', ?, ?)",
                    [article, f"https://a.example/{article}", n, f"f/{n}.txt"],
                )
            conn.executemany(
                "INSERT INTO entries (feed_id, key, link, article_id, status, last_attempt_at, first_seen) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(feed, key, f"https://{feed}.example/{key}", *rest) for feed, key, *rest in ENTRIES],
            )
            conn.executemany(
                "INSERT INTO polls (feed_id, started_at, outcome) VALUES (?, ?, ?)",
                [("a", "2020-01-01", "ok"), ("a", "2020-01-02", "error"), ("b", "2020-01-01", "error")],
            )
    yield path


def stored(name: str) -> str:
    return str(metadata()["databases"]["archive"]["queries"][name]["sql"])


def test_the_feeds_table_counts_each_feeds_articles_once(archive: Path) -> None:
    with SQLiteStore(archive) as store:
        rows = {row["id"]: (row["articles"], row["failing"], row["abandoned"]) for row in store.feed_overview()}
    assert rows == {"a": (2, 1, 0), "b": (1, 1, 1)}


def test_feed_health_counts_articles_once_and_the_failed_polls(archive: Path) -> None:
    conn = sqlite3.connect(archive)
    conn.row_factory = sqlite3.Row
    rows = [dict(row) for row in conn.execute(stored("feed_health"))]
    got = [(r["id"], r["articles"], r["failing"], r["abandoned"], r["polls"], r["failed_polls"]) for r in rows]
    assert got == [("b", 1, 1, 1, 1, 1), ("a", 2, 1, 0, 2, 1)]
    plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + stored("feed_health")))
    assert "entries" not in plan and "polls" not in plan  # a row per feed: the counts kept


#: The three readers as they were before the store kept counts (schema version 11): what they give
#: now is what these give, on every archive.
OLD_FEED_HEALTH = """select f.id, f.source, f.status, f.enabled, f.last_polled_at, f.last_success_at, f.next_poll_at,
  f.error_count, f.last_error_reason, f.last_error,
  (select count(distinct e.article_id) from entries e where e.feed_id = f.id
    and e.article_id is not null) as articles,
  (select count(*) from entries e where e.feed_id = f.id and e.status = 'failed') as failing,
  (select count(*) from entries e where e.feed_id = f.id and e.status = 'abandoned') as abandoned,
  (select count(*) from polls p where p.feed_id = f.id) as polls,
  (select count(*) from polls p where p.feed_id = f.id and p.outcome = 'error') as failed_polls,
  f.url
from feeds f
order by f.error_count desc, failing + abandoned desc, f.id"""
OLD_DUPLICATES_MERGED = """select d.id, d.title, d.source, d.published, d.items,
  (select group_concat(distinct e.feed_id) from entries e where e.article_id = d.id) as feeds,
  (select group_concat(e.link, ' ') from entries e where e.article_id = d.id) as links,
  d.url
from (
  select a.id, a.title, a.source, a.published, a.url, n.items
  from (select article_id, count(*) as items from entries where article_id is not null
        group by article_id having count(*) > 1) n
  join articles a on a.id = n.article_id
  order by n.items desc, a.published desc
) d"""
OLD_FEED_OVERVIEW = (
    "SELECT f.id, f.url, f.source, f.enabled, f.status, f.last_polled_at, f.last_success_at, "
    "f.last_http_status, f.last_error_reason, f.last_error, f.error_count, f.next_poll_at, "
    "f.previous_urls, "
    "(SELECT COUNT(DISTINCT e.article_id) FROM entries e WHERE e.feed_id = f.id AND e.article_id IS NOT NULL) "
    "AS articles, "
    "(SELECT COUNT(*) FROM entries e WHERE e.feed_id = f.id AND e.status = 'failed') AS failing, "
    "(SELECT COUNT(*) FROM entries e WHERE e.feed_id = f.id AND e.status = 'abandoned') AS abandoned, "
    "(SELECT COUNT(*) FROM entries e WHERE e.feed_id = f.id AND e.status IN ('pending', 'failed') "
    " AND e.origin IS NOT NULL) AS backfill_queued, "
    "(SELECT COUNT(*) FROM gaps g WHERE g.feed_id = f.id AND g.status != 'filled') AS open_gaps "
    "FROM feeds f ORDER BY f.id"
)


def _random_archive(path: Path, seed: int) -> None:
    """An archive made by random operations (tests/test_counts.py's): duplicates, relinked and
    merged entries, failures, backfill, polls, deletions."""
    with SQLiteStore(path) as store:
        store.sync_feeds(FEEDS)
        driver = Driver(store, random.Random(seed))
        for _ in range(250):
            driver.step()
        for n, feed in enumerate(FEEDS):  # feeds in trouble sort first
            sql(store, "UPDATE feeds SET error_count = ? WHERE id = ?", [n % 2, feed.id])


def _same_readers(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        for new, old in (
            (stored("feed_health"), OLD_FEED_HEALTH),
            (stored("duplicates_merged"), OLD_DUPLICATES_MERGED),
        ):
            now, before = ([dict(r) for r in conn.execute(query)] for query in (new, old))
            assert [list(r) for r in now] == [list(r) for r in before]  # the same columns, in order
            # rows tied on the order (items, published) may come in either order
            assert sorted(map(repr, now)) == sorted(map(repr, before))
            order = (
                ("error_count", "failing", "abandoned", "id") if "error_count" in before[0] else ("items", "published")
            )
            assert [[r[c] for c in order] for r in now] == [[r[c] for c in order] for r in before]
        duplicates = len(before)
        with SQLiteStore(path) as store:
            assert store.feed_overview() == [dict(r) for r in conn.execute(OLD_FEED_OVERVIEW)]
    finally:
        conn.close()
    return duplicates


def test_the_readers_give_what_the_old_queries_gave(archive: Path, tmp_path: Path) -> None:
    assert _same_readers(archive) == 1
    for seed in (1, 2, 3):
        _random_archive(tmp_path / f"random-{seed}.db", seed)
        assert _same_readers(tmp_path / f"random-{seed}.db") > 0


def test_duplicates_are_read_off_their_partial_index(archive: Path) -> None:
    conn = sqlite3.connect(archive)
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + stored("duplicates_merged"))]
    assert "SEARCH n USING COVERING INDEX idx_article_counts_duplicates (items>?)" in plan, plan
    assert not any("ORDER BY" in step for step in plan), plan  # in order off the index: no sort
    assert not any("entries" in step for step in plan[:3]), plan  # entries: only each duplicate's own


def test_failed_extractions_are_read_off_their_index_in_order(archive: Path) -> None:
    conn = sqlite3.connect(archive)
    sql = stored("failed_extractions")
    rows = [(row[5], row[4], row[8]) for row in conn.execute(sql)]
    # newest attempt first, then the newest first seen; pending and archived items are not failures
    assert rows == [
        ("b", "2020-01-07", "2020-01-02"),
        ("b", "2020-01-05", "2020-01-03"),
        ("a", "2020-01-05", "2020-01-01"),
    ]
    assert rows == [(row[5], row[4], row[8]) for row in conn.execute(sql.replace("indexed by idx_entries_failed", ""))]
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    assert plan == ["SCAN entries USING INDEX idx_entries_failed"]  # no sort of every failed item


def test_a_command_imports_only_its_own_module() -> None:
    script = (
        "import sys, click\n"
        "from aggregator.cli import app\n"
        "assert app.cli.get_command(click.Context(app.cli), 'feeds') is not None\n"
        "assert 'aggregator.cli.feedlist' in sys.modules\n"
        "print(sorted(m for m in ('aggregator.cli.fetching', 'aggregator.cli.reading', 'aggregator.pipeline', "
        "'aggregator.daemon.scheduler') if m in sys.modules))\n"
        "app.import_commands()\n"
        "assert set(app.cli.commands) == set(app.COMMAND_MODULES), set(app.cli.commands) ^ set(app.COMMAND_MODULES)\n"
        # every command the package registers (aggregator.cli imports every module) can be found by name
        "import aggregator.cli\n"
        "everything = set(aggregator.cli.cli.commands)\n"
        "assert everything == set(app.COMMAND_MODULES), everything ^ set(app.COMMAND_MODULES)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")
