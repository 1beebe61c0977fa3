"""Article-body extraction benchmark: our generic extractor against the libraries it was chosen over.

    .venv/bin/pip install -e '.[bench]'     # readability-lxml, one of the alternatives
    .venv/bin/python benchmarks/extraction.py [--dev-dir PATH] [--only NAME ...] [--pages]

The metric is the one the dev set's README defines (the Scrapinghub/Zyte article-extraction
benchmark's): tokens are ``re.findall(r"\\w+")``; each text is a multiset of word 4-grams (a text
of 1-3 tokens is one shingle); per page TP/FP/FN; precision and recall are averaged over pages
(an empty prediction is left out of the precision mean and scores recall 0); F1 = 2PR/(P+R) of
the two means. page-F1 is the mean of per-page F1s with an empty prediction scoring 0.

Each extractor also gets the scores of two halves of the set (pages sorted by id, first 30 and
last 30) and of five folds, so that a rule chosen on some pages can be checked on the others.
Not part of the test run: it reads the dev set outside the repository.
"""

from __future__ import annotations

import argparse
import gzip
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
    return _html_text(lxml.html.fromstring(summary)) if summary.strip() else ""


def _html_text(root: object) -> str:
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


def load_pages(dev_dir: Path) -> list[tuple[str, str, str, str]]:
    """(id, url, html, expected body), sorted by id."""
    truth = json.loads((dev_dir / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        html = gzip.decompress((dev_dir / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8")
        pages.append((page_id, truth[page_id]["url"], html, truth[page_id]["articleBody"]))
    return pages


def run(extractor: Extractor, pages: Sequence[tuple[str, str, str, str]]) -> tuple[list[PageScore], list[float]]:
    extractor(pages[0][2], pages[0][1])  # warm-up: imports and caches are not page time
    scores, millis = [], []
    for _, url, html, expected in pages:
        started = time.perf_counter()
        predicted = extractor(html, url)
        millis.append((time.perf_counter() - started) * 1000)
        scores.append(score_page(predicted, expected))
    return scores, millis


def folds(scores: Sequence[PageScore], k: int = 5) -> list[float]:
    return [summarise(scores[i::k])["f1"] for i in range(k)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev-dir", type=Path, default=DEFAULT_DEV_DIR)
    parser.add_argument("--only", nargs="*", help="extractor names to run (substring match)")
    parser.add_argument("--pages", action="store_true", help="also print the per-page F1 of each extractor")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(REPO))
    pages = load_pages(args.dev_dir)
    _count_second_opinions()
    chosen = {name: fn for name, fn in EXTRACTORS.items() if not args.only or any(o in name for o in args.only)}
    print(f"{len(pages)} pages from {args.dev_dir}")
    header = "| extractor | F1 | P | R | page-F1 | median ms | p90 ms | F1 first 30 | F1 last 30 | F1 of 5 folds |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    per_page: dict[str, list[PageScore]] = {}
    for name, extractor in chosen.items():
        scores, millis = run(extractor, pages)
        per_page[name] = scores
        total, half = summarise(scores), len(scores) // 2
        p90 = statistics.quantiles(millis, n=10)[-1]
        fold_text = " ".join(f"{f:.3f}" for f in folds(scores))
        print(
            f"| {name} | {total['f1']:.3f} | {total['p']:.3f} | {total['r']:.3f} | {total['page_f1']:.3f} "
            f"| {statistics.median(millis):.1f} | {p90:.1f} | {summarise(scores[:half])['f1']:.3f} "
            f"| {summarise(scores[half:])['f1']:.3f} | {fold_text} |",
            flush=True,
        )
    if ASKED:
        print(f"\nour extractor asked trafilatura's opinion on {len(ASKED)} of {len(pages)} pages (weak bodies only)")
    if REFUSED:
        print("\nrefused by our quality gates (scored as empty above):")
        for url, reason in REFUSED.items():
            print(f"  {reason}: {url}")
        kept = [i for i, page in enumerate(pages) if page[1] not in REFUSED]
        print(f"F1 on the {len(kept)} pages no gate refused:")
        for name, scores in per_page.items():
            print(f"  {name}: {summarise([scores[i] for i in kept])['f1']:.3f}")
    if args.pages:
        print("\npage | " + " | ".join(per_page))
        for index, (page_id, url, _, _) in enumerate(pages):
            cells = " | ".join(f"{scores[index].f1:.2f}" for scores in per_page.values())
            print(f"{page_id[:8]} {url[:60]} | {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
