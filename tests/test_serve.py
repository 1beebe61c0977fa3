"""`aggregator serve`: a real Datasette on a free local port, queried over HTTP through its JSON API."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import markupsafe
import pytest

from aggregator.store import NewArticle, open_store
from tests.helpers.archive import BBC_DOC, BBC_URL, REFERENCE_DOC, REFERENCE_ID, build_archive
from tests.helpers.datasette import free_port, serving
from tests.helpers.site import run_cli

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def web(archive: Path) -> Iterator[httpx.Client]:
    with serving(archive) as client:
        yield client


def rows(client: httpx.Client, path: str, **params: str) -> list[dict]:
    response = client.get(path, params={"_shape": "array", **params})
    assert response.status_code == 200, response.text
    return response.json()


def db_rows(archive: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(archive.parent / "a.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_search_finds_the_seed_article_by_a_word_of_its_body(web: httpx.Client) -> None:
    assert rows(web, "/archive/articles.json", _search="Aliyev", _col="title") == [
        {"id": REFERENCE_ID, "title": "Presidents of Russia and Azerbaijan discuss regional issues in phone call"}
    ]
    assert [
        row["url"] for row in rows(web, "/archive/articles.json", _search="coronavirus", _col="url", _sort="id")
    ] == [BBC_URL, "https://tass.com/politics/1189047"]


def test_documents_come_back_exact(web: httpx.Client, archive: Path) -> None:
    (row,) = rows(web, f"/archive/articles/{REFERENCE_ID}.json")
    assert row["document"].encode("utf-8") == REFERENCE_DOC
    (bbc,) = rows(web, "/archive/articles.json", url=BBC_URL)
    assert bbc["document"].encode("utf-8") == BBC_DOC


def test_articles_newest_first_with_facets_on_request(web: httpx.Client, archive: Path) -> None:
    assert [r["published"] for r in rows(web, "/archive/articles.json", _col="published")] == [
        "2020-08-13T12:00:00+03:00",
        "2020-08-13T00:26:00+03:00",
        "2020-04-10T17:58:15+01:00",
    ]
    # no facet is counted unless asked for (each counts every article)
    assert web.get("/archive/articles.json", params={"_size": "0"}).json()["facet_results"] == {}
    assert web.get("/archive/entries.json", params={"_size": "0"}).json()["facet_results"] == {}
    asked = {"_size": "0", "_facet": ["source", "feed_id", "day", "extractor"]}
    facets = web.get("/archive/articles.json", params=asked).json()["facet_results"]
    assert {name: [(f["value"], f["count"]) for f in facet["results"]] for name, facet in facets.items()} == {
        "source": [("TASS", 2), ("BBC News", 1)],
        "feed_id": [("tass", 2), ("bbc", 1)],
        "day": [("2020-08-13", 2), ("2020-04-10", 1)],
        "extractor": db_rows(
            archive, "SELECT extractor, COUNT(*) AS n FROM articles GROUP BY extractor ORDER BY n DESC, extractor"
        ),
    }
    status = web.get("/archive/entries.json", params={"_size": "0", "_facet": "status"}).json()["facet_results"]
    assert [(f["value"], f["count"]) for f in status["status"]["results"]] == [("archived", 4), ("failed", 2)]


def test_stored_queries_answer(web: httpx.Client) -> None:
    assert [r["url"] for r in rows(web, "/archive/latest_articles.json")] == [
        "https://tass.com/world/1189100",
        "https://tass.com/politics/1189047",
        BBC_URL,
    ]
    assert rows(web, "/archive/articles_per_day.json") == [
        {"day": "2020-08-13", "source": "TASS", "articles": 2},
        {"day": "2020-04-10", "source": "BBC News", "articles": 1},
    ]
    assert sorted((r["status"], r["reason"], r["link"]) for r in rows(web, "/archive/failed_extractions.json")) == [
        ("failed", "http_404", "https://tass.com/politics/1189999"),
        ("failed", "not_article", "https://tass.com/society/1189200"),
    ]
    health = [(r["id"], r["articles"], r["failing"], r["error_count"]) for r in rows(web, "/archive/feed_health.json")]
    assert health == [("tass", 2, 2, 0), ("bbc", 1, 0, 0), ("other", 1, 0, 0)]
    assert [(r["id"], r["items"], r["feeds"]) for r in rows(web, "/archive/duplicates_merged.json")] == [
        (REFERENCE_ID, 2, "tass,other")
    ]
    # the two failed pages are the archive's holes, by month; no gap was ever found
    holes = rows(web, "/archive/holes.json", month="")
    assert sorted((r["kind"], r["status"], r["reason"]) for r in holes) == [
        ("page", "failed", "http_404"),
        ("page", "failed", "not_article"),
    ]
    assert rows(web, "/archive/holes.json", month="1999-01") == []
    assert rows(web, "/archive/gaps.json") == []


def test_pages_link_to_the_original_and_keep_line_breaks(web: httpx.Client) -> None:
    assert "News archive" in web.get("/").text
    table = web.get("/archive/articles", follow_redirects=True).text
    assert '<a href="https://tass.com/politics/1189047" rel="noreferrer">' in table
    assert "/-/aggregator/aggregator.css" in table
    every_column = web.get("/archive/articles", params={"_sort_desc": "published"}).text
    document = REFERENCE_DOC.decode("utf-8")
    assert f'<div class="aggregator-text">{markupsafe.escape(document)}</div>' in every_column
    css = web.get("/-/aggregator/aggregator.css")
    assert css.status_code == 200 and "pre-wrap" in css.text


def test_reads_succeed_while_the_archiver_writes(tmp_path: Path) -> None:
    """Datasette reads while a writer commits article after article: no lock error, a growing count."""
    config = build_archive(tmp_path)
    reads = 6
    done_reading = threading.Event()
    written = [0]
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with open_store(tmp_path / "a.db") as store:
                for number in range(20_000):  # until the reader has read enough (bounded)
                    if done_reading.is_set():
                        return
                    article_id = f"{number:016x}"
                    store.save_article(
                        NewArticle(
                            url=f"https://example.org/{number}",
                            article_id=article_id,
                            title=f"Load {number}",
                            published="2021-01-01T12:00:00+00:00",
                            published_via="feed",
                            day="2021-01-01",
                            source="Load",
                            feed_id=None,
                            body=f"loadword paragraph {number}",
                            document=f"\nLOAD {number}",
                            extractor="test",
                            fetched_at="2021-01-01T12:00:00+00:00",
                        ),
                        None,
                    )
                    written[0] = number + 1
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with serving(config) as client:
        thread = threading.Thread(target=writer)
        thread.start()
        seen = []
        while thread.is_alive() and len(seen) < reads:
            response = client.get("/archive/articles.json", params={"_search": "loadword", "_size": "0"})
            assert response.status_code == 200, response.text
            seen.append(response.json()["filtered_table_rows_count"])
        done_reading.set()
        thread.join()
        final = client.get("/archive/articles.json", params={"_search": "loadword", "_size": "0"}).json()
    assert errors == []
    assert len(seen) == reads and seen == sorted(seen) and seen[-1] > 0
    assert final["filtered_table_rows_count"] == written[0]


def test_serve_needs_an_archive(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds: []\n", encoding="utf-8")
    result = run_cli("serve", config=config)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: {tmp_path / 'archive' / 'archive.db'}: no archive database yet (run `aggregator fetch` first)\n"
    )


def test_serve_reports_a_port_in_use(archive: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), config=archive)
    assert (result.returncode, result.stderr) == (1, f"error: cannot listen on 127.0.0.1:{port}: the port is in use\n")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium is not installed")
def test_screenshots_of_the_article_table_and_a_search(web: httpx.Client, tmp_path: Path) -> None:
    """Screenshots to look at: set AGGREGATOR_SCREENSHOTS=DIR to keep them."""
    keep = os.environ.get("AGGREGATOR_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in (
        ("front", "/"),
        ("articles", "/archive/articles"),
        ("search", "/-/search?q=Aliyev"),
        ("document", f"/archive/articles/{REFERENCE_ID}"),
    ):
        target = folder / f"{name}.png"
        target.unlink(missing_ok=True)
        subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=1400,1000",
                f"--screenshot={target}",
                f"{web.base_url}{path}",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert target.stat().st_size > 20_000  # a rendered page, not a blank one
    if not keep:
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def test_error_responses_are_one_line_each_and_a_bad_request_is_a_400(archive: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    command = [sys.executable, "-m", "aggregator", "--config", str(archive), "serve", "--port", str(port)]
    out, err = (tmp_path / "out").open("w+b"), (tmp_path / "err").open("w+b")
    process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10)
        for _ in range(200):
            try:
                if client.get("/-/versions.json").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        answers = [
            client.get("/nope"),
            client.get("/archive/articles", params={"_sort": "nosuch"}),
            client.get("/archive/articles.json", params={"_search": '"'}),
        ]
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert [a.status_code for a in answers] == [404, 400, 400]
    assert answers[2].json()["error"] == "not a search the full-text index can read (an unbalanced quote?)"
    out.seek(0)
    err.seek(0)
    printed = out.read().decode() + err.read().decode()
    assert "Traceback" not in printed and "locals" not in printed
    assert len(printed.splitlines()) <= 3, printed  # the serving line, and nothing per request
