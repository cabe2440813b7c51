"""A crawl frontier in Redis that any number of worker processes share, without losing requests.

scrapy-redis supplies the shared parts: its `Scheduler` keeps the request queue in a Redis
list and its `RFPDupeFilter` keeps fingerprints in a Redis set, so a URL is fetched by one
worker only. Its queue pops destructively, though: a worker killed between pop and
finishing would take its requests with it. So this module adds the reliable-queue pattern:

- `LMOVE queue -> processing:<worker>` pops atomically into the worker's own in-flight list;
- a request leaves that list (LREM) only once Scrapy's engine is done with it: downloaded,
  callback run, the requests it yielded pushed to Redis, its items through the pipelines.
  The engine keeps each request in its slot's `inprogress` set for exactly that span, so the
  scheduler acknowledges whatever has left that set;
- an idle worker (nothing in flight) looks at the shared queue every `IDLE_POLL_S` and wakes its
  engine when other workers have queued requests: Scrapy's engine only asks a scheduler that
  returned nothing again on its 5 s heartbeat, so a worker that lost the race for the start URL
  would otherwise sit out the first seconds of the crawl, or all of a short one;
- each worker renews a lease (a score in the `workers` sorted set, in Redis server time);
  any worker that finds a lease expired moves that worker's in-flight list back onto the
  queue. Delivery is therefore at-least-once: a worker presumed dead that was only stalled
  may fetch a page a second time, never zero times; listing IDs make the merge idempotent.

Keys are namespaced by source and run (``listingwatch:frontier:<source>:<run>:...``) and
expire `frontier_ttl_hours` after the run's last heartbeat, so a later run starts afresh and a
worker that joins a finished run finds every start URL already seen and stops at once.
"""

import logging
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Self

import redis
from pydantic import BaseModel
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import FifoQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from core.errors import ServiceUnavailable

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.25


class WorkerSlot(BaseModel):
    """Which shared run a crawler process joins, and under what name."""

    redis_url: str
    run_id: str
    worker: str
    lease_s: float
    ttl_hours: int


def new_worker_name(label: str) -> str:
    """Unique per process start: a retried or restarted worker must not inherit a dead one's in-flight list."""
    return f"{label}-{socket.gethostname()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class FrontierKeys:
    source: str
    run_id: str

    @property
    def prefix(self) -> str:
        return f"listingwatch:frontier:{self.source}:{self.run_id}"

    @property
    def queue(self) -> str:
        return f"{self.prefix}:queue"

    @property
    def seen(self) -> str:
        return f"{self.prefix}:seen"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    def processing(self, worker: str) -> str:
        return f"{self.prefix}:processing:{worker}"


def connect(url: str) -> redis.Redis:
    """A client for the frontier's Redis, or one sentence saying it cannot be reached."""
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
    try:
        client.ping()
    except redis.RedisError as err:
        raise ServiceUnavailable(
            f"Redis at {url} (crawl.redis_url) is not reachable ({err}); start it or fix the URL."
        ) from None
    return client


def frontier_settings(slot: WorkerSlot, source: str) -> dict[str, Any]:
    """The Scrapy settings that swap the local scheduler for the shared one."""
    return {
        "SCHEDULER": "crawlers.frontier.RedisFrontier",
        "REDIS_URL": slot.redis_url,
        "LISTINGWATCH_FRONTIER_SOURCE": source,
        "LISTINGWATCH_FRONTIER_RUN": slot.run_id,
        "LISTINGWATCH_FRONTIER_WORKER": slot.worker,
        "LISTINGWATCH_FRONTIER_LEASE_S": slot.lease_s,
        "LISTINGWATCH_FRONTIER_TTL_S": slot.ttl_hours * 3600,
    }


class SharedDupeFilter(RFPDupeFilter):
    """scrapy-redis's shared fingerprint set, keyed by the project's canonical fingerprinter."""

    def __init__(self, server: redis.Redis, key: str, crawler: Crawler) -> None:
        super().__init__(server, key)
        self._fingerprinter = crawler.request_fingerprinter

    def request_fingerprint(self, request: Request) -> str:
        return self._fingerprinter.fingerprint(request).hex()


class ReliableQueue(FifoQueue):
    """scrapy-redis's FIFO list, popped with LMOVE into an in-flight list instead of RPOP."""

    def pop_into(self, processing: str) -> tuple[Request, bytes] | None:
        while (raw := self.server.lmove(self.key, processing, "RIGHT", "LEFT")) is not None:
            try:
                return self._decode_request(raw), raw
            except Exception:  # one undecodable entry (e.g. a callback renamed since) must not stop the crawl
                log.exception("Dropped an undecodable request from %s", self.key)
                self.server.lrem(processing, 1, raw)
        return None


