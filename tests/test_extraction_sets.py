"""The extraction sets beyond readability's: a builder reads a pinned commit of a small git repository made
here (no internet) and writes a set the harness loads, splits by ``part_of`` and scores per set; a set
that is not built is skipped with one line saying how to build it."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import extraction  # noqa: E402
from benchmarks.extraction_sets import build_extra  # noqa: E402

#: a Chinese article as a page would serve it (GB2312, declared) and as its author copied it by hand
ARTICLE = "本报讯 昨日，长春市某医院的医生介绍了新的治疗方法。" * 12
PAGE = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><title>新闻</title></head>
<body><div class="nav">首页 新闻 体育</div><div class="content"><p>{ARTICLE}</p></div></body></html>"""


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def source_repo(tmp_path: Path) -> tuple[Path, str]:
    """A git repository laid out like the Chinese hand-made set, six good pages and two not; (its path, the commit)."""
    repo = tmp_path / "source"
    (repo / "original").mkdir(parents=True)
    (repo / "cleaned").mkdir()
    for number in range(6):
        (repo / "original" / f"page{number}.html").write_bytes(PAGE.encode("gb2312"))
        (repo / "cleaned" / f"page{number}.txt").write_text(f"\n  {ARTICLE}  \n\n", encoding="utf-8")
    (repo / "original" / "no-text.html").write_bytes(PAGE.encode("gb2312"))  # no cleaned text: left out
    (repo / "original" / "other.html").write_bytes(PAGE.encode("gb2312"))  # a reference of another page: left out
    (repo / "cleaned" / "other.txt").write_text("完全不同的文字，来自另一个网页。" * 5, encoding="utf-8")
    (repo / "LICENSE").write_text("MIT License\n")
    (repo / ".gitattributes").write_text("/original export-ignore\n")  # what `git archive` would leave out
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "pages")
    commit = _git(repo, "rev-parse", "HEAD")
    (repo / "cleaned" / "page0.txt").write_text("an uncommitted edit is not read", encoding="utf-8")
    return repo, commit


def test_a_set_is_built_from_a_pinned_commit_and_loaded_split_by_the_page_id(
    source_repo: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, commit = source_repo
    spec = build_extra.SETS["zh-handcrafted"]
    monkeypatch.setitem(
        build_extra.SETS,
        "tiny",
        build_extra.SetSource(
            "someone/tiny", commit, spec.folders, "MIT", True, "every page", spec.pages, licence_file="LICENSE"
        ),
    )
    sets = tmp_path / "sets"
    assert build_extra.build("tiny", repo, sets) == 6
    truth = json.loads((sets / "tiny" / "ground-truth.json").read_text(encoding="utf-8"))
    assert sorted(truth) == [f"zh-page{n}" for n in range(6)]
    assert truth["zh-page0"] == {"articleBody": ARTICLE, "url": "http://tiny.test/zh-page0", "lang": "zh"}
    html = gzip.decompress((sets / "tiny" / "html" / "zh-page0.html.gz").read_bytes()).decode("utf-8")
    assert ARTICLE in html  # decoded from GB2312 and kept as UTF-8
    source = json.loads((sets / "tiny" / "SOURCE.json").read_text(encoding="utf-8"))
    assert source["commit"] == commit and source["pages"] == 6 and "build_extra.py tiny" in source["build"]
    assert source["left_out"].startswith("1 of 7 pages before sampling")
    assert (sets / "tiny" / "LICENSE").read_text() == "MIT License\n"

    dev = extraction.load_set("dev", sets_dir=sets)
    held_out = extraction.load_set("tiny-held-out", sets_dir=sets)
    assert dev and held_out and sorted(page.id for page in dev + held_out) == sorted(truth)
    assert all(extraction.part_of(page.id) == "dev" for page in dev)
    assert all(extraction.part_of(page.id) == "held-out" for page in held_out)
    assert all(page.source == "tiny" and page.lang == "zh" and page.expected == ARTICLE for page in dev + held_out)
    assert extraction.set_names(sets) == ["shared", "dev", "held-out", "tiny-dev", "tiny-held-out"]


def test_a_set_that_is_not_built_is_skipped_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    build = "benchmarks/extraction_sets/build_extra.py local --git-dir <a clone of someone/local>"
    (tmp_path / "local" / "SOURCE.json").write_text(json.dumps({"build": build}))
    (tmp_path / "not-a-set").mkdir()
    assert extraction.set_names(tmp_path) == ["shared", "dev", "held-out", "local-dev", "local-held-out"]
    assert extraction.unbuilt(tmp_path) == {"local": f"set local is not built here, skipped (build it: {build})"}
    assert extraction.load_set("dev", sets_dir=tmp_path) == []
    assert extraction.load_set("local-held-out", sets_dir=tmp_path) == []


def _paragraph_text(html: str, url: str) -> str:
    """An extractor of the test's own (the harness's alternatives need the bench extras)."""
    return re.sub(r"<[^>]+>", " ", html).strip()


def test_a_part_mixing_sets_is_scored_per_set(capsys: pytest.CaptureFixture[str]) -> None:
    pages = [
        extraction.Page("a", "http://a.test/a", "<p>one two three four five</p>", "one two three four five", "en", "x"),
        extraction.Page("b", "http://b.test/b", "<p>six seven eight nine</p>", "ten eleven twelve", "zh", "y"),
    ]
    lines = extraction.report("dev", pages, {"all <p>": _paragraph_text}, per_page=False, languages=True)
    assert "| set | pages | F1 all <p> |" in lines and "| x | 1 | 1.000 |" in lines and "| y | 1 | 0.000 |" in lines
    assert "| en | 1 | 1.000 |" in lines and "| zh | 1 | 0.000 |" in lines


def test_the_sample_is_fixed_and_stratified_by_language() -> None:
    pages = [build_extra.Built(f"p{n}", "", "body", "en" if n % 3 else "ru") for n in range(30)]
    chosen = build_extra.sample(pages, 4)
    assert [page.lang for page in chosen] == ["en"] * 4 + ["ru"] * 4
    assert chosen == build_extra.sample(list(reversed(pages)), 4)
    assert build_extra.sample(pages, 0) == pages


def test_cleaneval_gold_files_become_one_line_a_block() -> None:
    gold = "\nURL: http://example.com/a\n<h> A  title\n <p> First para-\n graph &amp; more.\n<l> item <!-- note -->\n"
    assert build_extra._cleaneval_body(gold) == ("A title\nFirst para- graph & more.\nitem", "http://example.com/a")
    assert build_extra._cleaneval_body("URL: http://x\n<!-- this page contains no article -->") == ("", "http://x")
