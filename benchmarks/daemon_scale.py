"""The daemon at scale: ``aggregator run`` on thousands of feeds of a local site, for minutes.

The real daemon runs as a child process on its default settings but for what the benchmark must
set: the paths, the ``proxy:`` (the synthetic site of ``benchmarks/site.py``, so that nothing
leaves 127.0.0.1) and every feed's ``interval`` (short, so that a run of minutes sees several
cycles). The feeds are spread over ``--hosts`` hosts (``host-N.example``) and small (5 items);
most show articles of one pool on ``tass.com`` (archived once, by whichever feed saw them first):

* ``--not-modified`` of them (60 % by default) answer 304 to the conditional GET;
* the rest but the live ones answer 200 with the same body every time, without validators (the
  body's digest makes it a ``not_modified`` poll, nothing parsed);
* ``--live`` of them (1 %) gain an article every ``interval`` seconds (the benchmark moves the
  site's cycle on), each archived: a page fetched, extracted, written.

Every feed is due at start (a fresh database): the first cycle is all of them at once, reported
apart. Then, sampled every ``--every`` seconds and printed per minute:

* **scheduler lag**, how late each poll started against when it was due: its ``started_at`` (the
  ``polls`` table) minus the ``next_poll_at`` its feed had before (read from the ``feeds`` table
  at every sample; both are stored in whole seconds, so a lag is known to a second); and how late
  it finished (``finished_at`` minus due: the queue for a connection and the fetch included);
  the daemon's own gauge ``aggregator_scheduler_lag_seconds`` (``/metrics``) is shown too
  (read every ``--scrape`` seconds, as Prometheus would);
* **resident memory** of the daemon process (``/proc``; its extraction workers apart);
* **CPU time** (user + system) of the daemon and its workers, per poll and scaled to an hour, over
  the steady state (from the end of the first cycle to the end of the run).

Run (the figures of the README: ``--feeds 10000 --minutes 12``; ``--quick``: a smoke run of
seconds whose figures mean nothing)::

    .venv/bin/python -m benchmarks.daemon_scale [--feeds 10000] [--hosts 500] [--minutes 12] [--interval 120]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.run import machine
from benchmarks.site import SiteProcess

REPO = Path(__file__).resolve().parent.parent
#: the articles the feeds show: POOL articles from POOL_FIRST on, ITEMS a feed
POOL_FIRST, POOL, ITEMS = 1_000_000, 200, 5
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Options:
    feeds: int = 10_000
    hosts: int = 500
    minutes: float = 12.0
    interval: int = 120  # seconds; the config's minimum is 60
    not_modified: float = 0.6  # share of feeds answering 304
    live: float = 0.01  # share of feeds gaining an article a cycle
    every: float = 2.0  # seconds between samples
    scrape: float = 15.0  # seconds between reads of /metrics (10,000 feeds' series: not free for the daemon)


#: seconds a daemon may take to start before the run's minutes count anyway
STARTUP_ALLOWANCE = 60.0
QUICK = Options(feeds=200, hosts=20, minutes=0.1, interval=60, every=0.5, scrape=1.0)


def feed_url(index: int, options: Options) -> str:
    """Feed ``index``'s URL: live, 304 or same-body 200, as the options' shares say, spread evenly."""
    host = f"host-{index % options.hosts}.example"
    live_every = round(1 / options.live) if options.live > 0 else 0
    if live_every and index % live_every == live_every - 1:
        return f"http://{host}/live/{index}.xml?per=1&links=tass.com"
    first = POOL_FIRST + (index * 7) % (POOL - ITEMS)
    # distinct URLs (a config refuses the same feed twice), the same articles: ``f`` is ignored
    query = f"links=tass.com&f={index}"
    if (index * 0.618034) % 1 >= options.not_modified:  # a low-discrepancy split: every share is even
        query += "&validators=no"
    return f"http://{host}/feed/{first}-{ITEMS}.xml?{query}"


def write_config(folder: Path, origin: str, options: Options) -> Path:
    feeds = "".join(
        f"  - {{id: f{i}, url: '{feed_url(i, options)}', source: Bench {i % 50}, interval: {options.interval}}}\n"
        for i in range(options.feeds)
    )
    config = folder / "feeds.yaml"
    config.write_text(
        f"settings:\n  database: archive.db\n  archive_dir: archive\n  proxy: {origin}\nfeeds:\n{feeds}",
        encoding="utf-8",
    )
    return config


# -- what is sampled ------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (None: the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system time of the process, of its children waited for, and of those running."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    own = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    running = 0
    for child in children(pid):
        child_fields = _stat(child)
        if child_fields is not None:
            running += int(child_fields[11]) + int(child_fields[12])
    return (own + running) / CLOCK_TICK


def rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6
    except OSError:
        return 0.0


def metrics_lag(port: int) -> float | None:
    """The daemon's ``aggregator_scheduler_lag_seconds`` (None: the endpoint is not up yet)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an environment proxy
    try:
        with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    match = re.search(r"^aggregator_scheduler_lag_seconds ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


@dataclass
class Sample:
    at: float  # seconds since the daemon was started
    rss_mb: float
    workers_rss_mb: float
    cpu: float
    gauge_lag: float | None
    never_polled: int | None


@dataclass
class Run:
    options: Options
    samples: list[Sample] = field(default_factory=list)
    #: every ``next_poll_at`` seen, per feed, in order
    due_seen: dict[str, list[datetime]] = field(default_factory=dict)
    started_after: float | None = None  # seconds from spawn to "daemon started"
    first_cycle_after: float | None = None  # seconds from spawn to every feed polled once
    spawned_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    polls: list[tuple[str, datetime, datetime, str, int | None]] = field(default_factory=list)
    exit_code: int | None = None
    site_cpu: float = 0.0


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def snapshot(database: Path, run: Run) -> int | None:
    """Note every feed's ``next_poll_at``; how many feeds were never polled (None: no database yet)."""
    if not database.exists():
        return None
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute("SELECT id, next_poll_at FROM feeds").fetchall()
    except sqlite3.Error:
        return None
    never = 0
    for feed_id, next_at in rows:
        if next_at is None:
            never += 1
            continue
        seen = run.due_seen.setdefault(feed_id, [])
        due = _when(next_at)
        if not seen or seen[-1] != due:
            seen.append(due)
    return never if rows else None


def run_daemon(options: Options, folder: Path, site: SiteProcess, log_path: Path) -> Run:
    config = write_config(folder, site.origin, options)
    database = folder / "archive.db"
    with socket.socket() as probe:  # a free port for /metrics
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    run = Run(options)
    command = [sys.executable, "-m", "aggregator", "--config", str(config), "run", "--metrics-port", str(port)]
    with log_path.open("wb") as log:
        spawned = time.monotonic()
        run.spawned_at = datetime.now(UTC)
        daemon = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
        cycle, next_cycle, next_scrape = 0, spawned + options.interval, spawned
        # the run lasts ``minutes`` from the start-up's end (a loaded machine's start-up, up to
        # STARTUP_ALLOWANCE, does not eat into it)
        deadline = spawned + STARTUP_ALLOWANCE + options.minutes * 60
        try:
            while time.monotonic() < deadline and daemon.poll() is None:
                now = time.monotonic()
                if run.started_after is None and b"daemon started" in log_path.read_bytes()[-65536:]:
                    run.started_after = now - spawned
                    deadline = now + options.minutes * 60
                if now >= next_cycle:  # the live feeds gain an article
                    cycle += 1
                    site.set_cycle(cycle)
                    next_cycle += options.interval
                never = snapshot(database, run) if run.started_after is not None else None
                if never == 0 and run.first_cycle_after is None:
                    run.first_cycle_after = time.monotonic() - spawned
                workers = children(daemon.pid)
                gauge = None
                if run.started_after is not None and now >= next_scrape:
                    gauge, next_scrape = metrics_lag(port), now + options.scrape
                run.samples.append(
                    Sample(
                        at=now - spawned,
                        rss_mb=rss_mb(daemon.pid),
                        workers_rss_mb=sum(rss_mb(worker) for worker in workers),
                        cpu=cpu_seconds(daemon.pid),
                        gauge_lag=gauge,
                        never_polled=never,
                    )
                )
                time.sleep(max(0.0, options.every - (time.monotonic() - now)))
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                run.exit_code = daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                run.exit_code = daemon.wait()
    fields = _stat(site.process.pid)
    run.site_cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICK if fields else 0.0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT feed_id, started_at, finished_at, outcome, http_status FROM polls ORDER BY started_at"
        ).fetchall()
    run.polls = [
        (feed, _when(started), _when(finished), outcome, status) for feed, started, finished, outcome, status in rows
    ]
    return run


