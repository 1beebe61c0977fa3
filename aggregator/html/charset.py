"""Bytes of an HTML page -> text (the only user of charset-normalizer).

The order, as browsers do it: a byte order mark; the charset of the HTTP ``Content-Type`` header;
a ``<meta charset>``, ``<meta http-equiv="content-type">`` or XML declaration in the first
4 KB; then detection (strict UTF-8 first, then charset-normalizer); UTF-8 with replacement
characters last. A declared charset that cannot decode the bytes (a mis-declared page) falls
through to the next step. Labels map as the WHATWG Encoding standard maps them: ``latin-1``,
``iso-8859-1`` and ``ascii`` mean windows-1252, ``gb2312`` means GBK, and so on.

The feed parser reads a header's charset and an XML declaration's encoding with the functions
here too, so one pattern decides what a declared label is.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

#: Byte-order marks and their codecs, longest first where one is another's prefix.
BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: Python codec name -> the codec browsers really use for that label.
_WHATWG = {
    "iso8859_1": "cp1252",
    "ascii": "cp1252",
    "iso8859_9": "cp1254",
    "iso8859_11": "cp874",
    "tis_620": "cp874",
    "gb2312": "gbk",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
}
_PRESCAN_BYTES = 4096
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:\-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([\w.:\-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:\-]+)""", re.IGNORECASE)


def codec_for(label: str) -> str | None:
    """The Python codec for a charset label as a browser reads it; ``None`` for an unknown label."""
    try:
        name = codecs.lookup(label.strip()).name.replace("-", "_")
    except LookupError:
        return None
    return _WHATWG.get(name, name)


def header_charset(content_type: str) -> str | None:
    """The charset label of a ``Content-Type`` header value, as written; None when it names none."""
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def xml_encoding(document: bytes) -> str | None:
    """The encoding label of the XML declaration the document starts with, as written; else None."""
    match = _XML_ENCODING.match(document)
    return match.group(1).decode("ascii") if match else None


def _meta_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def declared_codecs(content: bytes, content_type: str | None = None) -> list[str]:
    """Codecs the response declares, strongest first: the header's, then the document's own.

    Unknown labels are left out. A document that names UTF-16 in an ASCII-readable ``<meta>``
    cannot be UTF-16, so that label means UTF-8 (HTML spec, "prescan a byte stream")."""
    found = []
    if content_type and (label := header_charset(content_type)):
        found.append(codec_for(label))
    head = content[:_PRESCAN_BYTES]
    for label in (_meta_charset(head), xml_encoding(head)):
        if label:
            codec = codec_for(label)
            found.append("utf_8" if codec and codec.startswith("utf_16") else codec)
    return [codec for codec in found if codec]


def decode_html(content: bytes, content_type: str | None = None) -> str:
    """Decode a page's bytes to text; never raises for undecodable input."""
    for bom, codec in BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(codec, errors="replace")
    for codec in declared_codecs(content, content_type):
        text = _try_decode(content, codec)
        if text is not None:
            return text
    return _detect(content)


def _try_decode(content: bytes, codec: str) -> str | None:
    try:
        return content.decode(codec)
    # LookupError: a codec such as base64 is no charset; UnicodeError: "punycode" or "undefined"
    # named as a page's charset fail with it rather than with UnicodeDecodeError
    except (UnicodeError, LookupError):
        return None


def guess_encoding(content: bytes) -> str | None:
    """The most likely encoding of bytes that are not UTF-8 and declare nothing usable, or None."""
    best = charset_normalizer.from_bytes(content).best()
    return best.encoding if best is not None else None


def _detect(content: bytes) -> str:
    text = _try_decode(content, "utf-8")
    if text is not None:
        return text
    guessed = guess_encoding(content)
    text = _try_decode(content, guessed) if guessed else None
    return text if text is not None else content.decode("utf-8", errors="replace")
