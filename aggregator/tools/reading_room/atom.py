"""A search followed as an Atom feed (the only user of feedgen): "every TASS article that
mentions Aliyev" becomes a subscription in any feed reader.

The feed holds the newest matches, each with its full text, a link to its page in the archive
(which stays when the original goes) and the original's URL. A search with no match yet is a
valid empty feed, so it can be subscribed to before the first article arrives.
"""

from __future__ import annotations

from datetime import UTC, datetime

from datasette.app import Datasette
from datasette.utils.asgi import BadRequest, Request, Response
from feedgen.feed import FeedGenerator

from aggregator.errors import InvalidQuery
from aggregator.store.sqlite.searching import match_for, search_statement
from aggregator.tools.reading_room.pages import DATABASE_NAME, Search, archive_match

#: Entries in a search's feed: the newest matches.
FEED_SIZE = 50
COLUMNS = ("id", "title", "published", "changed_at", "source", "url", "body")


async def search_feed(request: Request, datasette: Datasette) -> Response:
    search = Search.from_request(request)
    if not search.text:
        raise BadRequest("q: the search to follow is missing (e.g. ?q=Aliyev)")
    try:
        match_for(search.text)
    except InvalidQuery as exc:
        raise BadRequest(f"q: {exc}") from None
    match = await archive_match(datasette, search.text, search.where)
    sql, params = search_statement(match, COLUMNS, search.where, limit=FEED_SIZE, marks=("", ""), newest=True)
    rows = [dict(row) for row in await datasette.get_database(DATABASE_NAME).execute(sql, params)]
    home = datasette.absolute_url(request, datasette.urls.instance())
    page = datasette.absolute_url(request, "/-/search" + search.link(sort="newest"))
    feed = FeedGenerator()
    feed.id(page)
    feed.title(f"{_title(datasette)}: {_describe(search)}")
    feed.subtitle(f"The newest articles of the archive at {home} that match {search.text!r}")
    feed.link(href=page, rel="alternate", type="text/html")
    feed.link(href=datasette.absolute_url(request, request.full_path), rel="self", type="application/atom+xml")
    feed.generator("aggregator")
    updated = [_updated(row) for row in rows]
    feed.updated(max(updated) if updated else datetime.now(UTC).replace(microsecond=0))
    for row, when in zip(reversed(rows), reversed(updated), strict=True):  # feedgen adds entries on top
        entry = feed.add_entry()
        entry.id(row["url"])
        entry.title(row["title"])
        entry.updated(when)
        entry.published(_moment(row["published"]))
        entry.author({"name": row["source"]})
        # One link, to the archive's page (which stays when the original goes): feedgen 1.0 writes
        # no rel on an entry's links, so a second one (the original) would read as alternate too.
        # The original is the entry's id and is named in its summary.
        entry.link(href=datasette.absolute_url(request, f"/{DATABASE_NAME}/articles/{row['id']}"))
        entry.summary(f"{row['source']}, {row['published']}: {row['url']}")
        entry.content(row["body"], type="text")
    return Response(feed.atom_str(pretty=True), content_type="application/atom+xml; charset=utf-8")


def _updated(row: dict[str, str]) -> datetime:
    return _moment(row["changed_at"] or row["published"])


def _moment(text: str) -> datetime:
    """A stored time as Atom needs it: with its offset (one without is UTC)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _describe(search: Search) -> str:
    narrowed = [f"{name} {value}" for name, value in search.params.items() if name not in ("q", "sort")]
    return f"“{search.text}”" + (f" ({', '.join(narrowed)})" if narrowed else "")


def _title(datasette: Datasette) -> str:
    return str((datasette.metadata() or {}).get("title") or "News archive")
