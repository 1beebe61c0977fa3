"""A paywalled page whose public teaser is all there is: archived, flagged ``teaser``, exported with the flag."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.models import FeedSpec
from aggregator.store import open_store
from aggregator.tools.export import Filters, export_rows
from tests.helpers.mock import Harness, Routes, html, rss, run

FEED = FeedSpec(id="daily", url="https://news.example.org/rss", source="Example Daily", timezone="Europe/London")
PAGE_URL = "https://news.example.org/2024/03/01/budget"
#: A subscriber story: JSON-LD says it is not free, the page shows two public paragraphs and a paywall box.
PAYWALLED = """<html><head><title>Budget talks stall - Example Daily</title>
<meta property="og:type" content="article">
<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2024-03-01T09:30:00+00:00",
 "isAccessibleForFree": false, "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": false,
 "cssSelector": ".paywall"}}</script></head><body>
<article><h1>Budget talks stall as ministers disagree over spending</h1>
<p>Talks on next year's budget stalled on Friday after ministers failed to agree on how much to cut.</p>
<p>The finance minister said a compromise was still possible before the deadline at the end of March,
and more talks are planned.</p>
<div class="paywall"><p>Subscribe to continue reading.</p></div></article></body></html>"""
BODY = (
    "Talks on next year's budget stalled on Friday after ministers failed to agree on how much to cut.\n\n"
    "The finance minister said a compromise was still possible before the deadline at the end of March, "
    "and more talks are planned."
)


def test_a_paywalled_page_is_archived_as_its_teaser_flagged_and_exported(tmp_path: Path) -> None:
    routes: Routes = {
        FEED.url: html(rss(PAGE_URL, pub_date="Fri, 01 Mar 2024 09:40:00 +0000"), content_type="application/rss+xml"),
        PAGE_URL: html(PAYWALLED),
    }
    results, db = run(tmp_path, routes, (FEED,))
    assert [(r.archived, r.failed) for r in results] == [(1, 0)]
    assert db.execute("SELECT url, body, teaser, extractor FROM articles").fetchall() == [
        (PAGE_URL, BODY, 1, "generic@7")
    ]
    db.close()
    jsonl, table = io.StringIO(), io.StringIO()
    with open_store(tmp_path / "a.db") as store:
        assert export_rows(store, "jsonl", jsonl, Filters()) == 1
        assert export_rows(store, "csv", table, Filters()) == 1
    row = json.loads(jsonl.getvalue())
    assert (row["teaser"], row["body"]) == (1, BODY)
    assert next(csv.DictReader(io.StringIO(table.getvalue())))["teaser"] == "1"


#: The same story once the paywall is lifted: the whole text, free to read.
FREE = PAYWALLED.replace(
    '"isAccessibleForFree": false, "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": '
    'false,\n "cssSelector": ".paywall"}',
    '"isAccessibleForFree": true',
).replace(
    '<div class="paywall"><p>Subscribe to continue reading.</p></div>', "<p>" + "The rest of the story. " * 12 + "</p>"
)


def test_a_revisit_finding_the_paywall_lifted_or_back_sets_the_flag_with_the_new_version(tmp_path: Path) -> None:
    clock = [datetime.now(UTC).replace(microsecond=0)]
    routes: Routes = {
        FEED.url: html(rss(PAGE_URL, pub_date="Fri, 01 Mar 2024 09:40:00 +0000"), content_type="application/rss+xml"),
        PAGE_URL: html(PAYWALLED),
    }
    h = Harness(tmp_path, routes, clock=lambda: clock[0], retries=0)
    assert [r.archived for r in h.run((FEED,))] == [1]

    def revisit_after(hours: int) -> dict[str, int]:
        clock[0] += timedelta(hours=hours)
        return h.revisit((FEED,))

    routes[PAGE_URL] = html(FREE)
    assert revisit_after(1) == {"edited": 1}
    assert h.rows("SELECT version, teaser FROM articles") == [(2, 0)]
    routes[PAGE_URL] = html(PAYWALLED)
    assert revisit_after(5) == {"edited": 1}
    assert h.rows("SELECT version, teaser, body FROM articles") == [(3, 1, BODY)]
