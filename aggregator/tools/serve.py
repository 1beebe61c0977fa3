"""Serving the archive with Datasette (the reading room, ``tools.reading_room``) and uvicorn.

The database is served read-only (``mode=ro``, not immutable) under the name ``archive``, so
the archiver can keep writing to it (WAL) while people read. The configuration shipped in
``reading_room/`` gives titles, descriptions, sorts, facets, stored queries and the front page's
charts; its plugin is registered in this process only, not for other Datasette installations.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import pm
from datasette.utils import parse_metadata

from aggregator.errors import AggregatorError, StoreError
from aggregator.tools.reading_room import plugin
from aggregator.tools.reading_room.pages import DATABASE_NAME

log = logging.getLogger("aggregator")

DATA = Path(plugin.__file__).parent
PLUGIN_NAME = "aggregator"
#: Datasette's default error handler, as its plugin manager names it
DEFAULT_ERRORS = "datasette.handle_exception"
#: datasette-render-markdown, which datasette-dashboards requires for the ``render_markdown`` of
#: its templates. Its render_cell hook reads the plugin configuration for every cell of every page
#: (a third of the time of a stored query's 1,000 rows) to render the columns named *_markdown,
#: which the archive has none of: it is served without that hook.
MARKDOWN = "render_markdown"


class _MarkdownTemplates:
    """datasette-render-markdown's template hooks, without its render_cell."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.__name__ = module.__name__  # Datasette lists a plugin, and finds its files, by it

    @hookimpl
    def extra_template_vars(self) -> Any:
        return self.module.extra_template_vars()

    @hookimpl
    def prepare_jinja2_environment(self, env: Any) -> None:
        self.module.prepare_jinja2_environment(env)


#: No facet suggestions: Datasette would try a query per column on every table page, more than
#: the page itself costs on a large archive (the facets worth having are in metadata.yaml).
SETTINGS = {"default_page_size": 50, "facet_time_limit_ms": 1000, "sql_time_limit_ms": 5000, "suggest_facets": False}


def metadata() -> dict[str, Any]:
    """The shipped Datasette metadata (titles, descriptions, sorts, facets, stored queries)."""
    return parse_metadata((DATA / "metadata.yaml").read_text(encoding="utf-8"))


def build(database: Path) -> Datasette:
    """A Datasette instance serving ``database`` read-only as ``archive``, with our configuration."""
    if not pm.has_plugin(PLUGIN_NAME):
        pm.register(plugin, name=PLUGIN_NAME)
    if pm.has_plugin(DEFAULT_ERRORS):
        # Datasette runs every handle_exception hook, and its own prints a traceback with every
        # local variable for each error response: ours (above) renders the same pages without it.
        pm.unregister(name=DEFAULT_ERRORS)
    markdown = pm.get_plugin(MARKDOWN)
    if markdown is not None and not isinstance(markdown, _MarkdownTemplates):
        pm.unregister(name=MARKDOWN)
        pm.register(_MarkdownTemplates(markdown), name=MARKDOWN)
    datasette = Datasette(
        metadata=metadata(),
        settings=SETTINGS,
        template_dir=str(DATA / "templates"),
        static_mounts=[("-/aggregator", str(DATA / "static"))],
    )
    datasette.add_database(Database(datasette, path=str(database), is_mutable=True), name=DATABASE_NAME)
    datasette.remove_database("_memory")  # Datasette's scratch database: nothing of the archive
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
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
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
