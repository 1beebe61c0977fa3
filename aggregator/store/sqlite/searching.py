"""Full-text search statements (FTS5), shared by the store's read side and the Datasette reading
room so both find, rank and count the same articles for the same words.

An article is found by its latest text and by every earlier version of it (an edited article is
found by words only an older version had, with that version's snippet). Ranking is FTS5's BM25,
the best of the article's versions; ties go to the newest.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aggregator.store.query import RANK_WINDOW, Query, Term, parse_query

#: A result's passage, its line breaks as spaces; ``{table}`` is the FTS5 table matched.
_SNIPPET = "replace(replace(snippet({table}, -1, ?, ?, '…', 24), char(10) || char(10), ' '), char(10), ' ')"


def fts5_match(query: Query, words: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """The FTS5 MATCH expression for a parsed search (every term quoted: FTS5's own operators
    and column filters are never read from what was typed). ``words``: for a prefix as typed,
    the indexed words it begins (``prefix_words``), looked for instead of FTS5's prefix query."""
    groups = []
    for group in query.required:
        terms = [_fts5_term(term, words or {}) for term in group]
        groups.append(terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")")
    expression = " AND ".join(groups)
    for term in query.excluded:
        expression = f"({expression}) NOT {_fts5_term(term, words or {})}"
    return expression


def match_for(text: str) -> str:
    """``fts5_match(parse_query(text))``: raises InvalidQuery for a search with no word."""
    return fts5_match(parse_query(text))


def match_in(conn: sqlite3.Connection, text: str, where: ArticleFilter | None = None) -> str:
    """``match_for(text)`` with each prefix spelled out as the words it begins in this archive
    (``prefix_words``): the same matches, found without FTS5 building a prefix's whole union.

    Not for a search ``where`` narrows (``ArticleFilter.narrows``): every match is read to find
    those it keeps, and the words of a prefix merged one rowid at a time cost more than FTS5's
    union (on a million articles, a prefix of 160 words and one source: its count 1.2 s spelled
    out, 0.6 s left to FTS5; the page of results the same)."""
    query = parse_query(text)
    return fts5_match(query, prefix_words(conn, query) if where is None or not where.narrows else None)


#: A prefix that begins more indexed words than this is left to FTS5's own prefix query (the
#: same matches, its union built whole). On a million articles a prefix of 2,700 words (of 60 %
#: of the archive) took 15 s spelled out, 46 s left to FTS5.
MAX_PREFIX_WORDS = 5_000
#: how the full-text indexes read text (``enable_fts(..., tokenize="porter")`` in the schema)
_TOKENIZE = "porter"
_tokenizers = threading.local()


def prefix_words(conn: sqlite3.Connection, query: Query) -> dict[str, tuple[str, ...]]:
    """For each prefix of ``query`` (as typed), the words of either full-text index that begin
    its stem, in order, when there are 1 to MAX_PREFIX_WORDS of them and each reads as itself.

    FTS5 runs a prefix by building the union of every word it begins, whole, on every MATCH; the
    same words joined by OR are read lazily in rowid order, so a search that wants the newest
    matches stops early. The matches are the same: FTS5 stems a typed prefix ("grads*" is
    ``grad*``), and so is it here (the index's tokenizer, on a private in-memory table); the words
    are read from the indexes' own vocabulary (``fts5vocab``). A word is looked for by a text
    FTS5 stems to it (``_spellings``); a prefix with a word that has none is left to FTS5, as is
    one that is no single word ("covid-19*") or begins no word (an empty union costs nothing).
    Ranked as its words with OR, each its own BM25 term."""
    typed = sorted({term.text for term in _terms(query) if term.prefix})
    found: dict[str, tuple[str, ...]] = {}
    if not typed:
        return found
    for table in ("articles_fts", "article_versions_fts"):
        conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{table}_words USING fts5vocab(main, {table}, row)")
    for text, stems in zip(typed, tokens(typed), strict=True):
        if len(stems) != 1 or not (end := _after(stems[0])):
            continue
        words: set[str] = set()
        for table in ("articles_fts", "article_versions_fts"):
            rows = conn.execute(
                f"SELECT term FROM temp.{table}_words WHERE term >= ? AND term < ? LIMIT ?",
                [stems[0], end, MAX_PREFIX_WORDS + 1],
            )
            words.update(word for (word,) in rows)
        spelled = _spellings(sorted(words)) if 0 < len(words) <= MAX_PREFIX_WORDS else None
        if spelled:
            found[text] = spelled
    return found


