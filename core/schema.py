"""The listing record every stage passes along: crawl writes it, classify adds to it, index stores it.

It is the one contract between stages, so each stage reads and writes JSON lines of
`Listing` (``Listing.model_validate_json`` / ``model_dump_json``) and nothing else.
Hostile text arrives here: lengths are capped so one oversize field cannot blow up an
index request or the web app.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from core.urls import canonical_url, id_of_canonical

MAX_TITLE = 1_000
MAX_TEXT = 100_000
MAX_LIST = 200
MAX_PHOTO_TEXT = 5_000

ShortStr = Annotated[str, StringConstraints(max_length=2_000)]
PageKind = Literal["listing", "bot_challenge", "login_wall", "error", "other"]
RenderMode = Literal["http", "browser"]
SourceKind = Literal["market", "classifieds", "forum", "channel", "shop", "news", "reference", "unknown"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Seller(_Model):
    name: ShortStr | None = None
    profile_url: ShortStr | None = None


class Contacts(_Model):
    """Contact handles found in the listing text, normalised (E.164 phones, lowercase emails)."""

    phone: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)
    phone_unverified: list[ShortStr] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="+country-code numbers in a range the phone library does not know as valid: still leads.",
    )
    email: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)
    telegram: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)
    telegram_bot: list[ShortStr] = Field(
        default_factory=list, max_length=MAX_LIST, description="Telegram bot usernames (end in 'bot'): order bots."
    )
    wickr: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)
    whatsapp: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)
    signal: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)
    snapchat: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)
    threema: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST, description="Threema IDs, upper case.")
    session: list[ShortStr] = Field(
        default_factory=list, max_length=MAX_LIST, description="Session messenger IDs (66 hex digits, '05…')."
    )
    cashtag: list[ShortStr] = Field(
        default_factory=list, max_length=MAX_LIST, description="Cash App $cashtags, lower case with the '$'."
    )
    venmo: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)
    zelle: list[ShortStr] = Field(
        default_factory=list, max_length=MAX_LIST, description="The e-mail or E.164 phone a Zelle payment goes to."
    )
    paypal: list[ShortStr] = Field(
        default_factory=list, max_length=MAX_LIST, description="PayPal.me names and PayPal account e-mails."
    )


# The contact kinds, in the order the schema, the index, the search syntax and the app list them;
# `phone_unverified` is a lead kept on the listing, not a kind a search or a seller link uses.
CONTACT_FIELDS: tuple[str, ...] = tuple(Contacts.model_fields)
CONTACT_KINDS: tuple[str, ...] = tuple(f for f in CONTACT_FIELDS if f != "phone_unverified")


class CryptoAddress(_Model):
    currency: Literal["BTC", "XMR", "ETH", "USDT", "LTC", "OTHER"]
    address: ShortStr
    valid_checksum: bool | None = None


class Shipping(_Model):
    origin: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)
    destination: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)


class Evidence(_Model):
    """Where the raw capture of this fetch lives and how to prove it was not altered."""

    warc_file: ShortStr | None = None
    warc_offset: int | None = None
    warc_record_id: ShortStr | None = None
    body_sha256: ShortStr | None = None
    body_truncated: bool = False
    screenshot_path: ShortStr | None = None
    screenshot_sha256: ShortStr | None = None
    screenshot_record_id: ShortStr | None = None
    rendered_record_id: ShortStr | None = Field(
        default=None, description="Browser pages: the WARC conversion record of the DOM as rendered."
    )
    rendered_sha256: ShortStr | None = None
    captured_at: datetime | None = None


class Photo(_Model):
    """A listing photo as fetched: hashes to match reused photos across sites and accounts, and its WARC record."""

    url: ShortStr
    sha256: ShortStr
    phash: ShortStr | None = Field(default=None, description="64-bit perceptual hash (imagehash pHash), hex.")
    width: int | None = None
    height: int | None = None
    content_type: ShortStr | None = None
    warc_file: ShortStr | None = None
    warc_offset: int | None = None
    warc_record_id: ShortStr | None = None
    text: Annotated[str, StringConstraints(max_length=MAX_PHOTO_TEXT)] | None = Field(
        default=None, description="Text read from the photo by OCR (menus, price lists, handles written on pills)."
    )


class LexiconHit(_Model):
    term: ShortStr
    category: ShortStr
    field: Literal["title", "description", "seller"] = "description"
    start: int
    end: int


class TokenAttribution(_Model):
    """A word whose removal moved the model's score; `start`/`end` index into `field` when known."""

    token: ShortStr
    weight: float
    field: Literal["title", "description", "seller"] | None = None
    start: int | None = None
    end: int | None = None


