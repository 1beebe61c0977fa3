"""The command line: a thin click layer that turns our errors into one line and an exit code.

Exit codes: 0 success, 1 some feed or page failed (the rest was still archived), 2 usage or
configuration error. Every error, click's usage errors included, is one line on stderr that
starts with ``error: ``; every argument is checked here, before it reaches the library.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import io
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from aggregator import __version__
from aggregator.cli.logs import configure_logging
from aggregator.config.feedsfile import add_feeds
from aggregator.config.load import MAX_CONFIG_BYTES, find_config, known_zone, load_config, url_problem
from aggregator.config.opml import parse_opml, plan_import, render_opml
from aggregator.daemon.lock import daemon_pid
from aggregator.daemon.scheduler import Daemon
from aggregator.errors import AggregatorError, ConfigError, StoreError
from aggregator.fetch.fetcher import Fetcher
from aggregator.models import Config, FeedResult, Response, Settings
from aggregator.pipeline.archiver import HTML_ACCEPT, Archiver, fetched_document, render_article
from aggregator.pipeline.workers import LazyProcessPool
from aggregator.profiles import check_feed_profiles, get_profile
from aggregator.store.sqlite import Store
from aggregator.tools.doctor import diagnose
from aggregator.tools.export import (
    FORMATS,
    JSON_MARKS,
    Filters,
    atomic_output,
    documents_text,
    export_rows,
    export_text,
    search_json,
)
from aggregator.tools.reextract import reextract as reextract_articles
from aggregator.tools.reextract import report_lines

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("aggregator")


class Context:
    """What the global options give every command."""

    def __init__(self, config_path: str | None, verbosity: int, log_format: str = "text") -> None:
        self.config_path = find_config(config_path)
        self.verbosity = verbosity
        self.log_format = log_format
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            config = load_config(self.config_path)
            check_feed_profiles(config)
            self._config = config
        return self._config


def known_profile(name: str) -> bool:
    """A profile name, bare (latest version) or versioned like ``tass@2019``."""
    try:
        get_profile(name)
    except AggregatorError:
        return False
    return True


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {' '.join(message.split())}", err=True)  # one line, whatever the message holds
    sys.exit(code)


class AggregatorGroup(click.Group):
    """The top-level group: click's usage errors become one line (``Usage: ... / Try ... /
    Error: ...`` is three), exit code 2; --help and --version still print and exit 0."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
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


def usage_message(exc: click.UsageError) -> str:
    """``Invalid value for '--limit': ... (see 'aggregator search --help')``."""
    # A bare ``aggregator`` raises NoArgsIsHelpError (click 8.2 on), whose message is the whole help.
    no_command = isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ()))
    message = "missing command" if no_command else exc.format_message()
    path = exc.ctx.command_path if exc.ctx is not None else "aggregator"
    return f"{message} (see '{path} --help')"


class ArgText(click.ParamType):
    """Text from the command line: valid Unicode (an argument that is not UTF-8 arrives with lone
    surrogates, which nothing can store, search or print), and not blank unless ``allow_empty``."""

    name = "text"

    def __init__(self, allow_empty: bool = False) -> None:
        self.allow_empty = allow_empty

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if any("\ud800" <= char <= "\udfff" for char in text):
            self.fail(f"{text!r} is not valid UTF-8 text (is the terminal's encoding UTF-8?)", param, ctx)
        if not self.allow_empty and not text.strip():
            self.fail("must not be empty", param, ctx)
        return text


class Zone(ArgText):
    """An IANA time zone name the system knows."""

    name = "zone"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        if not known_zone(text):
            self.fail(f"unknown time zone {text!r}", param, ctx)
        return text


class ProfileName(ArgText):
    """A profile name, bare (latest version) or versioned like ``tass@2019``."""

    name = "profile"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        if not known_profile(text):
            self.fail(f"unknown profile {text!r}", param, ctx)
        return text


class Address(ArgText):
    """A host name or IP address to listen on (not empty: "" would mean every interface)."""

    name = "host"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        try:
            text.encode("idna")
        except UnicodeError:
            self.fail(f"{text!r} is not a host name or IP address", param, ctx)
        if any(char.isspace() or char in "/[]" for char in text):
            self.fail(f"{text!r} is not a host name or IP address", param, ctx)
        return text


class PageURL(ArgText):
    """An http or https URL that can be fetched (a host IDNA can encode, a port 1..65535)."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx).strip()
        problem = url_problem(text)
        if problem:
            self.fail(f"bad url {text!r} ({problem})", param, ctx)
        return text


class FilePath(click.Path):
    """click.Path that refuses an empty path (``Path("")`` is the current folder)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("the path must not be empty", param, ctx)
        return super().convert(value, param, ctx)


