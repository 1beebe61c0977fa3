"""Browsing the archive with Datasette: the only user of datasette and uvicorn.

The database is served read-only (``mode=ro``, not immutable) under the name ``archive``, so
the archiver can keep writing to it (WAL) while people read. The configuration shipped in
``aggregator/datasette/`` gives titles, descriptions, sorts, facets and stored queries; the
plugin below (registered in-process, not for other Datasette installations) keeps the line
breaks of article texts, and answers errors with Datasette's own pages and one log line each
instead of a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from pathlib import Path
from typing import Any

import markupsafe
import uvicorn
from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import pm
from datasette.utils import parse_metadata
from datasette.utils.asgi import Base400, Request, Response
from datasette.views.base import DatasetteError

from aggregator.errors import AggregatorError, StoreError

log = logging.getLogger("aggregator")

DATA = Path(__file__).parent / "datasette"
DATABASE_NAME = "archive"
PLUGIN_NAME = "aggregator"
#: Datasette's default error handler, as its plugin manager names it
DEFAULT_ERRORS = "datasette.handle_exception"
#: Columns shown as text with their line breaks kept, wherever they appear (tables and queries).
TEXT_COLUMNS = frozenset({"document", "body"})
SETTINGS = {"default_page_size": 50, "facet_time_limit_ms": 1000, "sql_time_limit_ms": 5000}


@hookimpl
def render_cell(value: Any, column: str) -> markupsafe.Markup | None:
    """Article texts keep their line breaks (escaped; styled by aggregator.css)."""
    if column in TEXT_COLUMNS and isinstance(value, str):
        return markupsafe.Markup('<div class="aggregator-text">{}</div>').format(value)
    return None


@hookimpl
def handle_exception(datasette: Datasette, request: Request, exception: Exception) -> Any:
    """Every error response as Datasette renders it, minus the traceback it prints (with every
    local variable) for each: one log line instead. A request Datasette cannot answer because of
    what it asks (an unknown ``_sort`` column, a search the full-text syntax cannot read) is the
    request's error (400), not the server's (500)."""

    async def inner() -> Response:
        status, message, title = 500, str(exception), None
        if isinstance(exception, Base400):
            status, message = exception.status, str(exception.args[0]) if exception.args else message
        elif isinstance(exception, DatasetteError):
            status, message, title = exception.status, exception.message, exception.title
            if status == 500 and exception.__cause__ is None:  # raised about the request itself
                status = 400
        if "fts5: syntax error" in message or "unterminated string" in message:
            status, message = 400, "not a search the full-text index can read (an unbalanced quote?)"
        line = " ".join(message.split())
        if status >= 500:
            log.error("serve: %s %s: %d %s: %s", request.method, request.path, status, type(exception).__name__, line)
        else:
            log.info("serve: %s %s: %d %s", request.method, request.path, status, line)
        info = {"ok": False, "error": message, "status": status, "title": title}
        if request.path.endswith(".json"):
            return Response.json(info, status=status)
        template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
        page = await template.render_async(
            dict(info, urls=datasette.urls, app_css_hash=datasette.app_css_hash(), menu_links=lambda: [])
        )
        return Response.html(page, status=status)

    return inner


def metadata() -> dict[str, Any]:
    """The shipped Datasette metadata (titles, descriptions, sorts, facets, stored queries)."""
    return parse_metadata((DATA / "metadata.yaml").read_text(encoding="utf-8"))


def build(database: Path) -> Datasette:
    """A Datasette instance serving ``database`` read-only as ``archive``, with our configuration."""
    if not pm.has_plugin(PLUGIN_NAME):
        pm.register(sys.modules[__name__], name=PLUGIN_NAME)
    if pm.has_plugin(DEFAULT_ERRORS):
        # Datasette runs every handle_exception hook, and its own prints a traceback with every
        # local variable for each error response: ours (above) renders the same pages without it.
        pm.unregister(name=DEFAULT_ERRORS)
    datasette = Datasette(metadata=metadata(), settings=SETTINGS, static_mounts=[("-/aggregator", str(DATA))])
    datasette.add_database(Database(datasette, path=str(database), is_mutable=True), name=DATABASE_NAME)
    return datasette


async def check(datasette: Datasette) -> int:
    """Start Datasette's plugins and read the archive once; returns the number of articles."""
    await datasette.invoke_startup()
    result = await datasette.get_database(DATABASE_NAME).execute("select count(*) from articles")
    return int(result.first()[0])


def serve(database: Path, *, host: str, port: int, verbose: bool = False) -> None:
    """Serve the archive in the foreground until Ctrl-C."""
    if not database.exists():
        raise StoreError(f"{database}: no archive database yet (run `aggregator fetch` first)")
    datasette = build(database)
    try:
        articles = asyncio.run(check(datasette))
    except Exception as exc:  # whatever Datasette or SQLite raise, one line
        raise StoreError(f"{database}: cannot serve the archive: {exc}") from None
    _check_port(host, port)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/{DATABASE_NAME}/articles"
    print(f"serving {database} ({articles} articles) at {url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    uvicorn.run(datasette.app(), host=host, port=port, log_level="info" if verbose else "warning", access_log=verbose)


def _check_port(host: str, port: int) -> None:
    """Fail with one line, before Datasette starts, when the address cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise AggregatorError(f"cannot listen on {host}:{port}: {reason}") from None
