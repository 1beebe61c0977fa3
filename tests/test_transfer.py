"""`aggregator migrate` (an SQLite archive into PostgreSQL, resumable, verified) and `aggregator
export --format sqlite` (a copy any backend can give, brought up to date incrementally), on real
SQLite files, a real PostgreSQL server and the real command line."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.daemon.lock import DaemonLock
from aggregator.errors import StoreError
from aggregator.models import CaptureRef, FeedResult, FeedSpec
from aggregator.store import NewVersion, PollRecord, Revisited, Store, WorkerBeat, open_store
from aggregator.store import tables as store_tables
from aggregator.store.sqlite.schema import SCHEMA_VERSION as SQLITE_SCHEMA
from aggregator.store.tables import COPIED, open_tables
from aggregator.tools.migrate import migrate
from aggregator.tools.tablecopy import checksum, plan
from tests.helpers.archive import Ran, invoke
from tests.helpers.datasette import serving
from tests.helpers.postgres import fresh_database
from tests.helpers.site import write_config
from tests.helpers.stores import FEED, new_article

OTHER = FeedSpec(id="other", url="https://tass.com/rss/other.xml", source="TASS", timezone="Europe/Moscow")
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
FEEDS = """  - {id: tass, url: 'https://tass.com/rss/v2.xml', source: TASS, timezone: Europe/Moscow}
  - {id: other, url: 'https://tass.com/rss/other.xml', source: TASS, timezone: Europe/Moscow}