TEXT = ArgText()


def handle_errors(func: F) -> F:
    """Our errors become one line on stderr: exit 2 for configuration, 1 for the rest.

    An operating-system error that reached this far (a folder without write permission, a full
    disk) is one line too; any other exception is a bug and keeps its traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc), 2)
        except AggregatorError as exc:
            fail(str(exc), 1)
        except OSError as exc:
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            fail(f"{where}{exc.strerror or exc}", 1)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


@click.group(cls=AggregatorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar=None, type=FilePath(),
              help="feeds.yaml to use (default: $AGGREGATOR_CONFIG, else ./feeds.yaml).")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr, no summary for good feeds.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log lines on stderr as text or as JSON objects.")
@click.version_option(__version__, prog_name="aggregator")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool, log_format: str) -> None:
    """Archive news feeds (TASS first) into SQLite and plain-text documents."""
    verbosity = -1 if quiet else verbose
    configure_logging(verbosity, log_format)
    ctx.obj = Context(config_path, verbosity, log_format)


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
    results = asyncio.run(_fetch(config.settings, feeds, show_bar))
    for result in results:
        if not result.ok or result.failed or obj.verbosity >= 0:
            click.echo(summary_line(result))
    if not all(r.ok for r in results):
        sys.exit(1)


async def _fetch(settings: Settings, feeds: Sequence[Any], show_bar: bool) -> list[FeedResult]:
    pool = LazyProcessPool()  # extraction on the other cores; no process unless a page is extracted
    try:
        with Store(settings.database) as store:
            async with Fetcher(settings) as fetcher:
                if not show_bar:
                    return await Archiver(settings, store, fetcher, executor=pool).fetch_all(feeds)
                with _bar() as bar:
                    return await Archiver(settings, store, fetcher, progress=bar, executor=pool).fetch_all(feeds)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
@click.argument("url", required=False, type=PageURL())
@click.option("--html", "html_file", type=FilePath(exists=True, dir_okay=False, readable=True, path_type=Path),
              help="Extract a saved page instead of fetching (give its address with --url).")
@click.option("--url", "page_url", type=PageURL(), help="The saved page's address (with --html).")
@click.option("--source", default="TASS", show_default=True, type=TEXT, help="Source name written in the document.")
@click.option("--timezone", default=None, type=Zone(), help="IANA zone the date is rendered in, e.g. Europe/Moscow.")
@click.option("--profile", default=None, type=ProfileName(), help="Extraction profile to force (default: by site).")
@click.pass_obj
@handle_errors
def article(obj: Context, url: str | None, html_file: Path | None, page_url: str | None,
            source: str, timezone: str | None, profile: str | None) -> None:
    """Fetch one page (or read --html FILE) and print its archive document."""
    if html_file is not None:
        address = page_url or url
        if not address:
            raise click.UsageError("--html needs the page's address: --url URL")
        settings = obj.config.settings if obj.config_path.exists() else Settings()
        content = read_capped(html_file, settings.max_page_bytes, "'--html'")
        response = Response(url=address, final_url=address, status=200,
                            headers={"content-type": "text/html"}, content=content)
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


def read_capped(path: Path, limit: int, param_hint: str) -> bytes:
    """A file given on the command line, at most ``limit`` bytes (``/dev/zero`` would never end;
    ``/dev/stdin`` is fine): a usage error when it cannot be read or is larger."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:  # readable when click looked; gone, unreadable or a folder now
        raise click.BadParameter(f"cannot read {path}: {exc.strerror or exc}", param_hint=param_hint) from None
    if len(data) > limit:
        raise click.BadParameter(f"{path} is larger than {limit} bytes", param_hint=param_hint)
    return data


async def _get_page(settings: Settings, url: str) -> Response:
    async with Fetcher(settings) as fetcher:
        return await fetcher.get(url, max_bytes=settings.max_page_bytes, accept=HTML_ACCEPT)


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
    if config.settings.database.exists():
        with Store(config.settings.database) as store:
            rows = {row["id"]: row for row in store.feed_overview()}
    table = Table("id", "source", "state", "last poll", "next poll", "articles", "failing", "last error",
                  title=f"feeds in {config.path}")
    for feed in config.feeds:
        row = rows.get(feed.id, {})
        state = (row.get("status") or "new") if feed.enabled else "disabled"
        if row.get("previous_urls"):
            state += f" (moved to {row['url']})"
        table.add_row(
            feed.id, feed.source, state, _when(row.get("last_polled_at")) or "never",
            _when(row.get("next_poll_at")) or ("-" if state in ("gone", "disabled") else "now"),
            str(row.get("articles") or 0), str((row.get("failing") or 0) + (row.get("abandoned") or 0)),
            row.get("last_error") or "",
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)


