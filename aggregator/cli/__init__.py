"""The command line (the only click user): the ``aggregator`` group and its commands.

``app`` holds the group, its global options and the error handling every command shares;
``params`` the checked argument types; the commands are in ``fetching`` (fetch, article, run,
reload), ``backfilling`` (backfill), ``revisiting`` (revisit, history), ``reading`` (serve,
search, fts-rebuild, export, doctor, reextract) and ``feedlist`` (the ``feeds`` group).
Importing this package registers them all on ``cli``.
"""

from aggregator.cli import backfilling, feedlist, fetching, reading, revisiting  # noqa: F401  (they register the commands on cli)
from aggregator.cli.app import cli, main

__all__ = ["cli", "main"]
