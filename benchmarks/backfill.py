"""Backfill across many hosts, on default settings: URLs archived per second against the bound the
per-site rate sets, and CPU per URL.

Every host is its own site (``host-N.example``, one registrable domain each) with a sitemap of
``--urls`` articles, all served by the synthetic site of ``benchmarks/site.py`` through the
archiver's ``proxy:`` setting. ``aggregator backfill`` runs as a child process on its default
settings (``backfill_rate: 1`` request per second per site unless ``--rate``); robots.txt (404
here) and the sitemap are requests of each site too, so the bound is ``hosts × rate`` requests a
second, of which one per host is the sitemap.

    .venv/bin/python -m benchmarks.backfill [--hosts 50] [--urls 20] [--rate 1]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path

from benchmarks.run import compile_sources, measure
from benchmarks.site import SiteProcess

FIRST_ARTICLE = 4_000_000


def write_config(folder: Path, origin: str, hosts: int, urls: int, rate: float | None) -> Path:
    feeds = "".join(
        f"  - id: h{h}\n"
        f"    url: http://host-{h}.example/feed/{FIRST_ARTICLE + h * urls}-1.xml\n"
        "    source: Bench\n"
        f"    sitemaps: [http://host-{h}.example/sitemap/{FIRST_ARTICLE + h * urls}-{urls}.xml]\n"
        for h in range(hosts)
    )
    rate_line = f"  backfill_rate: {rate}\n" if rate is not None else ""
    config = folder / "feeds.yaml"
    config.write_text(
        f"settings:\n  database: archive.db\n  archive_dir: archive\n  proxy: {origin}\n{rate_line}feeds:\n{feeds}",
        encoding="utf-8",
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--urls", type=int, default=20, help="sitemap URLs per host")
    parser.add_argument("--rate", type=float, default=None, help="backfill_rate (default: the setting's default, 1)")
    args = parser.parse_args()
    rate = args.rate if args.rate is not None else 1.0
    compile_sources()
    with SiteProcess() as site, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = write_config(folder, site.origin, args.hosts, args.urls, args.rate)
        run = measure(
            [sys.executable, "-m", "aggregator", "--config", str(config), "-q", "backfill", "--since", "2000-01-01"]
        )
        with sqlite3.connect(folder / "archive.db") as conn:
            archived = int(conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
    total = args.hosts * args.urls
    bound = args.hosts * rate * args.urls / (args.urls + 1)  # pages a second, the sitemap request counted
    print(f"hosts {args.hosts}, {args.urls} URLs each, backfill_rate {rate:g}/s per site")
    print(f"archived {archived} of {total} in {run.wall:.1f} s: {archived / run.wall:.1f} URLs/s")
    print(f"bound set by the rate: {bound:.1f} URLs/s ({archived / run.wall / bound:.0%} of it)")
    print(f"CPU {run.cpu * 1000 / max(archived, 1):.2f} ms per URL (process user+sys), peak RSS {run.rss_mb:.0f} MB")
    if archived != total:
        sys.exit(f"expected {total} articles, got {archived}")


if __name__ == "__main__":
    main()
