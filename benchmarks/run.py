"""How fast and how lean is the archiver, side by side with the obvious alternative?

    /work/venv/bin/python -m benchmarks.run [--runs 3] [--quick] [--feeds N] [--out FILE] [--only warm cold ...]

Serves the synthetic TASS-like site of ``benchmarks/site.py`` from its own process, then measures,
each scenario ``--runs`` times (the table shows medians):

1. cold ingest: 2,000 new articles from 20 feeds of 100 items (``aggregator fetch`` into an empty
   archive), the feeds on one host (tass.com), then on 20 hosts (one feed each);
2. warm cycle: 1,000 unchanged feeds polled again (every answer a 304);
2b. changed cycle: 1,000 feeds of 100 items polled again, each a 200 without validators showing 2
   items it did not show before (articles another feed already brought: no page is fetched);
3. extraction alone: ms per page, TASS profile and generic extractor (in this process);
4. storage: database bytes per article; full-text query latency on a 100,000-article archive;
5. a long daemon run: RSS after 1, 10 and 50 poll cycles of the daemon's refresh path.

The archiver and the alternative (``benchmarks/alternative.py``: sequential, one keep-alive
``httpx.Client``) run as child processes, so wall time, CPU time (user + system) and peak RSS
(ru_maxrss) are theirs alone, interpreter start-up included. Both go through the site as a proxy
with the same http://tass.com/... (or http://newsN.example/...) URLs, so the TASS profile runs as
in production. The archiver runs on its default settings (``concurrency: 8``,
``per_host_concurrency: 2``, retries, robots.txt, WARC captures and all).
``--quick`` shrinks every scenario to a smoke run of a few seconds (its numbers mean nothing);
``--feeds N`` polls N feeds instead of 1,000 in the warm and changed cycles (a shorter run whose
per-feed figures still mean something).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make ``benchmarks.site`` importable
    sys.path.insert(0, str(REPO))

from benchmarks.site import LIVE_BASE, RING_BASE, SiteProcess, article_page, section_of  # noqa: E402

#: hosts of the cold ingest's second run: one feed (and its pages) on each
HOSTS = 20


@dataclass(frozen=True)
class Sizes:
    cold_feeds: int = 20
    cold_items: int = 100
    warm_feeds: int = 1000
    warm_pool: int = 200  # distinct articles behind the warm feeds (each lists 20 of them)
    changed_feeds: int = 1000
    changed_items: int = 100
    changed_per: int = 2  # items each feed shows for the first time at each cycle
    changed_pool: int = 400  # the ring of articles the changed feeds show windows of
    extract_pages: int = 200
    fts_articles: int = 100_000
    fts_queries: int = 40
    daemon_feeds: int = 10
    daemon_per_cycle: int = 2
    daemon_marks: tuple[int, ...] = (1, 10, 50)


QUICK = Sizes(
    cold_feeds=2,
    cold_items=5,
    warm_feeds=10,
    warm_pool=20,
    changed_feeds=10,
    changed_items=20,
    changed_pool=30,  # covered by the first poll (10 feeds x 3), and more than 20 + 2 x runs
    extract_pages=5,
    fts_articles=500,
    fts_queries=5,
    daemon_feeds=2,
    daemon_per_cycle=1,
    daemon_marks=(1, 2, 3),
)


@dataclass(frozen=True)
class Proc:
    wall: float  # seconds
    cpu: float  # seconds, user + system
    rss_mb: float  # peak resident set size
    stdout: str


def child_env() -> dict[str, str]:
    """The environment of a measured child: no proxy variables, and bytecode cached as on any
    installed machine (this one sets ``PYTHONDONTWRITEBYTECODE``, which would make every start of
    the archiver, and of its extraction worker, compile the package from source again: the
    alternative's libraries, installed by pip, have theirs compiled already)."""
    drop = ("PYTHONDONTWRITEBYTECODE",)
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k not in drop}


