"""The commands that fetch: ``fetch`` (every feed once, a progress bar on a terminal), ``article``
(one page to its document), ``run`` (the daemon) and ``reload`` (SIGHUP to the daemon)."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aggregator.cli import signals
from aggregator.cli.app import Context, cli, fail, handle_errors
from aggregator.cli.logs import configure_logging
from aggregator.cli.params import TEXT, Address, FilePath, PageURL, ProfileName, Zone, read_capped
from aggregator.config import feed_for_page, site_source
from aggregator.config.settings import url_problem
from aggregator.daemon.lock import daemon_pid
from aggregator.daemon.oneoff import FetchClaims
from aggregator.daemon.scheduler import Daemon
from aggregator.document.article import render_article
from aggregator.errors import ConfigError
from aggregator.extract.response import article_from_response, saved_page_address
from aggregator.fetch import PAGE_ACCEPT, Fetcher
from aggregator.models import FeedResult, FeedSpec, Response, Settings, is_database_url
from aggregator.pipeline.archiver import Archiver
from aggregator.pipeline.texts import FolderProblem
from aggregator.pipeline.workers import LazyProcessPool
from aggregator.profiles import feed_profile
from aggregator.store import open_store, utc_now


@cli.command()
@click.argument("feed_ids", nargs=-1, metavar="[FEED_ID]...")
@click.pass_obj
@handle_errors
def fetch(obj: Context, feed_ids: tuple[str, ...]) -> None:
    """Poll all (or the named) feeds once and archive what is new."""
    config = obj.config
    unknown = [fid for fid in feed_ids if config.feed(fid) is None]
    if unknown:
        raise ConfigError(f"{config.path}: no feed with id '{unknown[0]}'")
    feeds = [f for f in config.feeds if f.id in feed_ids] if feed_ids else [f for f in config.feeds if f.enabled]
    if not feeds:
        click.echo("no enabled feeds configured", err=True)
        return
    show_bar = sys.stderr.isatty() and obj.verbosity >= 0
    # What start-up allocated (modules, configuration) lives as long as the run: out of the
    # collector's way, it is not walked again by every collection while the run allocates.
    gc.freeze()
    results, refused = asyncio.run(_fetch(config.settings, feeds, show_bar, configured=[f.id for f in config.feeds]))
    for result in results:
        if not result.ok or result.failed or result.texts_failed or obj.verbosity >= 0:
            click.echo(summary_line(result))
    for problem in refused:  # a folder that refused text files: the run failed, nothing is lost
        files = f"{problem.files} text file{'s' if problem.files != 1 else ''}"
        click.echo(
            f"error: {problem.error}: {files} not written (their articles are stored; a later run writes them)",
            err=True,
        )
    if refused or not all(r.ok for r in results):
        sys.exit(1)


async def _fetch(
    settings: Settings, feeds: Sequence[FeedSpec], show_bar: bool, *, configured: Sequence[str]
) -> tuple[list[FeedResult], list[FolderProblem]]:
    pool = LazyProcessPool()  # extraction on the other cores; no process unless a page is extracted
    try:
        with open_store(settings.database) as store:
            # removed from feeds.yaml: no longer shown as polled (off the loop, like every store call)
            await asyncio.to_thread(store.retire_feeds, configured)
            async with Fetcher(settings) as fetcher:
                if not show_bar:
                    return await _archive(Archiver(settings, store, fetcher, executor=pool), feeds)
                with _bar() as bar:
                    return await _archive(Archiver(settings, store, fetcher, progress=bar, executor=pool), feeds)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def _archive(archiver: Archiver, feeds: Sequence[FeedSpec]) -> tuple[list[FeedResult], list[FolderProblem]]:
    """The feeds' results, and the folders that refused text files during the run. Beside workers
    sharing the database, the feeds are claimed first, and the ones a worker is polling skipped."""
    try:
        if not is_database_url(archiver.settings.database):  # an SQLite file: the daemon's lock rules
            results = await archiver.fetch_all(feeds)
        else:
            await archiver.start(feeds)  # the feeds recorded, so that they can be claimed
            async with FetchClaims(archiver.db, utc_now, archiver.settings.worker_lease) as claims:
                skipped = await claims.take([feed.id for feed in feeds])
                for feed_id, worker in skipped.items():
                    click.echo(f"{feed_id}: skipped: worker {worker} is polling it now", err=True)
                results = await archiver.fetch_all([feed for feed in feeds if feed.id not in skipped])
        return results, list(archiver.texts.problems.values())
    finally:
        archiver.close()


class _bar:
    """A rich progress bar on stderr, counting feeds and pages."""

    def __enter__(self) -> _bar:
        self._progress = Progress(
            TextColumn("fetching"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("fetch", total=0)
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def add(self, count: int) -> None:
        task = self._progress.tasks[0]
        self._progress.update(self._task, total=(task.total or 0) + count)

    def advance(self, count: int = 1) -> None:
        self._progress.advance(self._task, count)


def summary_line(result: FeedResult) -> str:
    """One line per feed: what was new, unchanged or failed, and why."""
    if result.outcome == "error":
        line = f"{result.feed_id}: FAILED: {result.error}"
        if result.archived or result.failed:
            line += f" (retried pages: {result.archived} archived, {result.failed} failed)"
        return line
    head = f"{result.entries} entries"
    if result.outcome == "not_modified":  # a 304, or a 200 with the last poll's body byte for byte
        head = "unchanged (304)" if result.http_status in (None, 304) else "unchanged (same body)"
    parts = [f"{result.archived} new"]
    if result.duplicates:
        parts.append(f"{result.duplicates} already archived")
    if result.failed:
        retry = result.failed - result.abandoned
        parts.append(f"{result.failed} pages failed ({retry} to retry, {result.abandoned} abandoned)")
    if result.texts_failed:
        parts.append(f"{result.texts_failed} text file{'s' if result.texts_failed != 1 else ''} not written")
    line = f"{result.feed_id}: {head}, {', '.join(parts)}"
    if result.warning:
        line += f"; warning: {result.warning}"
    if result.gap is not None:
        line += f"; gap: nothing in common with the last poll, items between {result.gap[0]} and {result.gap[1]} "
        line += "were probably missed (recorded; see 'aggregator feeds')"
    return line


@cli.command()
@click.argument("url", required=False, type=PageURL())
@click.option(
    "--html",
    "html_file",
    type=FilePath(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="Extract a saved page instead of fetching (its address: --url, else the page's canonical link).",
)
@click.option(
    "--url",
    "page_url",
    type=PageURL(),
    help="The saved page's address (with --html; default: its <link rel=canonical>, else og:url).",
)
@click.option(
    "--source",
    default=None,
    type=TEXT,
    help="Source name written in the document (default: the site's feed's, else the host name).",
)
@click.option(
    "--timezone",
    default=None,
    type=Zone(),
    help="IANA zone the date is rendered in, e.g. Europe/Moscow (default: the site's feed's, else the "
    "offset the page's time carries).",
)
@click.option(
    "--profile",
    default=None,
    type=ProfileName(),
    help="Extraction profile to force (default: the site's feed's, else by site).",
)
@click.pass_obj
@handle_errors
def article(
    obj: Context,
    url: str | None,
    html_file: Path | None,
    page_url: str | None,
    source: str | None,
    timezone: str | None,
    profile: str | None,
) -> None:
    """Fetch one page (or read --html FILE) and print its archive document; nothing is stored.

    The source, time zone and profile are those of the feed in feeds.yaml on the page's site (the
    same host first, then the same registrable domain), unless given; on a site no feed covers,
    the source is the host name and the date keeps the offset the page's time carries."""
    config = obj.config if obj.config_path.exists() else None
    settings = config.settings if config is not None else Settings()
    if html_file is not None:
        content = read_capped(html_file, settings.max_page_bytes, "'--html'")
        address = page_url or url or _claimed_address(content)
        response = Response(
            url=address, final_url=address, status=200, headers={"content-type": "text/html"}, content=content
        )
    elif url:
        response = asyncio.run(_get_page(settings, url))
    else:
        raise click.UsageError("give a URL, or --html FILE")
    feed = feed_for_page(config.feeds, response.final_url) if config is not None else None
    extracted = article_from_response(response, profile=profile or (feed_profile(feed) if feed else None))
    document, _, _ = render_article(
        extracted,
        source=source or (feed.source if feed else site_source(response.final_url)),
        timezone=timezone or (feed.timezone if feed else None),
        feed_published=None,
        first_seen=datetime.now(UTC),
    )
    # Byte-exact when piped to a file; a terminal gets a final newline for its prompt.
    click.echo(document, nl=sys.stdout.isatty())


