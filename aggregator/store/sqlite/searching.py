"""Full-text search statements (FTS5), shared by the store's read side and the Datasette reading
room so both find, rank and count the same articles for the same words.

An article is found by its latest text and by every earlier version of it (an edited article is
found by words only an older version had, with that version's snippet). Ranking is FTS5's BM25,
the best of the article's versions; ties go to the newest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aggregator.store.query import Query, Term, parse_query

#: A result's passage, its line breaks as spaces; ``{table}`` is the FTS5 table matched.
_SNIPPET = "replace(replace(snippet({table}, -1, ?, ?, '…', 24), char(10) || char(10), ' '), char(10), ' ')"


def fts5_match(query: Query) -> str:
    """The FTS5 MATCH expression for a parsed search (every term quoted: FTS5's own operators
    and column filters are never read from what was typed)."""
    groups = []
    for group in query.required:
        terms = [_fts5_term(term) for term in group]
        groups.append(terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")")
    expression = " AND ".join(groups)
    for term in query.excluded:
        expression = f"({expression}) NOT {_fts5_term(term)}"
    return expression


def match_for(text: str) -> str:
    """``fts5_match(parse_query(text))``: raises InvalidQuery for a search with no word."""
    return fts5_match(parse_query(text))


#: How many letters the Porter stemmer may cut from the end of a typed prefix (``presiden`` of
#: "president", whose stem is ``presid``), and the shortest stem tried for one.
_STEM_CUT, _SHORTEST_STEM = 3, 4


def _fts5_term(term: Term) -> str:
    quoted = _quote(term.text)
    if not term.prefix:
        return quoted
    # The index holds Porter stems, so a prefix longer than the stem of the words it begins
    # ("presiden*": "president" is indexed as "presid") matches none of them. The stems such a
    # word can have are the prefix cut by a few letters: they are looked for too. A miss is the
    # worse error in an archive; the cost is the odd extra match ("preside").
    cuts = [
        _quote(term.text[:-cut])
        for cut in range(1, _STEM_CUT + 1)
        if len(term.text) - cut >= _SHORTEST_STEM and term.text[:-cut][-1:].isalpha()
    ]
    return "(" + " OR ".join([quoted + "*", *cuts]) + ")" if cuts else quoted + "*"


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@dataclass(frozen=True)
class ArticleFilter:
    """Which articles a search or a listing keeps: ``source`` (case-insensitive), ``feed_id``,
    and an inclusive range of publication days in the publisher's zone (YYYY-MM-DD)."""

    source: str | None = None
    feed_id: str | None = None
    since: str | None = None
    until: str | None = None

    def sql(self, alias: str = "a") -> tuple[str, list[Any]]:
        clauses, params = ["1"], []
        for clause, value in (
            (f"{alias}.source = ? COLLATE NOCASE", self.source),
            (f"{alias}.feed_id = ?", self.feed_id),
            (f"{alias}.day >= ?", self.since),
            (f"{alias}.day <= ?", self.until),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        return " AND ".join(clauses), params


def _hits(match: str, where: ArticleFilter, *, ranked: bool = True) -> tuple[str, list[Any]]:
    """``best``: one row per matching article that ``where`` keeps: its rowid ``r``, best ``rank``
    and where that rank came from (``v``: 0 for the latest text, else the version's rowid).
    Without ``ranked`` (a count, a facet) no rank is computed: BM25 is most of a match's cost.

    The filter reads no article row: it is a set of rowids read from an index
    (``idx_articles_source_day``, ``idx_articles_day_source``), so a word found in half the
    archive costs its index entries, not half the table."""
    condition, more = where.sql()
    # the filter is checked before the rank is computed (a match it drops costs no ranking), and
    # not offered to FTS5 (the "+"), which would look up each rowid of the set in the index
    keep = "" if not more else f" AND {{r}} IN (SELECT a.rowid FROM articles a WHERE {condition})"
    return (
        "WITH hits AS ("
        f"SELECT articles_fts.rowid AS r, {'articles_fts.rank' if ranked else '0'} AS rank, 0 AS v "
        f"FROM articles_fts WHERE articles_fts MATCH ?{keep.format(r='+articles_fts.rowid')} "
        f"UNION ALL SELECT a.rowid, {'article_versions_fts.rank' if ranked else '0'}, article_versions_fts.rowid "
        "FROM article_versions_fts JOIN article_versions v ON v.rowid = article_versions_fts.rowid "
        f"JOIN articles a ON a.id = v.article_id WHERE article_versions_fts MATCH ?{keep.format(r='a.rowid')}), "
        "best AS MATERIALIZED (SELECT r, MIN(rank) AS rank, v FROM hits GROUP BY r) ",
        [match, *more, match, *more],
    )


def search_statement(
    match: str,
    columns: tuple[str, ...],
    where: ArticleFilter,
    *,
    limit: int,
    offset: int = 0,
    marks: tuple[str, str] = ("[", "]"),
    newest: bool = False,
) -> tuple[str, list[Any]]:
    """The best matches first (``newest``: the latest published first): ``columns`` of
    ``articles`` plus ``snippet`` (matches between marks).

    The page is chosen on the matches' rowids and ranks alone; only its rows are read from
    ``articles`` and given a snippet. In relevance order, only the matches ranked as well as the
    page's last one (ties included) are read to order ties newest first."""
    head, params = _hits(match, where)
    if newest:
        page = (
            "page AS (SELECT best.r, best.rank, best.v, a.published FROM best JOIN articles a ON a.rowid = best.r "
            "ORDER BY datetime(a.published) DESC, best.rank, best.r LIMIT ? OFFSET ?) "
        )
        order, more = "datetime(page.published) DESC, page.rank, page.r", [limit, offset]
    else:
        page = (
            "page AS (SELECT best.r, best.rank, best.v, a.published FROM best JOIN articles a ON a.rowid = best.r "
            "WHERE best.rank <= COALESCE((SELECT rank FROM best ORDER BY rank LIMIT 1 OFFSET ?), 9e999) "
            "ORDER BY best.rank, a.published DESC, best.r LIMIT ? OFFSET ?) "
        )
        order, more = "page.rank, page.published DESC, page.r", [max(0, limit + offset - 1), limit, offset]
    snippet = (
        "CASE WHEN page.v = 0 THEN (SELECT "
        + _SNIPPET.format(table="articles_fts")
        + " FROM articles_fts WHERE articles_fts MATCH ? AND articles_fts.rowid = page.r) ELSE (SELECT "
        + _SNIPPET.format(table="article_versions_fts")
        + " FROM article_versions_fts WHERE article_versions_fts MATCH ? AND article_versions_fts.rowid = page.v) END"
    )
    sql = (
        f"{head}, {page}SELECT {', '.join(f'a.{c}' for c in columns)}, {snippet} AS snippet "
        f"FROM page JOIN articles a ON a.rowid = page.r ORDER BY {order}"
    )
    return sql, [*params, *more, *marks, match, *marks, match]


def count_statement(match: str, where: ArticleFilter) -> tuple[str, list[Any]]:
    """How many articles match (one row, column ``n``)."""
    head, params = _hits(match, where, ranked=False)
    return f"{head}SELECT COUNT(*) AS n FROM best", params


#: The facets a search can be narrowed by: name -> the expression on ``articles a`` it counts.
FACETS = {"source": "a.source", "feed_id": "a.feed_id", "month": "substr(a.day, 1, 7)"}


def facet_statement(match: str, facet: str, where: ArticleFilter, *, limit: int = 30) -> tuple[str, list[Any]]:
    """The matching articles counted by one of FACETS (columns ``value``, ``n``; most first, and
    months newest first)."""
    expression = FACETS[facet]
    head, params = _hits(match, where, ranked=False)
    order = "value DESC" if facet == "month" else "n DESC, value"
    sql = (
        f"{head}SELECT {expression} AS value, COUNT(*) AS n FROM best JOIN articles a ON a.rowid = best.r "
        f"GROUP BY value ORDER BY {order} LIMIT ?"
    )
    return sql, [*params, limit]
