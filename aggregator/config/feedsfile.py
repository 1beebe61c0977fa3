"""Adding feeds to feeds.yaml in place: the only user of ruamel.yaml.

A round-trip edit keeps the file's comments, key order, quoting and indentation; new feeds are
appended to ``feeds:`` in the style of the last one there (block or flow). The merged file is
validated with ``config.parse_config`` before it replaces the old one (atomically).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from aggregator.config.load import parse_config
from aggregator.document.textfiles import write_document
from aggregator.errors import ConfigError
from aggregator.models import Config, FeedSpec

#: Indentation for a file that shows none: the README's style (``feeds:\n  - id: ...``).
DEFAULT_INDENT = (2, 4, 2)
_INDENTED_KEY = re.compile(r"^( +)(?![-#\s])\S")


def add_feeds(path: Path, feeds: Sequence[FeedSpec]) -> Config:
    """Append ``feeds`` to the config file at ``path`` (created when missing); returns the new config."""
    text = _read(path)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long URLs
    yaml.indent(**dict(zip(("mapping", "sequence", "offset"), _guess_indent(text), strict=True)))
    try:
        data = yaml.load(text) if text.strip() else None
    except YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    prefix = ""
    if data is None:  # an empty file, or only comments: keep them above the new content
        data, prefix = CommentedMap(), text if not text or text.endswith("\n") else text + "\n"
    if not isinstance(data, CommentedMap):
        raise ConfigError(f"{path}: the top level must be a mapping with 'settings' and 'feeds'")
    if data.get("feeds") is None:
        data["feeds"] = CommentedSeq()
    existing = data["feeds"]
    if not isinstance(existing, CommentedSeq):
        raise ConfigError(f"{path}: 'feeds' must be a list")
    flow = bool(existing) and isinstance(existing[-1], CommentedMap) and existing[-1].fa.flow_style()
    for feed in feeds:
        entry = CommentedMap(_feed_fields(feed))
        if flow:
            entry.fa.set_flow_style()
        existing.append(entry)
    out = io.StringIO()
    yaml.dump(data, out)
    merged = prefix + out.getvalue()
    config = parse_config(merged, path)
    write_document(path.parent, path.name, merged)
    return config


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None


def _guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation as the file uses it."""
    mapping_default, sequence_default, offset_default = DEFAULT_INDENT
    try:
        _, sequence, offset = load_yaml_guess_indent(text) if text.strip() else (None, None, None)
    except YAMLError:
        sequence = offset = None  # the real load reports the error
    indents = [len(m.group(1)) for m in map(_INDENTED_KEY.match, text.splitlines()) if m]
    mapping = min(indents, default=None)
    if sequence is None or offset is None:
        sequence, offset = sequence_default, offset_default
    return mapping or mapping_default, sequence, offset


def _feed_fields(feed: FeedSpec) -> dict[str, Any]:
    """What feeds.yaml says about a new feed: defaults left out."""
    fields: dict[str, Any] = {"id": feed.id, "url": feed.url, "source": feed.source}
    if feed.timezone:
        fields["timezone"] = feed.timezone
    if feed.profile:
        fields["profile"] = feed.profile
    if not feed.enabled:
        fields["enabled"] = False
    return fields
