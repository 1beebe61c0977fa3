"""Datasette's hooks for the reading room (registered in this process only, not for other
Datasette installations).

- our pages: ``/`` (the front page), ``/-/search``, ``/-/search.atom``, ``/-/documents/ID.txt``;
- the articles list opens on what people read first (published, source, headline, URL), and
  its search box leads to the ranked search page;
- ids link to their article, URLs are links, article texts keep their line breaks;
- every error is Datasette's own page and one log line, not a printed traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import markupsafe
from datasette import hookimpl
from datasette.app import Datasette
from datasette.utils.asgi import Base400, Request, Response
from datasette.views.base import DatasetteError

from aggregator.tools.reading_room import atom, pages
from aggregator.tools.reading_room.pages import DATABASE_NAME

log = logging.getLogger("aggregator")

#: Columns shown as text with their line breaks kept, wherever they appear (tables and queries).
TEXT_COLUMNS = frozenset({"document", "body"})
#: The columns the articles list opens with; every other one is a click away ("Show all columns").
READING_COLUMNS = ("published", "source", "title", "url")
#: Columns holding an article's id, in the tables and stored queries of the archive.
ARTICLE_ID_COLUMNS = frozenset({"id", "article_id"})
_ARTICLE_ID = re.compile(r"[0-9a-f]{16}")
_LINKED_ID_TABLES = frozenset(
    {None, "articles", "entries", "article_versions", "article_events", "captures", "article_urls"}
)
ASGIApp = Callable[[dict[str, Any], Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Awaitable[Response]]]]:
    return [
        (r"^/$", pages.front_page),
        (r"^/-/search$", pages.search_page),
        (r"^/-/search\.atom$", atom.search_feed),
        (r"^/-/documents/(?P<name>[^/]+)\.txt$", pages.document_text),
    ]


@hookimpl
def menu_links(datasette: Datasette) -> list[dict[str, str]]:
    return [
        {"href": datasette.urls.path("/"), "label": "Front page"},
        {"href": datasette.urls.path("/-/search"), "label": "Search the archive"},
        {"href": datasette.urls.table(DATABASE_NAME, "articles"), "label": "All articles"},
    ]


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str) -> markupsafe.Markup | None:
    if database != DATABASE_NAME or not isinstance(value, str):
        return None
    if column in TEXT_COLUMNS:
        return markupsafe.Markup('<div class="aggregator-text">{}</div>').format(value)
    if column in ARTICLE_ID_COLUMNS and table in _LINKED_ID_TABLES and _ARTICLE_ID.fullmatch(value):
        return markupsafe.Markup('<a href="/{}/articles/{}">{}</a>').format(DATABASE_NAME, value, value)
    if column == "title" and table == "articles" and "id" in row.keys():  # noqa: SIM118 (a Row's `in` looks at its values)
        return markupsafe.Markup('<a class="headline" href="/{}/articles/{}">{}</a>').format(
            DATABASE_NAME, row["id"], value
        )
    if value.startswith(("https://", "http://")) and " " not in value:
        return markupsafe.Markup('<a href="{}" rel="noreferrer">{}</a>').format(value, value)
    return None


@hookimpl
def extra_template_vars(
    view_name: str, table: str | None, database: str | None, request: Request | None, datasette: Datasette
) -> Callable[[], Awaitable[dict[str, Any]]] | None:
    if view_name != "row" or table != "articles" or database != DATABASE_NAME or request is None:
        return None

    async def extras() -> dict[str, Any]:
        return await pages.article_extras(request, datasette)

    return extras


@hookimpl
def asgi_wrapper(datasette: Datasette) -> Callable[[ASGIApp], ASGIApp]:
    """The articles list as people read it: a search from its box goes to the ranked search page,
    and the list opens on READING_COLUMNS. Only pages: the JSON and CSV answers are Datasette's own."""
    articles = f"/{DATABASE_NAME}/articles"

    def wrap(app: ASGIApp) -> ASGIApp:
        async def reading_list(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope.get("method") == "GET" and scope.get("path") == articles:
                query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
                keys = {key for key, _ in query}
                target = None
                if "_search" in keys:
                    words = next(value for key, value in query if key == "_search")
                    source = next((value for key, value in query if key == "source"), None)
                    target = "/-/search?" + urlencode({"q": words, **({"source": source} if source else {})})
                elif not query and not _from_the_list(scope, articles):
                    # Only the bare list: any parameter (a sort, a facet, "Show all columns" from
                    # the list itself) is a choice already made.
                    target = articles + "?" + urlencode([("_col", c) for c in READING_COLUMNS])
                if target is not None:
                    await Response.redirect(target).asgi_send(send)
                    return
            await app(scope, receive, send)

        return reading_list

    return wrap


def _from_the_list(scope: dict[str, Any], articles: str) -> bool:
    """Whether the request follows a link on the articles list itself (its column menu's "Show
    all columns" leaves no parameter behind)."""
    for name, value in scope.get("headers", []):
        if name == b"referer":
            return urlsplit(value.decode("latin-1")).path == articles
    return False


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
        if request.path.endswith((".json", ".atom", ".txt")):
            return Response.json(info, status=status)
        template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
        page = await template.render_async(
            dict(info, urls=datasette.urls, app_css_hash=datasette.app_css_hash(), menu_links=lambda: [])
        )
        return Response.html(page, status=status)

    return inner
