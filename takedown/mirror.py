"""Copy takedown items onto their listings' Elasticsearch documents (status, dates, audit history).

The store is the record; the copy lets search filter by takedown status and shows the
history beside the evidence. The loader never sends `takedown` in a re-crawl's partial
update, so the copy survives re-crawls. A listing the index no longer holds is reported, not fatal.
"""

from collections.abc import Iterable

from elasticsearch import Elasticsearch, NotFoundError

from core.settings import Settings
from core.store.takedowns import TakedownItem
from index_config.manage import listings_alias
from takedown.cases import history_doc


def sync(client: Elasticsearch, settings: Settings, items: Iterable[TakedownItem], refresh: bool = False) -> list[str]:
    """Write each item's `takedown` object; returns the listing ids the index does not hold."""
    missing = []
    for item in items:
        try:
            client.update(
                index=listings_alias(settings),
                id=item.listing_id,
                doc={"takedown": history_doc(item)},
                retry_on_conflict=3,
                refresh="wait_for" if refresh else None,
            )
        except NotFoundError:
            missing.append(item.listing_id)
    return missing