def compile_sources() -> None:
    """Compile the package and the benchmarks once before anything is timed (see ``child_env``)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "aggregator", "benchmarks"], cwd=REPO, env=child_env(), check=True
    )


def measure(command: list[str]) -> Proc:
    """Run ``command`` as a child process; its own wall time, CPU time and peak RSS."""
    env = child_env()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=REPO, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if code != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... exited {code}: {stderr[-2000:]}")
    return Proc(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- the two archivers --------------------------------------------------------------------------


def write_config(folder: Path, origin: str, feed_urls: list[str]) -> Path:
    """feeds.yaml for ``feed_urls`` through the site as a proxy; every setting but the paths at its default."""
    feeds = "".join(
        f"  - {{id: f{i}, url: '{url}', source: TASS, timezone: Europe/Moscow"
        + ("" if url.startswith("http://tass.com/") else ", profile: tass")
        + "}\n"
        for i, url in enumerate(feed_urls)
    )
    config = folder / "feeds.yaml"
    config.write_text(
        f"settings:\n  database: archive.db\n  archive_dir: archive\n  proxy: {origin}\nfeeds:\n{feeds}",
        encoding="utf-8",
    )
    return config


def tass(paths: list[str]) -> list[str]:
    return [f"http://tass.com{path}" for path in paths]


def ours(config: Path, *args: str) -> Proc:
    return measure([sys.executable, "-m", "aggregator", "--config", str(config), "-q", "fetch", *args])


def alternative(db: Path, origin: str, feed_urls: list[str]) -> Proc:
    return measure([sys.executable, "-m", "benchmarks.alternative", "--proxy", origin, str(db), *feed_urls])


def count(db: Path, table: str = "articles") -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if not p.name.endswith(".lock"))


# -- scenarios ----------------------------------------------------------------------------------

Row = tuple[str, str, str, str]  # measure, ours, alternative, ratio


def cold_ingest(origin: str, work: Path, sizes: Sizes, runs: int) -> tuple[list[Row], dict[str, float]]:
    paths = [f"/feed/{1_000_000 + f * sizes.cold_items}-{sizes.cold_items}.xml" for f in range(sizes.cold_feeds)]
    spread = [f"http://news{f % HOSTS}.example{path}" for f, path in enumerate(paths)]
    expected = sizes.cold_feeds * sizes.cold_items
    our, many, alt, sizes_ours, sizes_alt = [], [], [], [], []
    for run in range(runs):  # interleaved: a slow minute of the shared machine weighs on all three alike
        for urls, procs in ((tass(paths), our), (spread, many)):
            folder = work / f"cold-{run}-{len(procs)}-{urls[0].split('/')[2]}"
            folder.mkdir()
            procs.append(ours(write_config(folder, origin, urls)))
            got = count(folder / "archive.db")
            if got != expected:
                raise RuntimeError(f"cold ingest archived {got} articles from {urls[0]}..., expected {expected}")
            if procs is our:
                sizes_ours.append(db_bytes(folder / "archive.db") / got)
        folder = work / f"cold-{run}-alternative"
        folder.mkdir()
        alt.append(alternative(folder / "alternative.db", origin, tass(paths)))
        sizes_alt.append(db_bytes(folder / "alternative.db") / count(folder / "alternative.db"))
    wall_o, wall_m, wall_a = (median([p.wall for p in procs]) for procs in (our, many, alt))
    cpu_o, cpu_m, cpu_a = (median([p.cpu for p in procs]) * 1000 / expected for procs in (our, many, alt))
    label = f"{expected:,} new articles from {sizes.cold_feeds} feeds"
    rows = [
        (
            f"cold ingest, {label}, one host: articles/s",
            f"{expected / wall_o:.0f}",
            f"{expected / wall_a:.0f}",
            f"{wall_a / wall_o:.1f}×",
        ),
        (
            f"cold ingest, the same feeds on {HOSTS} hosts: articles/s",
            f"{expected / wall_m:.0f}",
            f"{expected / wall_a:.0f}",
            f"{wall_a / wall_m:.1f}×",
        ),
        ("cold ingest, one host: CPU ms per article", f"{cpu_o:.2f}", f"{cpu_a:.2f}", f"{cpu_a / cpu_o:.1f}× less"),
        (
            f"cold ingest, {HOSTS} hosts: CPU ms per article",
            f"{cpu_m:.2f}",
            f"{cpu_a:.2f}",
            f"{cpu_a / cpu_m:.1f}× less",
        ),
        (
            "cold ingest: peak RSS MB",
            f"{median([p.rss_mb for p in our]):.0f}",
            f"{median([p.rss_mb for p in alt]):.0f}",
            "",
        ),
        (
            "storage: database bytes per article",
            f"{median(sizes_ours):,.0f}",
            f"{median(sizes_alt):,.0f}",
            "(ours: an FTS index, feeds, entries, polls; pages in WARC files)",
        ),
    ]
    return rows, {"cold_rate": expected / wall_o, "cold_ratio": wall_a / wall_o}


def warm_cycle(origin: str, work: Path, sizes: Sizes, runs: int) -> tuple[list[Row], dict[str, float]]:
    pool_feeds = max(1, sizes.warm_pool // 20)
    paths = [f"/feed/{2_000_000 + (f % pool_feeds) * 20}-20.xml?f={f}" for f in range(sizes.warm_feeds)]
    folder = work / "warm"
    folder.mkdir()
    config = write_config(folder, origin, tass(paths))
    ours(config)  # the first poll archives the pool; every later one is a 304
    alternative(folder / "alternative.db", origin, tass(paths))
    our, one, alt = [], [], []
    for _ in range(runs):  # interleaved: a slow minute of the shared machine weighs on all three alike
        our.append(ours(config))
        one.append(ours(config, "f0"))
        alt.append(alternative(folder / "alternative.db", origin, tass(paths)))
    n = sizes.warm_feeds
    polls = count(folder / "archive.db", "polls")
    if polls != n * (runs + 1) + runs:
        raise RuntimeError(f"warm cycle: {polls} polls recorded, expected {n * (runs + 1) + runs}")
    wall_o, wall_a = median([p.wall for p in our]), median([p.wall for p in alt])
    cpu_o, cpu_a, cpu_one = (median([p.cpu for p in our]), median([p.cpu for p in alt]), median([p.cpu for p in one]))
    # per feed beyond start-up: each run's whole poll less the 1-feed run next to it, then the median
    marginal = median([a.cpu - b.cpu for a, b in zip(our, one, strict=True)]) * 1000 / (n - 1)
    rows = [
        (
            f"warm cycle, {n:,} unchanged feeds: feeds/s",
            f"{n / wall_o:.0f}",
            f"{n / wall_a:.0f}",
            f"{wall_a / wall_o:.1f}×",
        ),
        (
            "warm cycle: CPU ms per feed (whole process)",
            f"{cpu_o * 1000 / n:.2f}",
            f"{cpu_a * 1000 / n:.2f}",
            f"{cpu_a / cpu_o:.1f}× less",
        ),
        ("warm cycle: CPU ms per feed (beyond start-up)", f"{marginal:.2f}", "", ""),
        ("process start-up + 1 unchanged feed: CPU ms", f"{cpu_one * 1000:.0f}", "", ""),
        (
            "warm cycle: peak RSS MB",
            f"{median([p.rss_mb for p in our]):.0f}",
            f"{median([p.rss_mb for p in alt]):.0f}",
            "",
        ),
    ]
    return rows, {"warm_cpu_ms": marginal}


def changed_cycle(
    origin: str, site: SiteProcess, work: Path, sizes: Sizes, runs: int
) -> tuple[list[Row], dict[str, float]]:
    """Feeds that answer 200 with a changed body (no validators), 2 items new in each of 100."""
    n, per = sizes.changed_feeds, sizes.changed_per
    query = f"items={sizes.changed_items}&per={per}&pool={sizes.changed_pool}"
    urls = [f"http://tass.com/ring/{f}.xml?{query}" for f in range(n)]
    folder = work / "changed"
    folder.mkdir()
    config = write_config(folder, origin, urls)
    site.set_cycle(0)
    ours(config)  # the first poll archives the whole ring; later ones find its pages archived
    alternative(folder / "alternative.db", origin, urls)
    archived = count(folder / "archive.db")
    our, one, alt = [], [], []
    for run in range(runs):
        site.set_cycle(run + 1)
        one.append(ours(config, "f0"))  # first, so that f0 is a changed feed for it, not for the next
        our.append(ours(config))
        alt.append(alternative(folder / "alternative.db", origin, urls))
    entries = count(folder / "archive.db", "entries")
    if entries != n * (sizes.changed_items + per * runs) or count(folder / "archive.db") != archived:
        raise RuntimeError(f"changed cycle: {entries} entries, {count(folder / 'archive.db')} articles")
    wall_o, wall_a = median([p.wall for p in our]), median([p.wall for p in alt])
    cpu_o, cpu_a = median([p.cpu for p in our]), median([p.cpu for p in alt])
    marginal = median([a.cpu - b.cpu for a, b in zip(our, one, strict=True)]) * 1000 / (n - 1)
    label = f"{n:,} feeds of {sizes.changed_items} items, {per} new"
    rows = [
        (f"changed cycle, {label}: feeds/s", f"{n / wall_o:.0f}", f"{n / wall_a:.0f}", f"{wall_a / wall_o:.1f}×"),
        (
            "changed cycle: CPU ms per feed (whole process)",
            f"{cpu_o * 1000 / n:.2f}",
            f"{cpu_a * 1000 / n:.2f}",
            f"{cpu_a / cpu_o:.1f}× less",
        ),
        ("changed cycle: CPU ms per feed (beyond start-up)", f"{marginal:.2f}", "", ""),
    ]
    return rows, {"changed_cpu_ms": marginal}


def extraction(sizes: Sizes, runs: int) -> tuple[list[Row], dict[str, float]]:
    import trafilatura

    from aggregator.extract.article import extract_article

    numbers = range(1_500_000, 1_500_000 + sizes.extract_pages)
    pages = [(article_page(n).decode(), f"https://tass.com/{section_of(n)}/{n}") for n in numbers]
    kb = median([len(html.encode()) / 1000 for html, _ in pages])

    def per_page(extract: Callable[[str, str], object]) -> float:
        medians = []
        for _ in range(runs):
            times = []
            for html, url in pages:
                started = time.perf_counter()
                extract(html, url)
                times.append(time.perf_counter() - started)
            medians.append(median(times) * 1000)
        return median(medians)

    tass = per_page(lambda html, url: extract_article(html, url))
    generic = per_page(lambda html, url: extract_article(html, url, profile="generic"))
    theirs = per_page(lambda html, url: trafilatura.extract(html))
    rows = [
        (
            f"extraction, TASS profile: ms per page ({kb:.0f} KB median)",
            f"{tass:.2f}",
            f"{theirs:.2f}",
            f"{theirs / tass:.1f}×",
        ),
        ("extraction, generic extractor: ms per page", f"{generic:.2f}", f"{theirs:.2f}", f"{theirs / generic:.1f}×"),
    ]
    return rows, {"tass_ms": tass}


_SYLLABLES = ("ka", "ro", "mi", "tes", "lan", "po", "vor", "di", "na", "shu", "bel", "grad", "ze", "un", "ost")


def _vocabulary(size: int) -> list[str]:
    rng = random.Random(7)
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _fts_rows(count_: int) -> list[dict[str, object]]:
    """Articles with Zipf-distributed words: a few very common, most rare, like news text."""
    vocabulary = _vocabulary(30_000)
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    rng = random.Random(11)
    rows = []
    for n in range(count_):
        words = rng.choices(vocabulary, weights, k=350)
        body = "\n\n".join(" ".join(words[i : i + 50]).capitalize() + "." for i in range(0, 350, 50))
        title = " ".join(words[:8]).capitalize()
        day = f"2020-{1 + n % 12:02d}-{1 + n % 28:02d}"
        rows.append(
            {
                "id": f"{n:016x}",
                "url": f"https://tass.com/world/{n}",
                "title": title,
                "published": f"{day}T12:00:00+03:00",
                "published_via": "page:dateformat",
                "day": day,
                "source": "TASS",
                "feed_id": "f0",
                "body": body,
                "document": f"{title}\n\n{body}\n",
                "extractor": "tass@2019",
                "fetched_at": f"{day}T09:00:00+00:00",
                "folder": f"tass/{day}",
                "seq": n,
                "path": f"tass/{day}/{n:03d}_{n:016x}.txt",
                "text_written_at": f"{day}T09:00:00+00:00",
            }
        )
    return rows


def search_latency(work: Path, sizes: Sizes, runs: int) -> tuple[list[Row], dict[str, float]]:
    from aggregator.store import open_store
    from aggregator.store.sqlite import SQLiteStore

    rows = _fts_rows(sizes.fts_articles)
    ours_db, alt_db = work / "fts" / "archive.db", work / "fts" / "alternative.db"
    # straight into the SQLite backend's own schema, FTS triggers and all; one transaction
    with SQLiteStore(ours_db) as sqlite_store, sqlite_store.conn:
        sqlite_store.db.table("articles").insert_all(rows, batch_size=500)
    with sqlite3.connect(alt_db) as conn:
        conn.execute("CREATE TABLE articles (url TEXT PRIMARY KEY, title TEXT, published TEXT, text TEXT)")
        conn.executemany(
            "INSERT INTO articles VALUES (?, ?, ?, ?)",
            [(r["url"], r["title"], r["published"], r["body"]) for r in rows],
        )
    vocabulary = _vocabulary(30_000)
    rng = random.Random(5)
    queries = [f"{rng.choice(vocabulary[:300])} {rng.choice(vocabulary[300:5000])}" for _ in range(sizes.fts_queries)]
    ours_ms, alt_ms = [], []
    with open_store(ours_db) as store, sqlite3.connect(alt_db) as conn:
        for _ in range(runs):
            for query in queries:
                started = time.perf_counter()
                store.search(query, limit=20)
                ours_ms.append((time.perf_counter() - started) * 1000)
                first, second = query.split()
                started = time.perf_counter()
                conn.execute(
                    "SELECT url, title FROM articles WHERE text LIKE ? AND text LIKE ? LIMIT 20",
                    (f"%{first}%", f"%{second}%"),
                ).fetchall()
                alt_ms.append((time.perf_counter() - started) * 1000)
    size = db_bytes(ours_db) / len(rows)
    o, a = median(ours_ms), median(alt_ms)
    label = f"search on a {len(rows):,}-article archive: ms per query (2 words, top 20)"
    return [
        (label, f"{o:.1f}", f"{a:.1f}", f"{a / o:.1f}× (LIKE scan)"),
        ("storage: bytes per article of that archive (text, no pages)", f"{size:,.0f}", "", ""),
    ], {}


def daemon(origin: str, site: SiteProcess, work: Path, sizes: Sizes, runs: int) -> tuple[list[Row], dict[str, float]]:
    results = []
    for run in range(runs):
        folder = work / f"daemon-{run}"
        folder.mkdir()
        site.set_cycle(0)
        proc = measure(
            [
                sys.executable,
                "-m",
                "benchmarks.run",
                "--daemon-child",
                str(folder),
                origin,
                str(site.port),
                json.dumps([sizes.daemon_feeds, sizes.daemon_per_cycle, list(sizes.daemon_marks)]),
            ]
        )
        results.append(json.loads(proc.stdout.splitlines()[-1]))
    rows = []
    for mark in sizes.daemon_marks:
        rss = median([r["rss"][str(mark)] for r in results])
        articles = results[0]["articles"][str(mark)]
        rows.append((f"daemon: RSS MB after {mark} poll cycles ({articles:,} articles)", f"{rss:.0f}", "", ""))
    first, last = (median([r["rss"][str(m)] for r in results]) for m in (sizes.daemon_marks[0], sizes.daemon_marks[-1]))
    return rows, {"daemon_rss": last, "daemon_growth": last - first}


def daemon_child(folder: Path, origin: str, port: int, spec: str) -> None:
    """The daemon's refresh path (``Archiver.refresh_feed``, as the scheduler calls it) for many cycles,
    with a clock that moves an hour per cycle; prints the RSS after the marked cycles as JSON."""
    import urllib.request
    from datetime import UTC, datetime, timedelta

    from aggregator.fetch.fetcher import Fetcher
    from aggregator.models import FeedSpec, Settings
    from aggregator.pipeline import Archiver
    from aggregator.store import open_store

    feeds, per, marks = json.loads(spec)
    settings = Settings(
        database=folder / "archive.db",
        archive_dir=folder / "archive",
        proxy=origin,
    )
    specs = [
        FeedSpec(id=f"live{i}", url=f"http://tass.com/live/{i}.xml?per={per}", source="TASS", timezone="Europe/Moscow")
        for i in range(feeds)
    ]
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    rss: dict[int, float] = {}
    articles: dict[int, int] = {}

    async def main() -> None:
        with open_store(settings.database) as store:
            async with Fetcher(settings) as fetcher:
                archiver = Archiver(settings, store, fetcher, clock=lambda: now[0])
                store.sync_feeds(specs)
                for cycle in range(1, max(marks) + 1):
                    opener.open(f"http://127.0.0.1:{port}/_cycle/{cycle}", timeout=10).close()
                    await asyncio.gather(*(archiver.refresh_feed(spec) for spec in specs))
                    now[0] += timedelta(hours=1)
                    if cycle in marks:
                        rss[cycle] = _rss_mb()
                        articles[cycle] = store.count("articles")

    asyncio.run(main())
    print(json.dumps({"rss": rss, "articles": articles}))


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# -- the table ----------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip() or "?"
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{model}, {cores} cores (nproc){memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def table(rows: list[Row]) -> str:
    lines = ["| measure | aggregator | alternative | ratio |", "|---|---:|---:|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


SCENARIOS = ("cold ingest", "warm cycle", "changed cycle", "extraction", "search", "daemon")


def run(
    sizes: Sizes,
    runs: int,
    work: Path,
    progress: Callable[[str], None] = lambda _: None,
    only: tuple[str, ...] = SCENARIOS,
) -> str:
    rows: list[Row] = []
    daemon_ranges = ",".join(
        f"{LIVE_BASE + f * 100_000}-{LIVE_BASE + f * 100_000 + sizes.daemon_per_cycle * 60}"
        for f in range(sizes.daemon_feeds)
    )
    prewarm = (
        f"1000000-{1_000_000 + sizes.cold_feeds * sizes.cold_items},2000000-{2_000_000 + sizes.warm_pool},"
        f"{RING_BASE}-{RING_BASE + sizes.changed_pool},{daemon_ranges}"
    )
    compile_sources()
    with SiteProcess(prewarm) as site:
        for name, scenario in (
            ("cold ingest", lambda: cold_ingest(site.origin, work, sizes, runs)),
            ("warm cycle", lambda: warm_cycle(site.origin, work, sizes, runs)),
            ("changed cycle", lambda: changed_cycle(site.origin, site, work, sizes, runs)),
            ("extraction", lambda: extraction(sizes, runs)),
            ("search", lambda: search_latency(work, sizes, runs)),
            ("daemon", lambda: daemon(site.origin, site, work, sizes, runs)),
        ):
            if name not in only:
                continue
            started = time.perf_counter()
            found, _ = scenario()
            rows += found
            progress(f"{name}: {time.perf_counter() - started:.0f} s")
    header = (
        f"Machine: {machine()}.  \nEach figure is the median of {runs} runs; the archiver on its default settings "
        "(`concurrency: 8`, `per_host_concurrency: 2`), the alternative one keep-alive client."
    )
    return header + "\n\n" + table(rows) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--daemon-child":
        daemon_child(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each scenario (the table shows medians)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of a few seconds")
    parser.add_argument("--feeds", type=int, help="feeds of the warm and changed cycles (default 1,000)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[name.split()[0] for name in SCENARIOS],
        metavar="SCENARIO",
        help=f"run only these scenarios ({', '.join(name.split()[0] for name in SCENARIOS)})",
    )
    args = parser.parse_args()
    only = tuple(name for name in SCENARIOS if not args.only or name.split()[0] in args.only)
    sizes = QUICK if args.quick else Sizes()
    if args.feeds:
        sizes = dataclasses.replace(sizes, warm_feeds=args.feeds, changed_feeds=args.feeds)
    with tempfile.TemporaryDirectory(prefix="aggregator-bench-") as tmp:
        report = run(
            sizes,
            args.runs,
            Path(tmp),
            lambda line: print(line, file=sys.stderr, flush=True),
            only,
        )
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
