"""A real three-node Elasticsearch cluster with security on, from the same distribution as the local node.

Each node is the integ-test distribution (`index_config.node.fetch_distribution`) in a data
and config directory of its own, with TLS on HTTP and transport from one CA made by
`elasticsearch-certutil`, the `elastic` password in every node's keystore, and a small heap.
Ports are free ones at or above 9240 so several engineers' clusters do not collide. The nodes
run as foreground children (as the unprivileged user under root) so a test can stop and
restart one; the fixture stops all three at the end.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import urllib3

from core.settings import Settings, load_settings
from index_config.node import CONFIG_FILES, SECURITY_CONFIG, _privileges, _unzip, fetch_distribution, java_home

HEAP = "320m"
FIRST_PORT = 9240


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int, start: int = FIRST_PORT) -> list[int]:
    ports: list[int] = []
    port = start
    while len(ports) < count:
        if _free(port):
            ports.append(port)
        port += 1
    return ports


@dataclass
class ClusterNode:
    name: str
    http_port: int
    transport_port: int
    home: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.http_port}"


@dataclass
class Cluster:
    dist: Path
    base: Path
    password: str
    ca: Path
    nodes: list[ClusterNode] = field(default_factory=list)

    def settings(self, var_dir: Path, **es: object) -> Settings:
        return load_settings(
            var_dir=var_dir,
            es={
                "hosts": [n.url for n in self.nodes], "ca_certs": self.ca, "username": "elastic",
                "password": self.password, "request_timeout": 30.0, **es,
            }
        )  # fmt: skip

    def start(self, node: ClusterNode) -> None:
        log = (node.home / "logs" / "console.log").open("ab")
        node.proc = subprocess.Popen(
            [str(self.dist / "bin" / "elasticsearch")], env=node.env, cwd=node.home, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **_privileges(load_settings()),
        )  # fmt: skip

    def stop(self, node: ClusterNode, timeout: float = 60) -> None:
        if node.proc is None or node.proc.poll() is not None:
            return
        node.proc.send_signal(signal.SIGTERM)
        try:
            node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait()

    def health(self, node: ClusterNode | None = None) -> dict[str, object] | None:
        pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(self.ca), retries=False)
        headers = urllib3.make_headers(basic_auth=f"elastic:{self.password}")
        for candidate in [node] if node else self.nodes:
            if candidate.proc is None or candidate.proc.poll() is not None:
                continue
            try:
                answer = pool.request("GET", f"{candidate.url}/_cluster/health", headers=headers, timeout=3.0)
            except urllib3.exceptions.HTTPError:
                continue
            if answer.status == 200:
                data: dict[str, object] = answer.json()
                return data
        return None

    def wait_for(self, nodes: int, status: tuple[str, ...] = ("green",), timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.health()
            if health and health["number_of_nodes"] == nodes and health["status"] in status:
                return
            for node in self.nodes:
                if node.proc is not None and node.proc.poll() is not None and node.proc.returncode not in (0, 143):
                    raise RuntimeError(f"{node.name} exited with {node.proc.returncode}; see {node.home / 'logs'}")
            time.sleep(1.0)
        raise RuntimeError(f"cluster did not reach {nodes} nodes {status} within {timeout:.0f}s: {self.health()}")


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    done = subprocess.run(
        args, env=env, input=stdin, capture_output=True, text=True, check=False, **_privileges(load_settings())
    )
    assert done.returncode == 0, (args[0], done.stdout[-1000:], done.stderr[-1000:])


def _owned(path: Path) -> None:
    ids = _privileges(load_settings())
    for p in [path, *path.rglob("*")]:
        if ids:
            os.chown(p, ids["user"], ids["group"], follow_symlinks=False)


def build_cluster(base: Path, size: int = 3) -> Cluster:
    """Configure `size` nodes under `base` (certificates, keystores, elasticsearch.yml); starts nothing."""
    dist = fetch_distribution(load_settings())
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    env = dict(os.environ, ES_JAVA_HOME=str(java_home()))
    env.pop("ES_JAVA_OPTS", None)
    env.pop("JAVA_HOME", None)
    certs = base / "certs"
    certs.mkdir()
    _owned(base)
    certutil = str(dist / "bin" / "elasticsearch-certutil")
    tool_env = dict(env, ES_PATH_CONF=str(dist / "config"), ES_TMPDIR=str(base))
    _run([certutil, "ca", "--silent", "--pem", "--out", str(certs / "ca.zip")], tool_env)
    _unzip(certs / "ca.zip", certs)
    _run(
        [certutil, "cert", "--silent", "--pem", "--name", "node", "--ca-cert", str(certs / "ca" / "ca.crt"),
         "--ca-key", str(certs / "ca" / "ca.key"), "--ip", "127.0.0.1", "--dns", "localhost",
         "--out", str(certs / "node.zip")],
        tool_env,
    )  # fmt: skip
    _unzip(certs / "node.zip", certs)
    password = secrets.token_urlsafe(18)
    ports = _free_ports(2 * size)
    http, transport = ports[:size], ports[size:]
    names = [f"node-{i}" for i in range(1, size + 1)]
    cluster = Cluster(dist=dist, base=base, password=password, ca=certs / "ca" / "ca.crt")
    for i, name in enumerate(names):
        home = base / name
        conf = home / "config"
        (conf / "jvm.options.d").mkdir(parents=True)
        (home / "logs").mkdir()
        (home / "tmp").mkdir()
        for config in CONFIG_FILES:
            shutil.copy2(dist / "config" / config, conf / config)
        shutil.copytree(certs, conf / "certs")
        (conf / "jvm.options.d" / "heap.options").write_text(f"-Xms{HEAP}\n-Xmx{HEAP}\n")
        (conf / "elasticsearch.yml").write_text(
            "\n".join(
                [
                    f"cluster.name: listingwatch-test-{http[0]}",
                    f"node.name: {name}",
                    "network.host: 127.0.0.1",
                    f"http.port: {http[i]}",
                    f"transport.port: {transport[i]}",
                    f"discovery.seed_hosts: [{', '.join(f'127.0.0.1:{p}' for p in transport)}]",
                    f"cluster.initial_master_nodes: [{', '.join(names)}]",
                    f"path.data: {home / 'data'}",
                    f"path.logs: {home / 'logs'}",
                    "cluster.routing.allocation.disk.threshold_enabled: false",
                    *SECURITY_CONFIG,
                ]
            )
            + "\n"
        )
        node_env = dict(env, ES_PATH_CONF=str(conf), ES_TMPDIR=str(home / "tmp"))
        _owned(home)
        keystore = str(dist / "bin" / "elasticsearch-keystore")
        _run([keystore, "create"], node_env)
        _run([keystore, "add", "-x", "-f", "bootstrap.password"], node_env, stdin=password)
        cluster.nodes.append(ClusterNode(name, http[i], transport[i], home, node_env))
    return cluster


@pytest.fixture(scope="module")
def es_cluster() -> Iterator[Cluster]:
    """Three secured nodes on 127.0.0.1, green; all stopped and their data deleted at the end."""
    base = Path(tempfile.mkdtemp(prefix="listingwatch-cluster-"))
    base.chmod(0o755)  # the nodes' unprivileged user must traverse it
    cluster = build_cluster(base / "cluster")
    try:
        for node in cluster.nodes:
            cluster.start(node)
        cluster.wait_for(nodes=3)
        yield cluster
    finally:
        for node in cluster.nodes:
            cluster.stop(node)
        shutil.rmtree(base, ignore_errors=True)
