"""The obvious alternative a user would write: a sequential loop into SQLite.

    /work/venv/bin/python -m benchmarks.alternative DB FEED_URL [FEED_URL ...]

``feedparser.parse(url)`` on each feed (it fetches by itself, with urllib), then for each entry
whose link is not in the database yet: ``httpx.get(link)``, ``trafilatura.extract(html)`` and an
INSERT; one commit per feed. No conditional GET, no concurrency, no canonical URLs, no text files.
"""

from __future__ import annotations

import sqlite3
import sys

import feedparser
import httpx
import trafilatura

SCHEMA = "CREATE TABLE IF NOT EXISTS articles (url TEXT PRIMARY KEY, title TEXT, published TEXT, text TEXT)"


def archive(db_path: str, feed_urls: list[str]) -> int:
    conn = sqlite3.connect(db_path)
    conn.execute(SCHEMA)
    added = 0
    for feed_url in feed_urls:
        feed = feedparser.parse(feed_url)
        for entry in feed.entries:
            link = entry.get("link")
            if not link or conn.execute("SELECT 1 FROM articles WHERE url = ?", (link,)).fetchone():
                continue
            response = httpx.get(link)
            text = trafilatura.extract(response.text)
            conn.execute(
                "INSERT INTO articles VALUES (?, ?, ?, ?)", (link, entry.get("title"), entry.get("published"), text)
            )
            added += 1
        conn.commit()
    conn.close()
    return added


if __name__ == "__main__":
    print(archive(sys.argv[1], sys.argv[2:]))
