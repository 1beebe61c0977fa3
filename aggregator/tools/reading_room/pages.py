"""The reading room's own pages: the front page, the search page, an article's plain-text
documents, and what the article page shows beside the row (versions, events, feed items).

Every statement here only reads, through Datasette's read-only connection to the archive; the
search statements are the store's own (``store.sqlite.searching``), so the browser and ``aggregator
search`` find, rank and count the same articles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import markupsafe
from datasette.app import Datasette
from datasette.utils.asgi import BadRequest, NotFound, Request, Response

from aggregator.errors import InvalidQuery
from aggregator.store.query import how_many, ranked_share
from aggregator.store.sqlite.searching import (
    FACETS,
    RANK_WINDOW,
    ArticleFilter,
    count_statement,
    facets_statement,
    match_for,
    match_in,
    search_statement,
)

DATABASE_NAME = "archive"
#: Results on one page of a search, and the most pages a search is read to.
PAGE_SIZE, MAX_PAGE = 20, 500
#: Marks around the matches in a snippet, never in article text (control characters are dropped
#: from it at extraction), turned into <mark> once the snippet is escaped.
MARKS = ("\x02", "\x03")
RESULT_COLUMNS = ("id", "title", "published", "source", "feed_id", "url", "version", "status")
FACET_TITLES = {"source": "Source", "feed_id": "Feed", "month": "Month"}
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_ARTICLE_ID = re.compile(r"[0-9a-f]{16}")
_DOCUMENT = re.compile(r"(?P<id>[0-9a-f]{16})(?:\.v(?P<version>[1-9][0-9]{0,5}))?")

FRONT_NUMBERS = """
select
  (select count(*) from articles) as articles,
  (select count(distinct source) from articles) as sources,
  (select count(*) from feeds where enabled) as feeds,
  (select count(*) from feeds where enabled and error_count > 0) as failing_feeds,
  (select count(*) from articles where version > 1) as edited,
  (select count(*) from articles where status = 'removed') as removed,
  (select count(*) from entries where status in ('pending', 'failed')) as to_retry,
  (select count(*) from entries where status = 'abandoned') as abandoned,
  (select count(*) from gaps where status != 'filled') as open_gaps,
  (select max(last_polled_at) from feeds) as last_poll,
  (select min(day) from articles) as first_day,
  (select max(day) from articles) as last_day
"""
LATEST = (
    "select id, title, published, source, url, version, status from articles "
    "order by datetime(published) desc, rowid desc limit 12"
)
TROUBLED_FEEDS = (
    "select id, source, status, error_count, last_error_reason, last_error, last_success_at from feeds "
    "where enabled and error_count > 0 order by error_count desc, id limit 10"
)


async def front_page(request: Request, datasette: Datasette) -> Response:
    """The archive at a glance: numbers, the charts of the ``archive`` dashboard, the latest
    articles and the feeds in trouble, under a search box."""
    db = datasette.get_database(DATABASE_NAME)
    numbers = dict((await db.execute(FRONT_NUMBERS)).first())
    dashboard = (datasette.plugin_config("datasette-dashboards") or {}).get(DATABASE_NAME, {})
    context = {
        "numbers": numbers,
        "latest": [dict(row) for row in await db.execute(LATEST)],
        "troubled": [dict(row) for row in await db.execute(TROUBLED_FEEDS)],
        "charts": dashboard.get("charts", {}),
        "absolute_url": datasette.absolute_url(request, datasette.urls.instance()),
        "metadata": datasette.metadata(),
    }
    return Response.html(await datasette.render_template("front.html", context, request=request))


@dataclass
class Search:
    """A search as the search page reads it from the query string."""

    text: str
    where: ArticleFilter
    month: str | None
    newest: bool
    page: int
    #: the query string of this search without ``page`` (links to other pages add it)
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: Request) -> Search:
        args = request.args
        text = " ".join(args.get("q", "").split())
        month = args.get("month") or None
        if month is not None and not _MONTH.fullmatch(month):
            raise BadRequest(f"month: not a month (YYYY-MM): {month!r}")
        try:
            page = int(args.get("page") or 1)
        except ValueError:
            raise BadRequest(f"page: not a page number: {args.get('page')!r}") from None
        if not 1 <= page <= MAX_PAGE:
            raise BadRequest(f"page: between 1 and {MAX_PAGE}, not {page}")
        sort = args.get("sort") or "relevance"
        if sort not in ("relevance", "newest"):
            raise BadRequest(f"sort: relevance or newest, not {sort!r}")
        where = ArticleFilter(
            source=args.get("source") or None,
            feed_id=args.get("feed_id") or None,
            since=f"{month}-01" if month else None,
            until=f"{month}-31" if month else None,
        )
        params = {"q": text}
        for key, value in (("source", where.source), ("feed_id", where.feed_id), ("month", month)):
            if value:
                params[key] = value
        if sort == "newest":
            params["sort"] = "newest"
        return cls(text, where, month, sort == "newest", page, params)

    def link(self, **changes: str | None) -> str:
        """This search's page URL with some parameters changed (None: removed)."""
        params = dict(self.params)
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return "?" + urlencode(params)


