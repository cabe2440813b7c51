"""One typed settings object that every stage reads.

Precedence, highest first: environment variables ``LISTINGWATCH_*`` (nested with ``__``,
e.g. ``LISTINGWATCH_ES__PORT=9201``), then the YAML file named by ``LISTINGWATCH_CONFIG``
(default ``listingwatch.yaml`` in the project home, if present), then the defaults below.
Paths that are relative are resolved against ``home`` so every process — CLI, Scrapy
subprocess, Airflow task, web app — agrees on where ``var/`` and the caches are.
"""

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from core.errors import ConfigError
from core.jsonl import describe_validation_error


def _default_home() -> Path:
    """The repository root for an editable install, else the current directory."""
    if env := os.environ.get("LISTINGWATCH_HOME"):
        return Path(env).resolve()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo
    return Path.cwd()


HOME = _default_home()
# The built real-text corpus shipped beside the classifier package (classifiers.realcorpus.SNAPSHOT_FILE).
SHIPPED_REAL_CORPUS = Path(__file__).resolve().parents[1] / "classifiers" / "data" / "real_corpus.jsonl.gz"

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Section(BaseModel):
    """A part of the settings: a key it does not know is an error, so a misspelt one in config.yaml or an
    environment variable is named instead of silently leaving the default in place."""

    model_config = ConfigDict(extra="forbid")


class IndexSizing(Section):
    shards: int = Field(default=1, ge=1, le=1024)
    replicas: int = Field(default=0, ge=0, le=16)


class ElasticsearchSettings(Section):
    """The node or cluster the pipeline writes to; `url` and `hosts` unset means the project-managed local node."""

    version: str = "8.19.20"
    url: str | None = Field(default=None, description="External node URL; unset = local node.")
    hosts: list[str] = Field(default_factory=list, description="Several cluster node URLs (instead of url).")
    verify_certs: bool = Field(default=True, description="Verify the server certificate against ca_certs.")
    sniff: bool = Field(default=False, description="Discover nodes from the cluster; off behind proxies/LBs.")
    shards: int = Field(default=1, ge=1, le=1024, description="Primary shards of new indices.")
    replicas: int = Field(default=0, ge=0, le=16, description="Replicas per shard; 1+ on a cluster.")
    index_sizing: dict[str, IndexSizing] = Field(
        default_factory=dict, description="Per index family (listings, observations, ...): shards/replicas."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=9200, ge=1, le=65535)
    transport_port: int = Field(default=9300, ge=1, le=65535)
    profile: Literal["embedded", "secure"] = "embedded"
    heap: str = Field(default="1g", pattern=r"^\d+[mg]$")
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    ca_certs: Path | None = None
    index_prefix: str = Field(default="listingwatch", pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    request_timeout: float = Field(default=30.0, gt=0)
    bulk_chunk_size: int = Field(default=500, ge=1, le=10_000)
    bulk_max_retries: int = Field(default=5, ge=0)
    startup_timeout: float = Field(default=180.0, gt=0)
    run_as: str = Field(default="nobody", description="Unprivileged user the local node runs as when started by root.")

    @property
    def endpoint(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        if self.hosts:
            return self.hosts[0].rstrip("/")
        scheme = "https" if self.profile == "secure" else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def shown_endpoint(self) -> str:
        """`endpoint` fit for messages and status: a password inside the URL is replaced by ***."""
        parts = urlsplit(self.endpoint)
        if parts.password is None:
            return self.endpoint
        netloc = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))


