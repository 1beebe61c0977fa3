"""The commands that fetch: ``fetch`` (every feed once, a progress bar on a terminal), ``article``
(one page to its document), ``run`` (the daemon) and ``reload`` (SIGHUP to the daemon)."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aggregator.cli.app import Context, cli, fail, handle_errors
from aggregator.cli.logs import configure_logging
from aggregator.cli.params import TEXT, Address, FilePath, PageURL, ProfileName, Zone, read_capped
from aggregator.daemon.lock import daemon_pid
from aggregator.daemon.scheduler import Daemon
from aggregator.document.article import render_article
from aggregator.errors import ConfigError
from aggregator.extract.response import article_from_response
from aggregator.fetch import PAGE_ACCEPT, Fetcher
from aggregator.models import FeedResult, FeedSpec, Response, Settings
from aggregator.pipeline.archiver import Archiver
from aggregator.pipeline.workers import LazyProcessPool
from aggregator.store import open_store


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
    results = asyncio.run(_fetch(config.settings, feeds, show_bar, configured=[f.id for f in config.feeds]))
    for result in results:
        if not result.ok or result.failed or obj.verbosity >= 0:
            click.echo(summary_line(result))
    if not all(r.ok for r in results):
        sys.exit(1)


async def _fetch(
    settings: Settings, feeds: Sequence[FeedSpec], show_bar: bool, *, configured: Sequence[str]
) -> list[FeedResult]:
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


async def _archive(archiver: Archiver, feeds: Sequence[FeedSpec]) -> list[FeedResult]:
    try:
        return await archiver.fetch_all(feeds)
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
    head = "unchanged (304)" if result.outcome == "not_modified" else f"{result.entries} entries"
    parts = [f"{result.archived} new"]
    if result.duplicates:
        parts.append(f"{result.duplicates} already archived")
    if result.failed:
        retry = result.failed - result.abandoned
        parts.append(f"{result.failed} pages failed ({retry} to retry, {result.abandoned} abandoned)")
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
    help="Extract a saved page instead of fetching (give its address with --url).",
)
@click.option("--url", "page_url", type=PageURL(), help="The saved page's address (with --html).")
@click.option("--source", default="TASS", show_default=True, type=TEXT, help="Source name written in the document.")
@click.option("--timezone", default=None, type=Zone(), help="IANA zone the date is rendered in, e.g. Europe/Moscow.")
@click.option("--profile", default=None, type=ProfileName(), help="Extraction profile to force (default: by site).")
@click.pass_obj
@handle_errors
def article(
    obj: Context,
    url: str | None,
    html_file: Path | None,
    page_url: str | None,
    source: str,
    timezone: str | None,
    profile: str | None,
) -> None:
    """Fetch one page (or read --html FILE) and print its archive document."""
    if html_file is not None:
        address = page_url or url
        if not address:
            raise click.UsageError("--html needs the page's address: --url URL")
        settings = obj.config.settings if obj.config_path.exists() else Settings()
        content = read_capped(html_file, settings.max_page_bytes, "'--html'")
        response = Response(
            url=address, final_url=address, status=200, headers={"content-type": "text/html"}, content=content
        )
    elif url:
        settings = obj.config.settings if obj.config_path.exists() else Settings()
        response = asyncio.run(_get_page(settings, url))
    else:
        raise click.UsageError("give a URL, or --html FILE --url URL")
    extracted = article_from_response(response, profile=profile)
    document, _, _ = render_article(
        extracted, source=source, timezone=timezone, feed_published=None, first_seen=datetime.now(UTC)
    )
    # Byte-exact when piped to a file; a terminal gets a final newline for its prompt.
    click.echo(document, nl=sys.stdout.isatty())


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
    Daemon(obj.config_path, metrics_port=metrics_port, metrics_host=metrics_host).run()


@cli.command()
@click.pass_obj
@handle_errors
def reload(obj: Context) -> None:
    """Make the running daemon re-read feeds.yaml (sends it SIGHUP)."""
    database = obj.config.settings.database
    pid = daemon_pid(database)
    if pid is None:
        fail(f"no daemon is running on {database}", 1)
    if not 1 < pid < 2**31:  # 0 and -1 would signal a whole process group, or every process
        fail(f"the lock file of {database} holds no usable pid ({pid})", 1)
    os.kill(pid, signal.SIGHUP)
    click.echo(f"asked the daemon (pid {pid}) to reload {obj.config_path}")
