"""The command line: a thin click layer that turns our errors into one line and an exit code.

Exit codes: 0 success, 1 some feed or page failed (the rest was still archived), 2 usage or
configuration error.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .config import find_config, load_config
from .errors import AggregatorError, ConfigError
from .fetch import Fetcher
from .models import Config, FeedResult, Response, Settings
from .pipeline import HTML_ACCEPT, Archiver, fetched_document, render_article
from .profiles import get_profile, profile_names
from .store import Store

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("aggregator")


class Context:
    """What the global options give every command."""

    def __init__(self, config_path: str | None, verbosity: int) -> None:
        self.config_path = find_config(config_path)
        self.verbosity = verbosity
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            config = load_config(self.config_path)
            for feed in config.feeds:
                if feed.profile and not known_profile(feed.profile):
                    raise ConfigError(
                        f"{config.path}: feed '{feed.id}': unknown profile '{feed.profile}' "
                        f"(known: {', '.join(profile_names())})"
                    )
            self._config = config
        return self._config


def known_profile(name: str) -> bool:
    """A profile name, bare (latest version) or versioned like ``tass@2019``."""
    try:
        get_profile(name)
    except AggregatorError:
        return False
    return True


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Our errors become one line on stderr: exit 2 for configuration, 1 for the rest."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc), 2)
        except AggregatorError as exc:
            fail(str(exc), 1)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar=None,
              help="feeds.yaml to use (default: $AGGREGATOR_CONFIG, else ./feeds.yaml).")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr, no summary for good feeds.")
@click.version_option(__version__, prog_name="aggregator")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool) -> None:
    """Archive news feeds (TASS first) into SQLite and plain-text documents."""
    verbosity = -1 if quiet else verbose
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    ctx.obj = Context(config_path, verbosity)


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
    results = asyncio.run(_fetch(config.settings, feeds, show_bar))
    for result in results:
        if result.outcome != "ok" or result.failed or obj.verbosity >= 0:
            click.echo(summary_line(result))
    if not all(r.ok for r in results):
        sys.exit(1)


async def _fetch(settings: Settings, feeds: Sequence[Any], show_bar: bool) -> list[FeedResult]:
    with Store(settings.database) as store:
        async with Fetcher(settings) as fetcher:
            if not show_bar:
                return await Archiver(settings, store, fetcher).fetch_all(feeds)
            with _bar() as bar:
                return await Archiver(settings, store, fetcher, progress=bar).fetch_all(feeds)


class _bar:
    """A rich progress bar on stderr, counting feeds and pages."""

    def __enter__(self) -> _bar:
        self._progress = Progress(
            TextColumn("fetching"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True), transient=True,
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
    return line


@cli.command()
@click.argument("url", required=False)
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Extract a saved page instead of fetching (give its address with --url).")
@click.option("--url", "page_url", help="The saved page's address (with --html).")
@click.option("--source", default="TASS", show_default=True, help="Source name written in the document.")
@click.option("--timezone", default=None, help="IANA zone the date is rendered in, e.g. Europe/Moscow.")
@click.option("--profile", default=None, help="Extraction profile to force (default: by site).")
@click.pass_obj
@handle_errors
def article(obj: Context, url: str | None, html_file: Path | None, page_url: str | None,
            source: str, timezone: str | None, profile: str | None) -> None:
    """Fetch one page (or read --html FILE) and print its archive document."""
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise click.BadParameter(f"unknown time zone '{timezone}'", param_hint="--timezone") from None
    if profile and not known_profile(profile):
        raise click.BadParameter(f"unknown profile '{profile}'", param_hint="--profile")
    if html_file is not None:
        address = page_url or url
        if not address:
            raise click.UsageError("--html needs the page's address: --url URL")
        response = Response(url=address, final_url=address, status=200,
                            headers={"content-type": "text/html"}, content=html_file.read_bytes())
    elif url:
        settings = obj.config.settings if obj.config_path.exists() else Settings()
        response = asyncio.run(_get_page(settings, url))
    else:
        raise click.UsageError("give a URL, or --html FILE --url URL")
    extracted = fetched_document(response, url=response.url, profile=profile)
    document, _, _ = render_article(extracted, source=source, timezone=timezone,
                                    feed_published=None, first_seen=datetime.now(UTC))
    # Byte-exact when piped to a file; a terminal gets a final newline for its prompt.
    click.echo(document, nl=sys.stdout.isatty())


async def _get_page(settings: Settings, url: str) -> Response:
    async with Fetcher(settings) as fetcher:
        return await fetcher.get(url, max_bytes=settings.max_page_bytes, accept=HTML_ACCEPT)


@cli.command()
@click.pass_obj
@handle_errors
def feeds(obj: Context) -> None:
    """Show the configured feeds and their state (last poll, status, last error, articles)."""
    show_feeds(obj)


def show_feeds(obj: Context) -> None:
    """The feeds table: configuration joined with the state the database keeps."""
    config = obj.config
    rows = {}
    if config.settings.database.exists():
        with Store(config.settings.database) as store:
            rows = {row["id"]: row for row in store.feed_overview()}
    table = Table("id", "source", "enabled", "last poll", "status", "articles", "failing", "last error",
                  title=f"feeds in {config.path}")
    for feed in config.feeds:
        row = rows.get(feed.id, {})
        table.add_row(
            feed.id, feed.source, "yes" if feed.enabled else "no", row.get("last_polled_at") or "never",
            row.get("status") or "new", str(row.get("articles") or 0),
            str((row.get("failing") or 0) + (row.get("abandoned") or 0)), row.get("last_error") or "",
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)


def main() -> None:
    cli(prog_name="aggregator")


if __name__ == "__main__":
    main()