#: Endings tried to write an indexed word that does not read as itself ("agre", the stem of
#: "agreed", is read as "agr"; "agree" is read as "agre").
_ENDINGS = ("e", "ed", "es", "ing", "s", "ion", "er", "al")


def _spellings(words: list[str]) -> tuple[str, ...] | None:
    """A text for each indexed word that the tokenizer reads as exactly that word (the word
    itself, else the word with one of _ENDINGS); None when a word has none."""
    spelled = list(words)
    wrong = [at for at, read in enumerate(tokens(words)) if read != [words[at]]]
    tries = [words[at] + ending for at in wrong for ending in _ENDINGS]
    read = tokens(tries)
    for n, at in enumerate(wrong):
        span = range(n * len(_ENDINGS), (n + 1) * len(_ENDINGS))
        right = [tries[k] for k in span if read[k] == [words[at]]]
        if not right:
            return None
        spelled[at] = right[0]
    return tuple(spelled)


def tokens(texts: list[str]) -> list[list[str]]:
    """Each text's words as the full-text indexes read them (stemmed, in order)."""
    conn = getattr(_tokenizers, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.execute(f"CREATE VIRTUAL TABLE words USING fts5(text, tokenize='{_TOKENIZE}')")
        conn.execute("CREATE VIRTUAL TABLE words_read USING fts5vocab(words, instance)")
        _tokenizers.conn = conn
    conn.execute("DELETE FROM words")
    conn.executemany("INSERT INTO words (rowid, text) VALUES (?, ?)", enumerate(texts, 1))
    read: list[list[str]] = [[] for _ in texts]
    for doc, term in conn.execute("SELECT doc, term FROM words_read ORDER BY doc, offset"):
        read[doc - 1].append(term)
    return read


def _terms(query: Query) -> list[Term]:
    return [term for group in query.required for term in group] + list(query.excluded)


def _after(stem: str) -> str | None:
    """The least text after every text that begins ``stem`` (None: none can be written)."""
    last = ord(stem[-1])
    return stem[:-1] + chr(last + 1) if last < 0x10FFFF and not 0xD7FF <= last < 0xE000 else None


#: How many letters the Porter stemmer may cut from the end of a typed prefix (``presiden`` of
#: "president", whose stem is ``presid``), and the shortest stem tried for one.
_STEM_CUT, _SHORTEST_STEM = 3, 4


def _fts5_term(term: Term, words: Mapping[str, tuple[str, ...]]) -> str:
    quoted = _quote(term.text)
    if not term.prefix:
        return quoted
    spelled = [_quote(word) for word in words.get(term.text, ())] or [quoted + "*"]
    # The index holds Porter stems, so a prefix longer than the stem of the words it begins
    # ("presiden*": "president" is indexed as "presid") matches none of them. The stems such a
    # word can have are the prefix cut by a few letters: they are looked for too. A miss is the
    # worse error in an archive; the cost is the odd extra match ("preside").
    cuts = [
        _quote(term.text[:-cut])
        for cut in range(1, _STEM_CUT + 1)
        if len(term.text) - cut >= _SHORTEST_STEM and term.text[:-cut][-1:].isalpha()
    ]
    alternatives = list(dict.fromkeys([*spelled, *cuts]))
    return "(" + " OR ".join(alternatives) + ")" if len(alternatives) > 1 else alternatives[0]


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

    @property
    def narrows(self) -> bool:
        """Whether it keeps only some articles (any of its values set)."""
        return any(value is not None for value in (self.source, self.feed_id, self.since, self.until))

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


def _hits(
    match: str,
    where: ArticleFilter,
    *,
    window: int | None = RANK_WINDOW,
    ranked: bool = True,
    counted: bool = False,
) -> tuple[str, list[Any]]:
    """``best``: one row per matching article that ``where`` keeps: its rowid ``r``, best ``rank``
    and where that rank came from (``v``: 0 for the latest text, else the version's rowid), for
    the newest ``window`` matching articles (rowid order is archive order). Without ``ranked`` (a
    facet) no rank is computed. ``counted`` (a statement that counts the matches too): ``hits`` is
    computed once, and each side reads one match past the window, so that "more than ``window``"
    is known from the same reading.

    Only those are ranked (BM25 is most of a match's cost, and FTS5 reads the matches newest first
    and stops at the window): a search matching at most ``window`` articles is ranked over all of
    them. The versions' side is ordered by their article, so the window is exactly the newest
    ``window`` matching articles, whichever text matched.

    The filter reads no article row: it is a set of rowids read from an index
    (``idx_articles_source_day``, ``idx_articles_day_source``), so a word found in half the
    archive costs its index entries, not half the table."""
    condition, more = where.sql()
    # the filter is checked before the rank is computed (a match it drops costs no ranking), and
    # not offered to FTS5 (the "+"), which would look up each rowid of the set in the index
    keep = "" if not more else f" AND {{r}} IN (SELECT a.rowid FROM articles a WHERE {condition})"
    limit = "" if window is None else " LIMIT ?"
    side_window = None if window is None else window + 1 if counted else window
    rank, version_rank = ("articles_fts.rank", "article_versions_fts.rank") if ranked else ("0", "0")
    sides = [
        f"SELECT articles_fts.rowid AS r, {rank} AS rank, 0 AS v FROM articles_fts "
        f"WHERE articles_fts MATCH ?{keep.format(r='+articles_fts.rowid')} ORDER BY articles_fts.rowid DESC{limit}",
        f"SELECT a.rowid AS r, {version_rank} AS rank, article_versions_fts.rowid AS v "
        "FROM article_versions_fts JOIN article_versions v ON v.rowid = article_versions_fts.rowid "
        f"JOIN articles a ON a.id = v.article_id WHERE article_versions_fts MATCH ?{keep.format(r='a.rowid')} "
        f"ORDER BY a.rowid DESC{limit}",
    ]
    side_params = [match, *more, *([side_window] if side_window is not None else [])]
    return (
        f"WITH hits AS {'MATERIALIZED ' if counted else ''}"
        f"(SELECT * FROM ({sides[0]}) UNION ALL SELECT * FROM ({sides[1]})), "
        f"best AS MATERIALIZED (SELECT r, MIN(rank) AS rank, v FROM hits GROUP BY r ORDER BY r DESC{limit}) ",
        [*side_params, *side_params, *([window] if window is not None else [])],
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
    window: int | None = RANK_WINDOW,
    counted: bool = False,
) -> tuple[str, list[Any]]:
    """The best matches first (``newest``: the latest published first): ``columns`` of
    ``articles`` plus ``snippet`` (matches between marks), among the newest ``window`` matching
    articles (None: among all; see ``_hits``, and ``query.ranked_share`` for saying so).
    ``counted``: a column ``matched`` too, on every row: how many articles match when the search
    found all of them (at most ``window``: what ``count_statement`` would say); ``window + 1``
    when more than ``window`` articles match (what ``count_statement(at_most=window)`` would say:
    the matches are not read twice, once to rank and once to count); NULL when it cannot tell
    (the earlier versions' side cut at the window by versions of fewer articles).

    The page is chosen on the matches' rowids and ranks alone; only its rows are read from
    ``articles`` and given a snippet. In relevance order, only the matches ranked as well as the
    page's last one (ties included) are read to order ties newest first."""
    head, params = _hits(match, where, window=window, counted=counted)
    if counted:
        if window is None:
            tally = "(SELECT COUNT(*) FROM best)"
        else:
            # at most the window's hits on both sides together: neither side stopped early, all are
            # in ``best``; more articles among the hits than the window: more match than it holds
            tally = (
                "CASE WHEN (SELECT COUNT(*) FROM hits) <= ? THEN (SELECT COUNT(*) FROM best) "
                "WHEN (SELECT COUNT(DISTINCT r) FROM hits) > ? THEN ? + 1 END"
            )
            params = [*params, window, window, window]
        head += f", tally AS MATERIALIZED (SELECT {tally} AS matched) "
    columns_sql = ", ".join(f"a.{c}" for c in columns) + (", (SELECT matched FROM tally) AS matched" if counted else "")
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
    if not _many_terms(match):
        # each snippet is the match run again on one row: FTS5 seeks that rowid in each term's list
        snippet = (
            "CASE WHEN page.v = 0 THEN (SELECT "
            + _SNIPPET.format(table="articles_fts")
            + " FROM articles_fts WHERE articles_fts MATCH ? AND articles_fts.rowid = page.r) ELSE (SELECT "
            + _SNIPPET.format(table="article_versions_fts")
            + " FROM article_versions_fts WHERE article_versions_fts MATCH ? AND article_versions_fts.rowid = page.v)"
            " END"
        )
        sql = (
            f"{head}, {page}SELECT {columns_sql}, {snippet} AS snippet "
            f"FROM page JOIN articles a ON a.rowid = page.r ORDER BY {order}"
        )
        return sql, [*params, *more, *marks, match, *marks, match]
    # A prefix is the union of every term it begins, which FTS5 builds whole each time the match
    # runs (seconds for a short prefix on a million articles), whatever rowid is asked for; a
    # prefix spelled out as its words costs a seek in each word's list for each rowid (60 ms a
    # row for 160 words): the page's snippets are made in one run of each side, over the page's
    # range of rowids.
    sides = " UNION ALL ".join(
        f"SELECT {side} AS side, {table}.rowid AS id, {_SNIPPET.format(table=table)} AS snippet FROM {table} "
        f"WHERE {table} MATCH ? AND {table}.rowid >= (SELECT MIN({key}) FROM page WHERE {which}) "
        f"AND {table}.rowid <= (SELECT MAX({key}) FROM page WHERE {which}) "
        f"AND +{table}.rowid IN (SELECT {key} FROM page WHERE {which})"
        for side, table, key, which in (
            (0, "articles_fts", "r", "v = 0"),
            (1, "article_versions_fts", "v", "v != 0"),
        )
    )
    sql = (
        f"{head}, {page.replace('page AS (', 'page AS MATERIALIZED (', 1)}, snippets AS MATERIALIZED ({sides}) "
        f"SELECT {columns_sql}, s.snippet AS snippet FROM page "
        "JOIN articles a ON a.rowid = page.r "
        "LEFT JOIN snippets s ON s.side = (page.v != 0) AND s.id = IIF(page.v = 0, page.r, page.v) "
        f"ORDER BY {order}"
    )
    return sql, [*params, *more, *marks, match, *marks, match]


#: The alternatives (OR) from which a match's snippets are made over the page's range of rowids
#: rather than one row at a time (a prefix spelled out as its words has as many).
_SCANNED_ALTERNATIVES = 8


def _many_terms(match: str) -> bool:
    """Whether an FTS5 expression of ``fts5_match`` has a prefix term (``"presid"*``) or at
    least _SCANNED_ALTERNATIVES alternatives; a quote doubled inside a term may say so wrongly,
    which costs time, never a different result."""
    return '"*' in match or match.count(" OR ") + 1 >= _SCANNED_ALTERNATIVES


def count_statement(match: str, where: ArticleFilter, *, at_most: int | None = None) -> tuple[str, list[Any]]:
    """How many articles match (one row, column ``n``): those whose latest text matches, plus
    those only an earlier version of matches. Each is a count FTS5 makes on its own index (no
    match is ranked, grouped or read from ``articles``).

    ``at_most``: counting stops after that many (``n`` is then ``at_most + 1``: "more than"), so
    that a word in half the archive is not counted to the last article (its whole list read)."""
    condition, more = where.sql()
    keep = "" if not more else f" AND {{r}} IN (SELECT a.rowid FROM articles a WHERE {condition})"
    latest = (
        f"SELECT articles_fts.rowid FROM articles_fts WHERE articles_fts MATCH ?{keep.format(r='+articles_fts.rowid')}"
    )
    earlier = (
        "SELECT DISTINCT a.rowid FROM article_versions_fts "
        "JOIN article_versions v ON v.rowid = article_versions_fts.rowid JOIN articles a ON a.id = v.article_id "
        f"WHERE article_versions_fts MATCH ?{keep.format(r='a.rowid')} AND NOT EXISTS (SELECT 1 FROM articles_fts "
        "WHERE articles_fts MATCH ? AND articles_fts.rowid = a.rowid)"
    )
    params = [match, *more, match, *more, match]
    if at_most is None:
        return f"SELECT (SELECT COUNT(*) FROM ({latest})) + (SELECT COUNT(*) FROM ({earlier})) AS n", params
    sql = f"SELECT COUNT(*) AS n FROM (SELECT * FROM ({latest} LIMIT ?) UNION ALL SELECT * FROM ({earlier}) LIMIT ?)"
    return sql, [*params[: 1 + len(more)], at_most + 1, *params[1 + len(more) :], at_most + 1]


#: The facets a search can be narrowed by: name -> the expression on ``articles a`` it counts.
FACETS = {"source": "a.source", "feed_id": "a.feed_id", "month": "substr(a.day, 1, 7)"}


def facet_statement(
    match: str, facet: str, where: ArticleFilter, *, limit: int = 30, window: int | None = RANK_WINDOW
) -> tuple[str, list[Any]]:
    """The newest ``window`` matching articles (None: all) counted by one of FACETS (columns
    ``value``, ``n``; most first, and months newest first): each counted match is an article row
    read, so a search with more matches than the window is faceted on the window it ranked."""
    expression = FACETS[facet]
    head, params = _hits(match, where, window=window, ranked=False)
    order = "value DESC" if facet == "month" else "n DESC, value"
    sql = (
        f"{head}SELECT {expression} AS value, COUNT(*) AS n FROM best JOIN articles a ON a.rowid = best.r "
        f"GROUP BY value ORDER BY {order} LIMIT ?"
    )
    return sql, [*params, limit]


def facets_statement(
    match: str, facets: tuple[str, ...], where: ArticleFilter, *, limit: int = 30, window: int | None = RANK_WINDOW
) -> tuple[str, list[Any]]:
    """Several of FACETS in one statement (columns ``facet``, ``value``, ``n``): each facet's
    rows as ``facet_statement`` gives them, the facets in the order asked. The window of matches
    is found, and its articles' rows read, once for all of them (not once per facet)."""
    head, params = _hits(match, where, window=window, ranked=False)
    arms = []
    for at, facet in enumerate(facets):
        order = "value DESC" if facet == "month" else "n DESC, value"
        arms.append(
            f"SELECT * FROM (SELECT {at} AS at, '{facet}' AS facet, value, n, ROW_NUMBER() OVER (ORDER BY {order}) "
            f"AS place FROM (SELECT {facet} AS value, COUNT(*) AS n FROM hit_rows GROUP BY value) "
            f"ORDER BY {order} LIMIT ?)"
        )
    columns = ", ".join(f"{FACETS[facet]} AS {facet}" for facet in facets)
    sql = (
        f"{head}, hit_rows AS MATERIALIZED (SELECT {columns} FROM best JOIN articles a ON a.rowid = best.r) "
        f"SELECT facet, value, n FROM ({' UNION ALL '.join(arms)}) ORDER BY at, place"
    )
    return sql, [*params, *([limit] * len(facets))]
