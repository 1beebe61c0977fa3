"""The archive database behind one interface."""

from __future__ import annotations

from aggregator.store.sqlite import Store

__all__ = ["Store"]
