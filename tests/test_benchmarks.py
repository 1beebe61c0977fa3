"""The benchmark's code paths run (in quick mode) and give a table with every row; nothing is timed.

Also: the lean parse that makes the TASS profile fast gives exactly what the full parse gives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aggregator import extract  # noqa: E402
from aggregator.profiles import all_profiles  # noqa: E402
from benchmarks import run as bench  # noqa: E402
from benchmarks.site import article_page, section_of  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def test_quick_benchmark_prints_a_table_with_every_row(tmp_path: Path) -> None:
    report = bench.run(bench.QUICK, 1, tmp_path)
    rows = [line for line in report.splitlines() if line.startswith("| ") and not line.startswith("| measure")]
    names = [row.split(" | ")[0] for row in rows]
    for expected in ("cold ingest", "warm cycle", "extraction, TASS profile", "extraction, generic",
                     "search on a", "storage: database bytes", "daemon: RSS MB after 1 ", "daemon: RSS MB after 3 "):
        assert any(expected in name for name in names), (expected, names)
    assert "Machine:" in report
    assert len(rows) == 17


def _outcome(html: str, url: str, profile: str | None) -> object:
    try:
        return extract.extract_article(html, url, profile=profile)
    except Exception as exc:  # the error, compared too
        return type(exc).__name__, str(exc), getattr(exc, "reason", None)


@pytest.mark.parametrize("url", ["https://tass.com/politics/1189047", "https://example.com/news/1"])
def test_lean_parse_gives_what_the_full_parse_gives(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = [path.read_text(encoding="utf-8", errors="replace") for path in sorted(FIXTURES.rglob("*.html"))]
    pages += [article_page(n).decode() for n in range(1_000_000, 1_000_010)]
    profiles = [None, *(profile.id for profile in all_profiles())]
    lean = [_outcome(html, url, profile) for html in pages for profile in profiles]
    monkeypatch.setattr(extract, "_lean_extract", lambda *args: None)
    full = [_outcome(html, url, profile) for html in pages for profile in profiles]
    assert lean == full


def test_the_synthetic_pages_take_the_lean_path() -> None:
    number = 1_000_003
    html, url = article_page(number).decode(), f"https://tass.com/{section_of(number)}/{number}"
    assert 40_000 <= len(html.encode()) <= 80_000
    assert extract._lean_extract(html, url, None) == extract.extract_article(html, url)
    assert extract._lean_extract(html, url, None) is not None
