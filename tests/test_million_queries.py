"""Queries rewritten for an archive of a million articles (issue 19) give what they gave before:
the articles of each feed counted once however many of its items led to them, the failed items
read off their own index in the stored query's order, and a command that imports only its own
module."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.models import FeedSpec
from aggregator.store.sqlite import SQLiteStore
from aggregator.tools.serve import metadata

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
    assert "COVERING INDEX idx_polls_feed_id_outcome" in plan


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
