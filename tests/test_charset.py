"""decode_html: BOM, then the header, then the document's declaration, then detection; and the
declarations' labels as the feed parser reads them too."""

from __future__ import annotations

import codecs

import pytest

from aggregator.html.charset import codec_for, declared_codecs, decode_html, header_charset, xml_encoding

RUSSIAN = (
    "Президенты России и Азербайджана Владимир Путин и Ильхам Алиев обсудили в телефонном разговоре "
    "региональную проблематику, сообщила пресс-служба Кремля. Стороны обменялись мнениями в контексте "
    "обострения ситуации на азербайджано-армянской границе в июле этого года."
)


def html(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}<title>Новости</title></head><body><p>{body}</p></body></html>"


PAGE = html(RUSSIAN)


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r", "utf-8"])
def test_undeclared_russian_pages_are_detected(encoding: str) -> None:
    assert decode_html(PAGE.encode(encoding)) == PAGE
    assert decode_html(PAGE.encode(encoding), "text/html") == PAGE


def test_misdeclared_page_falls_through_to_detection() -> None:
    """The header says UTF-8, the bytes are windows-1251."""
    assert decode_html(PAGE.encode("cp1251"), "text/html; charset=utf-8") == PAGE
    meta = html(RUSSIAN, '<meta charset="utf-8">')
    assert decode_html(meta.encode("cp1251")) == meta


def test_the_header_wins_over_the_document() -> None:
    page = html(RUSSIAN, '<meta charset="koi8-r">')
    assert decode_html(page.encode("cp1251"), 'text/html; charset="windows-1251"') == page


@pytest.mark.parametrize(
    "head",
    [
        '<meta charset="windows-1251">',
        "<meta charset=windows-1251>",
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
    ],
)
def test_meta_charset(head: str) -> None:
    page = html(RUSSIAN, head)
    assert decode_html(page.encode("cp1251")) == page


def test_xml_declaration() -> None:
    page = '<?xml version="1.0" encoding="koi8-r"?>' + html(RUSSIAN)
    assert decode_html(page.encode("koi8_r")) == page


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_bom_wins(bom: bytes, encoding: str) -> None:
    page = html(RUSSIAN, '<meta charset="windows-1251">')
    assert decode_html(bom + page.encode(encoding), "text/html; charset=koi8-r") == page


def test_latin1_label_means_windows_1252() -> None:
    page = '<html><head><meta charset="ISO-8859-1"></head><body>“Quotes” and € are not ISO-8859-1</body></html>'
    assert decode_html(page.encode("cp1252")) == page
    assert decode_html(page.encode("cp1252"), "text/html; charset=latin-1") == page


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("utf-8", "utf_8"),
        ("UTF8", "utf_8"),
        ("latin-1", "cp1252"),
        ("iso-8859-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("windows-1251", "cp1251"),
        ("KOI8-R", "koi8_r"),
        ("gb2312", "gbk"),
        ("x-no-such-charset", None),
    ],
)
def test_codec_for(label: str, codec: str | None) -> None:
    assert codec_for(label) == codec


def test_declared_codecs_order_and_utf16_in_meta() -> None:
    page = b'<html><head><meta charset="utf-16"></head></html>'
    assert declared_codecs(page, "text/html; charset=koi8-r") == ["koi8_r", "utf_8"]
    assert declared_codecs(b"<html>", "text/html; charset=bogus") == []


def test_undecodable_bytes_never_raise() -> None:
    assert isinstance(decode_html(bytes(range(256)) * 4, "text/html; charset=base64"), str)
    assert decode_html(b"") == ""


@pytest.mark.parametrize("label", ["punycode", "undefined", "idna", "base64", "rot13"])
def test_codecs_that_are_no_charset_fall_through_to_detection(label: str) -> None:
    """``punycode`` and ``undefined`` fail with UnicodeError, not UnicodeDecodeError."""
    page = html(RUSSIAN, head=f'<meta charset="{label}">')
    assert decode_html(page.encode("utf-8")) == page
    assert decode_html(page.encode("utf-8"), f"text/html; charset={label}") == page
    assert isinstance(decode_html(b"\xff\xfe\x80 abc\\x +2AA-", f"text/html; charset={label}"), str)


@pytest.mark.parametrize(
    ("content_type", "label"),
    [
        ("text/xml; charset=windows-1251", "windows-1251"),
        ('application/rss+xml; Charset="KOI8-R"', "KOI8-R"),
        ("text/html;charset='utf-8'; q=1", "utf-8"),
        ("text/html", None),
        ("", None),
    ],
)
def test_header_charset_is_the_label_as_written(content_type: str, label: str | None) -> None:
    assert header_charset(content_type) == label


@pytest.mark.parametrize(
    ("document", "label"),
    [
        (b'<?xml version="1.0" encoding="windows-1251"?><rss/>', "windows-1251"),
        (b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?><feed/>", "UTF-8"),
        (b'<?xml version="1.0"?><rss encoding="koi8-r"/>', None),  # not in the declaration
        (b'<rss><?xml version="1.0" encoding="koi8-r"?></rss>', None),  # not at the start
        (b"<rss/>", None),
    ],
)
def test_xml_encoding_is_the_declarations_label(document: bytes, label: str | None) -> None:
    assert xml_encoding(document) == label
