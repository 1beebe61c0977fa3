"""Throughput of a fleet: 1, 2 and 4 ``aggregator run`` workers sharing one PostgreSQL archive,
against a local site of many hosts.

Every host is its own site (``host-N.example``) with one feed of ``--per`` articles, all served
by the synthetic site of ``benchmarks/site.py`` (40-80 KB pages) through the ``proxy:`` setting;
the workers run on their default settings but for the database and the proxy. For each fleet
size, a fresh database and archive folder; the workers start at once and the run ends when every
article is archived. Reported: articles a second (from the first start, and between 10 % and
90 % of the articles, which leaves out start-up), CPU per article of the workers (their own
user+sys, extraction processes included) and of the PostgreSQL server.

    .venv/bin/python -m benchmarks.fleet [--hosts 40] [--per 50] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from benchmarks.run import REPO, machine
from benchmarks.site import SiteProcess
from tests.helpers.postgres import fresh_database

FIRST_ARTICLE = 6_000_000
TIMEOUT = 1800.0


@dataclass
class Run:
    workers: int
    articles: int
    wall: float
    steady: float  # articles a second between 10 % and 90 %
    worker_cpu: float
    server_cpu: float


def write_config(folder: Path, database: str, origin: str, hosts: int, per: int) -> Path:
    feeds = "".join(
        f"  - id: h{h}\n    url: http://host-{h}.example/feed/{FIRST_ARTICLE + h * per}-{per}.xml\n"
        "    source: Bench\n    interval: 1h\n"
        for h in range(hosts)
    )
    config = folder / "feeds.yaml"
    config.write_text(
        f"settings:\n  database: '{database}'\n  archive_dir: {folder / 'archive'}\n  proxy: {origin}\nfeeds:\n{feeds}",
        encoding="utf-8",
    )
    return config


def server_cpu(port: int) -> float:
    """CPU seconds of the PostgreSQL server on ``port`` so far: its postmaster and every backend
    it has reaped (the backends of closed connections), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            if b"postgres" not in command or f"-p {port} ".encode() not in command:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        return sum(int(value) for value in fields[11:15]) / ticks  # utime stime cutime cstime
    return 0.0


def count(database: str) -> int:
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT COUNT(*) FROM articles").fetchone()
    return int(row[0]) if row else 0


def fleet(size: int, origin: str, hosts: int, per: int, port: int) -> Run:
    total = hosts * per
    database = fresh_database()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), database, origin, hosts, per)
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        cpu_before = server_cpu(port)
        started = time.perf_counter()
        command = [sys.executable, "-m", "aggregator", "--config", str(config), "-q", "run"]
        workers = [
            subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(size)
        ]
        marks: dict[float, float] = {}
        try:
            while True:
                time.sleep(0.2)
                try:
                    done = count(database)
                except psycopg.Error:  # the schema is not there yet
                    continue
                for share in (0.1, 0.9):
                    if done >= share * total and share not in marks:
                        marks[share] = time.perf_counter()
                if done >= total:
                    break
                if time.perf_counter() - started > TIMEOUT or any(w.poll() is not None for w in workers):
                    raise RuntimeError(f"{size} workers: {done} of {total} articles, then stopped")
            wall = time.perf_counter() - started
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
        cpu = 0.0
        for worker in workers:
            _, _, usage = os.wait4(worker.pid, 0)
            cpu += usage.ru_utime + usage.ru_stime
        archived = count(database)
    steady = 0.8 * total / (marks[0.9] - marks[0.1]) if marks[0.9] > marks[0.1] else float("nan")
    return Run(size, archived, wall, steady, cpu, server_cpu(port) - cpu_before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--per", type=int, default=50, help="articles per host")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    port = int(fresh_database().rsplit(":", 1)[1].split("/")[0])  # starts the server
    runs = []
    with SiteProcess() as site:
        for size in args.workers:
            runs.append(fleet(size, site.origin, args.hosts, args.per, port))
            print(f"{size} workers: done", file=sys.stderr)
    base = runs[0]
    print(f"{args.hosts} hosts, {args.per} articles each ({args.hosts * args.per:,}); one PostgreSQL; {machine()}")
    print()
    columns = ("workers", "articles/s (whole run)", "articles/s (10-90 %)", "vs 1", "workers' CPU ms/article")
    print("| " + " | ".join((*columns, "server CPU ms/article")) + " |")
    print("|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        print(
            f"| {run.workers} | {run.articles / run.wall:.1f} | {run.steady:.1f} | {run.steady / base.steady:.2f} | "
            f"{run.worker_cpu * 1000 / run.articles:.1f} | {run.server_cpu * 1000 / run.articles:.1f} |"
        )
    if any(run.articles != args.hosts * args.per for run in runs):
        sys.exit("a run did not archive every article once")


if __name__ == "__main__":
    main()
