"""``aggregator reextract``: run extraction again on the kept pages, after a profile fix.

For each archived article whose page was kept (its newest full capture in the WARC files, or a
page kept in the database before them), of one source and between two publication days when
asked (as ``export`` selects them), the page is extracted again with the profile forced on the
command line, else the one configured on the article's feed, else the one the site chooses;
the article is dated and rendered exactly as the pipeline does it. An article whose title,
body, document, extractor or date changed is updated in one transaction and its text file
rewritten atomically. Its path never changes (FORMAT.md: the running number is never reused or
moved): when the date changes, the document says the new date, the file stays where it is, and
the report says so. A page whose extraction now fails is reported and its row left as it was:
archived text is never deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aggregator.capture import read_record
from aggregator.document.article import render_article
from aggregator.document.dating import date_flag
from aggregator.document.textfiles import write_document
from aggregator.errors import CaptureError, ExtractError
from aggregator.extract.response import article_from_response
from aggregator.models import Config, Response
from aggregator.pipeline.captures import warc_folder
from aggregator.profiles import feed_profile
from aggregator.store import Store
from aggregator.tools.export import Filters

#: Fields compared between the stored row and the new extraction, in report order.
COMPARED = ("title", "body", "document", "extractor", "published", "teaser")


@dataclass
class Report:
    """What a re-extraction found: one line per changed or failed article, and the counts."""

    lines: list[str] = field(default_factory=list)
    checked: int = 0
    changed: int = 0
    failed: int = 0
    no_page: int = 0

    def summary(self) -> str:
        return f"checked {self.checked}, changed {self.changed}, failed {self.failed}, no page kept {self.no_page}"


def reextract(
    store: Store,
    config: Config,
    *,
    profile: str | None = None,
    filters: Filters | None = None,
    dry_run: bool = False,
) -> Report:
    """Re-extract every article that has a kept page, or those ``filters`` select (as ``export`` does)."""
    report = Report()
    folder = warc_folder(config.settings)
    for row in store.articles_to_reextract(**(filters or Filters()).query()):
        report.checked += 1
        try:
            page = _kept_page(store, folder, row["id"])
        except CaptureError as exc:  # named by the database, unreadable in its file: doctor says more
            report.failed += 1
            report.lines.append(f"{row['id']} {row['url']}: FAILED (capture), row kept: {exc}")
            continue
        if page is None:
            report.no_page += 1
            continue
        try:
            new = _extracted(row, page, config, profile)
        except ExtractError as exc:
            report.failed += 1
            report.lines.append(f"{row['id']} {row['url']}: FAILED ({exc.reason}), row kept: {exc}")
            continue
        changed = [name for name in COMPARED if new[name] != row[name]]
        if not changed:
            continue
        report.changed += 1
        report.lines.append(_line(row, new, changed, dry_run))
        if not dry_run:
            _apply(store, config, row, new)
    return report


def _kept_page(store: Store, folder: Path, article_id: str) -> tuple[str, str | None, bytes] | None:
    """(URL, content type, body) of the article's page as last kept: its newest full capture, else
    the page kept in the database before WARC (moved by the next fetch or run)."""
    ref = store.page_capture(article_id)
    if ref is not None:
        record = read_record(folder, ref.file, ref.offset)
        return ref.url, record.content_type, record.body()
    kept = store.kept_page(article_id)
    return (kept.url, kept.content_type, kept.html) if kept is not None else None


def _extracted(
    row: dict[str, Any], page: tuple[str, str | None, bytes], config: Config, forced: str | None
) -> dict[str, Any]:
    """The row's fields as extraction gives them today (pure but for the configured feed)."""
    page_url, content_type, content = page
    feed = config.feed(row["feed_id"]) if row["feed_id"] else None
    response = Response(
        url=page_url,
        final_url=page_url,
        status=200,
        headers={"content-type": content_type} if content_type else {},
        content=content,
    )
    article = article_from_response(response, profile=forced or (feed_profile(feed) if feed else None))
    feed_published = _moment(row["feed_published"])
    first_seen = _moment(row["first_seen"]) or _moment(row["fetched_at"])
    assert first_seen is not None, "an archived article always has its fetch time"
    document, published, via = render_article(
        article,
        source=row["source"],
        timezone=feed.timezone if feed else None,
        feed_published=feed_published,
        first_seen=first_seen,
    )
    return {
        "title": article.title,
        "body": article.body,
        "document": document,
        "extractor": article.extractor,
        "published": published.isoformat(),
        "published_via": via,
        "date_flag": date_flag(article.published, feed_published),
        "teaser": int(article.teaser),
    }


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _line(row: dict[str, Any], new: dict[str, Any], changed: list[str], dry_run: bool) -> str:
    line = f"{row['id']} {row['url']}: {', '.join(changed)} changed"
    if "extractor" in changed:
        line += f" ({row['extractor']} -> {new['extractor']})"
    if "published" in changed:
        line += f"; date {row['published']} -> {new['published']}, file kept at {row['path']}"
    return line + (" (dry run: nothing written)" if dry_run else "")


def _apply(store: Store, config: Config, row: dict[str, Any], new: dict[str, Any]) -> None:
    store.update_extraction(row["id"], new)
    if config.settings.write_text:
        write_document(Path(config.settings.archive_dir), row["path"], new["document"])
        store.mark_text_written(row["id"])


def report_lines(report: Report) -> Iterator[str]:
    """The report as printed: the article lines, then the count line."""
    yield from report.lines
    yield report.summary()