# -- the report -----------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _lags(run: Run) -> tuple[list[tuple[datetime, float, float]], list[float], int]:
    """(started, start lag, finish lag) of every poll after a feed's first; the first polls' start
    lags (against the daemon's start); how many later polls had no due time seen."""
    later: list[tuple[datetime, float, float]] = []
    first: list[float] = []
    unmatched = 0
    polled: set[str] = set()
    for feed_id, started, finished, _, _ in run.polls:
        if feed_id not in polled:
            polled.add(feed_id)
            first.append((started - run.spawned_at).total_seconds())
            continue
        due = max((at for at in run.due_seen.get(feed_id, []) if at <= started), default=None)
        if due is None:
            unmatched += 1
            continue
        later.append((started, (started - due).total_seconds(), (finished - due).total_seconds()))
    return later, first, unmatched


def report(run: Run) -> str:
    options, samples = run.options, run.samples
    later, first, unmatched = _lags(run)
    lines = [
        f"Machine: {machine()}.",
        f"{options.feeds} feeds on {options.hosts} hosts, interval {options.interval} s, "
        f"{options.minutes:g} min; {options.not_modified:.0%} answer 304, {options.live:.0%} gain an article "
        "a cycle, the rest a same-body 200.",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    started = f"{run.started_after:.1f} s" if run.started_after is not None else "never"
    lines.append(f"| start-up (spawn to `daemon started`) | {started} |")
    cycle = f"{run.first_cycle_after:.0f} s" if run.first_cycle_after is not None else "not over"
    lines.append(f"| first cycle (every feed due at once) polled by | {cycle} after spawn |")
    if first:
        lines.append(
            f"| first cycle: poll start after spawn p50 / p95 / max | "
            f"{percentile(first, 0.5):.0f} / {percentile(first, 0.95):.0f} / {max(first):.0f} s |"
        )
    starts, finishes = [lag for _, lag, _ in later], [lag for _, _, lag in later]
    if later:
        lines.append(
            f"| later polls ({len(later)}): start lag p50 / p95 / max | "
            f"{percentile(starts, 0.5):.0f} / {percentile(starts, 0.95):.0f} / {max(starts):.0f} s |"
        )
        lines.append(
            f"| later polls: finish after due p50 / p95 / max | "
            f"{percentile(finishes, 0.5):.0f} / {percentile(finishes, 0.95):.0f} / {max(finishes):.0f} s |"
        )
    if unmatched:
        lines.append(f"| later polls whose due time was not seen | {unmatched} |")
    outcomes = Counter(f"{outcome} {status}" for _, _, _, outcome, status in run.polls)
    lines.append(
        f"| polls by outcome and HTTP status | {', '.join(f'{k}: {v}' for k, v in sorted(outcomes.items()))} |"
    )
    if samples:
        lines.append(
            f"| daemon RSS: peak / at the end | {max(s.rss_mb for s in samples):.0f} / {samples[-1].rss_mb:.0f} MB |"
        )
        lines.append(f"| extraction workers' RSS at the end (all) | {samples[-1].workers_rss_mb:.0f} MB |")
    steady = [s for s in samples if run.first_cycle_after is not None and s.at >= run.first_cycle_after]
    if len(steady) >= 2:
        window = steady[-1].at - steady[0].at
        cpu = steady[-1].cpu - steady[0].cpu
        begin = run.spawned_at.timestamp() + steady[0].at
        end = run.spawned_at.timestamp() + steady[-1].at
        polls = sum(1 for _, _, finished, _, _ in run.polls if begin <= finished.timestamp() < end)
        lines.append(
            f"| steady state: {window:.0f} s, {polls} polls ({polls / max(window, 1):.1f}/s) | "
            f"CPU {cpu:.1f} s = {cpu / max(window, 1e-9):.1%} of a core, "
            f"{cpu / max(window, 1e-9) * 3600:.0f} s an hour, {cpu * 1000 / max(polls, 1):.2f} ms a poll |"
        )
    total_cpu = samples[-1].cpu if samples else 0.0
    lines.append(f"| CPU: daemon and workers, whole run / the site | {total_cpu:.1f} s / {run.site_cpu:.1f} s |")
    lines.append(f"| daemon exit code after SIGTERM | {run.exit_code} |")
    lines += [
        "",
        "| minute | polls started | start lag p50 / p95 / max s | gauge max s | RSS MB | CPU % |",
        "|---|---|---|---|---|---|",
    ]
    minutes = int(samples[-1].at // 60) + 1 if samples else 0
    for minute in range(minutes):
        span = [s for s in samples if minute * 60 <= s.at < (minute + 1) * 60]
        if not span:
            continue
        lo = run.spawned_at.timestamp() + minute * 60
        in_minute = [lag for at, lag, _ in later if lo <= at.timestamp() < lo + 60]
        count = sum(1 for _, at, _, _, _ in run.polls if lo <= at.timestamp() < lo + 60)
        gauges = [s.gauge_lag for s in span if s.gauge_lag is not None]
        busy = (span[-1].cpu - span[0].cpu) / max(span[-1].at - span[0].at, 1e-9) if len(span) > 1 else 0.0
        lag_text = (
            f"{percentile(in_minute, 0.5):.0f} / {percentile(in_minute, 0.95):.0f} / {max(in_minute):.0f}"
            if in_minute
            else "(first polls)"
        )
        lines.append(
            f"| {minute + 1} | {count} | {lag_text} | {max(gauges, default=0.0):.0f} | "
            f"{max(s.rss_mb for s in span):.0f} | {busy:.0%} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Options()
    parser.add_argument("--feeds", type=int, default=defaults.feeds)
    parser.add_argument("--hosts", type=int, default=defaults.hosts)
    parser.add_argument("--minutes", type=float, default=defaults.minutes)
    parser.add_argument(
        "--interval", type=int, default=defaults.interval, help="seconds between a feed's polls (>= 60)"
    )
    parser.add_argument(
        "--not-modified", type=float, default=defaults.not_modified, help="share of feeds answering 304"
    )
    parser.add_argument("--live", type=float, default=defaults.live, help="share of feeds gaining an article a cycle")
    parser.add_argument("--every", type=float, default=defaults.every, help="seconds between samples")
    parser.add_argument("--scrape", type=float, default=defaults.scrape, help="seconds between reads of /metrics")
    parser.add_argument("--quick", action="store_true", help="a smoke run of seconds; its figures mean nothing")
    parser.add_argument("--log", type=Path, default=None, help="keep the daemon's log here")
    args = parser.parse_args()
    options = (
        QUICK
        if args.quick
        else Options(
            args.feeds, args.hosts, args.minutes, args.interval, args.not_modified, args.live, args.every, args.scrape
        )
    )
    print(report(measure(options, args.log)), end="")


def measure(options: Options, log: Path | None = None) -> Run:
    with SiteProcess() as site, tempfile.TemporaryDirectory() as tmp:
        return run_daemon(options, Path(tmp), site, log or Path(tmp) / "daemon.log")


if __name__ == "__main__":
    main()
