"""``aggregator backfill``: a feed's history from its sitemaps and Wayback prefixes, archived once,
politely, with a progress bar on a terminal; ``--dry-run`` says what would be fetched."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, datetime

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from aggregator.cli.app import Context, cli, handle_errors
from aggregator.daemon.lock import daemon_pid
from aggregator.errors import ConfigError
from aggregator.fetch import Fetcher
from aggregator.models import Config, FeedSpec
from aggregator.pipeline.archiver import Archiver
from aggregator.pipeline.backfill import Backfill, Tally
from aggregator.pipeline.workers import LazyProcessPool
from aggregator.store import open_store

_DAY = click.DateTime(["%Y-%m-%d"])


@cli.command()
@click.argument("feed_ids", nargs=-1, metavar="[FEED_ID]...")
@click.option("--since", type=_DAY, required=True, metavar="YYYY-MM-DD", help="First day to backfill.")
@click.option("--until", type=_DAY, default=None, metavar="YYYY-MM-DD", help="Last day to backfill (default: today).")
@click.option("--dry-run", is_flag=True, help="Say what would be fetched, per source and month; fetch no article.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Queue and fetch at most this many URLs.")
@click.pass_obj
@handle_errors
def backfill(
    obj: Context, feed_ids: tuple[str, ...], since: datetime, until: datetime | None, dry_run: bool, limit: int | None
) -> None:
    """Archive what the feeds' sitemaps and Wayback prefixes list between --since and --until.

    URLs archived already are skipped; a killed run continues where it stopped when run again."""
    if until is not None and since > until:
        raise click.BadParameter("--since is after --until", param_hint="'--since'")
    config = obj.config
    feeds = _backfill_feeds(config, feeds_named=feed_ids)
    show_bar = sys.stderr.isatty() and obj.verbosity >= 0 and not dry_run
    first, last = since.date(), until.date() if until is not None else None
    ok = asyncio.run(_run(config, feeds, first, last, dry_run=dry_run, limit=limit, show_bar=show_bar))
    if not ok:
        sys.exit(1)


def _backfill_feeds(config: Config, *, feeds_named: Sequence[str]) -> list[FeedSpec]:
    """The named feeds (each must have a source), else every enabled feed that has one."""
    for feed_id in feeds_named:
        feed = config.feed(feed_id)
        if feed is None:
            raise ConfigError(f"{config.path}: no feed with id '{feed_id}'")
        if not feed.backfill_sources:
            raise ConfigError(f"{config.path}: feed '{feed_id}' has no backfill source (add sitemaps: or wayback:)")
    if feeds_named:
        return [feed for feed in config.feeds if feed.id in feeds_named]
    feeds = [feed for feed in config.feeds if feed.enabled and feed.backfill_sources]
    if not feeds:
        raise ConfigError(f"{config.path}: no enabled feed has a backfill source (sitemaps: or wayback:)")
    return feeds


async def _run(
    config: Config,
    feeds: Sequence[FeedSpec],
    since: date,
    until: date | None,
    *,
    dry_run: bool,
    limit: int | None,
    show_bar: bool,
) -> bool:
    settings = config.settings
    pool = LazyProcessPool()
    try:
        with open_store(settings.database) as store:
            async with Fetcher(settings) as fetcher:
                bar = _Bar() if show_bar else None
                archiver = Archiver(settings, store, fetcher, progress=bar, executor=pool)
                try:
                    await archiver.db.write(store.retire_feeds, [feed.id for feed in config.feeds])
                    await archiver.start(config.feeds)
                    work = Backfill(archiver)
                    if dry_run:
                        return await _dry_run(work, feeds, since, until, limit)
                    return await _backfill(work, feeds, since, until, limit, bar, daemon_pid(settings.database))
                finally:
                    archiver.close()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def _enumerate(
    work: Backfill,
    feeds: Sequence[FeedSpec],
    since: date,
    until: date | None,
    limit: int | None,
    tally: Tally,
    *,
    dry_run: bool,
) -> None:
    """Read every feed's sources: side by side (each site keeps its own pace), or one feed after
    the other under a ``limit``, which the first feeds may use up."""
    if limit is None:
        await asyncio.gather(*(work.enumerate(feed, since, until, dry_run=dry_run, tally=tally) for feed in feeds))
        return
    for feed in feeds:
        left = limit - tally.queued
        if left <= 0:
            break
        await work.enumerate(feed, since, until, limit=left, dry_run=dry_run, tally=tally)


async def _dry_run(
    work: Backfill, feeds: Sequence[FeedSpec], since: date, until: date | None, limit: int | None
) -> bool:
    tally = Tally()
    await _enumerate(work, feeds, since, until, limit, tally, dry_run=True)
    click.echo(f"{'feed':<20} {'source':<8} {'month':<8} {'to fetch':>9}")
    for (feed_id, origin, month), count in sorted(tally.months.items()):
        click.echo(f"{feed_id:<20} {origin:<8} {month:<8} {count:>9,}")
    click.echo(
        f"{tally.queued:,} URLs would be fetched ({tally.found:,} found in the window, {tally.known:,} archived or "
        f"queued already, {tally.sources:,} source documents read); nothing was fetched"
        + (f"; stopped at --limit {limit}" if tally.limited else "")
    )
    for found in tally.failed_sources:
        click.echo(f"source failed: {found.error}", err=True)
    return not tally.failed_sources


async def _backfill(
    work: Backfill,
    feeds: Sequence[FeedSpec],
    since: date,
    until: date | None,
    limit: int | None,
    bar: _Bar | None,
    daemon: int | None,
) -> bool:
    tally = Tally()
    with bar.reading(tally) if bar is not None else contextlib.nullcontext():
        await _enumerate(work, feeds, since, until, limit, tally, dry_run=False)
    found = (
        f"{tally.found:,} URLs found in the window, {tally.queued:,} queued, {tally.known:,} archived or queued already"
    )
    if daemon is not None:
        click.echo(f"{found}; the running daemon (pid {daemon}) archives them in the background at its polite rate")
        return not tally.failed_sources
    left = await work.db.read(work.store.backfill_left, [feed.id for feed in feeds])
    if bar is not None:
        with bar.shown(min(left, limit) if limit is not None else left, tally.pages):
            await work.archive(feeds, limit=limit, tally=tally)
    else:
        await work.archive(feeds, limit=limit, tally=tally)
    pages = tally.pages
    failed = pages["failed"] + pages["abandoned"]
    still = await work.db.read(work.store.backfill_left, [feed.id for feed in feeds])
    click.echo(
        f"{found}; {pages['archived']:,} archived, {pages['duplicate']:,} duplicates, {failed:,} failed"
        + (f" ({pages['abandoned']:,} abandoned)" if pages["abandoned"] else "")
        + (f", {pages['robots']:,} disallowed by robots.txt (not requested)" if pages["robots"] else "")
        + (f"; {still:,} left to retry later" if still else "")
    )
    for source in tally.failed_sources:
        click.echo(f"source failed: {source.error}", err=True)
    return not failed and not tally.failed_sources


class _Bar:
    """A rich progress bar on stderr: pages done of those queued, what became of them, and the ETA.
    The total is set once from the queue, so ``add`` (more work found) has nothing to change."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._pages: Counter[str] = Counter()

    def shown(self, total: int, pages: Counter[str]) -> _Bar:
        self._total, self._pages = total, pages
        return self

    @contextlib.contextmanager
    def reading(self, tally: Tally) -> Iterator[None]:
        """While the sources are read: how many documents, URLs found and queued, updated live."""
        console = Console(stderr=True)
        with console.status("reading the sources") as status:
            stop = threading.Event()

            def show() -> None:
                while not stop.wait(0.2):
                    status.update(
                        f"reading the sources: {tally.sources:,} documents, {tally.found:,} URLs found, "
                        f"{tally.queued:,} queued"
                    )

            watcher = threading.Thread(target=show, daemon=True)
            watcher.start()
            try:
                yield
            finally:
                stop.set()
                watcher.join()

    def __enter__(self) -> _Bar:
        self._progress = Progress(
            TextColumn("backfill"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("", total=self._total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def add(self, count: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        if self._progress is None:
            return
        pages = self._pages
        failed = pages["failed"] + pages["abandoned"]
        self._progress.update(
            self._task, advance=count, description=f"archived {pages['archived']:,} · failed {failed:,}"
        )