class CrawlSettings(Section):
    sources_dir: Path = Path("crawlers/sources")
    chromium_path: Path = Path("/usr/bin/chromium")
    browser_args: list[str] = Field(default_factory=lambda: list(BROWSER_ARGS))
    user_agent: str = "listingwatch/0.1 (+https://github.com/listingwatch/listingwatch; trust-and-safety crawler)"
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    download_timeout: float = Field(default=30.0, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    private_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Private, loopback or link-local networks (CIDR) every source's re-checks and removal checks "
        "may reach; unset, they refuse all such addresses (a source can list its own under private_networks).",
    )
    warc_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    http_cache: bool = Field(default=False, description="Scrapy HttpCache for developing selectors; never in prod.")
    frontier: Literal["local", "redis"] = Field(
        default="local", description="local: one process, JOBDIR on disk; redis: workers share a queue in Redis."
    )
    redis_url: str | None = Field(default=None, description="Redis for frontier redis, e.g. redis://host:6379/0.")
    workers: int = Field(default=1, ge=1, le=256, description="Crawler processes per source run (frontier redis).")
    worker_lease_s: float = Field(
        default=30.0, ge=2, description="A worker silent this long is presumed dead; its requests are re-queued."
    )
    frontier_ttl_hours: int = Field(default=72, ge=1, description="How long a run's Redis keys outlive its last use.")

    @field_validator("browser_args")
    @classmethod
    def _keeps_pages_in(cls, args: list[str]) -> list[str]:
        """A crawled page is hostile: Chromium's Local Network Access checks stop a public page loading the
        crawler's own network (admin pages, metadata services) into a tab, its screenshot and the evidence,
        and the same-origin policy stops its scripts reading other sites. A switch that turns either off is
        refused rather than obeyed."""
        unsafe = [
            arg
            for arg in args
            if arg.startswith("--disable-web-security")
            or (arg.startswith("--disable-features") and "NetworkAccess" in arg)
        ]
        if unsafe:
            raise ValueError(f"{', '.join(unsafe)} would let crawled pages reach the crawler's network; remove it")
        return args

    @model_validator(mode="after")
    def _redis_needs_url(self) -> "CrawlSettings":
        if self.frontier == "redis" and not self.redis_url:
            raise ValueError("crawl.frontier is redis but crawl.redis_url is not set; set it (redis://host:6379/0)")
        return self


class ModelSettings(Section):
    models_dir: Path = Path("var/models")
    active: str | None = Field(default=None, description="Model version to load; unset = newest promoted.")
    target_precision: float = Field(default=0.95, gt=0, lt=1)
    batch_size: int = Field(default=32, ge=1)
    real_corpus: Path = Field(
        default=SHIPPED_REAL_CORPUS,
        description="Real-text corpus (JSONL, or .jsonl.gz) from scripts/fetch_real_corpus.py; full training uses"
        " it when present. Default: the copy shipped in classifiers/data (docs/data_card.md).",
    )


class AirflowSettings(Section):
    """How the pipeline DAGs run; the embedded default is SQLite under `home`, production overrides via AIRFLOW__*."""

    home: Path = Path("var/airflow")
    dags_folder: Path = Path("dags")
    owner: str = "trust-and-safety"
    browser_pool: str = "browser"
    browser_pool_slots: int = Field(
        default=1, ge=1, description="Concurrent browser crawls; each Chromium needs ~1 core."
    )
    crawl_timeout_minutes: int = Field(default=60, ge=1, description="Bound on a crawl when its YAML sets none.")
    retries: int = Field(default=2, ge=0)
    retry_delay_seconds: float = Field(default=120.0, ge=0)
    max_retry_delay_minutes: int = Field(default=60, ge=1)
    recheck_schedule: str = "@daily"
    recheck_limit: int = Field(default=500, ge=1, description="Flagged listings re-fetched per re-check run.")
    recheck_timeout_minutes: int = Field(
        default=30, ge=1, description="Bound on a re-check run; listings it does not reach wait for the next run."
    )
    executor: Literal["LocalExecutor", "CeleryExecutor"] = Field(
        default="LocalExecutor", description="CeleryExecutor: tasks run on `listingwatch airflow serve celery-worker`."
    )
    database_url: str | None = Field(
        default=None, description="Metadata DB (postgresql+psycopg2://...); unset = SQLite under home."
    )
    broker_url: str | None = Field(default=None, description="Celery broker, e.g. redis://host:6379/1.")
    result_backend: str | None = Field(default=None, description="Celery results; unset = the metadata DB.")
    worker_concurrency: int = Field(default=4, ge=1, description="Task slots per Celery worker.")
    crawl_queue: str = Field(
        default="default", description="Celery queue of crawl tasks: route them to workers with a browser."
    )
    execution_api_url: str | None = Field(
        default=None, description="Where workers reach the API server's task API, e.g. http://api:8080/execution/."
    )

    @model_validator(mode="after")
    def _celery_needs_services(self) -> "AirflowSettings":
        if self.executor == "CeleryExecutor":
            missing = [n for n in ("database_url", "broker_url") if not getattr(self, n)]
            if missing:
                raise ValueError(f"CeleryExecutor needs airflow.{' and airflow.'.join(missing)} (Postgres and Redis)")
            if self.database_url and self.database_url.startswith("sqlite"):
                raise ValueError("CeleryExecutor needs a server database (Postgres), not SQLite")
        return self


class WebSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: str | None = Field(
        default=None, description="Signs session cookies; unset = a random key kept in var/web-secret."
    )
    secure_cookies: bool | None = Field(
        default=None,
        description="Send cookies only over HTTPS, named __Host-; unset = on unless web.host is a loopback address.",
    )
    session_hours: int = Field(default=12, ge=1)
    login_attempts_per_minute: int = Field(default=5, ge=1, description="Failed logins per (user, address) a minute.")
    login_attempts_per_hour: int = Field(default=20, ge=1, description="Failed logins per (user, address) an hour.")
    throttle_storage: str = Field(
        default="memory://",
        description="Where login attempts are counted: memory:// for one process, redis://... shared by several.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of the TLS proxies whose X-Forwarded-For/-Proto are believed (empty = none).",
    )
    hsts_seconds: int = Field(default=31_536_000, ge=0, description="Strict-Transport-Security max-age over HTTPS.")

    def cookies_secure(self) -> bool:
        """`secure_cookies`, or on unless the app listens on loopback only (a local analyst's laptop)."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.host not in ("127.0.0.1", "localhost", "::1")


class DbSettings(Section):
    """The relational store (users, triage, saved searches); unset url = SQLite at var/listingwatch.db."""

    url: str | None = Field(default=None, description="Any SQLAlchemy URL, e.g. postgresql+psycopg2://...")


class Submitter(Section):
    """Who sends notices (DSA Art. 16(2)(c)): shown to platforms in every packet."""

    name: str = "Liaison team"
    organisation: str = "listingwatch deployment (set takedown.submitter.organisation)"
    email: str = "liaison@listingwatch.invalid"


class TakedownSettings(Section):
    """Platform-liaison work: registry, packets, timestamping and removal re-checks (docs/liaison.md)."""

    platforms_file: Path = Path("takedown/platforms.yaml")
    packets_dir: Path = Path("var/takedown/packets")
    tsa_url: str | None = Field(default=None, description="RFC 3161 time-stamping authority; unset = no token.")
    tsa_ca_file: Path | None = Field(default=None, description="CA bundle that `takedown verify` trusts for tokens.")
    tsa_timeout: float = Field(default=20.0, gt=0)
    hourly_checks_hours: float = Field(default=24.0, ge=0, description="Re-check hourly this long after reporting.")
    watch_removed_days: float = Field(default=30.0, ge=0, description="Keep re-checking removed listings this long.")
    check_limit: int = Field(default=500, ge=1, description="Reported URLs re-fetched per run.")
    check_schedule: str = Field(default="@hourly", description="How often takedown_checks looks for due checks.")
    relist_similarity: float = Field(default=0.7, gt=0, le=1, description="MinHash Jaccard for a relisting.")
    signing_key: Path | None = Field(
        default=None, description="Ed25519 private key (PEM) that signs packets; unset = var/takedown/signing-key.pem."
    )
    trusted_keys: list[Path] = Field(
        default_factory=list, description="Other Ed25519 public keys (PEM) `takedown verify` accepts."
    )
    submitter: Submitter = Field(default_factory=lambda: Submitter())
    good_faith_statement: str = Field(
        default=(
            "We state in good faith that the information and allegations in this notice are accurate and complete "
            "to the best of our knowledge."
        ),
        min_length=20,
    )
    jurisdictions: list[str] = Field(
        default_factory=lambda: ["INT", "US", "EU", "UK"],
        description="Whose law a notice cites (takedown/legal_grounds.yaml keys).",
    )
    name_reviewers: bool = Field(default=False, description="Name the human reviewer in notices (default: role only).")


class AlertsSettings(Section):
    """Alert delivery: SMTP relay, webhook timeouts, retry back-off, where alert links point (docs/webapp.md)."""

    app_url: str = Field(default="http://127.0.0.1:8000", description="The web app's address as readers reach it.")
    smtp_host: str | None = Field(default=None, description="SMTP relay; unset = e-mail subscriptions cannot send.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls on 587, tls (implicit) on 465, none only for a relay on localhost."
    )
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle that signs the relay's certificate.")
    smtp_from: str = "listingwatch@localhost"
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="Bound on one SMTP or webhook delivery.")
    retry_base_s: float = Field(default=60.0, gt=0, description="First retry after this; doubles per failure.")
    retry_max_s: float = Field(default=3600.0, gt=0, description="Back-off stops growing here.")
    max_attempts: int = Field(default=48, ge=1, description="Then the delivery is marked dead (alerts list shows it).")
    min_score: float = Field(default=0.9, ge=0, le=1, description="new_offer default when a subscription sets none.")
    lookback_hours: float = Field(default=48.0, gt=0, description="How far back a run looks for events it missed.")

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> "AlertsSettings":
        local = self.smtp_host in (None, "127.0.0.1", "localhost", "::1")
        if self.smtp_security == "none" and self.smtp_username and not local:
            raise ValueError("alerts.smtp_security none would send the SMTP password in clear; use starttls or tls")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LISTINGWATCH_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    home: Path = HOME
    var_dir: Path = Path("var")
    cache_dir: Path = Path(".cache")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="How much the crawler (Scrapy) writes to its log file."
    )
    user: str | None = Field(default=None, description="Who acts in `triage` and `takedown` when --by is not given.")
    sites_url: str | None = Field(
        default=None, description="Where the local demo sites run (the demo sources' YAML reads the same variable)."
    )

    es: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    airflow: AirflowSettings = Field(default_factory=AirflowSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    db: DbSettings = Field(default_factory=DbSettings)
    takedown: TakedownSettings = Field(default_factory=TakedownSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls, yaml_file=config_file()))

    @model_validator(mode="after")
    def _resolve_paths(self) -> "Settings":
        self.var_dir = self.path(self.var_dir)
        self.cache_dir = self.path(self.cache_dir)
        self.crawl.sources_dir = self.path(self.crawl.sources_dir)
        self.model.models_dir = self.path(self.model.models_dir)
        self.model.real_corpus = self.path(self.model.real_corpus)
        self.airflow.home = self.path(self.airflow.home)
        self.airflow.dags_folder = self.path(self.airflow.dags_folder)
        self.takedown.platforms_file = self.path(self.takedown.platforms_file)
        self.takedown.packets_dir = self.path(self.takedown.packets_dir)
        return self

    def path(self, p: Path) -> Path:
        return p if p.is_absolute() else (self.home / p)


def config_file() -> Path | None:
    env = os.environ.get("LISTINGWATCH_CONFIG")
    if env:
        path = Path(env)
        if not path.exists():
            raise ConfigError(
                f"Config file {path} (from LISTINGWATCH_CONFIG) does not exist; fix the path or unset it."
            )
        return path
    default = HOME / "listingwatch.yaml"
    return default if default.exists() else None


def _describe(err: ValidationError) -> str:
    origin = config_file() or "the environment"
    many = len(err.errors()) > 1
    return (
        f"Invalid setting{'s' if many else ''} {describe_validation_error(err, every=True)} "
        f"(fix {'them' if many else 'it'} in {origin} or LISTINGWATCH_*)."
    )


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one plain sentence."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None
    except ValueError as err:  # malformed YAML surfaces as a ValueError subclass
        raise ConfigError(f"Could not read the config file: {err}.") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; call `get_settings.cache_clear()` after changing the environment."""
    return load_settings()
