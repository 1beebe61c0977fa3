"""Extraction of fetched pages, in the process pool when there is one.

Extraction and the compression of the page kept for re-extraction are pure CPU work: in a worker
process they run on another core while the event loop keeps fetching and storing. A worker that
dies breaks the pool; extraction then goes on in this process, for the rest of the run.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import BrokenExecutor, Executor

from aggregator.extract.response import article_from_response
from aggregator.models import Article, Response
from aggregator.profiles import Profile
from aggregator.store import compress_page

log = logging.getLogger("aggregator")


def extract_and_pack(
    response: Response, profile: str | Profile | None, keep_page: bool
) -> tuple[Article, bytes | None]:
    """The page's article, and the page compressed for keeping (None unless ``keep_page``)."""
    article = article_from_response(response, profile=profile)
    return article, compress_page(response.content) if keep_page else None


class Extractor:
    """Runs ``extract_and_pack`` in ``executor`` (a process pool its owner shuts down), else here."""

    def __init__(self, executor: Executor | None, *, keep_page: bool) -> None:
        self.executor = executor
        self.keep_page = keep_page

    async def __call__(self, response: Response, profile: str | Profile | None) -> tuple[Article, bytes | None]:
        if self.executor is not None:
            call = functools.partial(extract_and_pack, response, profile, self.keep_page)
            try:
                return await asyncio.get_running_loop().run_in_executor(self.executor, call)
            except BrokenExecutor as exc:  # a worker died: extract here from now on
                log.error("extraction workers failed (%s); extracting in the main process", exc)
                self.executor = None
        return extract_and_pack(response, profile, self.keep_page)
