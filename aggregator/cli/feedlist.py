"""The ``feeds`` group: the table of configured feeds and their state, and OPML in (``feeds
import``, which edits feeds.yaml in place) and out (``feeds export``)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from aggregator.cli.app import Context, archive_exists, cli, handle_errors
from aggregator.cli.params import TEXT, FilePath, Zone, read_capped
from aggregator.config.feedsfile import add_feeds
from aggregator.config.load import MAX_CONFIG_BYTES
from aggregator.config.opml import parse_opml, plan_import, render_opml
from aggregator.store import open_store
from aggregator.tools.export import atomic_output


@cli.group(invoke_without_command=True)
@click.pass_context
@handle_errors
def feeds(ctx: click.Context) -> None:
    """Show the configured feeds and their state (last poll, status, last error, articles)."""
    if ctx.invoked_subcommand is None:
        show_feeds(ctx.obj)


def show_feeds(obj: Context) -> None:
    """The feeds table: configuration joined with the state the database keeps."""
    config = obj.config
    rows = {}
    drift: dict[str, dict[str, int]] = {}
    if archive_exists(config.settings.database):
        with open_store(config.settings.database) as store:
            rows = {row["id"]: row for row in store.feed_overview()}
            drift = store.profile_drift()
    columns = (
        "id",
        "source",
        "state",
        "last poll",
        "next poll",
        "articles",
        "failing",
        "backfill",
        "gaps",
        "profile_drift",
        "last error",
    )
    table = Table(*columns, title=f"feeds in {config.path}")
    for feed in config.feeds:
        row = rows.get(feed.id, {})
        state = (row.get("status") or "new") if feed.enabled else "disabled"
        if row.get("previous_urls"):
            state += f" (moved to {row['url']})"
        table.add_row(
            feed.id,
            feed.source,
            state,
            _when(row.get("last_polled_at")) or "never",
            _when(row.get("next_poll_at")) or ("-" if state in ("gone", "disabled") else "now"),
            str(row.get("articles") or 0),
            str((row.get("failing") or 0) + (row.get("abandoned") or 0)),
            f"{row.get('backfill_queued') or 0} queued" if row.get("backfill_queued") else "",
            str(row.get("open_gaps") or 0),
            _drift(drift.get(feed.id, {})),
            row.get("last_error") or "",
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)


def _drift(profiles: dict[str, int]) -> str:
    """The feed's articles archived through the fallback, and whose profile found no body:
    ``2 (tass@2019)`` (empty when none: the profile is working)."""
    return ", ".join(f"{count} ({profile})" for profile, count in profiles.items())


def _when(stamp: str | None) -> str:
    """A stored UTC timestamp as a short local-independent text: 2026-01-01 12:00 UTC."""
    return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M UTC") if stamp else ""


@feeds.command("import")
@click.argument("file", type=FilePath(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--source",
    default=None,
    type=TEXT,
    help="Source name for every imported feed (default: each outline's source attribute, else its title).",
)
@click.option(
    "--timezone",
    default=None,
    type=Zone(),
    help=(
        "IANA zone for every imported feed, e.g. Europe/Moscow (default: each outline's timezone "
        "attribute, else none: dates keep the offset they are given)."
    ),
)
@click.option("--skip-existing", is_flag=True, help="Skip feeds already configured instead of refusing the import.")
@click.pass_obj
@handle_errors
def feeds_import(obj: Context, file: Path, source: str | None, timezone: str | None, skip_existing: bool) -> None:
    """Add the feeds of an OPML file to feeds.yaml, keeping its comments and order."""
    existing = obj.config.feeds if obj.config_path.exists() else ()
    data = read_capped(file, MAX_CONFIG_BYTES, "'FILE'")
    plan = plan_import(
        parse_opml(data, str(file)), existing, source=source, timezone=timezone, skip_existing=skip_existing
    )
    for line in plan.skipped:
        click.echo(f"skipped: {line}", err=True)
    if not plan.feeds:
        click.echo(f"no new feeds in {file}")
        return
    add_feeds(obj.config_path, plan.feeds)
    click.echo(f"imported {len(plan.feeds)} feeds into {obj.config_path}: {', '.join(f.id for f in plan.feeds)}")


@feeds.command("export")
@click.option(
    "--out", type=FilePath(dir_okay=False, path_type=Path), default=None, help="File to write (default: stdout)."
)
@click.pass_obj
@handle_errors
def feeds_export(obj: Context, out: Path | None) -> None:
    """Write the configured feeds as an OPML 2.0 subscription list."""
    text = render_opml(obj.config.feeds)
    if out is None:
        click.echo(text, nl=False)
        return
    with atomic_output(out) as handle:
        handle.write(text)
