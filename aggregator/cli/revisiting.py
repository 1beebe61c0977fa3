"""``aggregator revisit``: the due revisits of the archived articles, once; ``aggregator history``:
an article's versions, their differences, its removals and restorations."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Sequence

import click

from aggregator.cli.app import Context, archive_exists, cli, handle_errors
from aggregator.cli.params import ArgText
from aggregator.errors import ConfigError, InvalidURL, StoreError
from aggregator.fetch import Fetcher
from aggregator.models import Config, FeedSpec
from aggregator.pipeline.archiver import Archiver
from aggregator.pipeline.revisits import OUTCOMES, Revisits, RevisitTally
from aggregator.pipeline.workers import LazyProcessPool
from aggregator.store import open_store
from aggregator.tools.history import history_json, history_lines
from aggregator.urls import canonical_url

_ARTICLE_ID = re.compile(r"[0-9a-f]{16}")


@cli.command()
@click.argument("feed_ids", nargs=-1, metavar="[FEED_ID]...")
@click.pass_obj
@handle_errors
def revisit(obj: Context, feed_ids: tuple[str, ...]) -> None:
    """Fetch again the archived articles whose revisit is due; record edits and removals.

    One line per feed: how many were revisited and what was found. The daemon does this
    continuously, after its live polls."""
    config = obj.config
    feeds = _revisit_feeds(config, feed_ids)
    tally = asyncio.run(_run(config, feeds))
    for feed in feeds:
        counts = tally.by_feed.get(feed.id)
        if counts or obj.verbosity >= 0:
            click.echo(summary_line(feed.id, counts))
    if tally.total["failed"]:
        sys.exit(1)


def summary_line(feed_id: str, counts: object) -> str:
    """``tass: 5 revisited: 3 unchanged, 1 edited, 1 removed, 0 restored, 0 failed``."""
    found = counts if isinstance(counts, dict) else {}
    total = sum(found.values())
    if not total:
        return f"{feed_id}: nothing due"
    return f"{feed_id}: {total} revisited: " + ", ".join(f"{found.get(name, 0)} {name}" for name in OUTCOMES)


def _revisit_feeds(config: Config, named: Sequence[str]) -> list[FeedSpec]:
    for feed_id in named:
        if config.feed(feed_id) is None:
            raise ConfigError(f"{config.path}: no feed with id '{feed_id}'")
    feeds = [feed for feed in config.feeds if feed.enabled and (not named or feed.id in named)]
    revisiting = [feed for feed in feeds if (feed.revisit if feed.revisit is not None else config.settings.revisit)]
    if not revisiting:
        raise ConfigError(f"{config.path}: no feed to revisit (revisit: false for every one named)")
    return revisiting


async def _run(config: Config, feeds: Sequence[FeedSpec]) -> RevisitTally:
    settings = config.settings
    pool = LazyProcessPool()
    tally = RevisitTally()
    try:
        with open_store(settings.database) as store:
            async with Fetcher(settings) as fetcher:
                archiver = Archiver(settings, store, fetcher, executor=pool)
                try:
                    await archiver.start(config.feeds)
                    await Revisits(archiver).run(feeds, tally)
                finally:
                    archiver.close()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return tally


@cli.command()
@click.argument("article", metavar="URL_OR_ID", type=ArgText())
@click.option(
    "--format", "form", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format."
)
@click.pass_obj
@handle_errors
def history(obj: Context, article: str, form: str) -> None:
    """Every version of an article with what changed from the one before, and its removals and
    restorations, in order. ARTICLE: its URL (any URL it was reached by) or its 16-hex id."""
    database = obj.config.settings.database
    if not archive_exists(database):
        raise StoreError(f"{database}: no archive database yet (run `aggregator fetch` first)")
    with open_store(database) as store:
        article_id = article if _ARTICLE_ID.fullmatch(article) else None
        if article_id is None:
            try:
                article_id = store.article_for_url(canonical_url(article))
            except InvalidURL as exc:
                raise click.BadParameter(str(exc), param_hint="'URL_OR_ID'") from None
        found = store.article_history(article_id) if article_id else None
    if found is None:
        raise StoreError(f"{database}: no archived article {article}")
    if form == "json":
        click.echo(history_json(found))
    else:
        for line in history_lines(found):
            click.echo(line)
