"""Article -> the FORMAT.md document: its publication date, its text, its file (written atomically)."""

from __future__ import annotations

from aggregator.document.render import document_relpath, parse_document, render_document, source_slug

__all__ = ["document_relpath", "parse_document", "render_document", "source_slug"]
