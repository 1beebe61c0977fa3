"""Where a fetch cycle's CPU goes: one cycle against the synthetic site, in this process, under
pyinstrument (a sampling profiler, so the figures keep their proportions).

    .venv/bin/python -m benchmarks.profile [warm|changed|cold] [--feeds N] [--html FILE]

``warm`` (the default): N feeds (default 1,000) are polled once to fill the archive, then a whole
second cycle of 304s is profiled. ``changed``: the same with feeds of 100 items that answer 200
with 2 items new at the second cycle (``/ring`` feeds, no validators; their pages already
archived). ``cold``: N feeds (default 20) of 100 new articles each are ingested; extraction then
runs in this process (a worker process would hide it from the profiler).
Prints pyinstrument's call tree; ``--html`` also writes the interactive report.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path

from pyinstrument import Profiler

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make ``benchmarks`` and ``aggregator`` importable
    sys.path.insert(0, str(REPO))

from aggregator.config.load import load_config  # noqa: E402
from aggregator.fetch.fetcher import Fetcher  # noqa: E402
from aggregator.pipeline import Archiver  # noqa: E402
from aggregator.store import open_store  # noqa: E402
from benchmarks.run import tass, write_config  # noqa: E402
from benchmarks.site import SiteProcess  # noqa: E402


def feed_paths(scenario: str, feeds: int) -> list[str]:
    if scenario == "warm":  # as benchmarks.run: 1,000 feeds over 10 distinct lists of 20 articles
        return [f"/feed/{2_000_000 + (f % 10) * 20}-20.xml?f={f}" for f in range(feeds)]
    if scenario == "changed":
        return [f"/ring/{f}.xml?items=100&per=2&pool=400" for f in range(feeds)]
    return [f"/feed/{1_000_000 + f * 100}-100.xml" for f in range(feeds)]


async def cycles(config_path: Path, scenario: str, profiler: Profiler, site: SiteProcess) -> float:
    """Poll every feed (once more, profiled, for ``warm`` and ``changed``); the profiled cycle's CPU seconds."""
    config = load_config(config_path)
    with open_store(config.settings.database) as store:
        async with Fetcher(config.settings) as fetcher:
            archiver = Archiver(config.settings, store, fetcher)
            if scenario in ("warm", "changed"):
                await archiver.fetch_all(config.feeds)
                site.set_cycle(1)
            started = time.process_time()
            profiler.start()
            await archiver.fetch_all(config.feeds)
            profiler.stop()
            return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", choices=("warm", "changed", "cold"), default="warm")
    parser.add_argument("--feeds", type=int, help="feeds to poll (default: 1,000 warm, 20 cold)")
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML report here")
    args = parser.parse_args()
    feeds = args.feeds or (20 if args.scenario == "cold" else 1000)
    paths = feed_paths(args.scenario, feeds)
    profiler = Profiler()
    with tempfile.TemporaryDirectory() as work, SiteProcess() as site:
        config = write_config(Path(work), site.origin, tass(paths))
        gc.freeze()  # as the fetch command does
        cpu = asyncio.run(cycles(config, args.scenario, profiler, site))
    print(profiler.output_text(unicode=True, color=sys.stdout.isatty()))
    unit = "article" if args.scenario == "cold" else "feed"
    count = feeds * 100 if args.scenario == "cold" else feeds
    print(f"{args.scenario} cycle: {cpu * 1000 / count:.2f} CPU ms per {unit} (profiler overhead included)")
    if args.html:
        args.html.write_text(profiler.output_html(), encoding="utf-8")


if __name__ == "__main__":
    main()
