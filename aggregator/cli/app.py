"""The top-level ``aggregator`` group: global options, and our errors turned into one line and an
exit code.

Exit codes: 0 success, 1 some feed or page failed (the rest was still archived), 2 usage or
configuration error. Every error, click's usage errors included, is one line on stderr that
starts with ``error: `` (a config file with several problems: that line says how many, and one
indented line follows for each). The commands live beside this module (fetching, reading, feedlist).
"""

from __future__ import annotations

import functools
import importlib
import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from aggregator import __version__
from aggregator.cli import signals
from aggregator.cli.logs import configure_logging
from aggregator.cli.params import FilePath
from aggregator.config import find_config, load_config
from aggregator.errors import AggregatorError, ConfigError
from aggregator.models import Config, is_database_url
from aggregator.profiles import check_feed_profiles

F = TypeVar("F", bound=Callable[..., Any])

#: the commands that handle SIGTERM and SIGINT themselves (``signals.take_over``); for the others
#: the group gives them back their default behaviour before the command runs
OWN_SIGNALS = frozenset({"run"})


class Context:
    """What the global options give every command."""

    def __init__(self, config_path: str | None, verbosity: int, log_format: str = "text") -> None:
        self.config_path = find_config(config_path)
        self.verbosity = verbosity
        self.log_format = log_format
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        """The configuration, read and checked on first use (not every command needs one)."""
        if self._config is None:
            config = load_config(self.config_path)
            check_feed_profiles(config)
            self._config = config
        return self._config


def archive_exists(database: Path | str) -> bool:
    """Whether the archive database is there to read: an SQLite file that exists, or any
    PostgreSQL URL (opening it says whether the server has it)."""
    return is_database_url(database) or Path(database).exists()


def sqlite_only(database: Path | str, command: str) -> None:
    """Refuse (exit 2) a command that works on an SQLite file only, given a PostgreSQL database."""
    if is_database_url(database):
        fail(f"`aggregator {command}` works on an SQLite archive file only, not on a PostgreSQL database", 2)


def fail(message: str, code: int, details: Sequence[str] = ()) -> NoReturn:
    """Print ``error: message`` on one line, whatever the message holds, then each of ``details``
    (the problems of a config file that has several) on an indented line of its own, and exit
    with ``code``."""
    click.echo(f"error: {' '.join(message.split())}", err=True)
    for detail in details:
        click.echo(f"  {' '.join(detail.split())}", err=True)
    sys.exit(code)


#: The module of ``aggregator.cli`` that registers each command. A command run imports its own
#: module only (``aggregator feeds`` does not import the fetcher, the daemon or Datasette: most
#: of a second); the help, and the ``cli`` of ``aggregator.cli``, import them all.
COMMAND_MODULES = {
    "article": "fetching",
    "backfill": "backfilling",
    "doctor": "reading",
    "export": "reading",
    "feeds": "feedlist",
    "fetch": "fetching",
    "fts-rebuild": "reading",
    "history": "revisiting",
    "migrate": "transfer",
    "reextract": "reading",
    "reload": "fetching",
    "revisit": "revisiting",
    "run": "fetching",
    "search": "reading",
    "serve": "reading",
    "workers": "workerlist",
}


class AggregatorGroup(click.Group):
    """The top-level group: click's usage errors become one line (``Usage: ... / Try ... /
    Error: ...`` is three), exit code 2; --help and --version still print and exit 0. Its
    commands are imported when first asked for (COMMAND_MODULES)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(f"aggregator.cli.{COMMAND_MODULES[cmd_name]}")
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        import_commands()
        return super().list_commands(ctx)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            # Not standalone: click raises its errors to us instead of printing them, and returns
            # the exit code of --help and --version (0); commands return None.
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            fail(usage_message(exc), exc.exit_code)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            fail("interrupted", 130)
        sys.exit(code if isinstance(code, int) else 0)


def import_commands() -> None:
    """Import every command's module (each registers its commands on ``cli``)."""
    for module in sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"aggregator.cli.{module}")


def usage_message(exc: click.UsageError) -> str:
    """``Invalid value for '--limit': ... (see 'aggregator search --help')``."""
    # A bare ``aggregator`` raises NoArgsIsHelpError (click 8.2 on), whose message is the whole help.
    no_command = isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ()))
    message = "missing command" if no_command else exc.format_message()
    path = exc.ctx.command_path if exc.ctx is not None else "aggregator"
    return f"{message} (see '{path} --help')"


def handle_errors(func: F) -> F:
    """Our errors become one line on stderr: exit 2 for configuration, 1 for the rest.

    An operating-system error that reached this far (a folder without write permission, a full
    disk) is one line too; any other exception is a bug and keeps its traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail(exc.args[0], 2, exc.problems)
        except AggregatorError as exc:
            fail(str(exc), 1)
        except OSError as exc:
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            fail(f"{where}{exc.strerror or exc}", 1)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


@click.group(cls=AggregatorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    envvar=None,
    type=FilePath(),
    help="feeds.yaml to use (default: $AGGREGATOR_CONFIG, else ./feeds.yaml).",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr, no summary for good feeds.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines on stderr as text or as JSON objects.",
)
@click.version_option(__version__, prog_name="aggregator")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool, log_format: str) -> None:
    """Archive news feeds (TASS first) into SQLite and plain-text documents."""
    if ctx.invoked_subcommand not in OWN_SIGNALS:
        signals.release()  # a SIGTERM or Ctrl-C during start-up acts now, as it always did
    verbosity = -1 if quiet else verbose
    configure_logging(verbosity, log_format)
    ctx.obj = Context(config_path, verbosity, log_format)


def main() -> None:
    """The ``aggregator`` program (and ``python -m aggregator``)."""
    # A path given as bytes that are not UTF-8 arrives with surrogates (PEP 383); printed back it
    # must give those bytes again, not a UnicodeEncodeError (stdout is strict in a UTF-8 locale).
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.errors == "strict":
        sys.stdout.reconfigure(errors="surrogateescape")
    cli(prog_name="aggregator")
