"""Article-body extraction benchmark: our generic extractor against the libraries it was chosen over.

    .venv/bin/pip install -e '.[bench]'     # readability-lxml, one of the alternatives
    .venv/bin/python benchmarks/extraction.py [--set NAME ...] [--only NAME ...] [--pages] [--languages]

The metric is the one the dev set's README defines (the Scrapinghub/Zyte article-extraction
benchmark's): tokens are ``re.findall(r"\\w+")``; each text is a multiset of word 4-grams (a text
of 1-3 tokens is one shingle); per page TP/FP/FN; precision and recall are averaged over pages
(an empty prediction is left out of the precision mean and scores recall 0); F1 = 2PR/(P+R) of
the two means. page-F1 is the mean of per-page F1s with an empty prediction scoring 0.

The sets (``--set``; ``shared dev held-out`` by default): ``shared``, the 60 pages of
``../shared/bench/extraction-dev``; ``dev`` and ``held-out``, the two parts of every set in
``benchmarks/extraction_sets/`` that is built here (see its README: mozilla/readability's curated
test pages and the other committed sets, and the sets a builder makes locally from a pinned public
source whose licence does not let us commit the pages), split by a fixed rule on the page id
(``part_of``); ``NAME-dev`` and ``NAME-held-out``, the same parts of one of those sets alone. A set
that is not built here is skipped with one line saying how to build it. Rules are fitted on the dev
parts only; ``--pages`` (per-page scores, to look at failures) refuses every held-out part.
``--languages`` adds F1 per language (the page's ``lang``, else its ``<html lang>``); a part mixing
sets gets F1 per set. Each extractor also gets the scores of five folds of the set.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DEV_DIR = REPO.parent / "shared" / "bench" / "extraction-dev"
SETS_DIR = Path(__file__).resolve().parent / "extraction_sets"
PARTS = ("dev", "held-out")
DEFAULT_SETS = ("shared", *PARTS)
_HTML_LANG = re.compile(r"<html[^>]*\blang=[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "br",
        "tr",
        "td",
        "th",
        "pre",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
        "dd",
        "dt",
    }
)

Extractor = Callable[[str, str], str]


# --- the metric -----------------------------------------------------------------------------------


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _WORD.findall(text)
    if not tokens:
        return Counter()
    if len(tokens) < n:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


@dataclass(frozen=True)
class PageScore:
    tp: int
    fp: int
    fn: int

    @property
    def empty(self) -> bool:
        return self.tp + self.fp == 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if not self.empty else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_page(predicted: str, expected: str) -> PageScore:
    pred, true = shingles(predicted), shingles(expected)
    tp = sum((pred & true).values())
    return PageScore(tp, sum(pred.values()) - tp, sum(true.values()) - tp)


def summarise(scores: Sequence[PageScore]) -> dict[str, float]:
    """P, R, F1 (of the means) and page-F1 as the README defines them."""
    answered = [s for s in scores if not s.empty]
    precision = statistics.fmean(s.precision for s in answered) if answered else 0.0
    recall = statistics.fmean(0.0 if s.empty else s.recall for s in scores) if scores else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    page_f1 = statistics.fmean(s.f1 for s in scores) if scores else 0.0
    return {"f1": f1, "p": precision, "r": recall, "page_f1": page_f1}


# --- the extractors -------------------------------------------------------------------------------


#: url -> reason, for the pages our quality gates refused (scored as empty predictions)
REFUSED: dict[str, str] = {}
#: the pages on which our generic extractor asked its second opinion (trafilatura)
ASKED: set[str] = set()


def ours(html: str, url: str) -> str:
    from aggregator.errors import ExtractError
    from aggregator.extract.article import extract_article

    try:
        return "\n".join(extract_article(html, url).paragraphs)
    except ExtractError as exc:
        REFUSED[url] = exc.reason
        return ""


def _count_second_opinions() -> None:
    """Record on which pages our extractor calls trafilatura (the call is its whole extra cost)."""
    from aggregator.extract import article

    library = article.library_paragraphs

    def counted(html: str, url: str) -> list[str]:
        ASKED.add(url)
        return library(html, url)

    article.library_paragraphs = counted


def trafilatura_default(html: str, url: str) -> str:
    import trafilatura

    return trafilatura.extract(html, url=url) or ""


def trafilatura_precision(html: str, url: str) -> str:
    import trafilatura

    return trafilatura.extract(html, url=url, favor_precision=True, include_comments=False) or ""


def readability(html: str, url: str) -> str:
    import lxml.html
    from readability import Document

    summary = Document(html, url=url).summary(html_partial=True)
    return html_text(lxml.html.fromstring(summary)) if summary.strip() else ""


def html_text(root: object) -> str:
    """Text of an lxml tree with a line break around every block element."""
    parts: list[str] = []
    for event, element in _iterwalk(root):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            parts.append(element.text or "")
        else:
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            parts.append(element.tail or "")
    return "".join(parts)


def _iterwalk(root: object) -> Iterator[tuple[str, Any]]:
    from lxml import etree

    return etree.iterwalk(root, events=("start", "end"))


def bs4_all_paragraphs(html: str, url: str) -> str:
    from bs4 import BeautifulSoup

    return "\n".join(p.get_text(" ") for p in BeautifulSoup(html, "lxml").find_all("p"))


EXTRACTORS: dict[str, Extractor] = {
    "aggregator generic": ours,
    "trafilatura (defaults)": trafilatura_default,
    "trafilatura (favor_precision)": trafilatura_precision,
    "readability-lxml": readability,
    "bs4 all <p>": bs4_all_paragraphs,
}


# --- running --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    html: str
    expected: str
    lang: str
    source: str = ""  # the set directory the page comes from


def part_of(page_id: str) -> str:
    """The fixed split of every set: ``held-out`` for an odd first byte of the id's SHA-256, else ``dev``."""
    return "held-out" if hashlib.sha256(page_id.encode()).digest()[0] & 1 else "dev"


