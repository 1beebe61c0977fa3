"""How fast and how lean is ``parse_sitemap``, side by side with ultimate-sitemap-parser (usp)?

    .venv/bin/python -m benchmarks.sitemaps [--runs 5] [--urls 50000]

Two documents generated in memory: a Google News sitemap (each ``<url>`` with ``<news:news>``: the
publication, its date with an offset, a title) and a plain ``<urlset>`` with ``<lastmod>``,
``<changefreq>`` and ``<priority>``, 50,000 URLs each. Each parser reads each document ``--runs``
times; the table shows the best run (``time.perf_counter``):

* ours: ``parse_sitemap(body, ...)`` on the bytes, as the fetcher hands them over;
* usp: ``usp.tree.sitemap_from_str(text)``, its entry point that parses given text without
  fetching anything, on the text decoded beforehand (the decoding is not timed). It stores the
  pages it found in a pickled temporary file, which is part of its work; "usp + .pages" also reads
  them back, which is what it takes to have the URLs in hand as ours gives them.

Peak memory, measured apart from the timed runs (so that neither slows the other): "py peak" is
what ``tracemalloc`` saw Python allocate during one parse (it cannot see libxml2's own allocations,
which lxml makes outside Python's allocator), "RSS" the growth of the peak resident set size
(``VmHWM``) of a child process that parses the document once, which sees everything.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make ``aggregator`` importable
    sys.path.insert(0, str(REPO))

from aggregator.feeds.sitemaps import parse_sitemap  # noqa: E402

URL = "https://news.example.org/sitemap.xml"
MAX_BYTES = 100 * 1024 * 1024
_SECTIONS = ("world", "economy", "politics", "science", "sport", "culture")
_MSK = timezone(timedelta(hours=3))
_WORDS = ("minister", "talks", "agreement", "growth", "market", "record", "season", "report", "city", "plan")


def news_sitemap(count: int) -> bytes:
    start = datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)
    rows = []
    for i in range(count):
        when = (start - timedelta(minutes=7 * i)).astimezone(_MSK).isoformat(timespec="seconds")
        title = " ".join(_WORDS[(i * k) % len(_WORDS)] for k in range(1, 9)).capitalize()
        rows.append(
            f"<url><loc>https://news.example.org/{_SECTIONS[i % 6]}/{1_000_000 + i}</loc>"
            "<news:news><news:publication><news:name>Example News</news:name>"
            "<news:language>en</news:language></news:publication>"
            f"<news:publication_date>{when}</news:publication_date>"
            f"<news:title>{title} #{i}</news:title></news:news></url>"
        )
    return _urlset(rows, ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"')


def plain_sitemap(count: int) -> bytes:
    start = datetime(2024, 3, 5, tzinfo=UTC)
    rows = []
    for i in range(count):
        lastmod = (start - timedelta(hours=5 * i)).strftime("%Y-%m-%dT%H:%M:%S+00:00" if i % 2 else "%Y-%m-%d")
        rows.append(
            f"<url><loc>https://www.example.org/{_SECTIONS[i % 6]}/page-{i}.html</loc>"
            f"<lastmod>{lastmod}</lastmod><changefreq>monthly</changefreq><priority>0.{i % 10}</priority></url>"
        )
    return _urlset(rows, "")


def _urlset(rows: list[str], namespaces: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{namespaces}>\n'
        + "\n".join(rows)
        + "\n</urlset>\n"
    ).encode()


DOCUMENTS: dict[str, Callable[[int], bytes]] = {"news sitemap": news_sitemap, "urlset with lastmod": plain_sitemap}


def ours(body: bytes) -> Callable[[], int]:
    return lambda: len(parse_sitemap(body, url=URL, max_bytes=MAX_BYTES).urls)


def usp(body: bytes) -> Callable[[], int]:
    from usp.tree import sitemap_from_str

    text = body.decode("utf-8")
    return lambda: _usp_found(sitemap_from_str(text), read_pages=False)


def usp_pages(body: bytes) -> Callable[[], int]:
    from usp.tree import sitemap_from_str

    text = body.decode("utf-8")
    return lambda: _usp_found(sitemap_from_str(text), read_pages=True)


def _usp_found(sitemap: object, *, read_pages: bool) -> int:
    from usp.objects.sitemap import AbstractPagesSitemap

    if not isinstance(sitemap, AbstractPagesSitemap):
        raise SystemExit(f"usp did not parse the document: {sitemap!r}")
    return len(sitemap.pages) if read_pages else -1


PARSERS: dict[str, Callable[[bytes], Callable[[], int]]] = {"ours": ours, "usp": usp, "usp + .pages": usp_pages}


def best_ms(runs: dict[str, Callable[[], int]], times: int) -> dict[str, float]:
    """The best of ``times`` runs of each, in milliseconds; the parsers take turns, so that a machine
    that slows down or speeds up meanwhile (a shared virtual one) weighs on them alike."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(times):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: min(taken) * 1000 for name, taken in seconds.items()}


def python_peak_mb(run: Callable[[], int]) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def rss_growth_mb(body: bytes, parser: str) -> float:
    """The peak RSS growth of a child process parsing ``body`` once (see ``_child``)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sitemap.xml"
        path.write_bytes(body)
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.sitemaps", "--child", str(path), parser],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    return float(json.loads(done.stdout)["rss_mb"])


def _child(path: str, parser: str) -> None:
    """Read the document from a file (so that generating it leaves no high-water mark here), get the
    parser ready (usp's text decoded), then measure the peak RSS growth of one parse."""
    run = PARSERS[parser](Path(path).read_bytes())
    before = _peak_rss_kb()
    run()
    print(json.dumps({"rss_mb": (_peak_rss_kb() - before) / 1024}))


def _peak_rss_kb() -> int:
    """This process's peak resident set size in KB: VmHWM, which Linux starts afresh at exec, where
    ru_maxrss would carry the peak of the parent this process was forked from (its whole memory)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux, bytes on macOS
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--urls", type=int, default=50_000)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "PARSER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.getLogger("usp").setLevel(logging.CRITICAL)  # it logs every page it finds odd
    if args.child:
        _child(*args.child)
        return
    print(f"{args.urls:,} URLs per document, best of {args.runs} runs\n")
    print("| document | parser | MB | ms | x ours | py peak MB | RSS MB |\n|---|---|---:|---:|---:|---:|---:|")
    for document, make in DOCUMENTS.items():
        body = make(args.urls)
        runs = {name: prepare(body) for name, prepare in PARSERS.items()}
        for name, run in runs.items():
            found = run()
            if name != "usp" and found != args.urls:  # plain "usp" does not read its pages back
                raise SystemExit(f"{name} found {found} URLs in the {document}, not {args.urls}")
        ms = best_ms(runs, args.runs)
        for name, run in runs.items():
            peak, rss = python_peak_mb(run), rss_growth_mb(body, name)
            print(
                f"| {document} | {name} | {len(body) / 1e6:.1f} | {ms[name]:,.0f} | {ms[name] / ms['ours']:.1f}"
                f" | {peak:,.1f} | {rss:,.1f} |"
            )


if __name__ == "__main__":
    main()
