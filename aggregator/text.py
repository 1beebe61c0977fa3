"""Small text rules every layer shares (standard library only): written once, here."""

from __future__ import annotations


def collapse(text: str) -> str:
    """Whitespace (spaces, NBSP, tabs, newlines) collapsed to single spaces, ends stripped."""
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: unchanged when it fits, else cut at a word
    boundary and marked with "…" (inside a word only when its second half has no space)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space >= limit // 2 else cut).rstrip() + "…"
