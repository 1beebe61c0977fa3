"""The daemon: ``aggregator fetch``, when due, forever (the only APScheduler user).

Scheduling state lives on the feed rows (``next_poll_at``); the scheduler only asks the store,
at every tick, which feeds are due, and starts a refresh for each one not already running.
A restart therefore resumes where the last run stopped, and missed ticks coalesce into one.

Every daemon is a worker that beats (``membership``), so that ``aggregator workers`` shows it.
Where several share one database (PostgreSQL), each polls the sites that are its by rendezvous
hashing over the live workers (``shards``) and claims a due feed before polling it, so that no
feed is polled twice at once and a dead worker's feeds are taken over once its lease lapses. On
an SQLite file the daemon is alone (its lock says so): it claims nothing, and the rows of
workers before it, which died or it could not start, are cleared at once.

Signals: SIGTERM/SIGINT stop taking work, let polls in flight finish for a grace period, then
cancel the rest (a cancelled poll leaves its entries pending and its feed due: the next start
takes them up); SIGHUP re-reads feeds.yaml and keeps the old configuration if the new one is bad.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from aggregator.config import load_config
from aggregator.daemon.claims import WorkerClaims
from aggregator.daemon.lock import DaemonLock
from aggregator.daemon.looplag import LoopLag
from aggregator.daemon.membership import Membership
from aggregator.daemon.metrics import Metrics, serve_metrics
from aggregator.daemon.shards import shard
from aggregator.errors import ConfigError, failure
from aggregator.fetch import Fetcher
from aggregator.models import Config, FeedSpec, is_database_url
from aggregator.pipeline import Archiver
from aggregator.pipeline.backfill import Backfill, Tally
from aggregator.pipeline.claims import FeedClaims, NoClaims
from aggregator.pipeline.revisits import Revisits, RevisitTally
from aggregator.pipeline.workers import LazyProcessPool
from aggregator.profiles import check_feed_profiles
from aggregator.store import open_store, utc_now

log = logging.getLogger("aggregator")


@contextmanager
def _shut_down_on_exit(pool: Executor) -> Iterator[None]:
    """Stop the extraction workers when the daemon stops (work not started is dropped)."""
    try:
        yield
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: /healthz fails when the scheduler has not ticked for this many seconds...
STUCK_AFTER = 120.0
#: Polls in flight at most, per request the fetcher lets through at once (``concurrency``): more
#: would only wait for a connection, each holding its coroutines and request (10,000 feeds due at
#: a first start were 10,000 tasks, 150 MB). The due feeds left over start as polls end.
POLLS_PER_CONNECTION = 8

#: Workers sharing a database wait this long after their first beat (at most a beat interval),
#: then beat again before their first tick: a fleet started at once then sees itself whole and
#: shares the sites from the first poll, rather than the first to start claiming everything due.
SETTLE_SECONDS = 2.0

#: With no backfill work to do, the background looks again after this many seconds (or at once
#: when a poll finds a gap).
BACKGROUND_IDLE = 30.0


class Daemon:
    """Polls every enabled feed of a config file when it is due, until stopped."""

    def __init__(
        self,
        config_path: Path,
        *,
        clock: Callable[[], datetime] = utc_now,
        tick: float = 1.0,
        grace: float = 8.0,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
        silence_limit: float | None = None,
        background_idle: float = BACKGROUND_IDLE,
        alone: bool | None = None,
    ) -> None:
        self.config_path = config_path
        self._use(load_config(config_path))
        check_feed_profiles(self.config)
        self.clock = clock
        self.tick_seconds = tick
        self.grace = grace
        self.metrics_port = metrics_port
        self.metrics_host = metrics_host
        longest = max((f.interval for f in self.config.feeds), default=900)
        #: ...or when no feed has succeeded for this long (default: 3 intervals of the slowest feed, >= 1 h)
        self.silence_limit = silence_limit or max(3600.0, 3.0 * longest)
        self.background_idle = background_idle
        self._work_found = asyncio.Event()  # a poll found a gap: background work to do
        self.metrics = Metrics()
        self.started = time.time()
        self.last_tick = time.monotonic()
        self.last_success: float | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._backlog: deque[str] = deque()  # due at the last tick, not started yet (polls in flight at most)
        self._started_since_read: set[str] = set()  # started from the backlog while a tick read the due feeds
        self.membership: Membership | None = None
        #: the only daemon of its database (None: decided by the database, an SQLite file is one daemon's)
        self.alone = alone
        self._shard: tuple[tuple[object, ...], tuple[list[FeedSpec], list[str]]] | None = None
        self._idle = asyncio.Event()  # set while no tick runs
        self._idle.set()
        self._tasks: set[asyncio.Task[None]] = set()  # reloads, claims given back
        self.claims: FeedClaims = NoClaims()
        self.loop_lag = LoopLag(self.metrics.loop_lag.set)
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def _use(self, config: Config) -> None:
        """Run ``config``'s feeds: the enabled ones and an index by id, made once per (re)load, not at
        every tick (``Config.feed`` is a walk through the feeds: 10,000 feeds due made it seconds)."""
        self.config = config
        self._feeds = {feed.id: feed for feed in config.feeds}
        self._enabled_feeds = [feed for feed in config.feeds if feed.enabled]
        self._enabled_ids = [feed.id for feed in self._enabled_feeds]

    # -- life cycle --------------------------------------------------------------------------

    def run(self, *, install_signals: bool = True) -> None:
        """Run until stopped (SIGTERM/SIGINT, or ``stop()`` from another thread)."""
        if install_signals:
            # Handled from the very start: a SIGTERM during start-up is a clean stop too (the
            # command line holds them from its first line and hands them to ``stop``).
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: self.stop())
            signal.signal(signal.SIGHUP, lambda *_: self.reload())
        asyncio.run(self._main())

    def stop(self) -> None:
        """Ask the daemon to stop; safe from a signal handler or another thread, even before it runs."""
        self._stop_requested = True
        if self._loop is not None and self._stop is not None:
            with suppress(RuntimeError):  # the loop is closed: the daemon has stopped already
                self._loop.call_soon_threadsafe(self._stop.set)

    def reload(self) -> None:
        """Re-read feeds.yaml: new feeds start, removed or disabled ones stop, intervals change."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._start_reload)

    def _start_reload(self) -> None:
        self._later(self._reload(), "reload")

    async def _main(self) -> None:
        settings = self.config.settings
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        pool = LazyProcessPool()  # extraction workers, started with the first page to extract
        if self.alone is None:  # an SQLite file: DaemonLock below makes this the only daemon on it
            self.alone = not is_database_url(settings.database)
        with DaemonLock(settings.database), open_store(settings.database) as store, _shut_down_on_exit(pool):
            async with Fetcher(settings) as fetcher:
                self.archiver = Archiver(settings, store, fetcher, clock=self.clock, executor=pool)
                try:
                    await self._serve()
                finally:
                    self.archiver.close()
        log.info("daemon stopped", extra={"event": "stop"})

    async def _serve(self) -> None:
        """Start up, tick until stopped, then let the polls in flight finish."""
        assert self._stop is not None
        await self.archiver.db.write(self.archiver.db.store.retire_feeds, [f.id for f in self.config.feeds])
        await self.archiver.start(self.config.feeds)
        server, address = None, None
        if self.metrics_port is not None:
            server = serve_metrics(self.metrics, self.health, self.metrics_host, self.metrics_port)
            shown = f"[{self.metrics_host}]" if ":" in self.metrics_host else self.metrics_host
            address = f"http://{shown}:{server.server_address[1]}/metrics"
        self.membership = Membership(self.archiver.db, self.clock, self.config.settings.worker_lease, metrics=address)
        self.claims = NoClaims() if self.alone else WorkerClaims(self.archiver.db, self.membership)
        await self.membership.reap(everyone_else=bool(self.alone))
        await self.membership.beat()
        if not self.alone:
            await asyncio.sleep(min(SETTLE_SECONDS, self.membership.interval))
            await self.membership.beat()
        heart = asyncio.create_task(self._heartbeat(self.membership), name="heartbeat")
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.tick_seconds,
            id="tick",
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        scheduler.start()
        probe = asyncio.create_task(self.loop_lag.watch(), name="loop lag")
        background = asyncio.create_task(self._background(), name="backfill")
        log.info(
            "daemon started: %d feeds, database %s",
            len(self._enabled()),
            self.config.settings.database,
            extra={"event": "start", "pid": os.getpid()},
        )
        try:
            await self._stop.wait()
        finally:
            await self._stop_ticking(scheduler)
            background.cancel()  # backfill entries under way stay queued: the next start takes them up
            await asyncio.gather(background, return_exceptions=True)
            await self._drain()
            probe.cancel()
            heart.cancel()
            await asyncio.gather(heart, return_exceptions=True)
            await self.membership.leave()  # its claims end now, not a lease later
            await self.archiver.texts.record()
            if server is not None:
                server.shutdown()

    async def _stop_ticking(self, scheduler: AsyncIOScheduler) -> None:
        """Stop the scheduler once a tick it has already started is over: shut down under a
        pending tick, APScheduler cancels it and logs the cancellation as the job's error."""
        scheduler.pause()
        await asyncio.sleep(0)  # a tick task created before the pause starts now, or never
        await self._idle.wait()
        scheduler.shutdown(wait=False)

    async def _drain(self) -> None:
        """Let polls in flight finish within the grace period; cancel what is left."""
        tasks = list(self._running.values())
        if not tasks:
            return
        log.info("stopping: waiting up to %.0fs for %d polls in flight", self.grace, len(tasks))
        _, pending = await asyncio.wait(tasks, timeout=self.grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.warning("stopping: %d polls cancelled; their feeds stay due and resume on the next start", len(pending))

    # -- work --------------------------------------------------------------------------------

    def _enabled(self) -> list[FeedSpec]:
        return self._enabled_feeds

    def _mine(self) -> list[FeedSpec]:
        """The enabled feeds of the sites that are this worker's (all of them when it works alone)."""
        return self._shard_of()[0]

    def _shard_of(self) -> tuple[list[FeedSpec], list[str]]:
        if self.membership is None or self.alone:
            return self._enabled_feeds, self._enabled_ids
        # Asked at every tick: computed again only when the feeds or the live workers change.
        key = (self.config.feeds, tuple(self.membership.live))
        if self._shard is None or self._shard[0] != key:
            feeds = shard(self._enabled(), self.membership.id, self.membership.live)
            self._shard = (key, (feeds, [feed.id for feed in feeds]))
        return self._shard[1]

    async def _heartbeat(self, membership: Membership) -> None:
        while True:
            await asyncio.sleep(membership.interval)
            if await membership.beat() and membership.departed:
                await self._finish_for(membership.departed)

    async def _finish_for(self, workers: list[str]) -> None:
        """Finish what workers that left the fleet (killed, say) left half done: the text files of
        articles they committed, their WARC files left open (cut at the last whole record). Their
        feeds and pending pages need nothing: a poll is recorded only once done, so a feed whose
        poll died with its worker is still due, and its next poll takes up its pending entries."""
        log.info("workers %s left: finishing their text files and WARC files", ", ".join(workers))
        try:
            await self.archiver.captures.recover()
            await self.archiver.texts.write_missing()
        except Exception as exc:  # what is left is finished at the next departure or start
            log.error("could not finish what workers %s left: %s", ", ".join(workers), failure(exc)[1])

    async def _tick(self) -> None:
        """Start a refresh for every due feed that is not already being polled."""
        self._idle.clear()
        try:
            await self._start_due_polls()
        finally:
            self._idle.set()

    async def _start_due_polls(self) -> None:
        self.last_tick = time.monotonic()
        if self._stop is not None and self._stop.is_set():
            return
        now = self.clock()
        # A poll that ends while the read below is under way may be reported due from before it was
        # recorded: a feed in flight when the read starts waits for the next tick, never polled twice.
        # So is one the backlog started meanwhile.
        in_flight = set(self._running)
        self._started_since_read = set()
        try:
            due = await self.archiver.db.read(self.archiver.db.store.due_feeds, now, self._shard_of()[1])
        except Exception as exc:  # the database is unwell: nothing is due until it answers again
            log.error("scheduler: cannot read which feeds are due: %s", failure(exc)[1])
            return
        self.metrics.lag.set(max([(now - at).total_seconds() for _, at in due if at is not None], default=0.0))
        skip = in_flight | self._started_since_read
        wanted = [feed_id for feed_id, _ in due if feed_id not in skip]  # most overdue first
        if not self.alone:
            # Sharing the database: only claimed feeds are polled, and only as many are claimed as
            # can start now; the claims of the last backlog that did not start are given back.
            wanted = wanted[: max(0, self.max_in_flight - len(self._running))]
            backlog, self._backlog = list(self._backlog), deque()
            await self.claims.give_back(backlog)
            try:
                wanted = await self.claims.take(wanted, due_only=True)
            except Exception as exc:  # what is due stays due: the next tick tries again
                log.error("scheduler: cannot claim the due feeds: %s", failure(exc)[1])
                return
        self._backlog = deque(wanted)
        self._start_backlog()

    @property
    def max_in_flight(self) -> int:
        return POLLS_PER_CONNECTION * self.config.settings.concurrency

    def _start_backlog(self) -> None:
        """Start due feeds of the backlog while fewer than ``max_in_flight`` polls run."""
        now = self.clock()
        skipped = []
        while self._backlog and len(self._running) < self.max_in_flight:
            if self._stop is not None and self._stop.is_set():
                break
            feed_id = self._backlog.popleft()
            held = self.archiver.held_until(feed_id)
            feed = self._feeds.get(feed_id)
            if feed_id in self._running or (held is not None and now < held) or feed is None:
                skipped.append(feed_id)  # its claim is given back: only a poll that starts keeps one
                continue
            self._started_since_read.add(feed_id)
            self._running[feed_id] = asyncio.create_task(self._refresh(feed), name=f"poll {feed_id}")
        self.metrics.in_flight.set(len(self._running))
        if skipped:
            self._later(self.claims.give_back(skipped), "give back claims")

    async def _background(self) -> None:
        """Revisits, then backfill and gap filling, one piece at a time, each after the due polls
        have started; the fetcher keeps them to the backfill rate and lets live requests go first."""
        work, revisits = Backfill(self.archiver, self.claims), Revisits(self.archiver, self.claims)
        while True:
            await self._idle.wait()
            found = RevisitTally()
            if await revisits.step(self._mine(), found):
                for outcome, count in found.total.items():
                    self.metrics.revisits.labels(outcome).inc(count)
                continue
            await self._idle.wait()
            tally = Tally()
            if await work.step(self._mine(), tally):
                for status, count in tally.pages.items():
                    self.metrics.backfill_pages.labels(status).inc(count)
                self.metrics.count_fallbacks(self.archiver.pages.take_fallbacks())
                continue
            self._work_found.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._work_found.wait(), self.background_idle)

    async def _refresh(self, feed: FeedSpec) -> None:
        try:
            result = await self.archiver.refresh_feed(feed)
            if result.gap is not None:
                self._work_found.set()
            self.metrics.count_fallbacks(self.archiver.pages.take_fallbacks())
            self.metrics.observe(result, time.time())
            if result.ok:
                self.last_success = time.time()
            await self.archiver.texts.retry()  # a folder that refused text files: takes them now?
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # refresh_feed records its own failures: this is a last resort
            log.error(
                "poll of feed %s failed unexpectedly: %s",
                feed.id,
                failure(exc)[1],
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
        finally:
            self._running.pop(feed.id, None)
            self._start_backlog()
            await self.claims.give_back([feed.id])

    def _later(self, work: Coroutine[object, object, None], name: str) -> None:
        """Run ``work`` in a task of its own, held until it ends (a task nobody holds may be collected)."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reload(self) -> None:
        try:
            # in a thread: seconds for a feeds.yaml of 10,000 feeds, and polls go on meanwhile
            new = await asyncio.to_thread(load_config, self.config_path)
            check_feed_profiles(new)
        except ConfigError as exc:
            log.error("reload failed, keeping the running configuration: %s", exc, extra={"event": "reload"})
            return
        if new.settings != self.config.settings:
            log.warning("reload: settings changed; feeds are reloaded now, settings apply after a restart")
        old_ids = {f.id for f in self._enabled()}
        self._use(replace(self.config, feeds=new.feeds))
        try:
            await self.archiver.db.write(self.archiver.db.store.sync_feeds, new.feeds)
            for feed_id in await self.archiver.db.write(self.archiver.db.store.retire_feeds, [f.id for f in new.feeds]):
                self.metrics.forget(feed_id)
        except Exception as exc:  # the feeds run as reloaded; the database learns of them next time
            log.error("reload: the feeds could not be recorded: %s", failure(exc)[1], extra={"event": "reload"})
        new_ids = {f.id for f in self._enabled()}
        log.info(
            "reloaded %s: %d feeds enabled (added %s, removed %s)",
            self.config_path,
            len(new_ids),
            sorted(new_ids - old_ids) or "none",
            sorted(old_ids - new_ids) or "none",
            extra={"event": "reload"},
        )

    # -- health ------------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, object]]:
        """Healthy unless the scheduler is stuck or no feed has succeeded for too long."""
        since_tick = time.monotonic() - self.last_tick
        reference = self.last_success or self.started
        silent = time.time() - reference
        details: dict[str, object] = {
            "seconds_since_tick": round(since_tick, 1),
            "seconds_since_success": round(silent, 1),
            "polls_in_flight": len(self._running),
            "event_loop_lag_seconds": round(self.loop_lag.last, 3),
        }
        if since_tick > max(STUCK_AFTER, 10 * self.tick_seconds):
            return False, {**details, "reason": "scheduler stuck"}
        if silent > self.silence_limit:
            return False, {**details, "reason": "no feed has succeeded recently"}
        return True, details
