"""Item pipelines: entity extraction on the listing's text and its photos' text, then JSON lines of `Listing`."""

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self
from urllib.parse import urlsplit

import phonenumbers
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from core.schema import CONTACT_FIELDS, MAX_LIST, Contacts, CryptoAddress, Listing, Shipping
from crawlers.extract.crypto import find_addresses
from crawlers.extract.entities import extract_entities, find_price
from crawlers.sources import SourceConfig

# Country-code domains that are sold as generic names (.io, .co, .me ...) say nothing about a seller's country.
_VANITY_TLDS = {"AI", "AM", "CC", "CO", "FM", "GG", "IO", "LY", "ME", "NU", "SH", "TO", "TV", "WS", "AC", "GL", "IM"}


@dataclass(frozen=True)
class ContactReading:
    """What the source says about reading its contacts: the phone region and the platform of a bare @name."""

    country: str | None = None
    bare_handles: str | None = None

    @classmethod
    def of(cls, source: SourceConfig | None) -> "ContactReading":
        if source is None:
            return cls()
        bare = source.contacts.bare_handles
        if bare is None and source.kind == "channel" and source.feed is not None:
            bare = "telegram"  # the feed block reads Telegram's channel preview (t.me/s/...)
        return cls(source.contacts.country, bare)

    def region(self, url: str) -> str:
        """The source's country, else the site's country-code domain, else US."""
        if self.country:
            return self.country
        tld = (urlsplit(url).hostname or "").rsplit(".", 1)[-1].upper()
        tld = "GB" if tld == "UK" else tld
        if len(tld) == 2 and tld not in _VANITY_TLDS and tld in phonenumbers.SUPPORTED_REGIONS:
            return tld
        return "US"


def listing_text(listing: Listing) -> str:
    """Title and description, without a title that only repeats the description's start.

    A feed post's title is its first 120 characters: reading it as well would find a crypto address or handle
    that the cut left half-written as a second, wrong one.
    """
    title, description = listing.title or "", listing.description or ""
    if title and " ".join(title.split()) in " ".join(description.split()):
        title = ""
    return "\n".join(p for p in (title, description) if p)


def enrich(listing: Listing, reading: ContactReading | None = None) -> Listing:
    """Contacts, crypto addresses, shipping phrases and a price found in the text and in the photos' text.

    The text price is a fallback for sites with no price field (forum posts). When the source
    has a price selector and the page showed no price, a "$120," in the description is not
    taken as the price: the spider marks that case as ``extraction["price"] == "not_on_page"``.
    OCR misreads characters, so from photo text only checksum-valid crypto addresses are kept.
    """
    reading = reading or ContactReading()
    text = listing_text(listing)
    photo_text = "\n".join(p.text for p in listing.photos if p.text)
    found = extract_entities(
        "\n".join(p for p in (text, photo_text) if p), reading.region(listing.url), reading.bare_handles
    )
    listing.contacts = Contacts(**{name: getattr(found, name)[:MAX_LIST] for name in CONTACT_FIELDS})
    addresses = find_addresses(text)
    known = {a.address for a in addresses}
    addresses += [a for a in find_addresses(photo_text) if a.valid_checksum and a.address not in known]
    listing.crypto = [
        CryptoAddress(currency=a.currency, address=a.address, valid_checksum=a.valid_checksum)
        for a in addresses[:MAX_LIST]
    ]
    listing.shipping = Shipping(origin=found.ship_from[:MAX_LIST], destination=found.ship_to[:MAX_LIST])
    if listing.price is None and "price" not in listing.extraction and (price := find_price(text)):
        listing.price, listing.currency, listing.price_text = price.amount, price.currency, price.text
        listing.extraction["price"] = "text"
    return listing


class EntityPipeline:
    def __init__(self, reading: ContactReading) -> None:
        self.reading = reading

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(ContactReading.of(getattr(crawler.spider, "source", None)))

    def process_item(self, item: Listing) -> Listing:
        return enrich(item, self.reading)


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
