"""Where a cold ingest's CPU goes, thread by thread: the per-article breakdown of issue 19.

    .venv/bin/python -m benchmarks.article_cost [--feeds 20] [--items 100] [--hosts 1]
    .venv/bin/python -m benchmarks.article_cost --alternative    # the same feeds, benchmarks.alternative

``aggregator fetch`` ingests ``feeds × items`` new articles of the synthetic site (as
``benchmarks.run``'s cold ingest: default settings, through ``proxy:``, the TASS profile) in a
child process, which reads every thread's CPU clock from ``/proc/self/task`` as it runs and at
exit, every 0.2 s (a thread that ends first keeps its last reading), by thread name: the event loop
(``MainThread``: fetching, feed parsing, the pipeline), the database threads (``db-write``,
``db-read``), the WARC writer (``warc``), the text-file writes (``asyncio_N``, asyncio's
``to_thread``), the extraction pool's feeder thread; the extraction worker process is the
reaped children's CPU. The total is the child's own accounting (``os.wait4``), start-up included.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make ``benchmarks`` and ``aggregator`` importable
    sys.path.insert(0, str(REPO))

from benchmarks.run import child_env, compile_sources, tass, write_config  # noqa: E402
from benchmarks.site import SiteProcess  # noqa: E402

#: Runs ``python -m aggregator ARGS`` in the child with a sampler thread; prints "name seconds" lines.
CHILD = r"""
import atexit, os, re, resource, runpy, sys, threading, time
TICK = os.sysconf("SC_CLK_TCK")
last = {}
def sample():
    names = {t.native_id: t.name for t in threading.enumerate()}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(tid)) or last.get(int(tid), ("?", 0.0))[0]
        last[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / TICK)
def loop():
    while True:
        sample()
        time.sleep(0.2)
def report():
    sample()
    groups = {}
    for name, cpu in last.values():
        group = re.sub(r"_\d+$", "_N", name)
        groups[group] = groups.get(group, 0.0) + cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    groups["extraction process"] = children.ru_utime + children.ru_stime
    with open(os.environ["ARTICLE_COST_OUT"], "w") as out:
        out.writelines(f"{name}\t{cpu}\n" for name, cpu in groups.items())
if __name__ == "__main__":
    threading.Thread(target=loop, daemon=True, name="sampler").start()
    atexit.register(report)
    sys.argv = ["aggregator", *sys.argv[1:]]
    runpy.run_module("aggregator", run_name="__main__")
"""


def run(feeds: int, items: int, hosts: int, alternative: bool) -> None:
    paths = [f"/feed/{1_000_000 + f * items}-{items}.xml" for f in range(feeds)]
    urls = tass(paths) if hosts == 1 else [f"http://news{f % hosts}.example{p}" for f, p in enumerate(paths)]
    articles = feeds * items
    compile_sources()
    with SiteProcess(prewarm=f"1000000-{1_000_000 + articles}") as site, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = child_env()
        if alternative:
            command = [sys.executable, "-m", "benchmarks.alternative", "--proxy", site.origin, str(folder / "alt.db")]
            command += tass(paths)
        else:
            script = folder / "child.py"
            script.write_text(CHILD, encoding="utf-8")
            env["ARTICLE_COST_OUT"] = str(folder / "threads.tsv")
            config = write_config(folder, site.origin, urls)
            command = [sys.executable, str(script), "--config", str(config), "-q", "fetch"]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(command[:3])} ... failed")
        total = usage.ru_utime + usage.ru_stime
        who = "benchmarks.alternative" if alternative else "aggregator fetch"
        print(f"{who}: {articles:,} articles from {feeds} feeds on {hosts} host(s) in {wall:.1f} s")
        print(f"CPU {total:.2f} s, {total * 1000 / articles:.2f} ms an article (user+system, start-up included)")
        if alternative:
            return
        rows = [line.split("\t") for line in (folder / "threads.tsv").read_text().splitlines()]
        print("| where | CPU s | ms an article | share |")
        print("|---|---:|---:|---:|")
        for name, cpu in sorted(((n, float(c)) for n, c in rows if n != "sampler"), key=lambda row: -row[1]):
            if cpu > 0:
                print(f"| {name} | {cpu:.2f} | {cpu * 1000 / articles:.2f} | {cpu / total:.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--hosts", type=int, default=1, help="spread the feeds over this many hosts")
    parser.add_argument("--alternative", action="store_true", help="run benchmarks.alternative on the same feeds")
    args = parser.parse_args()
    run(args.feeds, args.items, args.hosts, args.alternative)


if __name__ == "__main__":
    main()
