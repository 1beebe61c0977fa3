"""What the counts the store keeps cost PostgreSQL's inserts: the production write path (a feed's
new entries added per 20, then each article saved against its entry) on an archive with the count
triggers and on one without them, rounds taken in turn on one throwaway server.

    python -m benchmarks.pg_counts --rounds 6 --articles 400

Needs Debian's PostgreSQL binaries (or ``AGGREGATOR_TEST_POSTGRES``), as the tests do.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import psycopg

from aggregator.models import FeedSpec
from aggregator.store import open_store
from tests.helpers.postgres import fresh_database
from tests.helpers.stores import new_article

FEEDS = [FeedSpec(f"f{n}", f"https://f{n}.example/rss", f"Feed {n}") for n in range(5)]
#: What "without the counts" takes away: every trigger that keeps them.
_UNCOUNTED = (
    "DROP TRIGGER entries_counted_ins ON entries",
    "DROP TRIGGER entries_counted_upd ON entries",
    "DROP TRIGGER entries_counted_del ON entries",
    "DROP TRIGGER polls_counted ON polls",
    "DROP TRIGGER articles_counted ON articles",
)
_serial = itertools.count()


def archive(counted: bool) -> str:
    """A new archive's URL, with or without the count triggers."""
    url = fresh_database()
    with open_store(url) as store:
        store.sync_feeds(FEEDS)
    with psycopg.connect(url, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None
        # the time spent in the count functions, per function (pg_stat_user_functions)
        conn.execute(f"ALTER DATABASE \"{name[0]}\" SET track_functions = 'all'")
        for statement in () if counted else _UNCOUNTED:
            conn.execute(statement)
    return url


def counting_ms(url: str) -> float:
    """Milliseconds spent so far in the functions that keep the counts (the triggers' own)."""
    time.sleep(0.6)  # the backends report their function times when idle, at most every 500 ms
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT COALESCE(SUM(total_time), 0) FROM pg_stat_user_functions "
            "WHERE funcname IN ('aggregator_entries_counted', 'aggregator_polls_counted', "
            "'aggregator_articles_counted')"
        ).fetchone()
    return float(row[0]) if row else 0.0


def write_round(url: str, articles: int) -> float:
    """Articles per second through ``add_entries`` (per 20) and ``save_article`` (each)."""
    with open_store(url) as store:
        started = time.perf_counter()
        for batch in range(0, articles, 20):
            feed = FEEDS[(batch // 20) % len(FEEDS)].id
            entries = []
            for _ in range(20):
                n = next(_serial)
                link = f"https://site.example/story/{n}"
                entries.append({"key": f"k{n}", "link": link, "url": link, "title": None, "feed_published": None})
            store.add_entries(feed, entries)
            for entry in entries:
                article = new_article(entry["url"], f"{int(entry['key'][1:]):016d}", feed_id=feed)
                store.save_article(article, (feed, entry["key"]))
        return articles / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--articles", type=int, default=400, help="articles written a round, per archive")
    args = parser.parse_args()
    counted, uncounted = archive(True), archive(False)
    ratios = []
    for n in range(args.rounds):
        with_counts = write_round(counted, args.articles)
        without = write_round(uncounted, args.articles)
        ratios.append(with_counts / without)
        print(f"round {n + 1}: {with_counts:.0f} articles/s counted, {without:.0f} without, {ratios[-1]:.2f}")
    print(f"median ratio (counted / without): {statistics.median(ratios):.2f}")
    spent = counting_ms(counted) / (args.rounds * args.articles)
    print(f"in the count triggers: {spent:.3f} ms an article (server side, every round)")


if __name__ == "__main__":
    main()
