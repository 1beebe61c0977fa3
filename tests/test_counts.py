"""The counts the store keeps (``feed_counts``, ``article_counts``: SQLite's schema version 12,
PostgreSQL's 4) equal the counts computed from the rows, on both backends: after every step of
many random operations through the store's interface (entries added, linked to articles, merged
and relinked, failed, abandoned, queued by backfill; polls recorded) and through plain SQL (what
the interface never does: several entries merged or cleared by one statement, entries, polls and
feeds deleted), and after the migration fills them on an archive that had rows before."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.models import FeedResult, FeedSpec
from aggregator.store import Store, open_store
from aggregator.store.postgresql.schema import SCHEMA_VERSION as POSTGRESQL_VERSION
from aggregator.store.records import PollRecord, utc_now
from aggregator.store.sqlite import SQLiteStore
from aggregator.tools.migrate import migrate
from aggregator.tools.sqlite_copy import export_sqlite
from tests.helpers.stores import BACKENDS, Backend, new_article

FEEDS = [FeedSpec(f"f{n}", f"https://f{n}.example/rss", f"Feed {n}") for n in range(3)]
FEED_COLUMNS = ("articles", "failing", "abandoned", "backfill_queued", "polls", "failed_polls")

#: The counts as the rows give them, in SQL both backends speak.
_FROM_ENTRIES = (
    "SELECT feed_id, COUNT(DISTINCT article_id) AS articles, "
    "SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failing, "
    "SUM(CASE WHEN status = 'abandoned' THEN 1 ELSE 0 END) AS abandoned, "
    "SUM(CASE WHEN status IN ('pending', 'failed') AND origin IS NOT NULL THEN 1 ELSE 0 END) AS backfill_queued "
    "FROM entries GROUP BY feed_id"
)
_FROM_POLLS = (
    "SELECT feed_id, COUNT(*) AS polls, SUM(CASE WHEN outcome = 'error' THEN 1 ELSE 0 END) AS failed_polls "
    "FROM polls WHERE feed_id IS NOT NULL GROUP BY feed_id"
)


def _rows(store: Store, sql: str) -> list[dict[str, Any]]:
    return store._rows(sql)  # type: ignore[attr-defined,no-any-return]


def sql(store: Store, statement: str, params: Sequence[Any] = ()) -> None:
    """One statement of plain SQL in a write of its own (``?`` for the parameters)."""
    with store._write() as conn:  # type: ignore[attr-defined]
        if isinstance(store, SQLiteStore):
            conn.execute(statement, list(params))
        else:
            conn.run(statement.replace("?", "%s"), list(params))


def kept(store: Store) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, str]]]:
    feeds = {
        row["feed_id"]: tuple(int(row[c]) for c in FEED_COLUMNS)
        for row in _rows(store, f"SELECT feed_id, {', '.join(FEED_COLUMNS)} FROM feed_counts")
    }
    items = {
        row["article_id"]: (int(row["items"]), row["published"])
        for row in _rows(store, "SELECT article_id, items, published FROM article_counts")
    }
    return {feed: counts for feed, counts in feeds.items() if any(counts)}, items


def computed(store: Store) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, str]]]:
    feeds: dict[str, dict[str, int]] = {}
    for row in (*_rows(store, _FROM_ENTRIES), *_rows(store, _FROM_POLLS)):
        counts = feeds.setdefault(row["feed_id"], dict.fromkeys(FEED_COLUMNS, 0))
        counts.update({c: int(v) for c, v in row.items() if c != "feed_id"})
    items = _rows(
        store,
        "SELECT e.article_id, COUNT(*) AS n, MIN(a.published) AS published FROM entries e "
        "LEFT JOIN articles a ON a.id = e.article_id WHERE e.article_id IS NOT NULL GROUP BY e.article_id",
    )
    whole = {feed: tuple(counts[c] for c in FEED_COLUMNS) for feed, counts in feeds.items()}
    return {feed: counts for feed, counts in whole.items() if any(counts)}, {
        r["article_id"]: (int(r["n"]), r["published"]) for r in items
    }


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    with backend.open() as opened:
        opened.sync_feeds(FEEDS)
        yield opened


class Driver:
    """Random operations on an archive, each through the interface or one statement of SQL."""

    def __init__(self, store: Store, rng: random.Random) -> None:
        self.store, self.rng = store, rng
        self.serial = 0
        self.feeds = [feed.id for feed in FEEDS]

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def _entries(self, where: str = "") -> list[dict[str, Any]]:
        return _rows(
            self.store, f"SELECT feed_id, key, url, article_id, status FROM entries {where} ORDER BY feed_id, key"
        )

    def _articles(self) -> list[dict[str, Any]]:
        return _rows(self.store, "SELECT id, url FROM articles ORDER BY id")

    def _url(self) -> str:
        """A URL never seen, or (one time in three) an archived article's: the entry links to it."""
        articles = self._articles()
        if articles and self.rng.random() < 0.35:
            return str(self.rng.choice(articles)["url"])
        return f"https://site.example/story/{self._next()}"

    def add(self) -> str:
        feed = self.rng.choice(self.feeds)
        entries = []
        for _ in range(self.rng.randint(1, 4)):
            url = self._url()
            entries.append({"key": f"k{self._next()}", "link": url, "url": url, "title": None, "feed_published": None})
        self.store.add_entries(feed, entries)
        return f"add_entries {feed} x{len(entries)}"

    def save(self) -> str:
        waiting = self._entries("WHERE status != 'archived'") or self._entries()
        if not waiting:
            return self.add()
        entry = self.rng.choice(waiting)
        url = self._url() if self.rng.random() < 0.5 else entry["url"]  # a merge when it is archived already
        article = new_article(url, f"{self._next():016d}", feed_id=entry["feed_id"])
        self.store.save_article(article, (entry["feed_id"], entry["key"]))
        return f"save_article {url} for {entry['feed_id']}/{entry['key']}"

    def relink(self) -> str:
        entries, articles = self._entries(), self._articles()
        if not entries or not articles:
            return self.save()
        entry, article = self.rng.choice(entries), self.rng.choice(articles)
        self.store.link_entry(entry["feed_id"], entry["key"], article["id"])
        return f"link_entry {entry['feed_id']}/{entry['key']} -> {article['id']}"

    def fail(self) -> str:
        entries = self._entries()
        if not entries:
            return self.add()
        entry = self.rng.choice(entries)
        status = self.store.entry_failed(
            entry["feed_id"], entry["key"], reason="http_500", error="HTTP 500", max_attempts=self.rng.randint(1, 3)
        )
        return f"entry_failed {entry['feed_id']}/{entry['key']} -> {status}"

    def backfill(self) -> str:
        feed = self.rng.choice(self.feeds)
        job = self.store.start_backfill(feed, "2020-01-01", None)
        entries = []
        for _ in range(self.rng.randint(1, 3)):
            url = self._url()
            entries.append({"key": url, "link": url, "url": url, "origin": "sitemap", "lastmod": "2020-01-02"})
        self.store.queue_backfill(job, f"sitemap-{self._next()}", entries)
        return f"queue_backfill {feed}"

    def reextract(self) -> str:
        articles = self._articles()
        if not articles:
            return self.save()
        article = self.rng.choice(articles)
        published = f"2021-0{self.rng.randint(1, 9)}-1{self.rng.randint(0, 9)}T08:00:00+00:00"
        self.store.update_extraction(article["id"], {"published": published, "title": "Again"})
        return f"update_extraction {article['id']} published {published}"

    def poll(self) -> str:
        feed = self.rng.choice(self.feeds)
        outcome = self.rng.choice(("ok", "not_modified", "error"))
        started = utc_now()
        self.store.record_poll(
            FeedResult(feed, outcome, error="boom" if outcome == "error" else None),
            PollRecord("ok" if outcome != "error" else "backing_off", started + timedelta(minutes=5)),
            started_at=started,
            duration_ms=1,
        )
        return f"record_poll {feed} {outcome}"

    # -- what only plain SQL does: several rows in one statement, deletions --------------------

    def merge_all(self) -> str:
        articles = self._articles()
        if len(articles) < 2:
            return self.save()
        into, gone = self.rng.sample(articles, 2)
        sql(self.store, "UPDATE entries SET article_id = ? WHERE article_id = ?", [into["id"], gone["id"]])
        return f"SQL: every entry of {gone['id']} -> {into['id']}"

    def clear_some(self) -> str:
        feed = self.rng.choice(self.feeds)
        sql(
            self.store,
            "UPDATE entries SET article_id = NULL, status = ? WHERE feed_id = ? AND article_id IS NOT NULL",
            [self.rng.choice(("pending", "failed")), feed],
        )
        return f"SQL: {feed}'s entries unlinked"

    def restatus(self) -> str:
        feed = self.rng.choice(self.feeds)
        status = self.rng.choice(("pending", "failed", "abandoned"))
        sql(self.store, "UPDATE entries SET status = ? WHERE feed_id = ? AND status != 'archived'", [status, feed])
        return f"SQL: {feed}'s unfinished entries {status}"

    def move(self) -> str:
        entries = self._entries()
        if not entries:
            return self.add()
        entry, feed = self.rng.choice(entries), self.rng.choice(self.feeds)
        sql(
            self.store,
            "UPDATE entries SET feed_id = ?, key = ? WHERE feed_id = ? AND key = ?",
            [feed, f"moved{self._next()}", entry["feed_id"], entry["key"]],
        )
        return f"SQL: {entry['feed_id']}/{entry['key']} moved to {feed}"

    def delete(self) -> str:
        entries = self._entries()
        if not entries:
            return self.add()
        chosen = self.rng.sample(entries, min(len(entries), self.rng.randint(1, 3)))
        for entry in chosen:
            sql(self.store, "DELETE FROM entries WHERE feed_id = ? AND key = ?", [entry["feed_id"], entry["key"]])
        feed = self.rng.choice(self.feeds)
        sql(self.store, "DELETE FROM polls WHERE id IN (SELECT MIN(id) FROM polls WHERE feed_id = ?)", [feed])
        return f"SQL: {len(chosen)} entries and a poll of {feed} deleted"

    def remove_feed(self) -> str:
        feed = self.rng.choice(self.feeds)
        for statement in (
            "DELETE FROM entries WHERE feed_id = ?",
            "DELETE FROM polls WHERE feed_id = ?",
            "DELETE FROM backfill_sources WHERE job_id IN (SELECT id FROM backfill_jobs WHERE feed_id = ?)",
            "DELETE FROM backfill_jobs WHERE feed_id = ?",
            "DELETE FROM feeds WHERE id = ?",
        ):
            sql(self.store, statement, [feed])
        assert not _rows(self.store, f"SELECT 1 FROM feed_counts WHERE feed_id = '{feed}'")
        self.store.sync_feeds(FEEDS)  # back, empty
        return f"SQL: feed {feed} removed"

    def step(self) -> str:
        actions = [
            (self.add, 6),
            (self.save, 6),
            (self.relink, 3),
            (self.fail, 4),
            (self.backfill, 2),
            (self.poll, 4),
            (self.reextract, 1),
            (self.merge_all, 1),
            (self.clear_some, 1),
            (self.restatus, 1),
            (self.move, 1),
            (self.delete, 2),
            (self.remove_feed, 0.3),
        ]
        action = self.rng.choices([a for a, _ in actions], weights=[w for _, w in actions])[0]
        return action()


