"""An archive of a million articles: does every query people make still answer fast?

    .venv/bin/python -m benchmarks.million [--articles 1000000] [--db PATH] [--regenerate] [--quick] [--out FILE]
        [--only search pages cli] [--queries N]

1. Generates ``--articles`` articles (default 1,000,000) into an archive database, once: 50
   sources of Zipf-like sizes with 1 to 3 feeds each, dates spread over ten years in the
   publishers' zones, bodies of news length (log-normal, median about 3 KB, a long tail to 60 KB)
   of Zipf-distributed words with a few thousand names among them, so that a search is as
   selective as on real news. Each article has the rows production gives it: the ``articles`` row
   (the document rendered by ``render_document``, its path by ``document_relpath``), its feed
   item, its URL, its page's WARC capture, and a poll now and then; some items failed or were
   abandoned. The rows go in through the store's own schema, triggers and indexes, in batched
   transactions with the same INSERT statements ``save_article`` makes. The database is cached at
   ``--db`` (default ``~/.cache/aggregator-bench/million-N.db``) and only generated again with
   ``--regenerate``.
2. The insert rate of the production path (``add_entries`` then ``save_article`` per article, one
   transaction each) is measured while generating, at 10,000 articles, at 100,000 and at the end.
3. Then measures, and prints as a markdown table: full-text search p50/p95 through the read side
   the CLI uses (``ReadSide.search`` and ``count_matches``); the reading room's pages and every
   stored query and dashboard chart of ``reading_room/metadata.yaml``, over Datasette's in-process
   client; ``aggregator feeds`` and ``aggregator export`` (the real CLI, in a subprocess); the
   database's bytes per article.

``--quick`` is a smoke run of a few seconds on 2,000 articles (its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import multiprocessing
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script
    sys.path.insert(0, str(REPO))

from aggregator.document.render import document_relpath, render_document  # noqa: E402
from aggregator.models import CaptureRef, FeedSpec  # noqa: E402
from aggregator.store.query import RANK_WINDOW  # noqa: E402
from aggregator.store.records import NewArticle  # noqa: E402
from aggregator.store.sqlite import SQLiteStore  # noqa: E402
from aggregator.store.sqlite.captures import capture_row  # noqa: E402

SOURCES = 50
FIRST_DAY, DAYS = date(2016, 7, 1), 3650
#: the production path's insert rate is measured at these sizes (and at the end)
PROBE_AT = (10_000, 100_000)
BATCH = 2_000
_ZONES = ("+03:00", "+00:00", "+01:00", "+02:00", "-05:00", "+08:00", "+09:00", "-08:00", "+05:30", "+04:00")
_STOPWORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "on",
    "said",
    "with",
    "as",
    "was",
    "by",
    "at",
    "it",
    "from",
    "he",
    "his",
    "be",
    "has",
    "have",
    "an",
    "are",
    "were",
    "not",
    "this",
    "which",
    "will",
    "its",
    "but",
    "their",
    "they",
    "had",
    "been",
    "who",
    "after",
    "also",
    "more",
    "would",
    "over",
    "year",
    "than",
    "new",
    "two",
    "one",
    "about",
    "up",
    "last",
    "first",
    "people",
    "other",
    "into",
    "government",
    "can",
    "minister",
    "president",
    "all",
    "when",
    "out",
    "state",
    "country",
    "we",
    "there",
    "what",
    "told",
    "could",
    "police",
    "our",
    "some",
    "against",
    "us",
    "time",
    "if",
    "no",
    "her",
    "years",
    "percent",
]
_SYLLABLES = ("ka", "ro", "mi", "tes", "lan", "po", "vor", "di", "na", "shu", "bel", "grad", "ze", "un", "ost", "ar")
_TABLE = 2**21
_MASK = _TABLE - 1
_NAME_ENDS = ("ov", "ev", "son", "ez", "ski", "er", "ini", "an", "ova", "i")


@dataclass(frozen=True)
class Sizes:
    articles: int
    probe: int = 1_000  # articles archived through save_article at each probe
    queries: int = 40  # searches of each kind
    page_runs: int = 5  # requests of each Datasette page


# --------------------------------------------------------------------------------------------
# the text


class Words:
    """A vocabulary of English function words, ~40,000 made-up words and 3,000 names, drawn with
    Zipf's law (the n-th most frequent word n times rarer than the first)."""

    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        made: set[str] = set()
        while len(made) < 40_000:
            made.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 3, 4)))))
        words = _STOPWORDS + sorted(sorted(made - set(_STOPWORDS)), key=lambda _: rng.random())
        names: set[str] = set()
        while len(names) < 3_000:
            names.add(
                ("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))) + rng.choice(_NAME_ENDS)).title()
            )
        self.words, self.names = words, sorted(sorted(names), key=lambda _: rng.random())
        self.population = self.words + self.names
        # 97 % of running text is words, 3 % names; each Zipf-distributed within its kind
        word_w = [1 / (rank + 1) for rank in range(len(self.words))]
        name_w = [1 / (rank + 1) ** 0.9 for rank in range(len(self.names))]
        scale_w, scale_n = 0.97 / sum(word_w), 0.03 / sum(name_w)
        # drawn from a table in which each word appears in proportion to its weight: drawing
        # uniformly from it is several times faster than a weighted draw
        weights = [w * scale_w for w in word_w] + [w * scale_n for w in name_w]
        table = [
            word
            for word, weight in zip(self.population, weights, strict=True)
            for _ in range(max(1, round(weight * _TABLE)))
        ]
        self.table = table[len(table) - _TABLE :] if len(table) > _TABLE else table + table[: _TABLE - len(table)]

    def draw(self, rng: random.Random, count: int) -> list[str]:
        # a C-speed uniform draw from the table: random 32-bit numbers, their low 21 bits the index
        picks = itemgetter(*map(_MASK.__and__, array("I", rng.randbytes(4 * count))))(self.table)
        return list(picks) if count > 1 else [picks]


def _source_names(rng: random.Random) -> list[tuple[str, str, int]]:
    """(name, zone offset, feeds) of the 50 sources, TASS first."""
    kinds = ("News", "Times", "Daily", "Agency", "Post", "Herald")
    names = ["TASS"] + [
        f"{''.join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).title()} {rng.choice(kinds)}"
        for _ in range(SOURCES - 1)
    ]
    return [(name, _ZONES[i % len(_ZONES)], 1 + i % 3) for i, name in enumerate(names)]


@dataclass(frozen=True)
class Generated:
    article: NewArticle
    key: str  # the feed item's guid
    paragraphs: int


class Newsroom:
    """The articles, in the order an archive receives them (oldest first)."""

    def __init__(self, total: int, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.words = Words()
        self.total = total
        sources = _source_names(self.rng)
        self.sources = sources
        self.source_names = [s[0] for s in sources]
        self.feeds = [
            FeedSpec(id=f"{_slug(name)}-{n}", url=f"https://{_slug(name)}.example/rss/{n}.xml", source=name)
            for name, _zone, count in sources
            for n in range(count)
        ]
        weights = [1 / (rank + 1) ** 0.8 for rank in range(SOURCES)]
        self.source_cum = [sum(weights[: i + 1]) for i in range(SOURCES)]
        self.feeds_of = {name: [f for f in self.feeds if f.source == name] for name, _z, _c in sources}
        self.zone_of = {name: zone for name, zone, _c in sources}

    def article(self, n: int) -> Generated:
        rng = random.Random(n * 7_919 + 11)  # each article its own draw: generated in any order, in parallel
        name = rng.choices(self.source_names, cum_weights=self.source_cum)[0]
        feed = rng.choice(self.feeds_of[name])
        day = FIRST_DAY + timedelta(days=min(DAYS - 1, n * DAYS // self.total))
        moment = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        published = f"{day.isoformat()}T{moment}{self.zone_of[name]}"
        # body length in characters: log-normal, median 3,000, capped at 60,000 (a long tail)
        chars = min(60_000, max(300, int(rng.lognormvariate(math.log(3_000), 0.65))))
        words = self.words.draw(rng, max(30, chars // 6))
        paragraphs, at = [], 0
        while at < len(words):
            step = rng.randint(25, 70)
            chunk = words[at : at + step]
            paragraphs.append(chunk[0].capitalize() + " " + " ".join(chunk[1:]) + ".")
            at += step
        title = " ".join(self.words.draw(rng, rng.randint(6, 12))).capitalize()
        url = f"https://{_slug(name)}.example/{day.year}/{n}"
        article_id = hashlib.sha256(url.encode()).hexdigest()[:16]
        fetched = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=rng.randrange(24) + 1)
        fetched_at = fetched.isoformat()
        document = render_document(title=title, published=day, source=name, paragraphs=paragraphs, url=url)
        warc = f"{fetched:%Y%m%d}-{n // 5_000:05d}.warc.gz"
        capture = CaptureRef(
            file=warc,
            offset=(n % 5_000) * 20_000,
            length=15_000 + rng.randrange(10_000),
            record_type="response",
            url=url,
            date=fetched.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            status=200,
            digest="sha1:" + hashlib.sha1(url.encode()).hexdigest()[:32].upper(),
            content_type="text/html; charset=utf-8",
        )
        record = NewArticle(
            url=url,
            article_id=article_id,
            title=title,
            published=published,
            published_via="page:meta",
            day=day.isoformat(),
            source=name,
            feed_id=feed.id,
            body="\n\n".join(paragraphs),
            document=document,
            extractor="generic" if n % 7 == 0 else f"{_slug(name)}@2019",
            fetched_at=fetched_at,
            aliases=(url,),
            captures=(capture,),
        )
        return Generated(record, url, len(paragraphs))


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


# --------------------------------------------------------------------------------------------
# generating the archive

_NOT_COLUMNS = ("aliases", "article_id", "captures")


class Loader:
    """Rows as ``add_entries`` and ``save_article`` write them, many articles per transaction."""

    def __init__(self, store: SQLiteStore, newsroom: Newsroom) -> None:
        self.store, self.newsroom = store, newsroom
        self.seq: dict[str, int] = {}  # the next running number in each folder
        self.rng = random.Random(3)

    def bulk(self, items: list[Generated]) -> None:
        store = self.store
        with store._write() as conn:
            articles: list[dict[str, Any]] = []
            captures: list[dict[str, Any]] = []
            entries: list[dict[str, Any]] = []
            urls: list[tuple[str, str, str]] = []
            polls: list[tuple[Any, ...]] = []
            for item in items:
                a = item.article
                folder = str(document_relpath(a.source, date.fromisoformat(a.day), 0, a.article_id).parent)
                seq = self.seq.get(folder, 0)
                self.seq[folder] = seq + 1
                path = str(document_relpath(a.source, date.fromisoformat(a.day), seq, a.article_id))
                record = {f.name: getattr(a, f.name) for f in fields(a) if f.name not in _NOT_COLUMNS}
                articles.append(
                    {
                        **record,
                        "id": a.article_id,
                        "folder": folder,
                        "seq": seq,
                        "path": path,
                        "text_written_at": a.fetched_at,
                    }
                )
                captures.extend(capture_row("page", ref, article_id=a.article_id) for ref in a.captures)
                urls.append((a.url, a.article_id, a.fetched_at))
                entries.append(self._entry(a, a.feed_id or "", item.key, a.article_id))
                if self.rng.random() < 0.05:  # the same story in a second feed of the source
                    other = self.rng.choice(self.newsroom.feeds_of[a.source])
                    if other.id != a.feed_id:
                        entries.append(self._entry(a, other.id, item.key, a.article_id))
                if self.rng.random() < 0.01:  # a page that failed (to retry) or was abandoned
                    failed = self._entry(a, a.feed_id or "", item.key + "#gallery", None)
                    failed.update(
                        status=self.rng.choice(("failed", "abandoned")), attempts=3, last_error_reason="not_article"
                    )
                    entries.append(failed)
                if self.rng.random() < 0.05:
                    polls.append((a.feed_id, a.fetched_at, a.fetched_at, 120, "ok", 200, 50, 3, 0, 0))
            for table, rows in (("articles", articles), ("captures", captures), ("entries", entries)):
                keys = list(rows[0])
                names, marks = ", ".join(f"[{k}]" for k in keys), ", ".join("?" * len(keys))
                conn.executemany(
                    f"INSERT INTO [{table}] ({names}) VALUES ({marks})",
                    [[row[k] for k in keys] for row in rows],
                )
            conn.executemany("INSERT OR IGNORE INTO article_urls (url, article_id, first_seen) VALUES (?, ?, ?)", urls)
            conn.executemany(
                "INSERT INTO polls (feed_id, started_at, finished_at, duration_ms, outcome, http_status, entries, "
                "new_articles, duplicates, failed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                polls,
            )

    @staticmethod
    def _entry(a: NewArticle, feed_id: str, key: str, article_id: str | None) -> dict[str, Any]:
        return {
            "feed_id": feed_id,
            "key": key,
            "link": key,
            "url": key,
            "title": a.title,
            "feed_published": a.published,
            "status": "archived" if article_id else "pending",
            "attempts": 1,
            "last_error_reason": None,
            "article_id": article_id,
            "first_seen": a.fetched_at,
            "last_attempt_at": a.fetched_at,
        }

    def production(self, items: list[Generated]) -> float:
        """Archive ``items`` as the pipeline does (add_entries per poll of 20, save_article per
        article, one transaction each); returns articles per second."""
        store = self.store
        started = time.perf_counter()
        for at in range(0, len(items), 20):
            poll = items[at : at + 20]
            by_feed: dict[str, list[Generated]] = {}
            for item in poll:
                by_feed.setdefault(item.article.feed_id or "", []).append(item)
            for feed_id, group in by_feed.items():
                store.add_entries(
                    feed_id,
                    [
                        {
                            "key": i.key,
                            "link": i.key,
                            "url": i.key,
                            "title": i.article.title,
                            "feed_published": i.article.published,
                        }
                        for i in group
                    ],
                )
                for item in group:
                    store.save_article(item.article, (feed_id, item.key))
        elapsed = time.perf_counter() - started
        for item in items:  # the running numbers save_article gave
            row = store.article(item.article.article_id) or {}
            self.seq[row["folder"]] = max(self.seq.get(row["folder"], 0), row["seq"] + 1)
        store.mark_text_written(*(item.article.article_id for item in items))
        return len(items) / elapsed


_NEWSROOM: dict[int, Newsroom] = {}


def _batch(job: tuple[int, int, int]) -> list[Generated]:
    total, start, stop = job
    newsroom = _NEWSROOM.get(total) or _NEWSROOM.setdefault(total, Newsroom(total))
    return [newsroom.article(n) for n in range(start, stop)]


def generate(db: Path, sizes: Sizes, log: Callable[[str], None]) -> dict[str, Any]:
    """Build the archive at ``db``; returns what generating it measured (kept beside it)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    newsroom = Newsroom(sizes.articles)
    rates: dict[str, float] = {}
    curve: list[tuple[int, float]] = []
    started = time.perf_counter()
    with SQLiteStore(db) as store:
        store.sync_feeds(newsroom.feeds)
        loader = Loader(store, newsroom)
        probes = sorted({p for p in PROBE_AT if p + sizes.probe < sizes.articles} | {sizes.articles - sizes.probe})
        # the text is written by a second process while this one inserts
        spans, n = [], 0
        while n < sizes.articles:
            if n in probes:
                n += sizes.probe
                continue
            upto = min([sizes.articles, n + BATCH, *(p for p in probes if p > n)])
            spans.append((n, upto))
            n = upto
        pool = multiprocessing.get_context("fork").Pool(1)
        batches = pool.imap(_batch, [(sizes.articles, a, b) for a, b in spans])
        n = 0
        while n < sizes.articles:
            if n in probes:
                items = [newsroom.article(n + i) for i in range(sizes.probe)]
                rates[f"{n + sizes.probe}"] = loader.production(items)
                log(f"  production path at {n + sizes.probe:,}: {rates[f'{n + sizes.probe}']:,.0f} articles/s")
                n += sizes.probe
                continue
            upto = min([sizes.articles, n + BATCH, *(p for p in probes if p > n)])
            items = next(batches)
            assert len(items) == upto - n
            loaded = time.perf_counter()
            loader.bulk(items)
            done = time.perf_counter()
            curve.append((upto, len(items) / (done - loaded)))
            n = upto
            if n % 50_000 < BATCH:
                elapsed = time.perf_counter() - started
                log(f"  {n:,} articles, {elapsed:,.0f} s (last batch: bulk insert {curve[-1][1]:,.0f}/s)")
        pool.close()
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    meta = {
        "articles": sizes.articles,
        "production_rates": rates,
        "bulk_curve": curve[:: max(1, len(curve) // 20)] + curve[-1:],
        "seconds": time.perf_counter() - started,
    }
    Path(f"{db}.json").write_text(json.dumps(meta, indent=1))
    return meta


# --------------------------------------------------------------------------------------------
# measuring


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


Row = tuple[str, str, str, str]


def query_words(store: SQLiteStore, rng: random.Random) -> dict[str, list[str]]:
    """Words to look for, by how many articles have them (counted in the archive itself): words
    drawn from the vocabulary and from articles' text (so the common ones are there too), function
    words left out, since nobody searches for "the"."""
    words = Words()
    total = store.count("articles")
    sample = rng.sample(words.words[len(_STOPWORDS) :], 300) + rng.sample(words.names, 100)
    picked = ", ".join(str(rng.randrange(1, total + 1)) for _ in range(30))
    for row in store._rows(f"SELECT body FROM articles WHERE rowid IN ({picked})"):
        sample += rng.sample(row["body"].lower().replace(".", "").split(), 10)
    pools: dict[str, list[str]] = {"common": [], "mid": [], "rare": []}
    stop = set(_STOPWORDS)
    for word in dict.fromkeys(sample):
        if word.lower() in stop:
            continue
        share = store.count_matches(word) / total
        pool = "common" if share >= 0.05 else "mid" if share >= 0.005 else "rare" if share > 0 else None
        if pool:
            pools[pool].append(word)
    return {name: pool or ["missing"] for name, pool in pools.items()}


def search_rows(db: Path, sizes: Sizes) -> tuple[list[Row], dict[str, str]]:
    """Search p50/p95 (search + count_matches to RANK_WINDOW, as ``aggregator search`` does) per
    kind of query; the matches noted are counted to the last, untimed."""
    rng = random.Random(5)
    sources = [s[0] for s in Newsroom(1).sources]

    with SQLiteStore(db) as store:
        pools = query_words(store, rng)
        last_day = store._rows("SELECT max(day) AS d FROM articles")[0]["d"]
        first_day = store._rows("SELECT min(day) AS d FROM articles")[0]["d"]
        span = (date.fromisoformat(last_day) - date.fromisoformat(first_day)).days

        def some(pool: str) -> str:
            return rng.choice(pools[pool])

        def window() -> dict[str, str]:
            start = date.fromisoformat(first_day) + timedelta(days=rng.randrange(max(1, span - 365)))
            return {"since": start.isoformat(), "until": (start + timedelta(days=365)).isoformat()}

        def phrase() -> str:
            body = store._rows("SELECT body FROM articles WHERE rowid = ?", [rng.randrange(1, store.count("articles"))])
            text = body[0]["body"].replace(".", "").split() if body else ["no", "match"]
            at = rng.randrange(len(text) - 1)
            return f'"{text[at]} {text[at + 1]}"'

        kinds: list[tuple[str, Callable[[], tuple[str, dict[str, str]]]]] = [
            ("a word in under 0.5 % of articles", lambda: (some("rare"), {})),
            ("a word in 0.5-5 %", lambda: (some("mid"), {})),
            ("a word in over 5 %", lambda: (some("common"), {})),
            ("two words (0.5-5 %, under 0.5 %)", lambda: (f"{some('mid')} {some('rare')}", {})),
            ("a phrase (two words found together in an article)", lambda: (phrase(), {})),
            ("a prefix (5 letters of a 0.5-5 % word)", lambda: (some("mid")[:5] + "*", {})),
            (
                "a 0.5-5 % word, a source, a year",
                lambda: (some("mid"), {"source": rng.choice(sources[:20]), **window()}),
            ),
            (
                "a word in over 5 %, a source, a year",
                lambda: (some("common"), {"source": rng.choice(sources[:20]), **window()}),
            ),
        ]
        rows: list[Row] = []
        examples: dict[str, str] = {}
        for label, make in kinds:
            timings: list[float] = []
            hits: list[int] = []
            for _ in range(sizes.queries):
                query, where = make()
                examples.setdefault(label, query)
                started = time.perf_counter()
                source, since, until = where.get("source"), where.get("since"), where.get("until")
                # as `aggregator search` does: the page, then the count as far as the ranking goes
                store.search(query, source=source, since=since, until=until, limit=20)
                store.count_matches(query, source=source, since=since, until=until, at_most=RANK_WINDOW)
                timings.append((time.perf_counter() - started) * 1000)
                hits.append(store.count_matches(query, source=source, since=since, until=until))
            rows.append(
                (
                    f"search: {label} (e.g. `{examples[label]}`)",
                    f"{percentile(timings, 0.5):,.1f}",
                    f"{percentile(timings, 0.95):,.1f}",
                    f"median {statistics.median(hits):,.0f} matches, max {max(hits):,}",
                )
            )
    return rows, examples


def datasette_rows(db: Path, sizes: Sizes, word: str) -> list[Row]:
    """Every reading room page and stored query, over Datasette's in-process client."""
    from aggregator.tools import serve

    datasette = serve.build(db)
    meta = serve.metadata()
    queries = meta["databases"]["archive"]["queries"]
    charts = meta["plugins"]["datasette-dashboards"]["archive"]["charts"]

    async def measure() -> list[Row]:
        await datasette.invoke_startup()
        client = datasette.client
        one = await datasette.get_database("archive").execute(
            "select id, source from articles where rowid = (select max(rowid) / 2 from articles)"
        )
        article_id, source = one.first()
        month = (
            await datasette.get_database("archive").execute("select substr(max(day), 1, 7) from articles")
        ).first()[0]
        cols = "&".join(f"_col={c}" for c in ("published", "source", "title", "url"))
        pages = [
            ("front page `/`", "/"),
            ("articles list", f"/archive/articles?{cols}"),
            ("articles list, one source", f"/archive/articles?{cols}&source={source.replace(' ', '+')}"),
            ("articles list, next page", f"/archive/articles?{cols}&_next="),  # filled below
            (f"search page `/-/search?q={word}`", f"/-/search?q={word}"),
            (
                "search page, a source and a month",
                f"/-/search?q={word}&source={source.replace(' ', '+')}&month={month}",
            ),
            (f"search as Atom `/-/search.atom?q={word}`", f"/-/search.atom?q={word}"),
            ("an article page", f"/archive/articles/{article_id}"),
            ("an article's document", f"/-/documents/{article_id}.txt"),
            ("dashboard page `/-/dashboards/archive`", "/-/dashboards/archive"),
            ("feeds table", "/archive/feeds"),
            ("entries table", "/archive/entries"),
        ]
        first = await client.get(f"/archive/articles.json?{cols}")
        pages[3] = (pages[3][0], pages[3][1] + (first.json().get("next") or ""))
        for name, query in queries.items():
            params = "?month=" if "month" in query["sql"] else ""
            pages.append((f"stored query `{name}`", f"/archive/{name}{params}"))
        for name, chart in charts.items():
            from urllib.parse import quote

            pages.append((f"dashboard chart `{name}`", f"/archive.json?sql={quote(chart['query'])}&_shape=array"))
        rows = []
        for label, path in pages:
            timings = []
            for _ in range(sizes.page_runs):
                started = time.perf_counter()
                response = await client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {response.status_code}: {response.text[:300]}")
            rows.append((f"page: {label}", f"{percentile(timings, 0.5):,.0f}", f"{max(timings):,.0f}", ""))
        return rows

    return asyncio.run(measure())


def cli_rows(db: Path, work: Path, newsroom: Newsroom) -> list[Row]:
    """``aggregator feeds`` and ``aggregator export`` through the real CLI, in a subprocess."""
    config = work / "feeds.yaml"
    lines = ["settings:", f"  database: {db}", f"  archive_dir: {work / 'archive'}", "feeds:"]
    lines += [f"  - {{id: {f.id}, url: '{f.url}', source: '{f.source}'}}" for f in newsroom.feeds]
    config.write_text("\n".join(lines) + "\n")
    exe = [str(Path(sys.executable).parent / "aggregator"), "--config", str(config)]
    rows: list[Row] = []

    def run(args: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run([*exe, *args], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started

    seconds = min(run(["feeds"]) for _ in range(3))
    rows.append((f"`aggregator feeds` ({len(newsroom.feeds)} feeds), s", f"{seconds:.2f}", "", ""))
    with SQLiteStore(db) as store:
        source = newsroom.sources[5][0]
        selected = store._rows("SELECT count(*) AS n FROM articles WHERE source = ?", [source])[0]["n"]
        last = date.fromisoformat(store._rows("SELECT max(day) AS d FROM articles")[0]["d"])
        year, month = (last - timedelta(days=364)).isoformat(), last.isoformat()[:8] + "01"
        in_year = store._rows("SELECT count(*) AS n FROM articles WHERE day >= ?", [year])[0]["n"]
        in_month = store._rows("SELECT count(*) AS n FROM articles WHERE day >= ?", [month])[0]["n"]
    for label, args, count in (
        (
            f"`export --format jsonl --since {year}` ({in_year:,}, the last year)",
            ["export", "--format", "jsonl", "--since", year, "--out", str(work / "year.jsonl")],
            in_year,
        ),
        (
            f"`export --format csv --source '{source}'` ({selected:,})",
            ["export", "--format", "csv", "--source", source, "--out", str(work / "one.csv")],
            selected,
        ),
        (
            f"`export --format text --since {month}` ({in_month:,} files)",
            ["export", "--format", "text", "--since", month, "--out", str(work / "text")],
            in_month,
        ),
    ):
        seconds = run(args)
        rows.append((f"{label}: articles/s", f"{count / seconds:,.0f}", f"{seconds:.1f} s", ""))
    for name in ("year.jsonl", "one.csv"):
        (work / name).unlink(missing_ok=True)
    return rows


def _a_mid_word(db: Path) -> str:
    """A word in 0.5-5 % of the articles, for the search pages when search is not measured."""
    with SQLiteStore(db) as store:
        return query_words(store, random.Random(5))["mid"][0]


def db_bytes(db: Path) -> int:
    return sum(Path(f"{db}{suffix}").stat().st_size for suffix in ("", "-wal") if Path(f"{db}{suffix}").exists())


#: The parts of the measurements ``--only`` can choose.
PARTS = ("search", "pages", "cli")


def run(
    sizes: Sizes,
    db: Path,
    *,
    regenerate: bool,
    log: Callable[[str], None] = print,
    only: tuple[str, ...] = PARTS,
) -> str:
    meta_path = Path(f"{db}.json")
    if regenerate or not db.exists() or not meta_path.exists():
        log(f"generating {sizes.articles:,} articles into {db} ...")
        meta = generate(db, sizes, log)
        log(f"generated in {meta['seconds']:,.0f} s")
    else:
        meta = json.loads(meta_path.read_text())
        if meta["articles"] != sizes.articles:
            raise SystemExit(f"{db} holds {meta['articles']:,} articles, not {sizes.articles:,}: --regenerate or --db")
    # opening it applies any newer migration (once) before anything is timed
    SQLiteStore(db).close()
    rows: list[Row] = []
    word = "missing"
    if "search" in only:
        log("searching ...")
        search, examples = search_rows(db, sizes)
        rows += search
        word = examples["a word in 0.5-5 %"]
    if "pages" in only:
        log("reading room ...")
        rows += datasette_rows(db, sizes, word if "search" in only else _a_mid_word(db))
    if "cli" in only:
        log("CLI ...")
        with tempfile.TemporaryDirectory(prefix="million-") as tmp:
            rows += cli_rows(db, Path(tmp), Newsroom(1))
    rates = meta["production_rates"]
    for at, rate in sorted(rates.items(), key=lambda kv: int(kv[0])):
        rows.append(
            (f"insert (add_entries + save_article) at {int(at):,} articles: articles/s", f"{rate:,.0f}", "", "")
        )
    ordered = [rates[k] for k in sorted(rates, key=int)]
    if len(ordered) >= 2:
        rows.append(("insert rate at the end / at the start", f"{ordered[-1] / ordered[0]:.2f}", "", "target ≥ 0.80"))
    rows.append(
        ("database bytes per article", f"{db_bytes(db) / sizes.articles:,.0f}", "", f"{db_bytes(db) / 1e9:.2f} GB")
    )
    return report(rows, sizes)


def report(rows: list[Row], sizes: Sizes) -> str:
    lines = [
        f"Archive of {sizes.articles:,} articles; search: {sizes.queries} queries of each kind; "
        f"pages: {sizes.page_runs} requests each.",
        "",
        "| measure | p50 (ms) / value | p95 or max (ms) | notes |",
        "|---|---:|---:|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}, {platform.system()}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="a smoke run on 2,000 articles (numbers mean nothing)")
    parser.add_argument(
        "--db", type=Path, default=None, help="the cached archive (default ~/.cache/aggregator-bench/million-N.db)"
    )
    parser.add_argument("--regenerate", action="store_true", help="generate the archive again even when cached")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    parser.add_argument("--queries", type=int, default=Sizes.queries, help="searches of each kind (default 40)")
    parser.add_argument(
        "--only", nargs="+", choices=PARTS, default=list(PARTS), help="measure only these parts (default: all)"
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else Sizes(args.articles, queries=args.queries)
    db = args.db or Path.home() / ".cache" / "aggregator-bench" / f"million-{sizes.articles}.db"
    table = run(
        sizes,
        db,
        regenerate=args.regenerate,
        log=lambda line: print(line, file=sys.stderr, flush=True),
        only=tuple(args.only),
    )
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


QUICK = Sizes(2_000, probe=200, queries=3, page_runs=1)


if __name__ == "__main__":
    main()
