"""``aggregator export --format sqlite``: an SQLite copy of the archive (from SQLite or PostgreSQL)
in today's schema, which ``aggregator serve`` can serve, kept up to date by running it again.

The copy is opened with the SQLite store, so its migrations make today's schema and its
triggers fill the search index. The source is read in one snapshot; every table is compared
with the copy a batch at a time (the same key range on both sides) and only the rows missing or
different in the copy are written, so a rerun copies exactly what changed since the last one
(the archive never deletes rows, so nothing has to go). From PostgreSQL, a rerun reads only the
rows changed since the last finished run's snapshot (``changed_xid``, schema version 3); from
SQLite, which keeps no such record, it reads every row of both and compares them. The copy remembers its source (and
``--since``) in ``_export_state``: a file that is not such a copy is never written to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aggregator.errors import StoreError
from aggregator.models import is_database_url
from aggregator.store import iso, utc_now
from aggregator.store.tables import COPIED, SPECS, Row, Tables, open_tables, sqlite_bookkeeping
from aggregator.tools.tablecopy import BATCH_SIZE, Progress, plan, quiet, sync

#: The copy's bookkeeping: one row per table, and one (``*``) for the whole copy.
STATE = "_export_state"
DEFINITION = (
    "table_name TEXT PRIMARY KEY, source TEXT NOT NULL, since TEXT, rows INTEGER, copied INTEGER, done_at TEXT, "
    "mark TEXT"
)
_COLUMNS = ("table_name", "source", "since", "rows", "copied", "done_at", "mark")
_WHOLE = "*"

#: The articles of ``--since`` (published on or after the day, their ``day``).
_ARTICLES = "article_id IN (SELECT id FROM articles WHERE day >= ?)"


def since_filters(since: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """table -> (condition, parameters) of the rows a ``--since`` copy takes; the tables not named
    (feeds, gaps, backfill jobs and sources) are copied whole. Every row kept has its parents
    kept: the captures of the articles kept (their versions and events name no other), entries
    only when their article is kept too (an entry first seen since, of an older article, is not)."""
    return {
        "articles": ("day >= ?", (since,)),
        "article_urls": (_ARTICLES, (since,)),
        "captures": (f"{_ARTICLES} OR (article_id IS NULL AND captured_at >= ?)", (since, since)),
        "article_versions": (_ARTICLES, (since,)),
        "article_events": (_ARTICLES, (since,)),
        "entries": (f"first_seen >= ? AND (article_id IS NULL OR {_ARTICLES})", (since, since)),
        "polls": ("started_at >= ?", (since,)),
    }


@dataclass
class SQLiteExport:
    """What a run did: rows written per table (the rest were in the copy already) and in all."""

    out: Path
    source: str
    since: str | None
    written: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    fresh: bool = False


def _narrowed(source: Tables, selected: tuple[str, tuple[str, ...]], mark: str | None) -> tuple[str, tuple[str, ...]]:
    """The rows of a table a run reads: those ``--since`` takes, and of them, when the source
    tracks changes and an earlier run finished, only those changed since its snapshot."""
    where, params = selected
    if mark is None or not (changed := source.changed_since(mark)):
        return where, params
    return (f"({where}) AND {changed}" if where else changed), (*params, mark)


def source_name(database: str | Path, location: str) -> str:
    """How a copy names its source: the archive file's absolute path, or the URL without password."""
    return location if is_database_url(database) else str(Path(database).resolve())


def _previous(out: Path, source: str, since: str | None) -> dict[str, Any] | None:
    """The copy's state when ``out`` is an export copy of ``source``; refuses any other file."""
    if not out.exists():
        if not out.parent.is_dir():
            raise StoreError(f"{out}: cannot write: the folder {out.parent} does not exist")
        return None
    rows = sqlite_bookkeeping(out, STATE)
    whole = next((row for row in rows or () if row["table_name"] == _WHOLE), None)
    if whole is None:
        raise StoreError(f"{out}: exists and is not an export copy; give a new file")
    if whole["source"] != source:
        raise StoreError(f"{out}: is a copy of another archive ({whole['source']}); give a new file")
    if since is not None and whole["since"] != since:
        was = f"--since {whole['since']}" if whole["since"] else "no --since"
        raise StoreError(f"{out}: was exported with {was}; use the same or a new file")
    return whole


def export_sqlite(
    database: str | Path,
    out: Path,
    *,
    since: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress = quiet,
) -> SQLiteExport:
    """Write (or bring up to date) the SQLite copy ``out`` of the archive ``database``, of every
    article or of those published since ``since`` (YYYY-MM-DD) with what hangs off them."""
    if not is_database_url(database) and out.resolve() == Path(database).resolve():
        raise StoreError(f"{out}: is the archive itself; give another file")
    with open_tables(database) as source:
        name = source_name(database, source.location)
        previous = _previous(out, name, since)
        if previous is not None:
            since = previous["since"]  # a rerun without --since keeps the copy's
        report = SQLiteExport(out, name, since, fresh=previous is None)
        filters = since_filters(since) if since else {}
        with open_tables(out) as copy:
            copy.ensure_table(STATE, DEFINITION)
            # the mark of the last run that finished stays until this one finishes
            mark = previous["mark"] if previous else None
            copy.write_batch(STATE, _COLUMNS, _COLUMNS[:1], [(_WHOLE, name, since, None, None, None, mark)])
            with source.snapshot():  # one moment of the archive: the foreign keys hold in the copy
                new_mark = source.change_mark()
                for spec in COPIED:
                    where, params = _narrowed(source, filters.get(spec.name, ("", ())), mark)
                    table = plan(source, copy, spec, where, params)
                    report.written[spec.name] = sync(source, copy, table, size=batch_size, progress=progress)
                    report.rows[spec.name] = copy.count_rows(spec.name)
            now = iso(utc_now())
            rows: list[Row] = [(t, name, since, report.rows[t], report.written[t], now, None) for t in SPECS]
            total, copied = sum(report.rows.values()), sum(report.written.values())
            rows.append((_WHOLE, name, since, total, copied, now, new_mark))
            copy.write_batch(STATE, _COLUMNS, _COLUMNS[:1], rows)
    return report


def report_line(report: SQLiteExport) -> str:
    """One line: what the copy holds and what this run wrote."""
    articles = report.rows.get("articles", 0)
    written = sum(report.written.values())
    scope = f" published since {report.since}" if report.since else ""
    what = "written" if report.fresh else "written or updated"
    return (
        f"{articles} articles{scope} in {report.out} ({sum(report.rows.values())} rows, {written} {what}); "
        f"serve it with `aggregator serve --database {report.out}`"
    )
