"""aggregator.urls: canonical URLs refuse what cannot be normalised (InvalidURL, one line), drop
credentials, and the helpers never raise. The properties over any text are in test_properties.py."""

from __future__ import annotations

import pytest

from aggregator.errors import AggregatorError, InvalidURL
from aggregator.urls import (
    MAX_URL_CHARS,
    canonical_url,
    host_of,
    is_http_url,
    is_section_of,
    registrable_domain,
    same_site,
    usable_http_url,
    without_credentials,
    written_as_http,
)

LABEL_64 = "a" * 64


def invalid(url: str, base: str | None = None) -> InvalidURL:
    with pytest.raises(InvalidURL) as caught:
        canonical_url(url, base=base)
    error = caught.value
    assert isinstance(error, AggregatorError) and error.reason == "bad_url"
    assert "\n" not in str(error) and len(str(error)) < 600
    str(error).encode("utf-8")  # storable: no lone surrogate in the message
    return error


def test_unbalanced_bracket_is_an_invalid_url_naming_it() -> None:
    assert str(invalid("http://[::1/x")) == "invalid URL 'http://[::1/x': Invalid IPv6 URL"


def test_host_label_of_64_characters_is_an_invalid_url() -> None:
    error = invalid(f"http://{LABEL_64}.example.com/x")
    assert str(error).startswith(f"invalid URL 'http://{LABEL_64}.example.com/x': ")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://example.com:99999/", "Port out of range"),
        ("http://example.com:-1/", "Port could not be cast"),
        ("http://example.com:http/", "Port could not be cast"),
        ("http://a..example.com/", "empty label"),
        ("http://.example.com/", "empty label"),
        ("http://exa\x00mple.com/", "bad host name 'exa\\x00mple.com'"),
        ("http://exa mple.com/", "bad host name"),
        ("http://%zz.example.com/", "bad host name"),
        ("http://[]/", "does not appear to be an IPv4 or IPv6 address"),
        ("http://\u200b[::1][/", "text after the IP literal"),
        ("http://\u200b.example.com/", "label empty or too long"),
        ("http://example.com/\ud800", "lone surrogate"),
        ("http://\udcff.example.com/", "lone surrogate"),
        ("http://", "no host"),
        ("https://user:pass@/x", "no host"),
        ("http://" + "a." * 130 + "com/", "bad host name"),
    ],
)
def test_other_unusable_urls_are_invalid_urls(url: str, why: str) -> None:
    assert why in str(invalid(url))


def test_a_huge_url_is_refused_and_its_message_shortened() -> None:
    url = "https://example.com/" + "x" * 1_000_000
    message = str(invalid(url))
    assert message.startswith("invalid URL 'https://example.com/xxx")
    assert f"(1000020 characters)': longer than {MAX_URL_CHARS} characters" in message
    assert len(message) < 300


def test_the_limit_holds_after_percent_encoding_and_a_canonical_url_is_accepted_again() -> None:
    fits = "https://example.com/" + "x" * (MAX_URL_CHARS - 20)
    assert canonical_url(fits) == fits
    assert "longer than" in str(invalid("https://example.com/" + "é" * 2000))  # 6 characters each once encoded


