"""The store's interface (aggregator.store.Store), against every backend in tests/helpers/stores.py.

Nothing here looks behind the interface: what a backend keeps, and how, is its own (the SQLite
backend's particulars are in test_store_sqlite.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath

import pytest

from aggregator.document.render import document_relpath
from aggregator.errors import InvalidQuery, StoreError
from aggregator.models import CaptureRef, FeedResult, FeedSpec
from aggregator.store import PollRecord, Store, WorkerBeat, iso, utc_now
from tests.helpers.stores import BACKENDS, DAY, FEED, Backend
from tests.helpers.stores import new_article as article


def entry(key: str, url: str | None = None, published: str | None = None) -> dict[str, object]:
    return {"key": key, "link": url or key, "url": url or key, "title": None, "feed_published": published}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    with backend.open() as opened:
        opened.sync_feeds([FEED])
        yield opened


# -- entries -------------------------------------------------------------------------------------


def test_entries_are_recorded_once(store: Store) -> None:
    assert store.add_entries("tass", [entry("a"), entry("b"), entry("a")]) == (2, 0)
    assert store.add_entries("tass", [entry("a"), entry("c")]) == (1, 0)
    assert [w.key for w in store.entries_to_fetch("tass", 5)] == ["a", "b", "c"]
    assert store.feed_state("tass").unfinished


def test_failed_entries_wait_for_their_retry_time_then_are_abandoned(store: Store) -> None:
    store.add_entries("tass", [entry("a")])
    later = utc_now() + timedelta(hours=1)
    status = store.entry_failed("tass", "a", reason="http_404", error="GET a: HTTP 404", max_attempts=2, retry_at=later)
    assert status == "failed"
    assert store.entries_to_fetch("tass", 2) == []  # not before its retry time
    assert [w.attempts for w in store.entries_to_fetch("tass", 2, now=later)] == [1]
    assert store.feed_overview()[0]["failing"] == 1
    assert store.entry_failed("tass", "a", reason="http_404", error="GET a: HTTP 404", max_attempts=2) == "abandoned"
    assert store.entries_to_fetch("tass", 2, now=later + timedelta(days=1)) == []
    (row,) = store.feed_overview()
    assert (row["failing"], row["abandoned"]) == (0, 1)


# -- articles ------------------------------------------------------------------------------------


def test_articles_are_numbered_in_their_folder_by_the_format_and_link_their_entries(store: Store) -> None:
    store.add_entries("tass", [entry("e1", "https://tass.com/a"), entry("e2", "https://tass.com/b")])
    first = store.save_article(article("https://tass.com/a", "1" * 16), ("tass", "e1"))
    second = store.save_article(article("https://tass.com/b", "2" * 16), ("tass", "e2"))
    other = store.save_article(article("https://tass.com/c", "3" * 16, day=date(2020, 8, 14)), None)
    assert [first.path, second.path, other.path] == [
        str(document_relpath("TASS", DAY, 0, "1" * 16)),
        str(document_relpath("TASS", DAY, 1, "2" * 16)),
        str(document_relpath("TASS", date(2020, 8, 14), 0, "3" * 16)),
    ]
    assert first.created and second.created and first.document == "\nT"
    assert store.entries_to_fetch("tass", 5) == []
    assert not store.feed_state("tass").unfinished
    assert store.feed_overview()[0]["articles"] == 2
    assert store.article("1" * 16)["path"] == first.path
    assert store.article("f" * 16) is None


def test_one_url_or_alias_is_one_article(store: Store) -> None:
    saved = store.save_article(article("https://tass.com/a", "1" * 16, aliases=("http://tass.com/a?x",)), None)
    again = store.save_article(article("https://tass.com/a", "1" * 16), None)
    via_alias = store.save_article(article("https://tass.com/other", "9" * 16, aliases=("http://tass.com/a?x",)), None)
    assert saved.created and not again.created and not via_alias.created
    assert (again.path, again.document) == (None, None)
    assert again.article_id == via_alias.article_id == "1" * 16
    assert store.count("articles") == 1
    assert store.article_for_url("http://tass.com/a?x") == store.article_for_url("https://tass.com/other") == "1" * 16
    assert store.article_for_url("https://tass.com/never") is None
    # an entry of another feed pointing at a known URL is linked at once, never fetched
    store.sync_feeds([FeedSpec(id="other", url="https://x.org/rss", source="X")])
    assert store.add_entries("other", [entry("k", "https://tass.com/other")]) == (1, 1)
    assert store.entries_to_fetch("other", 5) == []


def test_an_entry_linked_to_a_known_article_is_done(store: Store) -> None:
    store.save_article(article("https://tass.com/a", "1" * 16), None)
    store.add_entries("tass", [entry("e", "https://tass.com/a?utm=x")])  # the feed's URL, not yet known
    store.link_entry("tass", "e", "1" * 16)
    assert store.entries_to_fetch("tass", 5) == []
    assert store.dangling_entries() == []
    store.add_entries("tass", [entry("lost")])
    with pytest.raises(StoreError):  # an article that is not there: refused, the entry left as it was
        store.link_entry("tass", "lost", "f" * 16)
    assert [w.key for w in store.entries_to_fetch("tass", 5)] == ["lost"]
    assert store.dangling_entries() == []


def capture(
    offset: int, status: int = 200, record_type: str = "response", url: str = "https://tass.com/a"
) -> CaptureRef:
    return CaptureRef(
        file="aggregator-1.warc.gz",
        offset=offset,
        length=100,
        record_type=record_type,
        url=url,
        date=f"2026-12-02T10:00:0{offset % 10}.123456Z",
        status=status,
        digest=f"sha1:{offset:032d}",
        content_type="text/html" if status == 200 else None,
    )


def test_a_pages_captures_are_recorded_with_its_article(store: Store) -> None:
    moved, page = capture(0, 301, url="https://tass.com/a?r=1"), capture(200)
    store.save_article(article("https://tass.com/a", "1" * 16, captures=(moved, page)), None)
    store.save_article(article("https://tass.com/b", "2" * 16), None)
    assert store.page_capture("1" * 16) == page  # the answer, not the redirect before it
    assert store.page_capture("2" * 16) is None
    assert [ref for _, ref in store.iter_captures()] == [moved, page]
    assert store.count("captures") == 2


def test_a_feeds_captures_and_its_last_one(store: Store) -> None:
    assert store.last_feed_capture("tass") is None
    first, revisit = capture(0, url=FEED.url), capture(300, 304, "revisit", url=FEED.url)
    store.record_captures("feed", [first], feed_id="tass")
    store.record_captures("feed", [revisit], feed_id="tass")
    assert store.last_feed_capture("tass") == revisit
    assert [ref for _, ref in store.iter_captures()] == [first, revisit]


def test_a_new_archive_has_no_pages_to_move(store: Store) -> None:
    assert store.kept_pages_left() == 0 and store.kept_pages() == [] and store.kept_page("1" * 16) is None
    assert store.drop_pages_table() is False or store.kept_pages_left() == 0


def test_text_files_are_pending_until_marked_written(store: Store) -> None:
    first = store.save_article(article("https://tass.com/a", "1" * 16), None)
    second = store.save_article(article("https://tass.com/b", "2" * 16), None)
    assert store.articles_without_text() == [("1" * 16, first.path, "\nT"), ("2" * 16, second.path, "\nT")]
    store.mark_text_written()  # nothing to mark: nothing changes
    store.mark_text_written("1" * 16, "2" * 16)
    assert store.articles_without_text() == []


def test_a_new_extraction_replaces_the_fields_keeps_the_path_and_asks_for_the_file(store: Store) -> None:
    saved = store.save_article(article("https://tass.com/a", "1" * 16), None)
    store.mark_text_written("1" * 16)
    assert [r["id"] for r in store.search("b")] == ["1" * 16]
    store.update_extraction("1" * 16, {"title": "Kremlin", "body": "summit talks", "document": "\nKREMLIN"})
    assert [r["id"] for r in store.search("summit")] == ["1" * 16]
    assert store.search("b") == []
    assert store.articles_without_text() == [("1" * 16, saved.path, "\nKREMLIN")]
    assert store.integrity_problems() == []


def test_articles_to_reextract_carry_what_dated_them(store: Store) -> None:
    store.add_entries("tass", [entry("e1", "https://tass.com/a", published="2020-08-12T21:26:00+00:00")])
    store.save_article(article("https://tass.com/a", "1" * 16), ("tass", "e1"))
    store.save_article(article("https://tass.com/b", "2" * 16, day=date(2020, 9, 1)), None)
    rows = store.articles_to_reextract()
    assert [r["id"] for r in rows] == ["1" * 16, "2" * 16]
    assert rows[0]["feed_published"] == "2020-08-12T21:26:00+00:00" and rows[0]["first_seen"]
    assert rows[1]["feed_published"] is None
    assert [r["id"] for r in store.articles_to_reextract(since="2020-09-01")] == ["2" * 16]
    assert [r["id"] for r in store.articles_to_reextract(until="2020-08-13")] == ["1" * 16]  # inclusive
    assert [r["id"] for r in store.articles_to_reextract(source="tass", since="2020-08-13", until="2020-09-01")] == [
        "1" * 16,
        "2" * 16,
    ]
    assert store.articles_to_reextract(source="TAS") == []


# -- feeds and polls ------------------------------------------------------------------------------


def test_polls_keep_the_validators_of_the_last_good_one_and_schedule_the_next(store: Store) -> None:
    started = utc_now()
    soon = started + timedelta(minutes=15)
    store.record_poll(
        FeedResult("tass", "ok", http_status=200),
        PollRecord("ok", soon, etag='"v1"', last_modified="Wed, 12 Aug 2020 21:26:00 GMT"),
        started_at=started,
        duration_ms=5,
    )
    assert store.due_feeds(started, ["tass"]) == []
    assert store.due_feeds(soon, ["tass", "unknown"]) == [("tass", soon)]
    store.record_poll(
        FeedResult("tass", "error", http_status=503, error_reason="http_503", error="HTTP 503"),
        PollRecord("backing_off", soon),
        started_at=started,
        duration_ms=5,
    )
    state = store.feed_state("tass")
    assert (state.etag, state.last_modified) == ('"v1"', "Wed, 12 Aug 2020 21:26:00 GMT")
    (row,) = store.feed_overview()
    assert (row["status"], row["error_count"], row["last_error"]) == ("backing_off", 1, "HTTP 503")
    assert store.count("polls") == 2
    store.record_poll(
        FeedResult("tass", "error", http_status=410, error_reason="http_410", error="HTTP 410"),
        PollRecord("gone", None),
        started_at=started,
        duration_ms=5,
    )
    assert store.due_feeds(soon + timedelta(days=365), ["tass"]) == []


def test_a_changed_feed_url_starts_the_feed_afresh(store: Store) -> None:
    now = utc_now()
    store.record_poll(
        FeedResult("tass", "error", http_status=503, error_reason="http_503", error="HTTP 503"),
        PollRecord("backing_off", now + timedelta(hours=1), etag='"v1"'),
        started_at=now,
        duration_ms=5,
    )
    store.sync_feeds([FeedSpec(id="tass", url="https://tass.com/rss/v3.xml", source="TASS")])
    state = store.feed_state("tass")
    assert (state.url, state.etag, state.status, state.error_count) == ("https://tass.com/rss/v3.xml", None, "new", 0)
    assert store.due_feeds(now, ["tass"]) == [("tass", None)]


def test_an_adopted_redirect_survives_the_old_config(store: Store) -> None:
    now = datetime.now(UTC)
    store.record_poll(
        FeedResult("tass", "ok", http_status=200),
        PollRecord("ok", now, adopt_url="https://tass.com/rss/v9.xml"),
        started_at=now,
        duration_ms=5,
    )
    store.sync_feeds([FEED])  # feeds.yaml still names the old URL
    assert store.feed_state("tass").url == "https://tass.com/rss/v9.xml"
    assert store.feed_overview()[0]["previous_urls"] == '["https://tass.com/rss/v2.xml"]'


def test_a_disabled_feed_is_never_due(store: Store) -> None:
    store.sync_feeds([replace(FEED, enabled=False)])
    assert store.due_feeds(utc_now(), ["tass"]) == []


# -- workers and their claims ----------------------------------------------------------------------

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def beat(worker: str, at: datetime, lease: int = 60, metrics: str | None = None) -> WorkerBeat:
    host, pid = worker.rsplit("-", 1)
    return WorkerBeat(worker, host, int(pid), iso(T0), iso(at), iso(at + timedelta(seconds=lease)), metrics)


def test_a_claimed_feed_is_nobody_elses_until_released(store: Store) -> None:
    store.beat(beat("m1-1", T0))
    store.beat(beat("m2-2", T0))
    until = T0 + timedelta(seconds=60)
    assert store.claim_feeds("m1-1", ["tass"], T0, until) == ["tass"]
    assert store.claim_feeds("m2-2", ["tass"], T0, until) == []
    assert store.claim_feeds("m1-1", ["tass"], T0, until) == ["tass"]  # its own claim, renewed
    store.release_feeds("m2-2", ["tass"])  # not its claim: nothing happens
    assert store.claim_feeds("m2-2", ["tass"], T0, until) == []
    store.release_feeds("m1-1", ["tass"])
    assert store.claim_feeds("m2-2", ["tass"], T0, until) == ["tass"]


def test_a_claim_lapses_with_its_lease_unless_the_worker_beats(store: Store) -> None:
    store.beat(beat("m1-1", T0))
    store.claim_feeds("m1-1", ["tass"], T0, T0 + timedelta(seconds=60))
    later = T0 + timedelta(seconds=50)
    assert store.beat(beat("m1-1", later)) == 1  # renews the claim to later + 60
    assert store.claim_feeds("m2-2", ["tass"], T0 + timedelta(seconds=70), T0 + timedelta(seconds=130)) == []
    assert store.live_workers(T0 + timedelta(seconds=70)) == ["m1-1"]
    gone = T0 + timedelta(seconds=111)  # past later + 60: the worker is dead, its claim lapsed
    assert store.live_workers(gone) == []
    assert store.claim_feeds("m2-2", ["tass"], gone, gone + timedelta(seconds=60)) == ["tass"]
    assert store.beat(beat("m1-1", gone)) == 0  # a worker back from the dead holds nothing


def test_only_due_feeds_are_claimed(store: Store) -> None:
    store.sync_feeds([FEED, FeedSpec("later", "https://later.example/rss", "L")])
    store.record_poll(
        FeedResult("later", "ok"), PollRecord("ok", T0 + timedelta(hours=1)), started_at=T0, duration_ms=1
    )
    assert store.claim_feeds("m1-1", ["later", "tass", "unknown"], T0, T0 + timedelta(seconds=60)) == ["tass"]
    # a one-off fetch polls what it is told, due or not, but never what a worker holds
    anytime = store.claim_feeds("fetch-9", ["later", "tass", "unknown"], T0, T0 + timedelta(seconds=60), due_only=False)
    assert anytime == ["later"]


def test_leaving_releases_every_claim_and_the_overview_shows_the_workers(store: Store) -> None:
    store.sync_feeds([FEED, FeedSpec("b", "https://b.example/rss", "B")])
    store.beat(beat("m1-1", T0, metrics="http://127.0.0.1:9100/metrics"))
    store.beat(beat("m2-2", T0 - timedelta(seconds=100)))  # its lease ran out before T0
    store.claim_feeds("m1-1", ["tass", "b"], T0, T0 + timedelta(seconds=60))
    rows = {row["id"]: row for row in store.worker_overview(T0)}
    assert (rows["m1-1"]["live"], rows["m1-1"]["claims"], rows["m1-1"]["claimed"]) == (1, 2, "b tass")
    assert rows["m1-1"]["metrics"] == "http://127.0.0.1:9100/metrics" and rows["m1-1"]["pid"] == 1
    assert (rows["m2-2"]["live"], rows["m2-2"]["claims"]) == (0, 0)
    store.leave("m1-1")
    assert [row["id"] for row in store.worker_overview(T0)] == ["m2-2"]
    assert store.claim_feeds("m2-2", ["tass", "b"], T0, T0 + timedelta(seconds=60)) == ["tass", "b"]


def test_two_workers_claiming_at_once_never_share_a_feed(backend: Backend, store: Store) -> None:
    feeds = [FeedSpec(f"f{i}", f"https://f{i}.example/rss", "F") for i in range(40)]
    store.sync_feeds(feeds)
    got: dict[str, list[str]] = {}

    def claimer(worker: str) -> None:
        with backend.open() as own:
            got[worker] = [
                f for feed in feeds for f in own.claim_feeds(worker, [feed.id], T0, T0 + timedelta(seconds=60))
            ]

    threads = [threading.Thread(target=claimer, args=(f"m{i}-{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [feed_id for ids in got.values() for feed_id in ids]
    assert sorted(claimed) == sorted(f.id for f in feeds)  # each feed claimed, and once


# -- the read side ---------------------------------------------------------------------------------


def test_articles_are_read_one_by_one_filtered_by_source_and_day(store: Store) -> None:
    store.save_article(article("https://tass.com/a", "1" * 16), None)
    store.save_article(article("https://x.org/b", "2" * 16, day=date(2020, 9, 1), source="Other"), None)
    assert [r["id"] for r in store.iter_articles()] == ["1" * 16, "2" * 16]
    assert [r["id"] for r in store.iter_articles(source="tass")] == ["1" * 16]
    assert [r["id"] for r in store.iter_articles(since="2020-08-14")] == ["2" * 16]
    assert [r["id"] for r in store.iter_articles(until="2020-08-13")] == ["1" * 16]
    assert list(store.iter_articles(columns=["id", "day"])) == [
        {"id": "1" * 16, "day": "2020-08-13"},
        {"id": "2" * 16, "day": "2020-09-01"},
    ]
    with pytest.raises(StoreError, match="unknown article column"):
        list(store.iter_articles(columns=["id", "seq"]))


def test_search_finds_every_word_and_marks_the_snippet(store: Store) -> None:
    store.save_article(article("https://tass.com/a", "1" * 16, body="Talks in Moscow ended"), None)
    store.save_article(article("https://tass.com/b", "2" * 16, body="Moscow weather"), None)
    (hit,) = store.search("moscow talks", marks=("<", ">"))
    assert (hit["id"], hit["snippet"]) == ("1" * 16, "<Talks> in <Moscow> ended")
    assert sorted(r["id"] for r in store.search("talks OR weather")) == ["1" * 16, "2" * 16]
    assert [r["id"] for r in store.search('"moscow talks"')] == []  # a phrase, in order
    assert len(store.search("moscow", limit=1)) == 1
    with pytest.raises(InvalidQuery, match="no words"):
        store.search("   ")
    assert store.rebuild_fts() == 2
    assert len(store.search("moscow")) == 2


def test_counts_know_the_tables_and_refuse_others(store: Store) -> None:
    assert store.count("feeds") == 1 and store.count("articles") == 0
    with pytest.raises(StoreError, match="unknown table"):
        store.count("sqlite_master")


def test_a_feed_counts_an_article_its_items_share_once(store: Store) -> None:
    store.add_entries("tass", [entry("e1", "https://tass.com/a"), entry("e2", "https://tass.com/a?again")])
    store.save_article(article("https://tass.com/a", "1" * 16), ("tass", "e1"))
    assert not store.save_article(article("https://tass.com/a", "1" * 16), ("tass", "e2")).created
    assert store.feed_overview()[0]["articles"] == 1


# -- one archive, many connections -----------------------------------------------------------------


def test_the_archive_outlives_its_connection(backend: Backend, store: Store) -> None:
    store.add_entries("tass", [entry("e1", "https://tass.com/a")])
    store.save_article(article("https://tass.com/a", "1" * 16), ("tass", "e1"))
    store.close()
    with backend.open() as again:
        assert again.count("articles") == 1 and again.article_for_url("https://tass.com/a") == "1" * 16
        assert again.feed_overview()[0]["articles"] == 1


def test_concurrent_writers_neither_fail_nor_duplicate(backend: Backend, store: Store) -> None:
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            with backend.open() as own:
                for i in range(30):
                    own.save_article(article(f"https://tass.com/{i}", f"{i:016x}"), None)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert store.count("articles") == 30
    numbers = sorted(PurePosixPath(r["path"]).name[:3] for r in store.iter_articles(columns=["path"]))
    assert numbers == [f"{n:03d}" for n in range(30)]  # each running number given once


def test_a_feed_removed_from_the_config_is_disabled_and_comes_back_when_listed(backend: Backend) -> None:
    with backend.open() as store:
        feeds = [FeedSpec("a", "http://a.example/rss", "A"), FeedSpec("b", "http://b.example/rss", "B")]
        store.sync_feeds(feeds)
        store.record_poll(
            FeedResult("b", "ok"),
            PollRecord("ok", datetime(2030, 1, 1, tzinfo=UTC)),
            started_at=utc_now(),
            duration_ms=1,
        )
        assert store.retire_feeds(["a"]) == ["b"]
        assert store.retire_feeds(["a"]) == []  # once
        rows = {row["id"]: row for row in store.feed_overview()}
        assert (rows["b"]["enabled"], rows["b"]["next_poll_at"]) == (0, None)
        assert [feed_id for feed_id, _ in store.due_feeds(datetime(2031, 1, 1, tzinfo=UTC), ["a", "b"])] == ["a"]
        store.sync_feeds(feeds)
        assert {feed_id for feed_id, _ in store.due_feeds(utc_now(), ["a", "b"])} == {"a", "b"}
