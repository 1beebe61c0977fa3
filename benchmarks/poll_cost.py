"""Where one poll's CPU goes, stage by stage, every thread counted: the breakdown of issue 19.

    .venv/bin/python -m benchmarks.poll_cost [changed|warm] [--feeds N] [--items N] [--cycles N] [--pool N]

The feeds of ``benchmarks.profile`` (``changed``: ``/ring`` feeds of ``--items`` items, 2 new a
cycle, answered 200 without validators; ``warm``: 304s) are polled once to fill the archive, then
``--cycles`` more times, one feed after the other (so that the loop thread's CPU during a stage is
that stage's alone). Each stage is timed with its thread's CPU clock, exclusive of the stages it
calls: the loop's own stages (wrapped functions) and every call run in the database and WARC
threads (by the function called). The last line is the process's CPU per poll (``process_time``,
every thread), which the stages add up to; polls run one at a time cost a little more than the
concurrent cycle of ``benchmarks.run`` (each thread hand-over wakes the loop once).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from aggregator.config.load import load_config  # noqa: E402
from aggregator.feeds import parse  # noqa: E402
from aggregator.fetch.fetcher import Fetcher  # noqa: E402
from aggregator.pipeline import Archiver, archiver, captures, database, polling  # noqa: E402
from benchmarks.run import tass, write_config  # noqa: E402
from benchmarks.site import SiteProcess  # noqa: E402

#: stage -> CPU seconds (exclusive), and how many times it ran
TOTALS: dict[str, float] = defaultdict(float)
COUNTS: dict[str, int] = defaultdict(int)
_STACK = threading.local()


def _enter() -> tuple[list[float], float]:
    stack = getattr(_STACK, "frames", None)
    if stack is None:
        stack = _STACK.frames = []
    frame = [0.0]  # CPU of the stages it called
    stack.append(frame)
    return frame, time.thread_time()


def _leave(name: str, frame: list[float], started: float) -> None:
    spent = time.thread_time() - started
    stack = _STACK.frames
    stack.pop()
    TOTALS[name] += spent - frame[0]
    COUNTS[name] += 1
    if stack:
        stack[-1][0] += spent


def timed(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
    """``call`` with its CPU (its thread's, exclusive of timed stages within) counted as ``name``."""
    if asyncio.iscoroutinefunction(call):

        @functools.wraps(call)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            frame, started = _enter()
            try:
                return await call(*args, **kwargs)
            finally:
                _leave(name, frame, started)

        return run_async

    @functools.wraps(call)
    def run(*args: Any, **kwargs: Any) -> Any:
        frame, started = _enter()
        try:
            return call(*args, **kwargs)
        finally:
            _leave(name, frame, started)

    return run


def instrument() -> None:
    """Wrap the poll's stages (the loop's) and every call handed to a thread (named by its function)."""
    for owner, attr, name in (
        (Archiver, "refresh_feed", "refresh_feed (the rest)"),
        (archiver, "poll_feed", "poll_feed (the rest: digest, rows, result)"),
        (Fetcher, "get", "fetch the feed (httpx, loop side)"),
        (captures.Captures, "keep_feed", "feed capture (loop side)"),
        (polling, "scan_feed", "scan_feed (sniffing: the rest)"),
        (parse, "scan_items", "identity pass (expat, callbacks)"),
        (parse, "quick_items", "identity pass (quick)"),
        (polling, "parse_remainder", "feedparser on the new items"),
        (polling, "parse_feed", "feedparser on the whole feed"),
        (archiver.Archiver, "_record_poll", "record the poll (loop side)"),
        (archiver, "_log_poll", "log the poll"),
        (database.Database, "read", "database hand-over (loop side)"),
        (database.Database, "write", "database hand-over (loop side)"),
    ):
        if hasattr(owner, attr):  # an older tree may lack a stage (benchmarking it against this one)
            setattr(owner, attr, timed(name, getattr(owner, attr)))
    submit = database.Lane.submit

    def counted_submit(self: database.Lane, call: Callable[[], Any]) -> Any:
        func = call.func if isinstance(call, functools.partial) else call
        while isinstance(func, functools.partial):
            func = func.func
        name = f"thread {self._name}: {getattr(func, '__qualname__', repr(func))}"
        return submit(self, timed(name, call))

    database.Lane.submit = counted_submit  # type: ignore[method-assign]


def paths(scenario: str, feeds: int, items: int, pool: int) -> list[str]:
    if scenario == "warm":
        return [f"/feed/{2_000_000 + (f % 10) * 20}-20.xml?f={f}" for f in range(feeds)]
    return [f"/ring/{f}.xml?items={items}&per=2&pool={pool}" for f in range(feeds)]


async def polls(config_path: Path, site: SiteProcess, cycles: int) -> tuple[float, int]:
    config = load_config(config_path)
    from aggregator.store import open_store

    with open_store(config.settings.database) as store:
        async with Fetcher(config.settings) as fetcher:
            archive = Archiver(config.settings, store, fetcher)
            try:
                await archive.fetch_all(config.feeds)
                TOTALS.clear()
                COUNTS.clear()
                cpu = 0.0
                for cycle in range(1, cycles + 1):
                    site.set_cycle(cycle)
                    started = time.process_time()
                    for feed in config.feeds:
                        result = await archive.refresh_feed(feed)
                        assert result.ok, result
                    cpu += time.process_time() - started
            finally:
                archive.close()
    return cpu, cycles * len(config.feeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", choices=("changed", "warm"), default="changed")
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--pool", type=int, default=400, help="the ring of articles (all archived by the first poll)")
    args = parser.parse_args()
    instrument()
    with tempfile.TemporaryDirectory() as work, SiteProcess() as site:
        config = write_config(Path(work), site.origin, tass(paths(args.scenario, args.feeds, args.items, args.pool)))
        gc.freeze()
        cpu, n = asyncio.run(polls(config, site, args.cycles))
    width = max(map(len, TOTALS))
    print(f"{'stage':<{width}}  CPU ms/poll  calls/poll")
    for name, spent in sorted(TOTALS.items(), key=lambda kv: -kv[1]):
        print(f"{name:<{width}}  {spent * 1000 / n:11.3f}  {COUNTS[name] / n:10.2f}")
    staged = sum(TOTALS.values())
    print(f"{'(stages summed)':<{width}}  {staged * 1000 / n:11.3f}")
    print(f"{args.scenario}: {cpu * 1000 / n:.3f} CPU ms per poll (process_time, {n} polls, one at a time)")


if __name__ == "__main__":
    main()