def _when(stamp: str | None) -> str:
    """A stored UTC timestamp as a short local-independent text: 2026-01-01 12:00 UTC."""
    return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M UTC") if stamp else ""


@cli.command()
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve /metrics (Prometheus) and /healthz on this port.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, type=Address(),
              help="Address for the metrics endpoint.")
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
        return
    if not 1 < pid < 2**31:  # 0 and -1 would signal a whole process group, or every process
        fail(f"the lock file of {database} holds no usable pid ({pid})", 1)
        return
    os.kill(pid, signal.SIGHUP)
    click.echo(f"asked the daemon (pid {pid}) to reload {obj.config_path}")


# -- the read side: browsing, search, exports, OPML ------------------------------------------

_DAY = click.DateTime(formats=["%Y-%m-%d"])
#: Most search results: SQLite takes a 64-bit LIMIT, and a table of more is no longer a search.
MAX_LIMIT = 10_000
_MARKS = ("\x02", "\x03")  # around search matches, turned into highlighting for the terminal


def filter_options(func: F) -> F:
    """--source, --since and --until, as ``search`` and ``export`` share them."""
    options = (
        click.option("--source", default=None, type=TEXT, help="Only articles of this source (case-insensitive)."),
        click.option("--since", type=_DAY, default=None, metavar="YYYY-MM-DD",
                     help="Only articles published on or after this day (the publisher's calendar day)."),
        click.option("--until", type=_DAY, default=None, metavar="YYYY-MM-DD",
                     help="Only articles published on or before this day (the publisher's calendar day)."),
    )
    for option in reversed(options):
        func = option(func)
    return func


def _filters(source: str | None, since: datetime | None, until: datetime | None) -> Filters:
    if since and until and since > until:
        raise click.BadParameter("--since is after --until", param_hint="'--since'")
    return Filters(source=source, since=since.date().isoformat() if since else None,
                   until=until.date().isoformat() if until else None)


def _open_archive(obj: Context) -> Store:
    """The archive database of the config, which must exist already (read commands never create it)."""
    database = obj.config.settings.database
    if not database.exists():
        raise StoreError(f"{database}: no archive database yet (run `aggregator fetch` first)")
    return Store(database)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, type=Address(),
              help="Address to listen on (0.0.0.0 opens it to the network).")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.pass_obj
@handle_errors
def serve(obj: Context, host: str, port: int) -> None:
    """Browse and search the archive in Datasette (read-only), until Ctrl-C."""
    from aggregator.tools.serve import serve as serve_archive  # Datasette is loaded by this command only

    with _open_archive(obj) as store:  # the schema is brought up to date before Datasette reads it
        database = store.path
    serve_archive(database, host=host, port=port, verbose=obj.verbosity >= 1)


@cli.command()
@click.argument("query", type=ArgText(allow_empty=True))
@filter_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, MAX_LIMIT), help="Most results shown.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "text"]), default="table", show_default=True,
              help="table: snippets with matches highlighted; json: results with snippets; text: the documents.")
@click.pass_obj
@handle_errors
def search(obj: Context, query: str, source: str | None, since: datetime | None, until: datetime | None,
           limit: int, fmt: str) -> None:
    """Full-text search over titles and bodies, best matches first."""
    filters = _filters(source, since, until)
    with _open_archive(obj) as store:
        rows = store.search(query, limit=limit, marks=JSON_MARKS if fmt == "json" else _MARKS, **filters.query())
    if fmt == "json":
        click.echo(search_json(rows))
    elif fmt == "text":
        click.echo(documents_text(rows), nl=False)
    elif not rows:
        click.echo(f"no articles match {query!r}", err=True)
    else:
        plural = "s" if len(rows) != 1 else ""
        table = Table("published", "source", "title", "snippet", "url",
                      title=f"{len(rows)} article{plural} match {query!r}")
        for row in rows:
            table.add_row(row["published"][:16].replace("T", " "), row["source"], row["title"],
                          _highlight(row["snippet"]), row["url"])
        Console(width=200 if not sys.stdout.isatty() else None).print(table)


def _highlight(snippet: str) -> Text:
    text = Text()
    for index, part in enumerate(re.split("[\x02\x03]", snippet)):
        text.append(part, style="bold yellow" if index % 2 else "")
    return text


@cli.command("fts-rebuild")
@click.pass_obj
@handle_errors
def fts_rebuild(obj: Context) -> None:
    """Rebuild the full-text search index from the articles table."""
    with _open_archive(obj) as store:
        count = store.rebuild_fts()
    click.echo(f"full-text index rebuilt: {count} articles")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True,
              help="text: the archive documents as files; jsonl or csv: one row per article.")