async def search_page(request: Request, datasette: Datasette) -> Response:
    """Ranked results with highlighted snippets, facets to narrow them, pages, and the Atom
    feed of the same search."""
    search = Search.from_request(request)
    context: dict[str, Any] = {
        "search": search,
        "results": [],
        "total": 0,
        "facets": {},
        "error": None,
        "ranked": None,
        "window": RANK_WINDOW,
    }
    if search.text:
        try:
            match_for(search.text)
        except InvalidQuery as exc:
            context["error"] = str(exc)
        else:
            context.update(await _run(datasette, search, await archive_match(datasette, search.text, search.where)))
    # the pages of the ranked matches (more matches than the window are not ranked, not paged)
    context["pages"] = max(1, min(MAX_PAGE, -(-min(context["total"], RANK_WINDOW) // PAGE_SIZE)))
    context["matches"] = how_many(context["total"], RANK_WINDOW)
    context["atom"] = "/-/search.atom?" + urlencode({k: v for k, v in search.params.items() if k != "sort"})
    return Response.html(await datasette.render_template("search.html", context, request=request))


async def archive_match(datasette: Datasette, text: str, where: ArticleFilter) -> str:
    """The FTS5 expression of a valid search, its prefixes spelled out as the archive's words
    unless ``where`` narrows it (``match_in``: the same matches, without FTS5's whole prefix union)."""
    return str(await datasette.get_database(DATABASE_NAME).execute_fn(lambda conn: match_in(conn, text, where)))


async def _run(datasette: Datasette, search: Search, match: str) -> dict[str, Any]:
    db = datasette.get_database(DATABASE_NAME)
    sql, params = search_statement(
        match,
        RESULT_COLUMNS,
        search.where,
        limit=PAGE_SIZE,
        offset=(search.page - 1) * PAGE_SIZE,
        marks=MARKS,
        newest=search.newest,
        counted=True,
    )
    results = [dict(row) for row in await db.execute(sql, params)]
    for row in results:
        row["snippet"] = highlight(row["snippet"] or "")
    matched = {row.pop("matched") for row in results}
    if results and None not in matched:  # counted as it ranked: every match, or "more than the window"
        total = int(matched.pop())
    else:  # counted as far as the window: a word in half the archive is "more than 10,000"
        total = int((await db.execute(*count_statement(match, search.where, at_most=RANK_WINDOW))).first()[0])
    # a facet already chosen is counted without itself, so that the others stay one click away;
    # the facets counted over the same articles (all of them, without a filter) are one statement
    wheres: dict[ArticleFilter, list[str]] = {}
    for name in FACETS:
        dropped = {"since": None, "until": None} if name == "month" else {name: None}
        wheres.setdefault(replace(search.where, **dropped), []).append(name)
    facets: dict[str, list[dict[str, Any]]] = {name: [] for name in FACETS}
    for where, names in wheres.items():
        for row in await db.execute(*facets_statement(match, tuple(names), where)):
            facets[row["facet"]].append({"value": row["value"], "n": row["n"]})
    # more matches than the window: the results and the facets are of the newest RANK_WINDOW
    return {"results": results, "total": total, "facets": facets, "ranked": ranked_share(total, counted_to=RANK_WINDOW)}


def highlight(snippet: str) -> markupsafe.Markup:
    """The snippet escaped, its marked matches in <mark>."""
    out = markupsafe.Markup("")
    for index, part in enumerate(re.split("[\x02\x03]", snippet)):
        out += markupsafe.Markup("<mark>{}</mark>").format(part) if index % 2 else markupsafe.escape(part)
    return out


async def document_text(request: Request, datasette: Datasette) -> Response:
    """An article's plain-text document (``ID.txt``) or one of its earlier versions
    (``ID.vK.txt``), exactly as in the archive, for reading, citing and saving."""
    found = _DOCUMENT.fullmatch(request.url_vars["name"])
    if found is None:
        raise NotFound("no such document: the name is ID.txt or ID.vK.txt")
    db = datasette.get_database(DATABASE_NAME)
    if found["version"] is None:
        rows = await db.execute("select document from articles where id = ?", [found["id"]])
    else:
        rows = await db.execute(
            "select document from article_versions where article_id = ? and version = ?",
            [found["id"], int(found["version"])],
        )
    row = rows.first()
    if row is None:
        raise NotFound(f"no document {request.url_vars['name']}.txt in the archive")
    return Response.text(row[0])


async def article_extras(request: Request, datasette: Datasette) -> dict[str, Any]:
    """What the article page shows beside the row: its versions, what revisits found, and the
    feed items and URLs that led to it."""
    article_id = request.url_vars.get("pks", "")
    if not _ARTICLE_ID.fullmatch(article_id):
        return {}
    db = datasette.get_database(DATABASE_NAME)

    async def rows(sql: str) -> list[dict[str, Any]]:
        return [dict(row) for row in await db.execute(sql, [article_id])]

    return {
        "versions": await rows(
            "select version, seen_at, title, extractor from article_versions where article_id = ? order by version"
        ),
        "events": await rows("select at, kind, version, detail from article_events where article_id = ? order by id"),
        "items": await rows(
            "select feed_id, link, title, first_seen, origin from entries where article_id = ? order by first_seen"
        ),
        "captures": (await db.execute("select count(*) from captures where article_id = ?", [article_id])).first()[0],
        "descriptions": (datasette.table_metadata(DATABASE_NAME, "articles") or {}).get("columns", {}),
    }
