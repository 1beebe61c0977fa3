"""The extraction benchmark's harness runs on the committed set (quickly: two pages a set); nothing is timed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import extraction  # noqa: E402


def test_the_committed_set_splits_by_a_fixed_rule_into_dev_and_held_out() -> None:
    dev, held_out = extraction.load_set("readability-dev"), extraction.load_set("readability-held-out")
    assert len(dev) + len(held_out) == 130 and dev and held_out
    assert {page.id for page in dev}.isdisjoint(page.id for page in held_out)
    assert all(extraction.part_of(page.id) == "held-out" for page in held_out)
    assert all(page.expected and page.html and page.lang and page.source == "readability" for page in dev + held_out)


def test_the_other_committed_sets_join_the_same_parts() -> None:
    for name, count in (("zh-handcrafted", 69), ("readability-php", 7), ("daniel", 400)):
        parts = [extraction.load_set(f"{name}-{part}") for part in extraction.PARTS]
        assert sum(map(len, parts)) == count and all(parts)
        ids = {page.id for page in extraction.load_set("dev")}
        assert {page.id for page in parts[0]} <= ids and ids.isdisjoint(page.id for page in parts[1])
        assert all(page.expected and page.html and page.source == name for part in parts for page in part)
    assert {page.lang for page in extraction.load_set("zh-handcrafted-dev")} == {"zh"}
    assert {page.lang for page in extraction.load_set("daniel-held-out")} == {"en", "zh", "ru", "el", "pl"}


def test_the_harness_scores_a_set_with_its_languages(capsys: pytest.CaptureFixture[str]) -> None:
    assert extraction.main(["--set", "dev", "--only", "generic", "--limit", "2", "--languages"]) == 0
    out = capsys.readouterr().out
    assert "### dev: 2 pages" in out and "| aggregator generic | " in out and "| language | pages |" in out


@pytest.mark.parametrize("name", ["held-out", "readability-held-out", "zh-handcrafted-held-out"])
def test_per_page_scores_of_a_held_out_part_are_refused(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        extraction.main(["--set", "dev", name, "--pages", "--limit", "1"])
    assert "--pages shows the failures of a held-out part" in capsys.readouterr().err


def test_the_metric() -> None:
    assert extraction.score_page("a b c d e", "a b c d e").f1 == 1.0
    assert extraction.score_page("", "a b c d").empty
    assert extraction.summarise([extraction.score_page("", "a b c d")])["page_f1"] == 0.0
