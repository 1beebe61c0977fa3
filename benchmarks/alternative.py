"""The loop a careful user would write instead: sequential, one keep-alive client, into SQLite.

    /work/venv/bin/python -m benchmarks.alternative [--proxy ORIGIN] DB FEED_URL [FEED_URL ...]

One ``httpx.Client`` (keep-alive: one connection per host, reused) fetches each feed, which
``feedparser.parse`` reads; then for each entry whose link is not in the database yet:
``client.get(link)``, ``trafilatura.extract(html)`` and an INSERT; one commit per feed. No
conditional GET, no concurrency, no canonical URLs, no text files, no WARC captures. ``--proxy``
sends every request through the benchmark site, as the archiver's ``proxy:`` setting does.
"""

from __future__ import annotations

import argparse
import sqlite3

import feedparser
import httpx
import trafilatura

SCHEMA = "CREATE TABLE IF NOT EXISTS articles (url TEXT PRIMARY KEY, title TEXT, published TEXT, text TEXT)"


def archive(db_path: str, feed_urls: list[str], proxy: str | None = None) -> int:
    conn = sqlite3.connect(db_path)
    conn.execute(SCHEMA)
    added = 0
    with httpx.Client(proxy=proxy, timeout=60, trust_env=False) as client:
        for feed_url in feed_urls:
            feed = feedparser.parse(client.get(feed_url).content)
            for entry in feed.entries:
                link = entry.get("link")
                if not link or conn.execute("SELECT 1 FROM articles WHERE url = ?", (link,)).fetchone():
                    continue
                text = trafilatura.extract(client.get(link).text)
                conn.execute(
                    "INSERT INTO articles VALUES (?, ?, ?, ?)", (link, entry.get("title"), entry.get("published"), text)
                )
                added += 1
            conn.commit()
    conn.close()
    return added


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy")
    parser.add_argument("db")
    parser.add_argument("feeds", nargs="+")
    args = parser.parse_args()
    print(archive(args.db, args.feeds, args.proxy))