@pytest.mark.parametrize("seed", [1, 2])
def test_the_kept_counts_equal_the_rows_after_every_step(store: Store, seed: int) -> None:
    driver = Driver(store, random.Random(seed))
    done: list[str] = []
    for _ in range(150):
        done.append(driver.step())
        assert kept(store) == computed(store), done[-5:]
    feeds, items = kept(store)
    # the run went through what it is meant to: duplicates, failures, abandonment, backfill, polls
    assert any(n > 1 for n, _ in items.values())
    assert all(any(counts[i] for counts in feeds.values()) for i in range(len(FEED_COLUMNS)))
    overview = {row["id"]: row for row in store.feed_overview()}
    for feed, counts in feeds.items():
        shown = overview[feed]
        assert (shown["articles"], shown["failing"], shown["abandoned"], shown["backfill_queued"]) == counts[:4]


def _forget_counts(store: Store) -> None:
    """The archive as the version before the counts left it: their tables and triggers gone."""
    if isinstance(store, SQLiteStore):
        with store._write() as conn:
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%counted%'"
            ):
                conn.execute(f"DROP TRIGGER {name}")
            conn.execute("DROP TABLE feed_counts")
            conn.execute("DROP TABLE article_counts")
            conn.execute("PRAGMA user_version = 11")
        return
    with store._write() as session:  # type: ignore[attr-defined]
        for statement in (
            "DROP TABLE feed_counts, article_counts",
            "DROP TRIGGER entries_counted_ins ON entries",
            "DROP TRIGGER entries_counted_upd ON entries",
            "DROP TRIGGER entries_counted_del ON entries",
            "DROP TRIGGER polls_counted ON polls",
            "DROP TRIGGER articles_counted ON articles",
            "DROP FUNCTION aggregator_entries_counted, aggregator_polls_counted, aggregator_count_entries, "
            "aggregator_articles_counted",
            "DROP TYPE aggregator_entry_change",
            "UPDATE schema_version SET version = 3",
        ):
            session.run(statement)