class RedisFrontier(Scheduler):
    """scrapy-redis's scheduler with acknowledged pops, worker leases and re-queueing of dead workers' requests."""

    def __init__(self, server: redis.Redis, crawler: Crawler, keys: FrontierKeys, worker: str) -> None:
        settings = crawler.settings
        super().__init__(
            server,
            persist=True,  # the run's keys are shared: one worker closing must not flush the others' queue
            queue_key=keys.queue,
            queue_cls="crawlers.frontier.ReliableQueue",
            dupefilter=SharedDupeFilter(server, keys.seen, crawler),
        )
        self.crawler = crawler
        self.stats = crawler.stats
        self.keys = keys
        self.worker = worker
        self.processing = keys.processing(worker)
        self.lease_s = settings.getfloat("LISTINGWATCH_FRONTIER_LEASE_S")
        self.ttl_s = settings.getint("LISTINGWATCH_FRONTIER_TTL_S")
        self._inflight: list[tuple[Request, bytes]] = []
        self._beat = task.LoopingCall(self._heartbeat)
        self._poll = task.LoopingCall(self._wake_if_queued)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        keys = FrontierKeys(settings["LISTINGWATCH_FRONTIER_SOURCE"], settings["LISTINGWATCH_FRONTIER_RUN"])
        return cls(connect(settings["REDIS_URL"]), crawler, keys, settings["LISTINGWATCH_FRONTIER_WORKER"])

    def open(self, spider: Spider) -> None:
        super().open(spider)
        self._heartbeat()
        self._beat.start(self.lease_s / 3, now=False)
        self._poll.start(IDLE_POLL_S, now=False)

    def close(self, reason: str) -> None:
        for loop in (self._beat, self._poll):
            if loop.running:
                loop.stop()
        self._acknowledge()
        requeued = self._move_back(self.processing)
        if requeued:
            log.info("Returned %d unfinished requests to the shared queue", requeued)
            self._inc("listingwatch/frontier/requeued_own", requeued)
        self.server.zrem(self.keys.workers, self.worker)
        super().close(reason)

    def next_request(self) -> Request | None:
        self._acknowledge()
        popped = self.queue.pop_into(self.processing)
        if popped is None:
            return None
        self._inflight.append(popped)
        self._inc("scheduler/dequeued/redis")
        return popped[0]

    def has_pending_requests(self) -> bool:
        """Pending while the queue or any worker's in-flight list holds requests: they may still yield more."""
        self._acknowledge()
        if len(self.queue):
            return True
        workers = {w.decode() for w in self.server.zrange(self.keys.workers, 0, -1)} | {self.worker}
        return any(self.server.llen(self.keys.processing(w)) for w in workers)

    def _acknowledge(self) -> None:
        """Drop from the in-flight list every request the engine has finished with."""
        slot = getattr(self.crawler.engine, "_slot", None)
        active = slot.inprogress if slot is not None else set()
        done = [raw for request, raw in self._inflight if request not in active]
        if not done:
            return
        self._inflight = [(request, raw) for request, raw in self._inflight if request in active]
        pipe = self.server.pipeline(transaction=False)
        for raw in done:
            pipe.lrem(self.processing, 1, raw)
        pipe.execute()

    def _wake_if_queued(self) -> None:
        """An idle worker asks for the queued requests now rather than on the engine's next heartbeat."""
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is None or slot.closing is not None or self._inflight:
            return  # a busy engine asks the scheduler again as each request finishes
        try:
            queued = len(self.queue)
        except redis.RedisError:
            return  # the heartbeat logs Redis outages
        if queued:
            slot.nextcall.schedule()

    def _heartbeat(self) -> None:
        try:
            now = self._now()
            pipe = self.server.pipeline(transaction=False)
            pipe.zadd(self.keys.workers, {self.worker: now + self.lease_s})
            for key in (self.keys.queue, self.keys.seen, self.keys.workers, self.processing):
                pipe.expire(key, self.ttl_s)
            pipe.execute()
            self._acknowledge()
            self._reclaim_dead(now)
        except redis.RedisError as err:
            # Redis away for a moment: keep crawling; the next beat retries before the lease runs out.
            log.warning("Frontier heartbeat failed: %s", err)

    def _reclaim_dead(self, now: float) -> None:
        for raw in self.server.zrangebyscore(self.keys.workers, "-inf", now):
            dead = raw.decode()
            if dead == self.worker:
                continue
            moved = self._move_back(self.keys.processing(dead))
            self.server.zrem(self.keys.workers, dead)
            log.warning("Worker %s missed its lease; %d of its requests went back to the queue", dead, moved)
            self._inc("listingwatch/frontier/requeued_from_dead", moved)

    def _move_back(self, processing: str) -> int:
        """Oldest first onto the consuming end of the queue, so they are retried next. Each LMOVE is atomic."""
        moved = 0
        while self.server.lmove(processing, self.keys.queue, "RIGHT", "RIGHT") is not None:
            moved += 1
        return moved

    def _now(self) -> float:
        """Redis server time, so leases do not depend on the workers' clocks agreeing."""
        seconds, micros = self.server.time()
        return seconds + micros / 1e6

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None and count:
            self.stats.inc_value(key, count)
