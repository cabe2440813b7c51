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

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from listingwatch.errors import ConfigError


def _default_home() -> Path:
    """The repository root for an editable install, else the current directory."""
    if env := os.environ.get("LISTINGWATCH_HOME"):
        return Path(env).resolve()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo
    return Path.cwd()


HOME = _default_home()

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class ElasticsearchSettings(BaseModel):
    """The node the pipeline writes to; `url` unset means the project-managed local node."""

    version: str = "8.19.20"
    url: str | None = Field(default=None, description="External node URL; unset = local node.")
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
    run_as: str = Field(
        default="nobody", description="Unprivileged user the local node runs as when started by root."
    )

    @property
    def endpoint(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        scheme = "https" if self.profile == "secure" else "http"
        return f"{scheme}://{self.host}:{self.port}"


class CrawlSettings(BaseModel):
    sources_dir: Path = Path("crawlers/sources")
    chromium_path: Path = Path("/usr/bin/chromium")
    browser_args: list[str] = Field(default_factory=lambda: list(BROWSER_ARGS))
    user_agent: str = "listingwatch/0.1 (+https://github.com/listingwatch/listingwatch; trust-and-safety crawler)"
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    download_timeout: float = Field(default=30.0, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    warc_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    http_cache: bool = Field(default=False, description="Scrapy HttpCache for developing selectors; never in prod.")


class ModelSettings(BaseModel):
    models_dir: Path = Path("var/models")
    active: str | None = Field(default=None, description="Model version to load; unset = newest promoted.")
    target_precision: float = Field(default=0.95, gt=0, lt=1)
    batch_size: int = Field(default=32, ge=1)
    real_corpus: Path = Field(
        default=Path(".cache/real-corpus/corpus.jsonl"),
        description="Real-text corpus from scripts/fetch_real_corpus.py; full training uses it when present.",
    )


class AirflowSettings(BaseModel):
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


class WebSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LISTINGWATCH_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    home: Path = HOME
    var_dir: Path = Path("var")
    cache_dir: Path = Path(".cache")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    es: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    airflow: AirflowSettings = Field(default_factory=AirflowSettings)
    web: WebSettings = Field(default_factory=WebSettings)

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
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "settings"
    origin = config_file() or "the environment"
    return f"Invalid setting {where}: {first['msg']} (fix it in {origin} or LISTINGWATCH_*)."


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
