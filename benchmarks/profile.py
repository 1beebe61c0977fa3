"""Where a fetch cycle's CPU goes: one cycle against the synthetic site, in this process, under
pyinstrument (a sampling profiler, so the figures keep their proportions).

    .venv/bin/python -m benchmarks.profile [warm|cold] [--feeds N] [--html FILE]

``warm`` (the default): N feeds (default 1,000) are polled once to fill the archive, then a whole
second cycle of 304s is profiled. ``cold``: N feeds (default 20) of 100 new articles each are
ingested; extraction then runs in this process (a worker process would hide it from the profiler).
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
from benchmarks.run import write_config  # noqa: E402
from benchmarks.site import SiteProcess  # noqa: E402


def feed_paths(scenario: str, feeds: int) -> list[str]:
    if scenario == "warm":  # as benchmarks.run: 1,000 feeds over 10 distinct lists of 20 articles
        return [f"/feed/{2_000_000 + (f % 10) * 20}-20.xml?f={f}" for f in range(feeds)]
    return [f"/feed/{1_000_000 + f * 100}-100.xml" for f in range(feeds)]


async def cycles(config_path: Path, scenario: str, profiler: Profiler) -> float:
    """Poll every feed (once more, profiled, for ``warm``); the profiled cycle's CPU seconds."""
    config = load_config(config_path)
    with open_store(config.settings.database) as store:
        async with Fetcher(config.settings) as fetcher:
            archiver = Archiver(config.settings, store, fetcher)
            if scenario == "warm":
                await archiver.fetch_all(config.feeds)
            started = time.process_time()
            profiler.start()
            await archiver.fetch_all(config.feeds)
            profiler.stop()
            return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", choices=("warm", "cold"), default="warm")
    parser.add_argument("--feeds", type=int, help="feeds to poll (default: 1,000 warm, 20 cold)")
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML report here")
    args = parser.parse_args()
    feeds = args.feeds or (1000 if args.scenario == "warm" else 20)
    paths = feed_paths(args.scenario, feeds)
    profiler = Profiler()
    with tempfile.TemporaryDirectory() as work, SiteProcess() as site:
        config = write_config(Path(work), site.origin, paths)
        gc.freeze()  # as the fetch command does
        cpu = asyncio.run(cycles(config, args.scenario, profiler))
    print(profiler.output_text(unicode=True, color=sys.stdout.isatty()))
    unit = "feed" if args.scenario == "warm" else "article"
    count = feeds if args.scenario == "warm" else feeds * 100
    print(f"{args.scenario} cycle: {cpu * 1000 / count:.2f} CPU ms per {unit} (profiler overhead included)")
    if args.html:
        args.html.write_text(profiler.output_html(), encoding="utf-8")


if __name__ == "__main__":
    main()
