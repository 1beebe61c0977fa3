import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.errors import StoreError
from aggregator.models import FeedResult, FeedSpec
from aggregator.store.sqlite import SCHEMA_VERSION, NewArticle, PollRecord, Store, utc_now

FEED = FeedSpec(id="tass", url="https://tass.com/rss/v2.xml", source="TASS", timezone="Europe/Moscow")


def article(url: str, article_id: str, folder: str = "tass/2020-08-13", aliases: tuple[str, ...] = ()) -> NewArticle:
    return NewArticle(
        url=url, article_id=article_id, title="T", published="2020-08-13T00:26:00+03:00", published_via="page",
        day="2020-08-13", source="TASS", feed_id="tass", body="b", document="\nT", extractor="tass@2019",
        fetched_at="2020-08-13T00:00:00+00:00", folder=folder, aliases=aliases,
    )


def entry(key: str, url: str | None = None) -> dict[str, object]:
    return {"key": key, "link": url or key, "url": url or key, "title": None, "feed_published": None}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "sub" / "a.db") as opened:
        opened.sync_feeds([FEED])
        yield opened


def test_schema_is_versioned_and_wal(store: Store) -> None:
    assert store.schema_version == SCHEMA_VERSION == 3
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert set(store.db.table_names()) >= {"feeds", "articles", "article_urls", "entries", "polls"}


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        Store(path)


def test_entries_are_recorded_once(store: Store) -> None:
    assert store.add_entries("tass", [entry("a"), entry("b"), entry("a")]) == (2, 0)
    assert store.add_entries("tass", [entry("a"), entry("c")]) == (1, 0)
    assert [w.key for w in store.entries_to_fetch("tass", 5)] == ["a", "b", "c"]


def test_save_article_allocates_running_numbers_and_links_entries(store: Store) -> None:
    store.add_entries("tass", [entry("e1", "https://tass.com/a"), entry("e2", "https://tass.com/b")])
    assert store.feed_state("tass").unfinished
    first = store.save_article(article("https://tass.com/a", "1" * 16), ("tass", "e1"),
                               lambda n: f"tass/d/{n:03d}_a.txt")
    second = store.save_article(article("https://tass.com/b", "2" * 16), ("tass", "e2"),
                                lambda n: f"tass/d/{n:03d}_b.txt")
    other = store.save_article(article("https://tass.com/c", "3" * 16, folder="tass/2020-08-14"), None,
                               lambda n: f"tass/e/{n:03d}_c.txt")
    assert (first.path, second.path, other.path) == ("tass/d/000_a.txt", "tass/d/001_b.txt", "tass/e/000_c.txt")
    assert first.created and second.created
    assert store.entries_to_fetch("tass", 5) == []
    assert not store.feed_state("tass").unfinished
    linked = store.db.execute("SELECT COUNT(DISTINCT article_id) FROM entries WHERE feed_id = 'tass'").fetchone()[0]
    assert linked == 2


def test_same_url_or_alias_is_one_article(store: Store) -> None:
    saved = store.save_article(article("https://tass.com/a", "1" * 16, aliases=("http://tass.com/a?x",)), None,
                               lambda n: f"p{n}")
    again = store.save_article(article("https://tass.com/a", "1" * 16), None, lambda n: f"q{n}")
    via_alias = store.save_article(article("https://tass.com/other", "9" * 16, aliases=("http://tass.com/a?x",)),
                                   None, lambda n: f"r{n}")
    assert saved.created and not again.created and not via_alias.created
    assert again.article_id == via_alias.article_id == "1" * 16
    assert store.count("articles") == 1
    # an entry of another feed pointing at a known URL is linked at once, never fetched
    other = FeedSpec(id="other", url="https://x.org/rss", source="X")
    store.sync_feeds([other])
    assert store.add_entries("other", [entry("k", "https://tass.com/other")]) == (1, 1)
    assert store.entries_to_fetch("other", 5) == []


def test_failed_entries_are_retried_then_abandoned_with_reason(store: Store) -> None:
    store.add_entries("tass", [entry("a")])
    assert store.entry_failed("tass", "a", reason="http_404", error="GET a: HTTP 404", max_attempts=2) == "failed"
    assert [w.attempts for w in store.entries_to_fetch("tass", 2)] == [1]
    assert store.entry_failed("tass", "a", reason="http_404", error="GET a: HTTP 404", max_attempts=2) == "abandoned"
    assert store.entries_to_fetch("tass", 2) == []
    row = store.db.execute("SELECT status, attempts, last_error_reason FROM entries").fetchone()
    assert row == ("abandoned", 2, "http_404")


