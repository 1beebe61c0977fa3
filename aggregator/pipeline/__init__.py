"""The flows: refresh a feed, archive its pages; per-item failures recorded, never raised."""

from __future__ import annotations

from aggregator.pipeline.archiver import Archiver

__all__ = ["Archiver"]
