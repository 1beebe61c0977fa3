"""One exception tree for the whole package.

Foreign exceptions (httpx, feedparser, sqlite3, yaml) are translated into these at the module
that owns the library; nothing else escapes. Every error carries a short machine-readable
``reason`` (stored in the database) and a one-line human message (printed by the CLI).

    AggregatorError
     ├── ConfigError              feeds.yaml is unreadable or invalid (CLI exit code 2)
     ├── InvalidURL               a URL that cannot be parsed or normalised (``bad_url``)
     ├── FetchError               an HTTP fetch did not give a usable body
     │    ├── Blocked             refused before sending: scheme, private address (SSRF guard)
     │    ├── Timeout             connect/read/total time limit
     │    ├── NetworkError        DNS, refused or reset connection, TLS, protocol errors
     │    ├── TooManyRedirects    more redirects than allowed, or a loop
     │    ├── HTTPStatusError     a 4xx/5xx answer (``status``, ``retry_after``)
     │    ├── RobotsRefused       robots.txt disallows the URL (``robots``) or cannot be read
     │    └── TooLarge            the decompressed body passed the size cap
     ├── FeedError                not a feed (HTML page, challenge, empty, garbage: ``not_a_feed``)
     │                            or a feed declaring XML entities (``unsafe_xml``)
     ├── ExtractError             the page holds no archivable article (``reason`` says why)
     ├── DocumentError            what would be rendered is no document of the format (``bad_document``)
     ├── StoreError               the database or the archive folder failed
     │    └── ArchiveFolderError  a folder of the archive cannot be created or written (``folder``)
     ├── CaptureError             a WARC file cannot be written, or holds no readable record where named
     └── AlreadyRunning           another daemon holds the database's lock (``locked``)

Any other exception that ends the handling of one feed or page (a bug, or an input no check
foresaw) is that item's recorded failure with reason ``internal`` (see ``failure``): it never
stops the other feeds and pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: The reason recorded for a failure nobody anticipated: a bug, or an input no check foresaw.
INTERNAL = "internal"
#: Longest message recorded for an unanticipated failure (its traceback goes to the debug log).
_MAX_MESSAGE = 500


class AggregatorError(Exception):
    """Base class: ``reason`` is a stable short code, ``str(err)`` a one-line message."""

    reason: str = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(" ".join(message.split()))
        if reason is not None:
            self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled whole (type, message and every attribute: reason, url, status, retry_after, ...)
        # without calling __init__, whose keyword-only arguments the default pickling cannot pass:
        # errors raised in an extraction worker process come back as they were raised.
        return _restore, (type(self), self.args, dict(self.__dict__))


def _restore(cls: type[AggregatorError], args: tuple[object, ...], state: dict[str, object]) -> AggregatorError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(AggregatorError):
    """feeds.yaml is unreadable or invalid. A file with several problems is one error holding
    them all in ``problems``: its message is then a headline (``feeds.yaml: 3 problems:``) and
    one indented line per problem, each naming where it is; one problem is the one-line message."""

    reason = "config"

    def __init__(self, message: str, *, reason: str | None = None, problems: Sequence[str] = ()) -> None:
        super().__init__(message, reason=reason)
        self.problems = tuple(" ".join(problem.split()) for problem in problems)

    def __str__(self) -> str:
        return "\n".join([super().__str__(), *(f"  {problem}" for problem in self.problems)])


class InvalidURL(AggregatorError):
    """A URL (from a feed, a page or a redirect) that cannot be parsed or normalised: an
    unbalanced ``[``, a host label over 63 characters, a host that IDNA cannot encode."""

    reason = "bad_url"


class FetchError(AggregatorError):
    """A fetch failed; ``url`` is the URL being fetched when it failed."""

    reason = "fetch"
    #: Whether retrying the same request later may succeed.
    transient: bool = False

    def __init__(self, message: str, *, url: str = "", reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.url = url


class Blocked(FetchError):
    reason = "blocked"


class Timeout(FetchError):
    reason = "timeout"
    transient = True


class NetworkError(FetchError):
    reason = "network"
    transient = True


class TooManyRedirects(FetchError):
    reason = "redirects"


class HTTPStatusError(FetchError):
    reason = "http_status"

    def __init__(self, message: str, *, url: str = "", status: int, retry_after: float | None = None) -> None:
        super().__init__(message, url=url, reason=f"http_{status}")
        self.status = status
        self.retry_after = retry_after
        #: the request's exchanges (``models.Exchange``: redirects, then this answer), for the record
        self.exchanges: tuple[object, ...] = ()

    @property
    def transient(self) -> bool:  # type: ignore[override]
        return self.status in (408, 425, 429) or self.status >= 500


class RobotsRefused(FetchError):
    """robots.txt disallows the URL (``robots``), or could not be read (``robots_unavailable``):
    nothing was requested, and a later attempt asks again."""

    reason = "robots"


class TooLarge(FetchError):
    reason = "too_large"


class FeedError(AggregatorError):
    reason = "not_a_feed"


class ExtractError(AggregatorError):
    """No archivable article: reasons include ``no_body``, ``not_article``, ``challenge``,
    ``consent``, ``too_short``, ``no_title``, ``not_html``, ``unknown_profile``."""

    reason = "no_body"


class DocumentError(AggregatorError):
    """A document that the format does not allow: no title, source, URL or paragraph, a text
    that does not parse as a document, an article id or running number no file name can carry."""

    reason = "bad_document"


class StoreError(AggregatorError):
    reason = "store"


class ArchiveFolderError(StoreError):
    """The archive folder, or a folder in it, cannot be created or written: permission denied, a
    read-only file system, a full disk, a file where the folder should be. ``folder`` is the one
    at fault (the nearest that exists), and the message names it and the system's reason."""

    reason = "archive_folder"

    def __init__(self, folder: Path, problem: str) -> None:
        super().__init__(f"cannot write files in {folder}: {problem}")
        self.folder = folder


class InvalidQuery(AggregatorError):
    """A search the archive cannot run: no word to look for."""

    reason = "query"


class CaptureError(AggregatorError):
    reason = "capture"


class AlreadyRunning(AggregatorError):
    reason = "locked"


def failure(exc: BaseException) -> tuple[str, str]:
    """``(reason, one-line message)`` of any exception that ended the handling of one feed or page:
    the package's own as they are, any other as ``internal`` with its type and message."""
    if isinstance(exc, AggregatorError):
        return exc.reason, str(exc)
    text = " ".join(str(exc).split())
    message = f"internal error: {type(exc).__name__}" + (f": {text}" if text else "")
    return INTERNAL, message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"
