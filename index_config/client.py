"""How to reach Elasticsearch: the one place that resolves hosts, credentials and the CA.

The local embedded node, the local secure node and a remote cluster differ only in what
this module returns; the client (`get_client`) and the node manager's health probe
(`index_config.node`) both use `resolve_connection`, so they cannot disagree about which
password or CA file applies.
"""

from dataclasses import dataclass
from pathlib import Path

import urllib3
from elasticsearch import Elasticsearch

from core.settings import IndexSizing, Settings
from index_config.node_paths import ca_file, is_local, password_file


@dataclass(frozen=True)
class Connection:
    hosts: list[str]
    api_key: str | None
    basic_auth: tuple[str, str] | None
    ca_certs: Path | None
    verify_certs: bool

    def headers(self) -> dict[str, str]:
        """The Authorization header for plain HTTP requests (the health probe)."""
        if self.api_key:
            return {"Authorization": f"ApiKey {self.api_key}"}
        if self.basic_auth:
            return dict(urllib3.make_headers(basic_auth=":".join(self.basic_auth)))
        return {}


def resolve_connection(settings: Settings) -> Connection:
    """Hosts from `es.hosts`/`es.url` (else the local node); API key over user/password; the CA for https.

    For the local secure node the password and CA come from the files the node manager wrote;
    for a remote cluster only from settings (LISTINGWATCH_ES__* or the YAML), never from a
    local node's files that happen to exist.
    """
    es = settings.es
    local = is_local(settings)
    hosts = [h.rstrip("/") for h in es.hosts] if es.hosts else [es.endpoint]
    basic_auth = None
    if not es.api_key and (es.username or es.password or es.profile == "secure"):
        password = es.password
        if password is None and local and password_file(settings).exists():
            password = password_file(settings).read_text().strip()
        basic_auth = (es.username or "elastic", password or "")
    ca = None
    if any(h.startswith("https://") for h in hosts):
        ca = es.ca_certs or (ca_file(settings) if local and ca_file(settings).exists() else None)
    return Connection(hosts=hosts, api_key=es.api_key, basic_auth=basic_auth, ca_certs=ca, verify_certs=es.verify_certs)


def get_client(settings: Settings, request_timeout: float | None = None) -> Elasticsearch:
    """Client with bounded transport retries over every configured host; sniffing only when asked for.

    Connection errors are retried a few times by the transport (on the next host of a
    cluster) and then raised, so callers (the loader) can spool instead of hanging.
    """
    conn = resolve_connection(settings)
    kwargs: dict[str, object] = {}
    if conn.api_key:
        kwargs["api_key"] = conn.api_key
    elif conn.basic_auth:
        kwargs["basic_auth"] = conn.basic_auth
    if conn.ca_certs is not None:
        kwargs["ca_certs"] = str(conn.ca_certs)
    if any(h.startswith("https://") for h in conn.hosts):
        kwargs["verify_certs"] = conn.verify_certs
    if settings.es.sniff:
        kwargs.update(sniff_on_start=True, sniff_on_node_failure=True, min_delay_between_sniffing=60)
    return Elasticsearch(
        conn.hosts,
        request_timeout=request_timeout or settings.es.request_timeout,
        max_retries=max(2, len(conn.hosts)),
        retry_on_timeout=True,
        **kwargs,  # type: ignore[arg-type]
    )


def index_sizing(settings: Settings, family: str) -> IndexSizing:
    """Shards and replicas for new indices of one family: its own entry, else the cluster-wide default."""
    es = settings.es
    return es.index_sizing.get(family) or IndexSizing(shards=es.shards, replicas=es.replicas)
