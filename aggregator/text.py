"""Small text rules every layer shares (standard library only): written once, here.

Whitespace collapsing, control characters, cutting at a word boundary and slugs are decided the
same way wherever a title, a paragraph, a message or a folder name is made, so they live in one
leaf module that imports nothing of ours.
"""

from __future__ import annotations

import re
import unicodedata

#: C0 control characters other than tab, line feed and carriage return, and DEL.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: What a one-line message must not hold: C0 controls, DEL, lone surrogates (not storable as UTF-8).
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_NOT_ALNUM = re.compile(r"[\W_]+")


def collapse(text: str) -> str:
    """Whitespace (spaces, NBSP, tabs, newlines) collapsed to single spaces, ends stripped."""
    return " ".join(text.split())


def strip_controls(text: str) -> str:
    """``text`` without C0 control characters (tab, line feed and carriage return kept) and DEL."""
    return _CONTROLS.sub("", text)


def one_line(text: str) -> str:
    """``text`` collapsed, with control characters and lone surrogates as ``?``: fit for a log line or
    a stored error message."""
    return UNPRINTABLE.sub("?", collapse(text))


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: unchanged when it fits, else cut at a word
    boundary and marked with "…" (inside a word only when its second half has no space)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space >= limit // 2 else cut).rstrip() + "…"


def slug(text: str, *, max_chars: int, ascii_only: bool = False) -> str:
    """``text`` in lower case, each run of characters other than letters and digits as ``-``, cut at
    ``max_chars``, no leading or trailing ``-``; ``""`` when no letter or digit is left.

    Letters and digits are Unicode ones (the text NFC-normalised first), or with ``ascii_only``
    ASCII ones: the text is NFKD-decomposed and what is not ASCII dropped (``é`` -> ``e``)."""
    if ascii_only:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    else:
        text = unicodedata.normalize("NFC", text)
    return _NOT_ALNUM.sub("-", text.lower())[:max_chars].strip("-")
