"""What a person types in a search box, read into terms any full-text engine can run (stdlib only).

The language is the one search boxes taught everyone: words that must all occur, ``"an exact
phrase"``, ``prefix*``, ``-word`` (or ``NOT word``) to leave out, and ``OR`` between two terms
for either. Anything else is a word: ``covid-19`` is the phrase of its two words, a lowercase
``or`` is the word "or", and an unclosed quote runs to the end. The engine (FTS5 today) decides
what a word is; this module only decides how words combine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aggregator.errors import InvalidQuery

#: A quoted phrase (possibly unclosed, running to the end) or a run of non-space characters,
#: either with a leading ``-`` for "leave out".
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Term:
    """One word or phrase: ``text`` as typed; ``prefix``: any word that begins so (``presid*``)."""

    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class Query:
    """Every group in ``required`` must match (a group matches when any of its terms does); no
    term in ``excluded`` may. ``required`` is never empty."""

    required: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()


def parse_query(text: str) -> Query:
    """Read a search; raises InvalidQuery (one line) for a search with no word to look for."""
    required: list[list[Term]] = []
    excluded: list[Term] = []
    either = leave_out = False  # the previous token was OR / NOT
    for match in _TOKEN.finditer(text):
        minus, quoted, bare = match.groups()
        if bare in ("OR", "AND", "NOT"):
            either, leave_out = (bare == "OR" and bool(required) and not leave_out), bare == "NOT"
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            minus, bare = "-", bare[1:]
        term = _term(quoted, bare)
        if term is None:
            continue
        if minus or leave_out:
            excluded.append(term)
        elif either:
            required[-1].append(term)
        else:
            required.append([term])
        either = leave_out = False
    if not required:
        if excluded:
            raise InvalidQuery("a search needs a word to look for, not only words to leave out (-word)")
        raise InvalidQuery("the search query has no words")
    return Query(tuple(tuple(group) for group in required), tuple(excluded))


def _term(quoted: str | None, bare: str | None) -> Term | None:
    if quoted is not None:
        text = " ".join(quoted.split())
        return Term(text, phrase=True) if _WORD.search(text) else None
    assert bare is not None
    prefix = bare.endswith("*")
    text = bare.rstrip("*") if prefix else bare
    return Term(text, prefix=prefix) if _WORD.search(text) else None


#: The most matches a search ranks: when more articles match, the best of the newest this many
#: (in archive order) are shown, and saying so is the caller's part ("best of the newest 10,000
#: of 204,938 matches"). Ranking costs every match it ranks; a search matching fewer is ranked
#: over all of them, exactly.
RANK_WINDOW = 10_000


def ranked_share(total: int, window: int = RANK_WINDOW, *, counted_to: int | None = None) -> str | None:
    """How a result list of ``total`` matches was ranked, when it was not over all of them:
    ``"best of the newest 10,000 of 204,938 matches"``; None when every match was ranked.
    ``counted_to``: the matches were counted to that many and one more, as
    ``count_matches(at_most=...)`` does: a total above it is ``"best of the newest 10,000
    matches"`` (how many more match is not known)."""
    if total <= window:
        return None
    if counted_to is not None and total > counted_to:
        return f"best of the newest {window:,} matches"
    return f"best of the newest {window:,} of {total:,} matches"


def how_many(total: int, counted_to: int | None = None) -> str:
    """A count of matches as said: ``"204,938"``, or ``"more than 10,000"`` for a count that
    stopped past ``counted_to``."""
    return f"more than {counted_to:,}" if counted_to is not None and total > counted_to else f"{total:,}"