def test_poll_state_and_schedule(store: Store) -> None:
    started = utc_now()
    soon = started + timedelta(minutes=15)
    store.record_poll(FeedResult("tass", "ok", http_status=200),
                      PollRecord("ok", soon, etag='"v1"', last_modified="Wed, 12 Aug 2020 21:26:00 GMT"),
                      started_at=started, duration_ms=5)
    assert store.due_feeds(started, ["tass"]) == []
    assert store.due_feeds(soon, ["tass", "unknown"]) == [("tass", soon)]
    store.record_poll(FeedResult("tass", "error", http_status=503, error_reason="http_503", error="HTTP 503"),
                      PollRecord("backing_off", soon), started_at=started, duration_ms=5)
    state = store.feed_state("tass")
    assert (state.etag, state.last_modified) == ('"v1"', "Wed, 12 Aug 2020 21:26:00 GMT")
    (row,) = store.feed_overview()
    assert (row["status"], row["error_count"], row["last_error"]) == ("backing_off", 1, "HTTP 503")
    assert store.count("polls") == 2
    store.record_poll(FeedResult("tass", "error", http_status=410, error_reason="http_410", error="HTTP 410"),
                      PollRecord("gone", None), started_at=started, duration_ms=5)
    assert store.due_feeds(soon + timedelta(days=365), ["tass"]) == []
    # a changed feed URL starts afresh: validators and health forgotten
    store.sync_feeds([FeedSpec(id="tass", url="https://tass.com/rss/v3.xml", source="TASS")])
    state = store.feed_state("tass")
    assert (state.etag, state.status, state.error_count) == (None, "new", 0)
    assert store.due_feeds(started, ["tass"]) == [("tass", None)]


def test_an_adopted_redirect_survives_the_old_config(store: Store) -> None:
    now = datetime.now(UTC)
    store.record_poll(FeedResult("tass", "ok", http_status=200),
                      PollRecord("ok", now, adopt_url="https://tass.com/rss/v9.xml"), started_at=now, duration_ms=5)
    store.sync_feeds([FEED])  # feeds.yaml still names the old URL
    assert store.feed_state("tass").url == "https://tass.com/rss/v9.xml"
    assert store.feed_overview()[0]["previous_urls"] == '["https://tass.com/rss/v2.xml"]'


def test_text_files_pending_until_marked(store: Store) -> None:
    store.save_article(article("https://tass.com/a", "1" * 16), None, lambda n: "tass/x.txt")
    assert store.articles_without_text() == [("1" * 16, "tass/x.txt", "\nT")]
    store.mark_text_written("1" * 16)
    assert store.articles_without_text() == []


def test_written_text_files_are_recorded_in_batches(store: Store) -> None:
    for n in range(3):
        store.save_article(article(f"https://tass.com/a{n}", f"{n}" * 16), None, lambda n: f"tass/{n}.txt")
    # the next article's transaction records the files written since; the rest in one more transaction
    store.save_article(article("https://tass.com/b", "b" * 16), None, lambda n: "tass/b.txt",
                       written=["0" * 16, "1" * 16])
    assert [row[0] for row in store.articles_without_text()] == ["2" * 16, "b" * 16]
    store.mark_text_written()  # nothing to record: no transaction, no change
    store.mark_text_written("2" * 16, "b" * 16)
    assert store.articles_without_text() == []


def test_concurrent_writers_do_not_fail_or_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with Store(path) as first:
        first.sync_feeds([FEED])
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with Store(path) as store:
                for i in range(30):
                    store.save_article(article(f"https://tass.com/{i}", f"{i:016x}"), None,
                                       lambda seq, i=i: f"tass/{i}-{n}.txt")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store(path) as store:
        assert store.count("articles") == 30
        seqs = [r[0] for r in store.db.execute("SELECT seq FROM articles ORDER BY seq")]
        assert seqs == list(range(30))


def test_full_text_index_follows_title_and_body_only(store: Store) -> None:
    store.save_article(article("https://tass.com/a", "1" * 16), None, lambda n: "tass/x.txt")

    def fts_changes() -> int:
        return int(store.db.execute("SELECT total_changes()").fetchone()[0])

    before = fts_changes()
    store.mark_text_written("1" * 16)  # bookkeeping: one row updated, the index left alone
    assert fts_changes() - before == 1
    assert [r["id"] for r in store.search("b")] == ["1" * 16]
    store.update_extraction("1" * 16, {"title": "Kremlin", "body": "summit talks"})
    assert [r["id"] for r in store.search("summit")] == ["1" * 16]
    assert store.search("b") == []
    assert store.integrity_problems() == []


def test_a_page_compressed_by_the_caller_is_stored_as_given(store: Store) -> None:
    from aggregator.store.sqlite import compress_page

    html = b"<html><body>" + b"news " * 1000 + b"</body></html>"
    plain = article("https://tass.com/a", "1" * 16)
    store.save_article(NewArticle(**{**plain.__dict__, "html": html}), None, lambda n: "tass/a.txt")
    packed = NewArticle(**{**article("https://tass.com/b", "2" * 16).__dict__, "html": html,
                           "html_gzip": compress_page(html)})
    store.save_article(packed, None, lambda n: "tass/b.txt")
    assert store.page_html("1" * 16)[2] == store.page_html("2" * 16)[2] == html
    rows = store.db.execute("SELECT html_gzip FROM pages ORDER BY article_id").fetchall()
    assert rows[0][0] == rows[1][0] == compress_page(html)
