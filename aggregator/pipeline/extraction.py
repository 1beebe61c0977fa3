"""Extraction of fetched pages, in the process pool when there is one.

Extraction is pure CPU work: in a worker process it runs on another core while the event loop
keeps fetching and storing. A worker that dies breaks the pool; extraction then goes on in this
process, for the rest of the run.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import replace

from aggregator.extract.response import article_from_response
from aggregator.models import Article, Response
from aggregator.profiles import Profile

log = logging.getLogger("aggregator")


class Extractor:
    """Runs ``article_from_response`` in ``executor`` (a process pool its owner shuts down), else here."""

    def __init__(self, executor: Executor | None) -> None:
        self.executor = executor

    async def __call__(self, response: Response, profile: str | Profile | None) -> Article:
        if self.executor is not None:
            # the exchanges (the wire's record, for the WARC capture) are no business of the worker's:
            # not pickled, not sent, not unpickled there (a compressed page's payload is a second copy)
            call = functools.partial(article_from_response, replace(response, exchanges=()), profile=profile)
            try:
                return await asyncio.get_running_loop().run_in_executor(self.executor, call)
            except BrokenExecutor as exc:  # a worker died: extract here from now on
                log.error("extraction workers failed (%s); extracting in the main process", exc)
                self.executor = None
        return article_from_response(response, profile=profile)
