"""Item pipelines: entity extraction on title + description, then JSON lines of `Listing`."""

from pathlib import Path
from typing import IO, Self

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from core.schema import MAX_LIST, Contacts, CryptoAddress, Listing, Shipping
from crawlers.extract.crypto import find_addresses
from crawlers.extract.entities import extract_entities, find_price


def enrich(listing: Listing) -> Listing:
    """Contacts, crypto addresses, shipping phrases and a price found in the text.

    The text price is a fallback for sites with no price field (forum posts). When the source
    has a price selector and the page showed no price, a "$120," in the description is not
    taken as the price: the spider marks that case as ``extraction["price"] == "not_on_page"``.
    """
    text = "\n".join(p for p in (listing.title, listing.description) if p)
    found = extract_entities(text)
    listing.contacts = Contacts(
        phone=found.phone[:MAX_LIST],
        phone_unverified=found.phone_unverified[:MAX_LIST],
        email=found.email[:MAX_LIST],
        telegram=found.telegram[:MAX_LIST],
        wickr=found.wickr[:MAX_LIST],
        whatsapp=found.whatsapp[:MAX_LIST],
        signal=found.signal[:MAX_LIST],
        snapchat=found.snapchat[:MAX_LIST],
    )
    listing.crypto = [
        CryptoAddress(currency=a.currency, address=a.address, valid_checksum=a.valid_checksum)
        for a in find_addresses(text)[:MAX_LIST]
    ]
    listing.shipping = Shipping(origin=found.ship_from[:MAX_LIST], destination=found.ship_to[:MAX_LIST])
    if listing.price is None and "price" not in listing.extraction and (price := find_price(text)):
        listing.price, listing.currency, listing.price_text = price.amount, price.currency, price.text
        listing.extraction["price"] = "text"
    return listing


class EntityPipeline:
    def process_item(self, item: Listing) -> Listing:
        return enrich(item)


class JsonlWriterPipeline:
    """One JSON line per listing, flushed per line so a killed crawl leaves every finished listing on disk."""

    def __init__(self, path: Path, append: bool, stats: StatsCollector) -> None:
        self.path = path
        self.append = append
        self.stats = stats
        self._fh: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(
            Path(crawler.settings["LISTINGWATCH_OUTPUT"]),
            crawler.settings.getbool("LISTINGWATCH_APPEND"),
            crawler.stats,
        )

    def open_spider(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a" if self.append else "w", encoding="utf-8")

    def close_spider(self) -> None:
        if self._fh is not None:
            self._fh.close()

    def process_item(self, item: Listing) -> Listing:
        assert self._fh is not None
        self._fh.write(item.model_dump_json() + "\n")
        self._fh.flush()
        self.stats.inc_value("listingwatch/listings_written")
        return item