class Explanation(_Model):
    lexicon: list[LexiconHit] = Field(default_factory=list)
    tokens: list[TokenAttribution] = Field(default_factory=list)


class Classification(_Model):
    score: float = Field(ge=0.0, le=1.0)
    flagged: bool
    threshold: float
    substances: list[str] = Field(default_factory=list)
    scope: Literal["synthetic", "other_drug", "none"] = Field(
        default="none", description="synthetic when a flagged listing names a synthetic class, other_drug otherwise."
    )
    labels: dict[str, float] = Field(default_factory=dict)
    model_version: str
    text_sha256: str | None = None
    explanation: Explanation = Field(default_factory=Explanation)


class Takedown(_Model):
    """The listing document's copy of its takedown item (the store keeps the record; see takedown/cases.py)."""

    status: Literal["none", "new", "queued", "reported", "removed", "still_live", "reinstated", "rejected"] = "none"
    platform: ShortStr | None = None
    item_id: int | None = None
    reported_at: datetime | None = None
    removed_at: datetime | None = None
    checked_at: datetime | None = None
    reference: ShortStr | None = Field(default=None, description="Latest packet the item went out in.")
    relist_of: ShortStr | None = Field(default=None, description="Listing id of the removed listing this relists.")
    history: list[dict[str, str | None]] = Field(
        default_factory=list, description="Audit entries: at, by, from, to, note."
    )


class Listing(_Model):
    """One fetch of one listing page, with everything extracted from it."""

    url: Annotated[str, StringConstraints(min_length=1, max_length=4_000)]
    source: ShortStr
    platform: ShortStr
    site: ShortStr | None = None
    page_kind: PageKind = "listing"
    source_kind: SourceKind | None = Field(
        default=None, description="What kind of place the page is on; the classifier reads it as context."
    )
    render_mode: RenderMode = "http"
    http_status: int | None = None
    fetched_at: datetime = Field(default_factory=utcnow)

    title: Annotated[str, StringConstraints(max_length=MAX_TITLE)] | None = None
    description: Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None = None
    price: float | None = None
    currency: ShortStr | None = None
    price_text: ShortStr | None = None
    seller: Seller = Field(default_factory=Seller)
    contacts: Contacts = Field(default_factory=Contacts)
    crypto: list[CryptoAddress] = Field(default_factory=list, max_length=MAX_LIST)
    shipping: Shipping = Field(default_factory=Shipping)
    images: list[ShortStr] = Field(default_factory=list, max_length=MAX_LIST)
    photos: list[Photo] = Field(default_factory=list, max_length=MAX_LIST)
    posted_at: datetime | None = None
    language: ShortStr | None = None
    extraction: dict[str, str] = Field(
        default_factory=dict, description="field name -> method that produced it (selector, jsonld, text)"
    )

    evidence: Evidence = Field(default_factory=Evidence)
    classification: Classification | None = None

    @field_validator("url")
    @classmethod
    def _canonical(cls, v: str) -> str:
        if not v.lower().startswith(("http://", "https://")):
            raise ValueError("url must be an absolute http(s) URL")
        # The crawler already dropped the fragments that are anchors on its source; the ones left are identity.
        canonical = canonical_url(v, keep_fragments=True)
        if not urlsplit(canonical).hostname:
            raise ValueError("url has no host name")
        return canonical

    @field_validator("fetched_at", "posted_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        return v

    @model_validator(mode="after")
    def _site_default(self) -> "Listing":
        if self.site is None:
            self.site = urlsplit(self.url).netloc
        return self

    @property
    def id(self) -> str:
        # `url` was canonicalised on validation; hashing it directly keeps the loader's hot path cheap.
        return id_of_canonical(self.url)
