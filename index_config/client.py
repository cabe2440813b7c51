"""A configured Elasticsearch client for the settings' node (local embedded, local secure, or external)."""

from elasticsearch import Elasticsearch

from index_config.node import ca_file, is_local, password_file
from listingwatch.settings import Settings


def get_client(settings: Settings, request_timeout: float | None = None) -> Elasticsearch:
    """Client with bounded transport retries; credentials from settings or the local secure node's files.

    Connection errors are retried a few times by the transport and then raised, so callers
    (the loader) can spool instead of hanging.
    """
    es = settings.es
    kwargs: dict[str, object] = {}
    if es.api_key:
        kwargs["api_key"] = es.api_key
    elif es.username or es.password or es.profile == "secure":
        password = es.password
        if password is None and is_local(settings) and password_file(settings).exists():
            password = password_file(settings).read_text().strip()
        kwargs["basic_auth"] = (es.username or "elastic", password or "")
    if es.endpoint.startswith("https://"):
        ca = es.ca_certs or (ca_file(settings) if is_local(settings) and ca_file(settings).exists() else None)
        if ca is not None:
            kwargs["ca_certs"] = str(ca)
    return Elasticsearch(
        es.endpoint,
        request_timeout=request_timeout or es.request_timeout,
        max_retries=2,
        retry_on_timeout=True,
        **kwargs,  # type: ignore[arg-type]
    )
