"""Scrapy's downloader, with a site's concurrency limit (`politeness.concurrency_per_domain`) kept at all times.

Scrapy 2.19 starts each download that leaves a slot's queue as an asyncio task and counts it as
"transferring" only once that task first runs. One pass over the queue therefore starts every request
waiting in it, whatever the slot's concurrency: a listing's photos, asked for all at once through
``engine.download_async``, went out 30 and more at a time to a site configured for 8. Besides being
impolite, the burst opened a new connection for nearly every photo (the connection pool keeps only
`concurrency` idle connections, and drops the rest as they come back): 200 connections for 526
requests on the local classifieds board, 8 once the limit holds (`benchmarks/bench_crawl.py`).
Here a download counts as transferring from the moment it leaves the queue.
"""

from collections.abc import Coroutine
from typing import Any

from scrapy import Request
from scrapy.core.downloader import Downloader, Slot
from twisted.internet.defer import Deferred


class SlotLimitedDownloader(Downloader):
    def _wait_for_download(  # type: ignore[override]
        self, slot: Slot, request: Request, queue_dfd: Deferred[Any]
    ) -> Coroutine[Any, Any, None]:
        slot.transferring.add(request)  # now, while `_process_queue` is still counting free slots
        return _released(super()._wait_for_download(slot, request, queue_dfd), slot, request)


async def _released(download: Coroutine[Any, Any, None], slot: Slot, request: Request) -> None:
    """Run the download; a task cancelled before it started must not hold its place for ever."""
    try:
        await download
    finally:
        slot.transferring.discard(request)
