"""The registry of platforms reports go to, read from a validated YAML file.

A liaison edits `takedown/platforms.yaml` (or the file named by
``settings.takedown.platforms_file``); a typo must fail when the file is loaded, with every
problem named at once, not when a packet is half written. The field catalogue below is the
vocabulary a platform's `required_fields` may use, so each packet's CSV/JSON columns come out
in the order that platform's own form asks for them.
"""

from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import ConfigError

DEFAULT_FILE = Path(__file__).with_name("platforms.yaml")

FIELDS: dict[str, str] = {
    "listing_id": "Listing ID (SHA-256 of the canonical URL, shortened)",
    "url": "Listing URL",
    "platform": "Platform",
    "site": "Site (host)",
    "title": "Title",
    "description": "Description",
    "price": "Price and currency",
    "seller_name": "Seller name",
    "seller_profile_url": "Seller profile URL",
    "contact_handles": "Contact handles (phone, email, messaging)",
    "crypto_addresses": "Crypto addresses",
    "substances": "Substances",
    "score": "Classifier score",
    "reason": "Why it was flagged",
    "captured_at": "Capture time (UTC)",
    "body_sha256": "SHA-256 of the captured page",
    "screenshot_sha256": "SHA-256 of the screenshot",
    "evidence_files": "Evidence files in this packet",
    "first_seen": "First seen (UTC)",
    "last_seen": "Last seen (UTC)",
    "previous_removal": "Earlier removal of this seller's listing",
}
ChannelKind = Literal["email", "web_form", "trusted_flagger_api"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(_Strict):
    """One way a platform takes reports; `email` needs `address`, the others `url`."""

    kind: ChannelKind
    address: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    note: str | None = None

    @model_validator(mode="after")
    def _target(self) -> "Channel":
        if self.kind == "email" and not self.address:
            raise ValueError("an email channel needs `address`")
        if self.kind != "email" and not self.url:
            raise ValueError(f"a {self.kind} channel needs `url`")
        return self


class PolicyClause(_Strict):
    """The platform's own rule the listing breaks, as its published policy names it."""

    title: str = Field(min_length=3)
    url: str = Field(pattern=r"^https?://\S+$")


class Platform(_Strict):
    """A company that receives reports for the listings on its domains."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$", description="Short name used in file names and the CLI.")
    name: str = Field(min_length=1, description="As the sources' `platform:` spells it.")
    aliases: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list, description="Hosts; `*.onion` matches every subdomain.")
    channels: list[Channel] = Field(default_factory=list)
    required_fields: list[str] = Field(min_length=1)
    response_hours: float | None = Field(default=None, gt=0, description="What the platform promises, if anything.")
    removal_markers: list[str] = Field(default_factory=list, description="Text its removal page shows.")
    seller_markers: list[str] = Field(
        default_factory=list, description="Text shown when the seller deleted or ended the listing (not a removal)."
    )
    policy_clause: PolicyClause | None = Field(default=None, description="The platform rule notices cite.")
    detection_details: bool = Field(
        default=False, description="Put classifier score, threshold and matched terms in packets (internal otherwise)."
    )
    search_paths: list[str] = Field(default_factory=list, description="Paths a removed listing redirects to.")
    catch_all: bool = False

    @field_validator("domains")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            bare = host.removeprefix("*.")
            if not bare or "/" in bare or "*" in bare or " " in bare:
                raise ValueError(f"{host!r} must be a host name such as example.com or *.example.com")
        return [h.lower() for h in hosts]

    @field_validator("required_fields")
    @classmethod
    def _known_fields(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in FIELDS]
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
        if len(set(names)) != len(names):
            raise ValueError("a field is listed twice")
        return names

    def matches_host(self, host: str) -> bool:
        host = host.lower().split(":")[0]
        for domain in self.domains:
            if domain.startswith("*."):
                if host.endswith(domain[1:]):
                    return True
            elif host == domain or host.endswith("." + domain):
                return True
        return False


class Registry(_Strict):
    platforms: list[Platform] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "Registry":
        problems: list[str] = []
        seen: dict[str, str] = {}
        for platform in self.platforms:
            for label in (platform.key, platform.name, *platform.aliases):
                folded = label.casefold()
                if folded in seen and seen[folded] != platform.key:
                    problems.append(f"{label!r} names both {seen[folded]} and {platform.key}")
                seen[folded] = platform.key
        owners: dict[str, str] = {}
        for platform in self.platforms:
            for domain in platform.domains:
                if domain in owners:
                    problems.append(f"domain {domain} belongs to both {owners[domain]} and {platform.key}")
                owners[domain] = platform.key
        catch_alls = [p.key for p in self.platforms if p.catch_all]
        if len(catch_alls) != 1:
            problems.append(f"exactly one platform must have catch_all: true (found {len(catch_alls)})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def catch_all(self) -> Platform:
        return next(p for p in self.platforms if p.catch_all)

    def find(self, name: str) -> Platform | None:
        """A platform by key, name or alias, ignoring case."""
        folded = name.strip().casefold()
        for platform in self.platforms:
            if folded in {platform.key, platform.name.casefold(), *(a.casefold() for a in platform.aliases)}:
                return platform
        return None

    def get(self, name: str) -> Platform:
        """Like `find`, but a user-facing error listing the known platforms when there is none."""
        platform = self.find(name)
        if platform is None:
            known = ", ".join(p.key for p in self.platforms)
            raise ConfigError(f"No platform named {name!r} in the registry (known: {known}); check the name.")
        return platform

    def for_listing(self, platform_name: str | None, url: str) -> Platform:
        """The platform a listing is reported to: the source's platform if registered, else by host, else catch-all.

        Domains that sit behind onion addresses or unknown hosts fall to the catch-all, which a
        liaison reassigns per item.
        """
        if platform_name and (platform := self.find(platform_name)):
            return platform
        host = urlsplit(url).hostname or ""
        specific = [p for p in self.platforms if not p.catch_all and p.matches_host(host)]
        if specific:
            return specific[0]
        wildcard = [p for p in self.platforms if p.catch_all and p.matches_host(host)]
        return wildcard[0] if wildcard else self.catch_all


def _describe(path: Path, err: ValidationError) -> str:
    problems = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "the file"
        problems.append(f"{where}: {e['msg']}")
    return f"Platform registry {path} is invalid ({'; '.join(problems)}); fix the YAML (see docs/liaison.md)."


def load_registry(path: Path | None = None) -> Registry:
    """Read and validate the registry, naming every problem in one `ConfigError`."""
    path = Path(path or DEFAULT_FILE)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"Platform registry {path} cannot be read ({err.strerror}); check the path.") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"Platform registry {path} is not valid YAML ({err}); fix the syntax.") from None
    try:
        return Registry.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_describe(path, err)) from None
