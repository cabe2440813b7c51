"""Name why a request produced no listing, so crawl reports count reasons instead of tracebacks."""

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectError, ConnectionRefusedError, DNSLookupError, TCPTimedOutError
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from crawlers.middlewares import PageBudgetReached

UNREACHABLE = frozenset({"connection_refused", "dns_error", "connect_error"})


def failure_reason(failure: Failure) -> str:
    """A short, stable reason key such as ``http_500``, ``robots_txt``, ``redirect_loop``, ``timeout``."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, PageBudgetReached):
        return "max_pages"
    if isinstance(exc, IgnoreRequest):
        message = str(exc).lower()
        if "robots.txt" in message:
            return "robots_txt"
        if "offsite" in message:
            return "offsite"
        if "redirect" in message:
            return "redirect_loop"
        if "download_maxsize" in message:  # a compressed body that grew past the cap (a gzip bomb)
            return "too_large"
        return "ignored"
    # Scrapy cancels a download only when it exceeds DOWNLOAD_MAXSIZE.
    if isinstance(exc, DownloadCancelledError):
        return "too_large"
    if isinstance(exc, DownloadTimeoutError | TwistedTimeoutError | TCPTimedOutError | TimeoutError):
        return "timeout"
    if isinstance(exc, ResponseDataLossError):
        return "data_loss"
    if isinstance(exc, DownloadConnectionRefusedError | ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, CannotResolveHostError | DNSLookupError):
        return "dns_error"
    if isinstance(exc, ConnectError):
        return "connect_error"
    return type(exc).__name__