def test_a_bad_base_is_named_too() -> None:
    assert str(invalid("/x", base="http://[::1")) == "invalid URL '/x' (against 'http://[::1'): Invalid IPv6 URL"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("http://user:pass@example.com/a?utm_source=x&id=1#top", "http://example.com/a?id=1"),
        ("https://user@Example.COM:443/a", "https://example.com/a"),
        ("https://:secret@example.com:8443/", "https://example.com:8443/"),
        ("http://user:p%40ss@[::1]:8080/x", "http://[::1]:8080/x"),
        ("http://a@b@example.com/", "http://example.com/"),
    ],
)
def test_credentials_are_never_kept(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_relative_against_a_base_with_credentials_drops_them() -> None:
    assert canonical_url("/b", base="https://u:p@example.com/a") == "https://example.com/b"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM:80/a/../b/./c?b=2&a=1", "http://example.com/b/c?b=2&a=1"),
        ("http://example.com./", "http://example.com/"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("http://example.com:0/", "http://example.com:0/"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("", "/"),
        ("mailto:news@example.com", "mailto:news@example.com"),
    ],
)
def test_valid_urls_still_normalise(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    "url", ["http://[::1/x", f"http://{LABEL_64}.com/", "http://a.com:99999/", "", "\ud800", "http://\x00/", "[", "::"]
)
def test_helpers_never_raise(url: str) -> None:
    assert isinstance(is_http_url(url), bool)
    assert isinstance(host_of(url), str)
    assert isinstance(same_site(url, "https://tass.com/"), bool)
    assert isinstance(registrable_domain(host_of(url)), str)
    assert isinstance(usable_http_url(url), bool)
    assert host_of("http://[::1/x") == "" and not is_http_url("http://[::1/x")


def test_ip_addresses_are_their_own_site() -> None:
    assert registrable_domain("1.2.3.4") == "1.2.3.4"
    assert not same_site("http://10.0.3.4/a", "http://192.168.3.4/b")
    assert registrable_domain("news.bbc.co.uk") == "bbc.co.uk"
    assert same_site("https://www.tass.com/a", "https://tass.com/b")


def test_registrable_domain_of_a_huge_host_is_not_cached() -> None:
    host = "a" * 100_000
    assert registrable_domain(host) == host


@pytest.mark.parametrize(
    ("url", "usable"),
    [
        ("https://tass.com/politics/1189047?utm_source=rss", True),
        ("https://bücher.example/a", True),
        ("http://[::1]:8080/x", True),
        ("http://[::1/x", False),
        (f"http://{LABEL_64}.com/", False),
        ("http://a.com:99999/", False),
        ("http://a..com/", False),
        ("https://example.com/" + "x" * MAX_URL_CHARS, False),
        ("https://example.com/" + "é" * 2000, False),
        ("ftp://example.com/", False),
        ("//example.com/", False),
    ],
)
def test_usable_http_url_agrees_with_canonical_url(url: str, usable: bool) -> None:
    assert usable_http_url(url) is usable
    if usable:
        assert is_http_url(canonical_url(url))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://user:pass@tass.com/politics/1?a=1#f", "http://tass.com/politics/1?a=1#f"),
        ("https://user@tass.com:8443/x", "https://tass.com:8443/x"),
        ("https://a@b@tass.com/x", "https://tass.com/x"),
        ("https://tass.com/path@with-at", "https://tass.com/path@with-at"),
        ("http://[::1/x", "http://[::1/x"),  # unparseable: left to canonical_url to refuse
    ],
)
def test_credentials_are_removed_from_links_as_written(url: str, expected: str) -> None:
    assert without_credentials(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://tass.com/x", True),
        ("HTTP://[::1/x", True),  # broken, but meant as a web address
        ("http:relative", True),
        ("javascript:void(0)", False),
        ("mailto:a@b.c", False),
        ("httpx://a", False),
        ("/path/only", False),
        ("", False),
    ],
)
def test_written_as_http_looks_at_the_scheme_only(url: str, expected: bool) -> None:
    assert written_as_http(url) is expected


@pytest.mark.parametrize(
    ("final", "original", "section"),
    [
        ("https://tass.com/politics/", "https://tass.com/politics/1189047", True),
        ("https://tass.com/politics", "https://tass.com/politics/1189047", True),
        ("https://www.tass.com/", "https://tass.com/politics/1189047", True),
        ("https://tass.com/politics/1189047", "https://tass.com/politics/1189047", False),
        ("https://tass.com/world/1189048", "https://tass.com/politics/1189047", False),  # another story
        ("https://tass.com/politics/1189047/amp", "https://tass.com/politics/1189047", False),
        ("https://example.com/", "https://tass.com/politics/1189047", False),  # another site
        ("not a url", "https://tass.com/politics/1189047", False),
    ],
)
def test_a_redirect_to_a_section_or_the_front_page_is_told_apart(final: str, original: str, section: bool) -> None:
    assert is_section_of(final, original) is section
