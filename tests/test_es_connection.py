"""Where the client and the node probe get hosts, credentials and the CA: one resolution for both."""

from pathlib import Path

from core.settings import IndexSizing, load_settings
from index_config.client import get_client, index_sizing, resolve_connection
from index_config.node_paths import ca_file, is_local, password_file


def _with_local_secrets(var_dir: Path, **es: object):
    """Settings whose local secure node has left its password and CA files behind."""
    settings = load_settings(var_dir=var_dir, es={"profile": "secure", **es})
    for path, text in ((password_file(settings), "local-secret\n"), (ca_file(settings), "CA")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return settings


def test_local_secure_node_uses_the_files_it_wrote(tmp_path: Path) -> None:
    settings = _with_local_secrets(tmp_path)
    conn = resolve_connection(settings)
    assert is_local(settings)
    assert conn.hosts == [f"https://127.0.0.1:{settings.es.port}"]
    assert conn.basic_auth == ("elastic", "local-secret")
    assert conn.ca_certs == ca_file(settings)


def test_remote_cluster_never_borrows_the_local_nodes_password_or_ca(tmp_path: Path) -> None:
    hosts = ["https://es1.internal:9200/", "https://es2.internal:9200", "https://es3.internal:9200"]
    local = _with_local_secrets(tmp_path)
    remote = local.model_copy(
        update={"es": local.es.model_copy(update={"hosts": hosts, "username": "pipeline", "password": None})}
    )
    conn = resolve_connection(remote)
    assert not is_local(remote)
    assert conn.hosts == [h.rstrip("/") for h in hosts]
    assert conn.basic_auth == ("pipeline", "")
    assert conn.ca_certs is None  # the system's trusted CAs, not the local node's
    assert remote.es.endpoint == "https://es1.internal:9200"


def test_api_key_wins_over_user_and_password_and_goes_in_the_probe_header(tmp_path: Path) -> None:
    settings = load_settings(
        var_dir=tmp_path, es={"hosts": ["https://es1:9200"], "api_key": "a2V5", "username": "u", "password": "p",
                              "ca_certs": tmp_path / "ca.crt"},
    )  # fmt: skip
    conn = resolve_connection(settings)
    assert conn.basic_auth is None and conn.headers() == {"Authorization": "ApiKey a2V5"}
    assert conn.ca_certs == tmp_path / "ca.crt"


def test_client_spreads_over_every_host_and_does_not_sniff_by_default(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, es={"hosts": ["http://a:9200", "http://b:9200", "http://c:9200"]})
    client = get_client(settings)
    assert len(client.transport.node_pool.all()) == 3
    assert not client.transport._sniff_on_start and not client.transport._sniff_on_node_failure


def test_index_sizing_per_family_with_a_cluster_wide_default(tmp_path: Path) -> None:
    settings = load_settings(
        var_dir=tmp_path,
        es={"shards": 3, "replicas": 1, "index_sizing": {"observations": {"shards": 6, "replicas": 2}}},
    )
    assert index_sizing(settings, "listings") == IndexSizing(shards=3, replicas=1)
    assert index_sizing(settings, "observations") == IndexSizing(shards=6, replicas=2)
