"""The click parameter types: every command-line argument is checked here, before it reaches the
library, and a bad one is a one-line usage error that names the option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from aggregator.config.settings import known_zone, url_problem
from aggregator.errors import AggregatorError
from aggregator.profiles import get_profile


class ArgText(click.ParamType):
    """Text from the command line: valid Unicode (an argument that is not UTF-8 arrives with lone
    surrogates, which nothing can store, search or print), and not blank unless ``allow_empty``."""

    name = "text"

    def __init__(self, allow_empty: bool = False) -> None:
        self.allow_empty = allow_empty

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if any("\ud800" <= char <= "\udfff" for char in text):
            self.fail(f"{text!r} is not valid UTF-8 text (is the terminal's encoding UTF-8?)", param, ctx)
        if not self.allow_empty and not text.strip():
            self.fail("must not be empty", param, ctx)
        return text


#: Text that must not be blank.
TEXT = ArgText()


class Zone(ArgText):
    """An IANA time zone name the system knows."""

    name = "zone"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        if not known_zone(text):
            self.fail(f"unknown time zone {text!r}", param, ctx)
        return text


def known_profile(name: str) -> bool:
    """A profile name, bare (latest version) or versioned like ``tass@2019``."""
    try:
        get_profile(name)
    except AggregatorError:
        return False
    return True


class ProfileName(ArgText):
    """A profile name, bare (latest version) or versioned like ``tass@2019``."""

    name = "profile"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        if not known_profile(text):
            self.fail(f"unknown profile {text!r}", param, ctx)
        return text


class Address(ArgText):
    """A host name or IP address to listen on (not empty: "" would mean every interface)."""

    name = "host"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        try:
            text.encode("idna")
        except UnicodeError:
            self.fail(f"{text!r} is not a host name or IP address", param, ctx)
        if any(char.isspace() or char in "/[]" for char in text):
            self.fail(f"{text!r} is not a host name or IP address", param, ctx)
        return text


class PageURL(ArgText):
    """An http or https URL that can be fetched (a host IDNA can encode, a port 1..65535)."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx).strip()
        problem = url_problem(text)
        if problem:
            self.fail(f"bad url {text!r} ({problem})", param, ctx)
        return text


class FilePath(click.Path):
    """click.Path that refuses an empty path (``Path("")`` is the current folder)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("the path must not be empty", param, ctx)
        return super().convert(value, param, ctx)


def read_capped(path: Path, limit: int, param_hint: str) -> bytes:
    """A file given on the command line, at most ``limit`` bytes (``/dev/zero`` would never end;
    ``/dev/stdin`` is fine): a usage error when it cannot be read or is larger."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:  # readable when click looked; gone, unreadable or a folder now
        raise click.BadParameter(f"cannot read {path}: {exc.strerror or exc}", param_hint=param_hint) from None
    if len(data) > limit:
        raise click.BadParameter(f"{path} is larger than {limit} bytes", param_hint=param_hint)
    return data