def test_the_migration_counts_what_an_archive_already_has(backend: Backend) -> None:
    with backend.open() as store:
        store.sync_feeds(FEEDS)
        driver = Driver(store, random.Random(7))
        for _ in range(80):
            driver.step()
        before = computed(store)
        _forget_counts(store)
    with backend.open() as store:
        expected_version = 12 if isinstance(store, SQLiteStore) else POSTGRESQL_VERSION
        assert store.schema_version == expected_version  # type: ignore[attr-defined]
        assert before[0] and any(n > 1 for n, _ in before[1].values())
        assert kept(store) == computed(store) == before
        driver = Driver(store, random.Random(8))
        driver.serial = 10_000
        for _ in range(20):  # and keeps them from there
            driver.step()
            assert kept(store) == computed(store)


def test_postgresql_version_5_replaces_the_count_functions_of_an_archive_at_version_4(tmp_path: Path) -> None:
    """An archive at version 4 (its count functions planned afresh at every call) gets version 5's
    functions, planned once per session, and its counts stay exact."""
    backend = BACKENDS["postgresql"](tmp_path)
    with backend.open() as store:
        store.sync_feeds(FEEDS)
        driver = Driver(store, random.Random(5))
        for _ in range(40):
            driver.step()
        with store._write() as session:  # type: ignore[attr-defined]
            session.run("ALTER FUNCTION aggregator_count_entries RESET ALL")
            session.run("ALTER FUNCTION aggregator_entries_counted RESET ALL")
            session.run("UPDATE schema_version SET version = 4")
    with backend.open() as store:
        assert store.schema_version == POSTGRESQL_VERSION == 5  # type: ignore[attr-defined]
        settings = _rows(
            store,
            "SELECT proname, proconfig FROM pg_proc "
            "WHERE proname IN ('aggregator_count_entries', 'aggregator_entries_counted') ORDER BY proname",
        )
        assert [(r["proname"], r["proconfig"]) for r in settings] == [
            ("aggregator_count_entries", ["plan_cache_mode=force_generic_plan"]),
            ("aggregator_entries_counted", ["plan_cache_mode=force_generic_plan"]),
        ]
        assert kept(store) == computed(store)
        driver = Driver(store, random.Random(6))
        driver.serial = 10_000
        for _ in range(40):
            driver.step()
            assert kept(store) == computed(store)


