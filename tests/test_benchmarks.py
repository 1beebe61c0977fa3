"""The benchmark's code paths run (in quick mode) and give a table with every row; nothing is timed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aggregator import extract  # noqa: E402
from benchmarks import article_cost, daemon_scale, million  # noqa: E402
from benchmarks import run as bench  # noqa: E402
from benchmarks.site import article_page, section_of  # noqa: E402


@pytest.mark.slow  # subprocesses: a local site, cold and warm `aggregator fetch` runs, the daemon refresh path
def test_quick_benchmark_prints_a_table_with_every_row(tmp_path: Path) -> None:
    report = bench.run(bench.QUICK, 1, tmp_path)
    rows = [line for line in report.splitlines() if line.startswith("| ") and not line.startswith("| measure")]
    names = [row.split(" | ")[0] for row in rows]
    for expected in (
        "cold ingest",
        "warm cycle",
        "changed cycle",
        "cold ingest, the same feeds on 20 hosts",
        "extraction, TASS profile",
        "extraction, generic",
        "search on a",
        "storage: database bytes",
        "daemon: RSS MB after 1 ",
        "daemon: RSS MB after 3 ",
    ):
        assert any(expected in name for name in names), (expected, names)
    assert "Machine:" in report
    assert len(rows) == 21


def test_the_synthetic_pages_are_tass_pages_of_realistic_size() -> None:
    number = 1_000_003
    html, url = article_page(number).decode(), f"https://tass.com/{section_of(number)}/{number}"
    assert 40_000 <= len(html.encode()) <= 80_000
    article = extract.extract_article(html, url)
    assert article.extractor == "tass@2019" and len(article.paragraphs) >= 3


@pytest.mark.slow  # generates a 2,000-article archive; the CLI in subprocesses, Datasette in process
def test_quick_million_benchmark_prints_a_table_with_every_row(tmp_path: Path) -> None:
    db = tmp_path / "million.db"
    report = million.run(million.QUICK, db, regenerate=False, log=lambda line: None)
    rows = [line for line in report.splitlines() if line.startswith("| ") and not line.startswith("| measure")]
    names = [row.split(" | ")[0] for row in rows]
    for expected in (
        "| search: a word in under 0.5 %",
        "| search: a word in 0.5-5 %",
        "| search: a word in over 5 %",
        "| search: two words",
        "| search: a phrase",
        "| search: a prefix",
        "| search: a 0.5-5 % word, a source, a year",
        "| page: front page",
        "| page: articles list",
        "| page: search page",
        "| page: an article page",
        "| page: dashboard page",
        "| page: stored query `latest_articles`",
        "| page: stored query `duplicates_merged`",
        "| page: dashboard chart `articles_per_day`",
        "| `aggregator feeds`",
        "| `export --format jsonl",
        "| `export --format csv",
        "| `export --format text",
        "| insert (add_entries + save_article) at 2,000 articles",
        "| database bytes per article",
    ):
        assert any(name.startswith(expected) for name in names), (expected, names)
    assert "Machine:" in report
    # the archive is cached: a second run measures it again without generating it
    assert million.run(million.QUICK, db, regenerate=False, log=lambda line: None).count("| search: ") == 8


def test_the_million_archive_has_the_rows_production_gives_an_article(tmp_path: Path) -> None:
    from aggregator.document.render import parse_document
    from aggregator.store.sqlite import SQLiteStore

    sizes = million.Sizes(300, probe=50)
    million.generate(tmp_path / "a.db", sizes, log=lambda line: None)
    with SQLiteStore(tmp_path / "a.db") as store:
        assert store.count("articles") == 300
        assert not store.integrity_problems()
        rows = store._rows("SELECT * FROM articles ORDER BY rowid")
        bulk, probed = rows[0], rows[-1]  # the first by the bulk path, the last by save_article
        for row in (bulk, probed):
            document = parse_document(row["document"])
            assert document["url"] == row["url"] and document["source"] == row["source"]
            assert row["path"] == f"{row['folder']}/{row['seq']:03d}_{row['id']}.txt"
        assert set(bulk) == set(probed) and {k for k, v in bulk.items() if v is None} == {
            k for k, v in probed.items() if v is None
        }
        assert store.search(bulk["title"].split()[0], limit=1)
        assert store.count("captures") == store.count("article_urls") == 300


@pytest.mark.slow  # the daemon (`aggregator run`) on 200 feeds of the local site for a few seconds
def test_quick_daemon_scale_benchmark_reports_every_measure() -> None:
    run = daemon_scale.measure(daemon_scale.QUICK)
    report = daemon_scale.report(run)
    assert run.exit_code == 0 and run.started_after is not None and run.polls, report
    for expected in (
        "| start-up (spawn to `daemon started`) |",
        "| first cycle (every feed due at once) polled by |",
        "| polls by outcome and HTTP status |",
        "| daemon RSS: peak / at the end |",
        "| CPU: daemon and workers, whole run / the site |",
        "| minute | polls started |",
    ):
        assert expected in report, (expected, report)
    assert "Machine:" in report


@pytest.mark.slow  # a local site and an `aggregator fetch` child process
def test_article_cost_names_the_threads_that_did_the_work(capsys: pytest.CaptureFixture[str]) -> None:
    article_cost.run(feeds=2, items=3, hosts=1, alternative=False)
    out = capsys.readouterr().out
    assert "6 articles from 2 feeds" in out, out
    # the threads that do little in 6 articles may take less than a clock tick (10 ms)
    for where in ("| MainThread |", "| extraction process |"):
        assert where in out, (where, out)