@filter_options
@click.option("--out", type=FilePath(path_type=Path), default=None,
              help="text: folder to write to (default: the archive folder); jsonl/csv: file (default: stdout).")
@click.pass_obj
@handle_errors
def export(obj: Context, fmt: str, source: str | None, since: datetime | None, until: datetime | None,
           out: Path | None) -> None:
    """Regenerate the text documents from the database, or stream the articles as JSON Lines or CSV."""
    filters = _filters(source, since, until)
    with _open_archive(obj) as store:
        if fmt == "text":
            root = out or obj.config.settings.archive_dir
            done = export_text(store, root, filters)
            click.echo(f"{done.written + done.unchanged} documents in {root}: {done.written} written, "
                       f"{done.unchanged} already identical")
        elif out is not None:
            with atomic_output(out) as handle:
                count = export_rows(store, fmt, handle, filters)
            click.echo(f"{count} articles written to {out}")
        else:
            _export_to_stdout(store, fmt, filters)


def _export_to_stdout(store: Store, fmt: str, filters: Filters) -> None:
    stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    try:
        export_rows(store, fmt, stream, filters)
        stream.flush()
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    finally:
        stream.detach()


@feeds.command("import")
@click.argument("file", type=FilePath(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, type=TEXT,
              help="Source name for every imported feed (default: each outline's title).")
@click.option("--timezone", default=None, type=Zone(), help="IANA zone for every imported feed, e.g. Europe/Moscow.")
@click.option("--skip-existing", is_flag=True, help="Skip feeds already configured instead of refusing the import.")
@click.pass_obj
@handle_errors
def feeds_import(obj: Context, file: Path, source: str | None, timezone: str | None, skip_existing: bool) -> None:
    """Add the feeds of an OPML file to feeds.yaml, keeping its comments and order."""
    existing = obj.config.feeds if obj.config_path.exists() else ()
    data = read_capped(file, MAX_CONFIG_BYTES, "'FILE'")
    plan = plan_import(parse_opml(data, str(file)), existing, source=source, timezone=timezone,
                       skip_existing=skip_existing)
    for line in plan.skipped:
        click.echo(f"skipped: {line}", err=True)
    if not plan.feeds:
        click.echo(f"no new feeds in {file}")
        return
    add_feeds(obj.config_path, plan.feeds)
    click.echo(f"imported {len(plan.feeds)} feeds into {obj.config_path}: {', '.join(f.id for f in plan.feeds)}")


@feeds.command("export")
@click.option("--out", type=FilePath(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: stdout).")
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


@cli.command()
@click.option("--profile", default=None, type=ProfileName(),
              help="Extraction profile to force (default: the feed's, else by site).")
@click.option("--since", default=None, metavar="DATE", type=ArgText(),
              help="Only articles published on or after DATE (YYYY-MM-DD).")
@click.option("--dry-run", is_flag=True, help="Report what would change, write nothing.")
@click.pass_obj
@handle_errors
def reextract(obj: Context, profile: str | None, since: str | None, dry_run: bool) -> None:
    """Re-run extraction on the kept pages; update the articles and text files that changed."""
    if since:
        try:
            since = datetime.strptime(since, "%Y-%m-%d").date().isoformat()
        except ValueError:
            raise click.BadParameter(f"not a date (YYYY-MM-DD): '{since}'", param_hint="'--since'") from None
    config = obj.config
    with Store(config.settings.database) as store:
        report = reextract_articles(store, config, profile=profile, since=since, dry_run=dry_run)
    for line in report_lines(report):
        click.echo(line)
    if report.failed:
        sys.exit(1)


@cli.command()
@click.option("--repair", is_flag=True, help="Rewrite missing or differing text files, delete leftover temp files.")
@click.pass_obj
@handle_errors
def doctor(obj: Context, repair: bool) -> None:
    """Check the database against the archive folder (and repair what can be repaired)."""
    with _open_archive(obj) as store:
        findings = diagnose(store, obj.config.settings.archive_dir, repair=repair)
        articles = store.count("articles")
    for finding in findings:
        click.echo(finding.line())
    remaining = sum(not finding.repaired for finding in findings)
    click.echo(f"checked {articles} articles: {len(findings) - remaining} repaired, {remaining} problems")
    if remaining:
        sys.exit(1)


def main() -> None:
    # A path given as bytes that are not UTF-8 arrives with surrogates (PEP 383); printed back it
    # must give those bytes again, not a UnicodeEncodeError (stdout is strict in a UTF-8 locale).
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.errors == "strict":
        sys.stdout.reconfigure(errors="surrogateescape")
    cli(prog_name="aggregator")


if __name__ == "__main__":
    main()
