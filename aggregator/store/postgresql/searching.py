"""Full-text search statements: the search language of ``aggregator.store.query`` as a PostgreSQL
``tsquery``, and the article filter every listing shares.

Each term is its own ``phraseto_tsquery('english', %s)``: a word is its stem, ``"an exact
phrase"`` (or ``covid-19``) its words in order (``<->``); a prefix appends ``:*`` to the stem
of its last word. Terms combine with ``||`` (OR), ``&&`` (every group) and ``!!`` (leave out), so
that what was typed is always a parameter, never read as tsquery syntax: quotes, ``&``, ``|``,
``!`` or ``:*`` typed are only characters of words. As with SQLite, an article is found by its
latest text and by every earlier version; the rank is ``ts_rank_cd``, the best of its versions,
ties to the newest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aggregator.store.query import Query, Term, parse_query

#: How many letters the stemmer may cut from the end of a typed prefix, and the shortest stem
#: tried for one (``presiden*``: "president" is indexed as ``presid``), as the SQLite backend does.
_STEM_CUT, _SHORTEST_STEM = 3, 4

_PHRASE = "phraseto_tsquery('english', %s)"
#: a stem as a prefix (a word that is only a stop word stays the empty query, which matches nothing)
_PREFIX = f"(CASE WHEN numnode({_PHRASE}) = 0 THEN ''::tsquery ELSE ({_PHRASE}::text || ':*')::tsquery END)"


def _term(term: Term) -> tuple[str, list[Any]]:
    if not term.prefix:
        return _PHRASE, [term.text]
    stems = [term.text] + [
        term.text[:-cut]
        for cut in range(1, _STEM_CUT + 1)
        if len(term.text) - cut >= _SHORTEST_STEM and term.text[:-cut][-1:].isalpha()
    ]
    return "(" + " || ".join(_PREFIX for _ in stems) + ")", [p for stem in stems for p in (stem, stem)]


def tsquery(query: Query) -> tuple[str, list[Any]]:
    """A SQL expression of type tsquery for a parsed search, and its parameters."""
    parts, params = [], []
    for group in query.required:
        terms = [_term(term) for term in group]
        parts.append("(" + " || ".join(sql for sql, _ in terms) + ")")
        params += [p for _, more in terms for p in more]
    for term in query.excluded:
        sql, more = _term(term)
        parts.append(f"(!!{sql})")
        params += more
    return "(" + " && ".join(parts) + ")", params


def tsquery_for(text: str) -> tuple[str, list[Any]]:
    """``tsquery(parse_query(text))``: raises InvalidQuery for a search with no word."""
    return tsquery(parse_query(text))


@dataclass(frozen=True)
class ArticleFilter:
    """Which articles a search or a listing keeps: ``source`` (case-insensitive), ``feed_id``,
    and an inclusive range of publication days in the publisher's zone (YYYY-MM-DD)."""

    source: str | None = None
    feed_id: str | None = None
    since: str | None = None
    until: str | None = None

    def sql(self, alias: str = "a") -> tuple[str, list[Any]]:
        clauses, params = ["TRUE"], []
        for clause, value in (
            (f"lower({alias}.source) = lower(%s)", self.source),
            (f"{alias}.feed_id = %s", self.feed_id),
            (f"{alias}.day >= %s", self.since),
            (f"{alias}.day <= %s", self.until),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        return " AND ".join(clauses), params


def _best(query: str, where: ArticleFilter) -> tuple[str, list[Any]]:
    """``q`` (the query) and ``best``: one row per matching article ``where`` keeps: its id, best
    ``rank`` and where that came from (``v``: 0 for the latest text, else the version)."""
    condition, more = where.sql()
    expression, params = tsquery_for(query)
    return (
        f"WITH q AS MATERIALIZED (SELECT {expression} AS q), hits AS ("
        "SELECT a.id, ts_rank_cd(a.fts, q.q) AS rank, 0 AS v FROM articles a, q "
        f"WHERE a.fts @@ q.q AND {condition} "
        "UNION ALL SELECT a.id, ts_rank_cd(v.fts, q.q), v.version FROM article_versions v "
        f"JOIN articles a ON a.id = v.article_id, q WHERE v.fts @@ q.q AND {condition}), "
        "best AS (SELECT DISTINCT ON (id) id, rank, v FROM hits ORDER BY id, rank DESC, v) ",
        [*params, *more, *more],
    )


def _headline(column: str) -> str:
    text = f"replace(replace(ts_headline('english', {column}, q.q, %s), E'\\n\\n', ' '), E'\\n', ' ')"
    return text


def search_statement(
    query: str, columns: tuple[str, ...], where: ArticleFilter, *, limit: int, marks: tuple[str, str] = ("[", "]")
) -> tuple[str, list[Any]]:
    """The best matches first: ``columns`` of ``articles`` plus ``snippet`` (the matches between
    ``marks``, from the body when it matches, else the title; of the version that matched)."""
    head, params = _best(query, where)
    options = f'StartSel="{marks[0]}", StopSel="{marks[1]}", MaxWords=24, MinWords=12, HighlightAll=false'
    source = (
        "(CASE WHEN page.v = 0 THEN a.{c} ELSE (SELECT x.{c} FROM article_versions x "
        "WHERE x.article_id = a.id AND x.version = page.v) END)"
    )
    body, title = source.format(c="body"), source.format(c="title")
    snippet = (
        f"CASE WHEN to_tsvector('english', {body}) @@ q.q OR NOT (to_tsvector('english', {title}) @@ q.q) "
        f"THEN {_headline(body)} ELSE {_headline(title)} END"
    )
    sql = (
        f"{head}, page AS (SELECT best.id, best.rank, best.v FROM best JOIN articles a ON a.id = best.id "
        "ORDER BY best.rank DESC, a.published DESC, a.rowid LIMIT %s) "
        f"SELECT {', '.join(f'a.{c}' for c in columns)}, {snippet} AS snippet "
        "FROM page JOIN articles a ON a.id = page.id, q ORDER BY page.rank DESC, a.published DESC, a.rowid"
    )
    return sql, [*params, limit, options, options]


def count_statement(query: str, where: ArticleFilter, *, at_most: int | None = None) -> tuple[str, list[Any]]:
    """How many articles match (one row, column ``n``); ``at_most``: counted to that many and one
    more (``n`` is then ``at_most + 1``: "more than"), as the SQLite backend does."""
    head, params = _best(query, where)
    if at_most is None:
        return f"{head}SELECT COUNT(*) AS n FROM best", params
    return f"{head}SELECT COUNT(*) AS n FROM (SELECT 1 FROM best LIMIT %s) counted", [*params, at_most + 1]