def load_pages(dev_dir: Path) -> list[Page]:
    """The pages of a set directory (``ground-truth.json`` and ``html/<id>.html.gz``), sorted by id."""
    truth = json.loads((dev_dir / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        html = gzip.decompress((dev_dir / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8")
        item = truth[page_id]
        found = _HTML_LANG.search(html[:5000])
        lang = item.get("lang") or (found.group(1)[:2].lower() if found else "unknown")
        pages.append(Page(page_id, item["url"], html, item["articleBody"], lang, dev_dir.name))
    return pages


def set_dirs(sets_dir: Path = SETS_DIR) -> dict[str, Path]:
    """The sets under ``sets_dir``: each folder with a ``ground-truth.json`` (built) or ``SOURCE.json`` (buildable)."""
    return {
        sub.name: sub
        for sub in sorted(sets_dir.iterdir())
        if sub.is_dir() and ((sub / "ground-truth.json").exists() or (sub / "SOURCE.json").exists())
    }


def unbuilt(sets_dir: Path = SETS_DIR) -> dict[str, str]:
    """Set name -> the one line saying it is skipped and how to build it, for each set not built here."""
    lines = {}
    for name, sub in set_dirs(sets_dir).items():
        if not (sub / "ground-truth.json").exists():
            source = json.loads((sub / "SOURCE.json").read_text(encoding="utf-8"))
            lines[name] = f"set {name} is not built here, skipped (build it: {source['build']})"
    return lines


def set_names(sets_dir: Path = SETS_DIR) -> list[str]:
    """What ``--set`` accepts: ``shared``, ``dev``, ``held-out`` and ``NAME-dev`` / ``NAME-held-out`` of each set."""
    return [*DEFAULT_SETS, *(f"{name}-{part}" for name in set_dirs(sets_dir) for part in PARTS)]


def load_set(name: str, shared_dir: Path = DEFAULT_DEV_DIR, sets_dir: Path = SETS_DIR) -> list[Page]:
    """``shared`` (the 60 pages in ../shared), a part of every built set (``dev``, ``held-out``) or of one
    (``readability-dev``); a set that is not built has no pages."""
    if name == "shared":
        return load_pages(shared_dir)
    part = next(p for p in PARTS if name == p or name.endswith(f"-{p}"))
    wanted = None if name == part else name[: -len(part) - 1]
    built = {n: sub for n, sub in set_dirs(sets_dir).items() if (sub / "ground-truth.json").exists()}
    pages = [page for n, sub in built.items() if wanted in (None, n) for page in load_pages(sub)]
    return [page for page in pages if part_of(page.id) == part]


def run(extractor: Extractor, pages: Sequence[Page]) -> tuple[list[PageScore], list[float]]:
    extractor(pages[0].html, pages[0].url)  # warm-up: imports and caches are not page time
    scores, millis = [], []
    for page in pages:
        started = time.perf_counter()
        predicted = extractor(page.html, page.url)
        millis.append((time.perf_counter() - started) * 1000)
        scores.append(score_page(predicted, page.expected))
    return scores, millis


def folds(scores: Sequence[PageScore], k: int = 5) -> list[float]:
    return [summarise(scores[i::k])["f1"] for i in range(k)]


def report(
    name: str, pages: Sequence[Page], chosen: dict[str, Extractor], *, per_page: bool, languages: bool
) -> list[str]:
    """The table of one set (and its per-language and per-page lines) as Markdown lines."""
    lines = [f"### {name}: {len(pages)} pages", ""]
    header = "| extractor | F1 | P | R | page-F1 | median ms | p90 ms | F1 of 5 folds |"
    lines += [header, "|---" * (header.count("|") - 1) + "|"]
    scored: dict[str, list[PageScore]] = {}
    REFUSED.clear()
    ASKED.clear()
    for label, extractor in chosen.items():
        scores, millis = run(extractor, pages)
        scored[label] = scores
        total = summarise(scores)
        p90 = statistics.quantiles(millis, n=10)[-1] if len(millis) > 1 else millis[0]
        fold_text = " ".join(f"{f:.3f}" for f in folds(scores))
        lines.append(
            f"| {label} | {total['f1']:.3f} | {total['p']:.3f} | {total['r']:.3f} | {total['page_f1']:.3f} "
            f"| {statistics.median(millis):.1f} | {p90:.1f} | {fold_text} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    if ASKED:
        lines.append(f"\nour extractor asked trafilatura's opinion on {len(ASKED)} of {len(pages)} pages")
    if REFUSED and not name.endswith("held-out"):
        lines.append("\nrefused by our quality gates (scored as empty above):")
        lines += [f"  {reason}: {url}" for url, reason in REFUSED.items()]
    elif REFUSED:
        lines.append(f"\nrefused by our quality gates: {len(REFUSED)} pages (not listed: held out)")
    sources = sorted({page.source for page in pages})
    if len(sources) > 1:
        lines += _breakdown("set", pages, scored, lambda page: page.source)
    if languages:
        lines += _breakdown("language", pages, scored, lambda page: page.lang)
    if per_page:
        lines.append("\npage | " + " | ".join(scored))
        for index, page in enumerate(pages):
            cells = " | ".join(f"{scores[index].f1:.2f}" for scores in scored.values())
            lines.append(f"{page.id[:24]} {page.lang} {page.url[:50]} | {cells}")
    return lines


def _breakdown(
    what: str, pages: Sequence[Page], scored: dict[str, list[PageScore]], key: Callable[[Page], str]
) -> list[str]:
    """F1 of each extractor on the pages of each value of ``key`` (a language, a set), as table lines."""
    lines = ["", f"| {what} | pages | " + " | ".join(f"F1 {label}" for label in scored) + " |"]
    lines.append("|---" * (2 + len(scored)) + "|")
    for value in sorted({key(page) for page in pages}):
        index = [i for i, page in enumerate(pages) if key(page) == value]
        cells = " | ".join(f"{summarise([s[i] for i in index])['f1']:.3f}" for s in scored.values())
        lines.append(f"| {value} | {len(index)} | {cells} |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev-dir", type=Path, default=DEFAULT_DEV_DIR, help="the shared 60 pages")
    parser.add_argument(
        "--set", nargs="*", choices=set_names(), help="sets to score (default: shared dev held-out)", metavar="SET"
    )
    parser.add_argument("--only", nargs="*", help="extractor names to run (substring match)")
    parser.add_argument("--pages", action="store_true", help="per-page F1 (refused for the held-out part)")
    parser.add_argument("--languages", action="store_true", help="F1 per language")
    parser.add_argument("--limit", type=int, help="score only the first N pages of each set (a smoke run)")
    parser.add_argument(
        "--min-chars",
        type=int,
        default=0,
        help="score only the pages whose reference body has at least N characters (200: the generic profile's "
        "min_body_chars, under which the archiver refuses a body by design)",
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(REPO))
    _count_second_opinions()
    chosen = {name: fn for name, fn in EXTRACTORS.items() if not args.only or any(o in name for o in args.only)}
    names = args.set or list(DEFAULT_SETS)
    if args.pages and any(name.endswith("held-out") for name in names):
        parser.error("--pages shows the failures of a held-out part: score it without --pages")
    skipped = unbuilt()
    for line in skipped.values():
        print(line, flush=True)
    for name in names:
        pages = [page for page in load_set(name, args.dev_dir) if len(page.expected) >= args.min_chars][: args.limit]
        if not pages:
            print(f"### {name}: no pages\n")
            continue
        print("\n".join(report(name, pages, chosen, per_page=args.pages, languages=args.languages)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
