"""Field-level precision/recall of crawled listings against the site generator's truth."""

from collections.abc import Callable
from dataclasses import dataclass

from core.schema import Listing
from listingwatch.demo.marketplaces.generator import GeneratedListing


def _contacts(listing: Listing) -> dict[str, list[str]]:
    return {k: v for k, v in listing.contacts.model_dump().items() if v}


def _expected_contacts(truth: GeneratedListing, got: Listing) -> dict[str, list[str]]:
    """The text's contacts, plus those only in the seller's price-list photo once the crawl fetched the photos."""
    expected = {kind: list(values) for kind, values in truth.contacts.items()}
    if got.photos:
        for kind, values in truth.photo_contacts.items():
            expected.setdefault(kind, []).extend(values)
    return expected


# field -> (truth has a value, crawl extracted a value, both and they match)
Check = Callable[[GeneratedListing, Listing], tuple[bool, bool, bool]]


def _check(present: bool, extracted: bool, correct: bool) -> tuple[bool, bool, bool]:
    return present, extracted, present and extracted and correct


CHECKS: dict[str, Check] = {
    "title": lambda t, got: _check(True, got.title is not None, got.title == t.title),
    "description": lambda t, got: _check(
        True, got.description is not None, got.description is not None and t.description in got.description
    ),
    # A free item (price 0) shows "Free" on some sites and nothing on others: only real prices are scored.
    "price": lambda t, got: _check(
        bool(t.price), bool(got.price), got.price is not None and abs(got.price - t.price) < 0.005
    ),
    "currency": lambda t, got: _check(bool(t.price), bool(got.price and got.currency), got.currency == t.currency),
    "seller": lambda t, got: _check(True, got.seller.name is not None, got.seller.name == t.seller),
    "posted_at": lambda t, got: _check(True, got.posted_at is not None, got.posted_at == t.posted_at),
    "images": lambda t, got: _check(
        bool(t.images),
        bool(got.images),
        [i.split("/static/")[-1] for i in got.images] == [i.split("/static/")[-1] for i in t.images],
    ),
    "contacts": lambda t, got: _check(
        bool(_expected_contacts(t, got)),
        bool(_contacts(got)),
        all(set(v) <= set(_contacts(got).get(k, [])) for k, v in _expected_contacts(t, got).items()),
    ),
    "crypto": lambda t, got: _check(
        bool(t.crypto),
        bool(got.crypto),
        {a for _, a in t.crypto} <= {c.address for c in got.crypto if c.valid_checksum is not False},
    ),
}


@dataclass
class FieldScore:
    field: str
    truth: int
    extracted: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.extracted if self.extracted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.truth if self.truth else 1.0


def score(listings: list[Listing], truth: dict[str, GeneratedListing], fields: list[str]) -> dict[str, FieldScore]:
    """Per-field counts over listings that map to a truth URL (every crawled listing should)."""
    scores = {f: FieldScore(f, 0, 0, 0) for f in fields}
    for got in listings:
        expected = truth[got.url]
        for name in fields:
            present, extracted, correct = CHECKS[name](expected, got)
            scores[name].truth += present
            scores[name].extracted += extracted
            scores[name].correct += correct
    return scores


def table(site: str, scores: dict[str, FieldScore]) -> str:
    rows = [f"{site:<12} {'field':<12} {'truth':>6} {'got':>6} {'ok':>6} {'prec':>6} {'recall':>6}"]
    rows += [
        f"{'':<12} {s.field:<12} {s.truth:>6} {s.extracted:>6} {s.correct:>6} {s.precision:>6.2f} {s.recall:>6.2f}"
        for s in scores.values()
    ]
    return "\n".join(rows)