def test_a_migrated_and_an_exported_archive_count_what_they_copied(tmp_path: Path) -> None:
    """``migrate`` (SQLite -> PostgreSQL) and ``export --format sqlite`` (back) copy the rows: the
    destination's triggers count them as they come, and ``--verify-only`` finds the copy the same."""
    from tests.helpers.postgres import fresh_database

    source = tmp_path / "a.db"
    with SQLiteStore(source) as store:
        store.sync_feeds(FEEDS)
        driver = Driver(store, random.Random(11))
        for _ in range(120):
            driver.step()
        expected = kept(store)
        assert expected == computed(store)
    url = fresh_database()
    assert migrate(source, url).differing == []
    checked = migrate(source, url, verify_only=True)
    assert checked.differing == [] and len(checked.checks) > 5
    with open_store(url) as copied:
        assert kept(copied) == computed(copied) == expected
        driver = Driver(copied, random.Random(12))  # and go on counting there
        driver.serial = 10_000
        for _ in range(30):
            driver.step()
        expected = kept(copied)
    export_sqlite(url, tmp_path / "back.db")
    with SQLiteStore(tmp_path / "back.db") as back:
        assert kept(back) == computed(back) == expected


def test_two_writers_of_one_feed_count_its_article_once_on_postgresql(tmp_path: Path) -> None:
    """PostgreSQL: a writer that adds an entry of a feed while another's uncommitted entry of that
    feed points at the same article waits for it (the lock on the feed's counts), then sees it:
    the article is counted once, not once by each."""
    backend = BACKENDS["postgresql"](tmp_path)
    with backend.open() as first, backend.open() as second:
        first.sync_feeds(FEEDS)
        first.save_article(new_article("https://site.example/a", "a" * 16, feed_id="f0"), None)
        done = threading.Event()

        def add_second() -> None:
            second.add_entries("f0", [{"key": "k2", "link": "https://site.example/a", "url": "https://site.example/a"}])
            done.set()

        with first._write() as session:  # type: ignore[attr-defined]
            session.run(
                "INSERT INTO entries (feed_id, key, url, article_id, status, first_seen) "
                "VALUES ('f0', 'k1', 'https://site.example/a', %s, 'archived', '2020-01-01')",
                ["a" * 16],
            )
            writer = threading.Thread(target=add_second)
            writer.start()
            assert not done.wait(1.0)  # it waits on the first writer's lock of the feed's counts
        writer.join(10)
        assert done.is_set()
        assert kept(first) == computed(first)
        assert kept(first)[0]["f0"][0] == 1
