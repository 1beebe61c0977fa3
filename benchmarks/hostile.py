"""How long the hostile inputs the tests refuse or survive take (the tests check what happens, this
times it; the timings are not assertions anywhere).

    .venv/bin/python -m benchmarks.hostile [--runs 3]

Each case is one call of a pure function on one crafted input: the page of 80,000 blocks under
200 levels of nesting (extraction once took minutes), the 9 MB feed nested 1.3 million levels
deep, and the entity-expansion documents the feed parser refuses before expanding anything.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from aggregator.errors import FeedError
from aggregator.extract import extract_article
from aggregator.feeds import parse_feed

URL = "https://example.org/feed.xml"


def many_blocks() -> None:
    blocks = "<p>One paragraph of the story.</p><li>One item of a list.</li>" * 40_000
    html = f"<html><body><article><h1>Headline</h1>{'<div>' * 200}{blocks}</article></body></html>".encode()
    extract_article(html, "https://example.org/a")


def _refused(body: bytes) -> None:
    try:
        parse_feed(body, url=URL)
    except FeedError:
        return
    raise SystemExit("the feed parser accepted a hostile feed")


def nested_feed() -> None:
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><guid>g</guid>'
    levels = (9 * 1024 * 1024 - len(head)) // 7
    _refused(head + b"<a>" * levels + b"</a>" * levels + b"</item></channel></rss>")


def billion_laughs() -> None:
    entities = ['<!ENTITY a0 "lol">'] + [f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)]
    _refused(
        (
            f'<?xml version="1.0"?><!DOCTYPE rss [{"".join(entities)}]><rss version="2.0"><channel>'
            "<title>&a9;</title></channel></rss>"
        ).encode()
    )


def quadratic_entity() -> None:
    _refused(
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * 100_000 + b'">\n]>\n'
        b'<rss version="2.0"><channel><title>T</title><item><title>'
        + b"&a;" * 20_000
        + b"</title><guid>g</guid></item></channel></rss>"
    )


CASES: dict[str, Callable[[], None]] = {
    "extract: 80,000 blocks under 200 levels": many_blocks,
    "feed: 9 MB nested 1.3 million levels": nested_feed,
    "feed: billion laughs": billion_laughs,
    "feed: one 100 kB entity used 20,000 times": quadratic_entity,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    print("| input | median seconds |\n|---|---:|")
    for name, case in CASES.items():
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            case()
            times.append(time.perf_counter() - start)
        print(f"| {name} | {statistics.median(times):.3f} |")


if __name__ == "__main__":
    main()
