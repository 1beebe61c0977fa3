"""The ``workers`` command: the daemons sharing this archive, their claims and last heartbeat."""

from __future__ import annotations

import sys
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table

from aggregator.cli.app import Context, archive_exists, cli, handle_errors
from aggregator.store import open_store, utc_now

#: feed ids shown per worker before "... and N more"
SHOWN_CLAIMS = 5


@cli.command()
@click.option(
    "--all", "show_all", is_flag=True, help="Also list workers whose lease ran out (dead or partitioned away)."
)
@click.pass_obj
@handle_errors
def workers(obj: Context, show_all: bool) -> None:
    """List the workers (``aggregator run`` processes) of this archive: heartbeat, claims, /metrics."""
    settings = obj.config.settings
    rows: list[dict[str, object]] = []
    now = utc_now()
    if archive_exists(settings.database):
        with open_store(settings.database) as store:
            rows = [row for row in store.worker_overview(now) if show_all or row["live"]]
    table = Table("worker", "state", "started", "last heartbeat", "claims", "feeds claimed", "metrics", title="workers")
    for row in rows:
        claimed = str(row["claimed"] or "").split()
        shown = " ".join(claimed[:SHOWN_CLAIMS]) + (
            f" ... and {len(claimed) - SHOWN_CLAIMS} more" if len(claimed) > SHOWN_CLAIMS else ""
        )
        table.add_row(
            str(row["id"]),
            "live" if row["live"] else "lease expired",
            _when(str(row["started_at"])),
            f"{_ago(str(row['beat_at']), now)} ago",
            str(row["claims"]),
            shown,
            str(row["metrics"] or ""),
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)
    if not rows:
        click.echo("no live workers" if not show_all else "no workers", err=True)


def _when(stamp: str) -> str:
    return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M UTC")


def _ago(stamp: str, now: datetime) -> str:
    seconds = max(0, int((now - datetime.fromisoformat(stamp)).total_seconds()))
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"
