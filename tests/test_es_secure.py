"""The `secure` profile: a second real node with TLS and a password, reached only with both."""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from core.settings import Settings, load_settings
from index_config.client import get_client
from index_config.loader import load_listings
from index_config.manage import init_indices, listings_alias
from index_config.node import CredentialsRefused, ensure_node, node_status, start_node, stop_node
from index_config.node_paths import ca_file, password_file
from tests.index_data import listing

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECURE_PORT = int(os.environ.get("LISTINGWATCH_TEST_ES_SECURE_PORT", "9240"))


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = load_settings(
        var_dir=tmp_path_factory.mktemp("secure-var"),
        es={"port": SECURE_PORT, "transport_port": SECURE_PORT + 100, "profile": "secure", "heap": "512m",
            "index_prefix": "secure-test"},
    )  # fmt: skip
    start_node(settings)
    try:
        yield settings
    finally:
        stop_node(settings)


def test_node_speaks_only_tls_with_a_password(secure: Settings) -> None:
    assert secure.es.endpoint == f"https://127.0.0.1:{SECURE_PORT}"
    assert password_file(secure).stat().st_mode & 0o077 == 0, "the password file must be private"
    keys = list(ca_file(secure).parents[1].rglob("*.key"))
    assert len(keys) >= 2 and all(key.stat().st_mode & 0o077 == 0 for key in keys), "private keys must be private"
    verified = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(ca_file(secure)), retries=False)
    anonymous = verified.request("GET", f"{secure.es.endpoint}/_cluster/health", timeout=5)
    assert anonymous.status == 401
    with pytest.raises(urllib3.exceptions.HTTPError):
        urllib3.PoolManager(retries=False).request("GET", f"http://127.0.0.1:{SECURE_PORT}/", timeout=5)


def test_pipeline_client_writes_and_reads_over_tls(secure: Settings, tmp_path: Path) -> None:
    client = get_client(secure)
    init_indices(client, secure)
    report = load_listings([listing(i) for i in range(5)], secure.model_copy(update={"var_dir": tmp_path}), client)
    assert report.created == 5 and not report.unavailable
    client.indices.refresh(index=listings_alias(secure))
    assert client.count(index=listings_alias(secure))["count"] == 5


def test_a_wrong_password_is_named_at_once_and_never_printed(secure: Settings) -> None:
    wrong = secure.model_copy(update={"es": secure.es.model_copy(update={"password": "not-the-password"})})
    started = time.monotonic()
    with pytest.raises(CredentialsRefused, match="authentication failed"):
        ensure_node(wrong)
    assert time.monotonic() - started < 30
    # Named by URL the node is external, so its CA comes from settings as it would for any remote cluster.
    external = {"url": f"https://elastic:s3cret-pw@127.0.0.1:{SECURE_PORT}", "ca_certs": ca_file(secure)}
    in_url = secure.model_copy(update={"es": wrong.es.model_copy(update=external)})
    with pytest.raises(CredentialsRefused) as refused:
        node_status(in_url)
    assert "s3cret-pw" not in str(refused.value) and "elastic:***@" in str(refused.value)
