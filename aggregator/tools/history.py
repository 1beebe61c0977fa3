"""``aggregator history``: what an article said at each version, what changed, and when it was
removed and restored, from the store's versions and events (a pure function of them)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from typing import Any

#: Lines of context around each change in a version's diff.
CONTEXT = 2


def _text(version: dict[str, Any]) -> list[str]:
    """A version as the diff compares it: the headline, a blank line, the body's lines."""
    return [version["title"], "", *version["body"].splitlines()]


def timeline(history: dict[str, Any]) -> list[dict[str, Any]]:
    """Versions and removals or restorations in the order they happened; each version with the
    unified diff of its text from the version before (none for the first)."""
    items: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for version in history["versions"]:
        diff = []
        if previous is not None:
            diff = list(
                difflib.unified_diff(
                    _text(previous),
                    _text(version),
                    f"version {previous['version']}",
                    f"version {version['version']}",
                    n=CONTEXT,
                    lineterm="",
                )
            )
        items.append(
            {
                "kind": "version",
                "at": version["seen_at"],
                "version": version["version"],
                "title": version["title"],
                "path": version["path"],
                "diff": diff,
            }
        )
        previous = version
    items += [
        {"kind": event["kind"], "at": event["at"], "version": event["version"], "detail": event["detail"]}
        for event in history["events"]
        if event["kind"] != "edited"  # a version of its own above
    ]
    order = {"version": 0, "removed": 1, "restored": 2}
    return sorted(items, key=lambda item: (item["at"], order.get(item["kind"], 3), item.get("version") or 0))


def history_lines(history: dict[str, Any]) -> Iterator[str]:
    """The text report: a line for the article, then one per version or event, each version's
    diff indented below it."""
    versions = len(history["versions"])
    state = "removed" if history["status"] == "removed" else "live"
    yield f"{history['id']} {history['url']} ({versions} version{'s' if versions != 1 else ''}, {state})"
    for item in timeline(history):
        if item["kind"] == "version":
            yield f"{item['at']}  version {item['version']}: {item['title']}  [{item['path']}]"
            yield from (f"    {line}" for line in item["diff"])
        else:
            detail = f" ({item['detail']})" if item["detail"] else ""
            yield f"{item['at']}  {item['kind']}{detail}"


def history_json(history: dict[str, Any]) -> str:
    return json.dumps(
        {
            "id": history["id"],
            "url": history["url"],
            "source": history["source"],
            "status": history["status"],
            "removed_at": history["removed_at"],
            "versions": len(history["versions"]),
            "timeline": timeline(history),
        },
        ensure_ascii=False,
        indent=2,
    )