"""


def capture(offset: int, url: str, status: int = 200) -> CaptureRef:
    return CaptureRef(
        file="aggregator-1.warc.gz",
        offset=offset,
        length=100,
        record_type="response",
        url=url,
        date=f"2026-12-02T10:00:{offset % 60:02d}.123456Z",
        status=status,
        digest=f"sha1:{offset:032d}",
        content_type="text/html" if status == 200 else None,
    )


def add_article(store: Store, n: int, *, day: date = date(2020, 8, 13), feed: str = "tass", **fields: object) -> str:
    """Article ``n`` archived through an entry of ``feed``, with its page capture; returns its id."""
    url = f"https://tass.com/world/{n}"
    article_id = f"{n:016x}"
    store.add_entries(feed, [{"key": url, "link": url + "?utm_source=rss", "url": url, "title": f"Story {n}"}])
    made = new_article(
        url,
        article_id,
        day=day,
        feed_id=feed,
        title=f"Story {n}",
        body=f"Moscow story number {n} about the summit",
        document=f"\nStory {n}",
        captures=(capture(n * 1000, url),),
        aliases=(url + "?amp",),
        **fields,
    )
    store.save_article(made, (feed, url))
    return article_id


def revise(store: Store, article_id: str, n: int, title: str) -> None:
    """A revisit that found a new version of the article."""
    version = NewVersion(
        title=title,
        body=f"Edited: {title}",
        document=f"\n{title}",
        extractor="tass@2019",
        published="2020-08-13T00:26:00+03:00",
        published_via="page",
        date_flag=None,
    )
    url = f"https://tass.com/world/{int(article_id, 16)}"
    store.record_revisit(
        Revisited(
            article_id, seen_at=f"2026-12-0{n}T10:00:00+00:00", gone=False, captures=(capture(n, url),), version=version
        )
    )


def fill(store: Store) -> None:
    """An archive with every table in use: articles with versions, a removal, aliases, captures of
    pages and feeds, entries of every status, polls, a backfill job and its source, a gap, a claim."""
    store.sync_feeds([FEED, OTHER])
    ids = [add_article(store, n, day=date(2020, 8, 10 + n)) for n in range(1, 6)]
    add_article(store, 7, feed="other", day=date(2020, 8, 20))
    revise(store, ids[0], 1, "Story 1, edited")
    revise(store, ids[0], 2, "Story 1, edited again")
    store.record_revisit(
        Revisited(ids[1], seen_at="2026-12-03T09:00:00+00:00", gone=True, detail="HTTP 404",
                  captures=(capture(5, "https://tass.com/world/2", 404),))
    )  # fmt: skip
    store.add_entries("tass", [{"key": f"k{n}", "url": f"https://tass.com/lost/{n}", "title": "x"} for n in range(4)])
    store.entry_failed("tass", "k1", reason="http_503", error="HTTP 503", max_attempts=3)
    store.entry_failed("tass", "k2", reason="http_404", error="HTTP 404", max_attempts=1)
    store.record_captures("feed", [capture(900, FEED.url)], feed_id="tass")
    store.record_poll(
        FeedResult("tass", "ok", http_status=200, entries=9),
        PollRecord("ok", NOW + timedelta(minutes=5), etag='"v1"'),
        started_at=NOW,
        duration_ms=12,
    )
    job = store.start_backfill("tass", "2020-08-01", "2020-08-31")
    store.queue_backfill(
        job, "https://tass.com/sitemap-1.xml", [{"key": "https://tass.com/old/1", "url": "https://tass.com/old/1"}]
    )
    store.record_gap("tass", "2020-08-01T00:00:00+00:00", "2020-08-05T00:00:00+00:00", fillable=True)
    worker = WorkerBeat("host-1", "host", 1, NOW.isoformat(), NOW.isoformat(), (NOW + timedelta(hours=1)).isoformat())
    store.beat(worker)
    store.claim_feeds("host-1", ["other"], NOW + timedelta(days=9999), NOW + timedelta(days=9999, hours=1))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """feeds.yaml of an SQLite archive (``a.db``) filled by ``fill``."""
    with open_store(tmp_path / "a.db") as store:
        fill(store)
    return write_config(tmp_path, FEEDS, settings="  database: a.db\n  archive_dir: archive\n")


@pytest.fixture
def url() -> str:
    return fresh_database()


def run(config: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    if env:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            return invoke(*args, config=config)
    return invoke(*args, config=config)


def sums(database: str | Path, other: str | Path) -> dict[str, tuple[int, str]]:
    """table -> (rows, checksum) of every copied table of ``database``."""
    with open_tables(database) as tables, open_tables(other) as peer:
        return {spec.name: checksum(tables, plan(tables, peer, spec)) for spec in COPIED}


def same_tables(first: str | Path, second: str | Path) -> None:
    assert sums(first, second) == sums(second, first)


# -- migrate ---------------------------------------------------------------------------------------


def test_migrate_copies_every_table_and_the_archive_reads_the_same(archive: Path, url: str) -> None:
    db = archive.parent / "a.db"
    done = run(archive, "migrate", "--to", url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["table", "rows", "checksum"]
    assert [line.split()[0] for line in lines[1:12]] == [spec.name for spec in COPIED]
    assert all(line.split()[2] == "match" for line in lines[1:12])
    assert "text documents and WARC files stay in" in lines[-1] and url.split("@")[-1] in lines[-1]
    assert "articles: 6/6 rows" in done.stderr
    same_tables(db, url)
    with open_store(db) as sqlite, open_store(url) as postgresql:
        for table in ("articles", "entries", "polls", "captures", "gaps", "backfill_jobs", "feeds"):
            assert sqlite.count(table) == postgresql.count(table) > 0, table
        assert [r["id"] for r in postgresql.iter_articles()] == [r["id"] for r in sqlite.iter_articles()]
        assert postgresql.article_history(f"{1:016x}") == sqlite.article_history(f"{1:016x}")
        assert {r["status"] for r in postgresql.iter_articles(columns=["status"])} == {"live", "removed"}
        assert postgresql.feed_state("tass") == sqlite.feed_state("tass")
        assert postgresql.worker_overview(NOW) == []  # workers are not copied, nor their claims
        assert sqlite.worker_overview(NOW)[0]["claims"] == 1
    with open_tables(url) as copied:  # the claim of "other" is not carried over
        assert copied.read_batch("feeds", ["id"], ["id", "claimed_by", "claim_until"], None, 10) == [
            ("other", None, None),
            ("tass", None, None),
        ]
    env = {"AGGREGATOR_DATABASE": url}
    for command in (("search", "summit", "--format", "json"), ("search", "edited", "--format", "json"), ("feeds",)):
        on_sqlite, on_postgresql = run(archive, *command), run(archive, *command, env=env)
        assert on_postgresql.returncode == on_sqlite.returncode == 0, on_postgresql.stderr
        if command[-1] == "json":  # the same articles and snippets; each backend ranks ties its own way
            assert sorted(json.loads(on_postgresql.stdout), key=str) == sorted(json.loads(on_sqlite.stdout), key=str)
        else:
            assert on_postgresql.stdout == on_sqlite.stdout, command
    with open_store(url) as postgresql:  # the sequences moved past the copied keys
        add_article(postgresql, 40)
        (row,) = [r for r in postgresql.iter_articles(columns=["id"])][-1:]
        assert row["id"] == f"{40:016x}"
        assert postgresql.count("articles") == 7 and postgresql.count("captures") == 11
        postgresql.record_poll(FeedResult("tass", "ok"), PollRecord("ok", NOW), started_at=NOW, duration_ms=1)
        assert postgresql.count("polls") == 2
        postgresql.record_gap("other", "2020-09-01T00:00:00+00:00", "2020-09-02T00:00:00+00:00", fillable=False)
    again = run(archive, "migrate", "--to", url, "--verify-only")
    assert again.returncode == 1
    assert f"error: articles: 6 rows in {db.resolve()}, 7 in {url}, checksums differ" in again.stderr.splitlines()


def test_an_interrupted_migration_continues_and_ends_identical(
    archive: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = archive.parent / "a.db"
    with open_store(db) as store:
        for n in range(100, 130):
            add_article(store, n)
    writes: list[str] = []
    original = store_tables.open_tables

    def failing(database: str | Path) -> store_tables.Tables:
        opened = original(database)
        if isinstance(database, str):
            write = opened.write_batch

            def write_batch(table: str, *args: object) -> None:
                writes.append(table)
                if table == "articles" and writes.count("articles") == 3:
                    raise StoreError("the server went away")
                write(table, *args)  # type: ignore[arg-type]

            opened.write_batch = write_batch  # type: ignore[method-assign]
        return opened

    import aggregator.tools.migrate as migrating

    monkeypatch.setattr(migrating, "open_tables", failing)
    with pytest.raises(StoreError):
        migrate(db, url, batch_size=4)
    with open_store(url) as copy:
        assert copy.count("articles") == 8  # two batches of four, in the order they were added
        assert copy.count("entries") == 0
    monkeypatch.undo()
    done = run(archive, "migrate", "--to", url, "--batch-size", "4")
    assert done.returncode == 0, done.stderr
    assert f"copied {sum(n for n, _ in sums(db, url).values()) - 8 - 2} rows" in done.stdout
    same_tables(db, url)
    with open_store(url) as copy:
        assert copy.count("articles") == 36 and copy.dangling_entries() == []
    assert run(archive, "migrate", "--to", url).returncode == 0  # done already: nothing to copy, still equal


def test_migrate_refuses_another_archive_a_running_daemon_and_kept_pages(
    archive: Path, url: str, tmp_path: Path
) -> None:
    with open_store(url) as other:
        other.sync_feeds([FEED])
    refused = run(archive, "migrate", "--to", url)
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"error: {url}: already holds an archive (1 feeds, 0 articles) not migrated from this one; "
        "migrate into an empty database"
    ]
    empty = fresh_database()
    with DaemonLock(tmp_path / "a.db"):
        locked = run(archive, "migrate", "--to", empty)
    assert locked.returncode == 1
    assert locked.stderr.splitlines() == [
        f"error: {tmp_path / 'a.db'}: a daemon is running on this archive; stop it before migrating "
        "(the copy must not change)"
    ]
    second = tmp_path / "second"
    second.mkdir()
    with open_store(second / "a.db") as store:
        store.sync_feeds([FEED])
    config = write_config(second, FEEDS, settings="  database: a.db\n")
    assert run(archive, "migrate", "--to", empty).returncode == 0
    mixed = run(config, "migrate", "--to", empty)
    assert mixed.returncode == 1
    assert mixed.stderr.splitlines() == [
        f"error: {empty}: holds a copy of another archive ({(tmp_path / 'a.db').resolve()}); "
        "migrate into an empty database"
    ]
    conn = sqlite3.connect(second / "a.db")
    conn.execute("CREATE TABLE pages (article_id TEXT PRIMARY KEY, url TEXT, content_type TEXT, "
                 "fetched_at TEXT, html_gzip BLOB)")  # fmt: skip
    conn.execute("INSERT INTO pages VALUES ('x', 'https://tass.com/x', 'text/html', '2020', x'00')")
    conn.commit()
    conn.close()
    legacy = run(config, "migrate", "--to", fresh_database())
    assert legacy.returncode == 1
    assert legacy.stderr.splitlines() == [
        f"error: {second / 'a.db'}: 1 pages are still kept in the database from before WARC captures; "
        "run the archiver once (`aggregator fetch` moves them into WARC files), then migrate"
    ]
    assert run(archive, "migrate", "--to", str(tmp_path / "x.db")).stderr.startswith("error: Invalid value for '--to'")


# -- export --format sqlite ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str | Path]]:
    """feeds.yaml and the database of an archive filled by ``fill``, on either backend."""
    database: str | Path = tmp_path / "a.db" if request.param == "sqlite" else fresh_database()
    with open_store(database) as store:
        fill(store)
    setting = "a.db" if request.param == "sqlite" else database
    yield write_config(tmp_path, FEEDS, settings=f"  database: '{setting}'\n  archive_dir: archive\n"), database


def exported(config: Path, out: Path, *extra: str) -> Ran:
    done = run(config, "export", "--format", "sqlite", "--out", str(out), *extra)
    assert done.returncode == 0, done.stderr
    return done


def written(out: Path) -> dict[str, int]:
    conn = sqlite3.connect(out)
    try:
        return dict(conn.execute("SELECT table_name, copied FROM _export_state WHERE table_name != '*'").fetchall())
    finally:
        conn.close()


def test_export_sqlite_copies_the_archive_and_updates_only_what_changed(
    source: tuple[Path, str | Path], tmp_path: Path
) -> None:
    config, database = source
    out = tmp_path / "copy.db"
    first = exported(config, out)
    assert first.stdout.startswith(f"6 articles in {out} (")
    same_tables(database, out)
    with open_store(out) as copy, open_store(database) as original:
        assert copy.schema_version == SQLITE_SCHEMA  # type: ignore[attr-defined]
        assert sorted(r["id"] for r in copy.search("summit")) == sorted(r["id"] for r in original.search("summit"))
        assert len(copy.search("edited")) == 1 and copy.integrity_problems() == []
        assert [r["id"] for r in copy.iter_articles()] == [r["id"] for r in original.iter_articles()]
    assert sum(written(out).values()) == sum(n for n, _ in sums(database, out).values())
    exported(config, out)
    assert sum(written(out).values()) == 0  # nothing changed: nothing written
    with open_store(database) as store:
        add_article(store, 50, feed="other")  # the feed the poll below is of: one feed changes
        revise(store, f"{3:016x}", 4, "Story 3, edited")
        store.record_poll(
            FeedResult("other", "error", http_status=503, error_reason="http_503", error="HTTP 503"),
            PollRecord("backing_off", NOW + timedelta(hours=1)),
            started_at=NOW + timedelta(minutes=1),
            duration_ms=3,
        )
    update = exported(config, out)
    # from PostgreSQL only the rows changed since the last run are read (changed_xid); SQLite's all
    read = "2/2" if isinstance(database, str) else "7/7"
    assert f"articles: {read} rows" in update.stderr.splitlines()
    assert written(out) == {
        "feeds": 1,  # "other": its newest item, its poll
        "articles": 2,  # the new one, and the one revised (its version, its next revisit)
        "article_urls": 2,  # the new article's URL and alias
        "captures": 2,  # the new article's page, the revisit's
        "article_versions": 2,  # at the first edit, the first version is kept as a row of its own too
        "article_events": 1,  # edited
        "entries": 1,
        "polls": 1,
        "backfill_jobs": 0,
        "backfill_sources": 0,
        "gaps": 0,
    }
    same_tables(database, out)
    with open_store(out) as copy:
        assert copy.count("articles") == 7
        assert sorted(r["title"] for r in copy.search("edited")) == ["Story 1, edited again", "Story 3, edited"]


def test_export_sqlite_since_keeps_the_foreign_keys(source: tuple[Path, str | Path], tmp_path: Path) -> None:
    config, _ = source
    out = tmp_path / "recent.db"
    done = exported(config, out, "--since", "2020-08-13")
    assert done.stdout.startswith(f"4 articles published since 2020-08-13 in {out}")
    conn = sqlite3.connect(out)
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        days = [day for (day,) in conn.execute("SELECT day FROM articles ORDER BY day")]
        assert days == ["2020-08-13", "2020-08-14", "2020-08-15", "2020-08-20"]
        assert conn.execute("SELECT COUNT(*) FROM feeds").fetchone() == (2,)
        assert conn.execute("SELECT COUNT(*) FROM gaps").fetchone() == (1,)
        assert conn.execute("SELECT COUNT(*) FROM backfill_sources").fetchone() == (1,)
        # the articles of before are not there, nor their aliases, captures or entries
        assert conn.execute("SELECT COUNT(*) FROM article_urls").fetchone() == (8,)  # each: its URL, an alias
        assert conn.execute("SELECT COUNT(*) FROM article_versions").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM captures WHERE kind = 'page'").fetchone() == (4,)
        linked = conn.execute("SELECT COUNT(*) FROM entries WHERE article_id IS NOT NULL").fetchone()
        assert linked == (4,)
    finally:
        conn.close()
    again = exported(config, out)  # a rerun keeps the copy's --since
    assert again.stdout.startswith("4 articles published since 2020-08-13")
    refused = run(config, "export", "--format", "sqlite", "--out", str(out), "--since", "2020-08-01")
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"error: {out}: was exported with --since 2020-08-13; use the same or a new file"
    ]


def test_export_sqlite_refuses_what_is_not_its_copy(archive: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    (tmp_path / "other").mkdir()
    with open_store(tmp_path / "other" / "real.db") as store:
        store.sync_feeds([FEED])
    cases = {
        str(db): f"error: {db}: is the archive itself; give another file",
        str(
            tmp_path / "other" / "real.db"
        ): f"error: {tmp_path / 'other' / 'real.db'}: exists and is not an export copy; give a new file",
        str(archive): f"error: {archive}: not an SQLite database: file is not a database",
        str(
            tmp_path / "nowhere" / "c.db"
        ): f"error: {tmp_path / 'nowhere' / 'c.db'}: cannot write: the folder {tmp_path / 'nowhere'} does not exist",
    }
    for out, message in cases.items():
        refused = run(archive, "export", "--format", "sqlite", "--out", out)
        assert (refused.returncode, refused.stderr.splitlines()) == (1, [message]), out
    copy = tmp_path / "copy.db"
    exported(archive, copy)
    other = write_config(tmp_path / "other", FEEDS, settings="  database: real.db\n")
    mixed = run(other, "export", "--format", "sqlite", "--out", str(copy))
    assert mixed.stderr.splitlines() == [
        f"error: {copy}: is a copy of another archive ({db.resolve()}); give a new file"
    ]
    usage = run(archive, "export", "--format", "sqlite")
    assert usage.returncode == 2 and "--format sqlite needs --out FILE" in usage.stderr
    assert run(archive, "export", "--format", "sqlite", "--out", str(copy), "--source", "TASS").returncode == 2


def test_datasette_serves_the_exported_copy_of_a_postgresql_archive(tmp_path: Path) -> None:
    url = fresh_database()
    with open_store(url) as store:
        fill(store)
        titles = sorted(row["title"] for row in store.iter_articles(columns=["title"]))
    config = write_config(tmp_path, FEEDS, settings=f"  database: '{url}'\n  archive_dir: archive\n")
    out = tmp_path / "served.db"
    exported(config, out)
    with serving(config, "--database", str(out)) as client:
        response = client.get("/archive/articles.json", params={"_shape": "array", "_col": "title", "_size": "100"})
        assert response.status_code == 200, response.text
        assert sorted(row["title"] for row in response.json()) == titles
        found = client.get("/archive/articles.json", params={"_shape": "array", "_search": "again", "_col": "title"})
        assert [row["title"] for row in found.json()] == ["Story 1, edited again"]


def test_a_source_changed_between_two_runs_is_told_and_rechecked(archive: Path, url: str) -> None:
    db = archive.parent / "a.db"
    assert run(archive, "migrate", "--to", url).returncode == 0
    with open_store(db) as store:  # the daemon ran between two runs: an edit, a new article
        revise(store, f"{4:016x}", 6, "Story 4, edited")
        add_article(store, 60)
    # a rerun continues after each table's last key: it misses the edit in place, the feed's newest
    # item, and the new article's URLs (they sort before the last one copied); the comparison tells
    rerun = run(archive, "migrate", "--to", url)
    assert rerun.returncode == 1
    errors = [line.split(":")[1].strip() for line in rerun.stderr.splitlines() if line.startswith("error:")]
    # the feed's row differs unless its change fell in the second its copy was taken (timestamps
    # are whole seconds)
    assert errors in (["feeds", "articles", "article_urls"], ["articles", "article_urls"])
    assert rerun.stderr.splitlines()[-1] == (
        "the archive changed while it was copied? run `aggregator migrate --recheck` again"
    )
    fixed = run(archive, "migrate", "--to", url, "--recheck")
    assert fixed.returncode == 0, fixed.stderr
    copied = 4 if "feeds" in errors else 3
    assert f"copied {copied} rows" in fixed.stdout  # the feed, the edited article, the two URLs
    same_tables(db, url)
