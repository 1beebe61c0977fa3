"""The benchmark's code paths run (in quick mode) and give a table with every row; nothing is timed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aggregator import extract  # noqa: E402
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
        "extraction, TASS profile",
        "extraction, generic",
        "search on a",
        "storage: database bytes",
        "daemon: RSS MB after 1 ",
        "daemon: RSS MB after 3 ",
    ):
        assert any(expected in name for name in names), (expected, names)
    assert "Machine:" in report
    assert len(rows) == 17


def test_the_synthetic_pages_are_tass_pages_of_realistic_size() -> None:
    number = 1_000_003
    html, url = article_page(number).decode(), f"https://tass.com/{section_of(number)}/{number}"
    assert 40_000 <= len(html.encode()) <= 80_000
    article = extract.extract_article(html, url)
    assert article.extractor == "tass@2019" and len(article.paragraphs) >= 3
