"""The command line (the only click user): the ``aggregator`` group and its commands.

``app`` holds the group, its global options and the error handling every command shares;
``params`` the checked argument types; the commands are in ``fetching`` (fetch, article, run,
reload), ``backfilling`` (backfill), ``revisiting`` (revisit, history), ``reading`` (serve,
search, fts-rebuild, export, doctor, reextract), ``transfer`` (migrate) and ``feedlist`` (the ``feeds``
group).
Importing this package is cheap: ``main`` holds SIGTERM and SIGINT (``signals``) before it imports
the group and the module of the command run (all of them take most of a second); ``cli``, the group
with every command registered, imports them on first use.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from aggregator.cli import signals

if TYPE_CHECKING:
    from aggregator.cli.app import cli

__all__ = ["cli", "main"]


def main() -> None:
    """The ``aggregator`` program (and ``python -m aggregator``)."""
    signals.hold()  # first: a SIGTERM while the commands are imported is held, not fatal
    try:
        from aggregator.cli import app

        app.main()  # imports the module of the command run only (app.COMMAND_MODULES)
    finally:
        signals.release(exiting=True)  # --help, --version, a usage error: nothing took them over


def _commands() -> ModuleType:
    """``app``, once every command module has registered its commands on ``app.cli``."""
    from aggregator.cli import (  # noqa: F401
        app,
        backfilling,
        feedlist,
        fetching,
        reading,
        revisiting,
        transfer,
        workerlist,
    )

    return app


def __getattr__(name: str) -> object:
    if name == "cli":
        return _commands().cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