def _claimed_address(content: bytes) -> str:
    """A saved page's address as the page gives it (--html without --url), else a usage error."""
    address = saved_page_address(content)
    if address is None or url_problem(address):
        raise click.UsageError(
            "--html needs the page's address: the page has no usable <link rel=canonical> or og:url, give --url URL"
        )
    return address


async def _get_page(settings: Settings, url: str) -> Response:
    async with Fetcher(settings) as fetcher:
        return await fetcher.get(url, max_bytes=settings.max_page_bytes, accept=PAGE_ACCEPT)


@cli.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve /metrics (Prometheus) and /healthz on this port.",
)
@click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, type=Address(), help="Address for the metrics endpoint."
)
@click.pass_obj
@handle_errors
def run(obj: Context, metrics_port: int | None, metrics_host: str) -> None:
    """Run the daemon: poll every enabled feed when it is due, until SIGTERM or Ctrl-C."""
    if obj.verbosity == 0:
        configure_logging(1, obj.log_format)  # a daemon logs one line per poll by default
    daemon = Daemon(obj.config_path, metrics_port=metrics_port, metrics_host=metrics_host)
    # held since main's first line: one that came during start-up stops the daemon once it has started
    signals.take_over(daemon.stop)
    daemon.run()


@cli.command()
@click.pass_obj
@handle_errors
def reload(obj: Context) -> None:
    """Make the running daemon re-read feeds.yaml (sends it SIGHUP): on PostgreSQL, every worker
    of this machine."""
    database = obj.config.settings.database
    if is_database_url(database):  # the workers are found in the database, each signalled
        _reload_workers(str(database), obj.config_path)
        return
    pid = daemon_pid(database)
    if pid is None:
        fail(f"no daemon is running on {database}", 1)
    if not 1 < pid < 2**31:  # 0 and -1 would signal a whole process group, or every process
        fail(f"the lock file of {database} holds no usable pid ({pid})", 1)
    os.kill(pid, signal.SIGHUP)
    click.echo(f"asked the daemon (pid {pid}) to reload {obj.config_path}")


def _reload_workers(database: str, config_path: Path) -> None:
    """SIGHUP every live worker of this host; the ones on other machines are named (a signal
    cannot reach them: ``aggregator reload`` there)."""
    with open_store(database) as store:
        live = [row for row in store.worker_overview(utc_now()) if row["live"]]
    host = socket.gethostname() or "localhost"
    here = [row for row in live if row["host"] == host and 1 < int(row["pid"]) < 2**31]
    for row in live:
        if row not in here:
            click.echo(f"worker {row['id']} runs on {row['host']}: run `aggregator reload` there", err=True)
    signalled = 0
    for row in here:
        try:
            os.kill(int(row["pid"]), signal.SIGHUP)
        except ProcessLookupError:  # gone since its last heartbeat: its lease lapses
            continue
        signalled += 1
        click.echo(f"asked worker {row['id']} (pid {row['pid']}) to reload {config_path}")
    if not signalled:
        fail(f"no worker of this machine ({host}) is running on the PostgreSQL archive", 1)
