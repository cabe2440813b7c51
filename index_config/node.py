"""The project-managed local Elasticsearch node: fetch, configure, start, stop, inspect.

The node is Elastic's integ-test distribution (fetched with Maven, no licence click-through,
runs on the system JDK 17). It ships only the core server plus security: no painless, no
reindex, no ingest pipelines, no analysis-common. The index layer is designed around that
(partial-document upserts instead of scripts, search_after copies instead of `_reindex`).

Everything the node writes lives under ``<var_dir>/es/<port>/`` so a second node on another
port (the test suite's) never touches the first one's data.
"""

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import urllib3

from core.errors import ConfigError, ServiceUnavailable
from core.settings import Settings
from index_config.client import resolve_connection
from index_config.node_paths import (
    distribution_dir,
    is_local,
    log_file,
    node_dir,
    password_file,
    pid_file,
)

AUTH_GRACE_S = 10.0
# elasticsearch.yml lines for TLS on HTTP and transport with the CA and node certificate under config/certs/.
SECURITY_CONFIG = [
    "xpack.security.enabled: true",
    "xpack.security.http.ssl.enabled: true",
    "xpack.security.http.ssl.certificate: certs/node/node.crt",
    "xpack.security.http.ssl.key: certs/node/node.key",
    "xpack.security.http.ssl.certificate_authorities: certs/ca/ca.crt",
    "xpack.security.transport.ssl.enabled: true",
    "xpack.security.transport.ssl.verification_mode: certificate",
    "xpack.security.transport.ssl.certificate: certs/node/node.crt",
    "xpack.security.transport.ssl.key: certs/node/node.key",
    "xpack.security.transport.ssl.certificate_authorities: certs/ca/ca.crt",
]
CONFIG_FILES = ("jvm.options", "log4j2.properties", "roles.yml", "role_mapping.yml", "users", "users_roles")


def _require(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ServiceUnavailable(
            f"`{tool}` is not installed; install Debian's {package} (scripts/bootstrap.sh does it) and retry."
        )
    return path


def java_home() -> Path:
    """The JDK that runs the node: ES_JAVA_HOME if set, else the `java` on PATH."""
    if env := os.environ.get("ES_JAVA_HOME"):
        return Path(env)
    java = Path(_require("java", "openjdk-17-jre-headless")).resolve()
    return java.parent.parent


def _make_dirs(path: Path) -> None:
    """mkdir -p whose new directories the node's user can traverse whatever the umask."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        directory.chmod(0o755)


def _keep_keys_private(certs: Path) -> None:
    """Private keys readable by their owner only (certutil's archives and our unzip made them world-readable)."""
    for path in [*certs.rglob("*.key"), *certs.glob("*.zip")]:
        path.chmod(0o600)


def _unzip(archive: Path, into: Path) -> None:
    """Extract keeping the executable bits that `zipfile` drops, and readable by the node's user."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = Path(zf.extract(info, into))
            mode = (info.external_attr >> 16) & 0o777
            target.chmod((mode | 0o755) if info.is_dir() else (mode or 0o644) | 0o444)
    for directory in [into, *(p for p in into.rglob("*") if p.is_dir())]:
        directory.chmod(directory.stat().st_mode | 0o755)


def fetch_distribution(settings: Settings) -> Path:
    """Download (once, via Maven) and unpack the pinned distribution; return its home directory.

    Quick when already unpacked, so bootstrap can call it on every run.
    """
    home = distribution_dir(settings)
    if (home / "bin" / "elasticsearch").exists():
        return home
    cache = settings.cache_dir / "elasticsearch"
    cache.mkdir(parents=True, exist_ok=True)
    _make_dirs(home.parent)
    version = settings.es.version
    archive = cache / f"elasticsearch-{version}.zip"
    if not archive.exists():
        mvn = _require("mvn", "maven")
        artifact = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
        proc = subprocess.run(
            [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={cache}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not archive.exists():
            last = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
            raise ServiceUnavailable(
                f"Maven could not fetch {artifact} ({last[0][:200]}); check the package registry settings in "
                "~/.m2/settings.xml and retry."
            )
    staging = home.parent / f".unpack-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    _unzip(archive, staging)
    (staging / home.name).rename(home)
    shutil.rmtree(staging, ignore_errors=True)
    return home


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class CredentialsRefused(ServiceUnavailable):
    """The node answers but rejects who we say we are: waiting will not help."""


def _probe(settings: Settings) -> dict[str, Any] | None:
    """GET cluster health from the first host that answers like Elasticsearch; None when none does."""
    conn = resolve_connection(settings)
    pool = urllib3.PoolManager(
        cert_reqs="CERT_REQUIRED" if conn.verify_certs else "CERT_NONE",
        ca_certs=str(conn.ca_certs) if conn.ca_certs else None,  # None: the system's trusted CAs
        retries=False,
    )
    headers = conn.headers()
    for host in conn.hosts:
        try:
            health = pool.request("GET", host + "/_cluster/health", headers=headers, timeout=2.0)
            if health.status in (401, 403):
                raise CredentialsRefused(
                    f"Elasticsearch at {settings.es.shown_endpoint} refused the credentials (authentication "
                    f"failed, HTTP {health.status}); check LISTINGWATCH_ES__USERNAME/PASSWORD/API_KEY or the "
                    "password in LISTINGWATCH_ES__URL."
                )
            if health.status != 200 or health.headers.get("X-Elastic-Product") != "Elasticsearch":
                continue
            nodes = pool.request(
                "GET", host + "/_nodes/_local?filter_path=nodes.*.version", headers=headers, timeout=2.0
            ).json()
            versions = [n.get("version") for n in nodes.get("nodes", {}).values()]
            return {"version": versions[0] if versions else None, **health.json()}
        except (urllib3.exceptions.HTTPError, ValueError):
            continue
    return None


def _healthy(status: dict[str, Any] | None) -> bool:
    return bool(status) and status.get("status") in ("green", "yellow")


def _write_config(settings: Settings, dist: Path) -> Path:
    """Per-node config dir: the distribution's files plus our elasticsearch.yml and heap size."""
    es = settings.es
    base = node_dir(settings)
    conf = base / "config"
    _make_dirs(conf / "jvm.options.d")
    for name in CONFIG_FILES:
        if not (conf / name).exists():
            shutil.copy2(dist / "config" / name, conf / name)
    (conf / "jvm.options.d" / "listingwatch.options").write_text(
        f"-Xms{es.heap}\n-Xmx{es.heap}\n-XX:HeapDumpPath={base / 'logs'}\n"
    )
    lines = [
        f"cluster.name: listingwatch-{es.port}",
        "node.name: listingwatch-local",
        "discovery.type: single-node",
        f"network.host: {es.host}",
        f"http.port: {es.port}",
        f"transport.port: {es.transport_port}-{es.transport_port + 100}",
        f"path.data: {base / 'data'}",
        f"path.logs: {base / 'logs'}",
        # A laptop disk at 90% must not turn every index read-only.
        "cluster.routing.allocation.disk.threshold_enabled: false",
        "action.destructive_requires_name: true",
    ]
    if es.profile == "secure":
        lines += SECURITY_CONFIG
        _secure_material(settings, dist, conf)
    else:
        lines.append("xpack.security.enabled: false")
    (conf / "elasticsearch.yml").write_text("\n".join(lines) + "\n")
    return conf


def _run_tool(settings: Settings, env: dict[str, str], args: list[str], stdin: str | None = None) -> None:
    proc = subprocess.run(
        args, env=env, input=stdin, capture_output=True, text=True, check=False, **_privileges(settings)
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ServiceUnavailable(f"{Path(args[0]).name} failed ({detail[0][:200]}); see the node's config dir.")


def _secure_material(settings: Settings, dist: Path, conf: Path) -> None:
    """A local CA, a node certificate for 127.0.0.1/localhost, and the `elastic` password (once)."""
    env = _node_env(settings, conf)
    certs = conf / "certs"
    certs.mkdir(exist_ok=True)
    _hand_over(settings)
    if not (certs / "node" / "node.crt").exists():
        certutil = str(dist / "bin" / "elasticsearch-certutil")
        _run_tool(settings, env, [certutil, "ca", "--silent", "--pem", "--out", str(certs / "ca.zip")])
        _unzip(certs / "ca.zip", certs)
        _run_tool(
            settings,
            env,
            [
                certutil, "cert", "--silent", "--pem", "--name", "node",
                "--ca-cert", str(certs / "ca" / "ca.crt"), "--ca-key", str(certs / "ca" / "ca.key"),
                "--ip", "127.0.0.1", "--dns", "localhost", "--out", str(certs / "node.zip"),
            ],
        )  # fmt: skip
        _unzip(certs / "node.zip", certs)
    _keep_keys_private(certs)
    _hand_over(settings)  # the node's user owns its (now private) keys
    pw_path = password_file(settings)
    if not pw_path.exists():
        password = settings.es.password or secrets.token_urlsafe(18)
        pw_path.parent.mkdir(parents=True, exist_ok=True)
        pw_path.touch(mode=0o600)
        pw_path.write_text(password + "\n")
        keystore = str(dist / "bin" / "elasticsearch-keystore")
        if not (conf / "elasticsearch.keystore").exists():
            _run_tool(settings, env, [keystore, "create"])
        _run_tool(settings, env, [keystore, "add", "-x", "-f", "bootstrap.password"], stdin=password)


def _privileges(settings: Settings) -> dict[str, Any]:
    """Elasticsearch refuses to run as root; under root (containers, CI) drop to `es.run_as`."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam(settings.es.run_as)
    except KeyError:
        raise ConfigError(
            f"Elasticsearch cannot run as root and user {settings.es.run_as!r} does not exist; "
            "create it or set LISTINGWATCH_ES__RUN_AS to an existing unprivileged user."
        ) from None
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _hand_over(settings: Settings) -> None:
    """Give the node's directory to the unprivileged user it runs as (only needed under root)."""
    ids = _privileges(settings)
    if not ids:
        return
    for path in [node_dir(settings), *node_dir(settings).rglob("*")]:
        os.chown(path, ids["user"], ids["group"], follow_symlinks=False)


def _node_env(settings: Settings, conf: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(ES_JAVA_HOME=str(java_home()), ES_PATH_CONF=str(conf), ES_TMPDIR=str(node_dir(settings) / "tmp"))
    env.pop("ES_JAVA_OPTS", None)
    env.pop("JAVA_HOME", None)
    return env


def start_node(settings: Settings) -> None:
    """Start the local node and wait until it is healthy; reuse a healthy node already on the port."""
    es = settings.es
    if not is_local(settings):
        raise ConfigError(
            f"es.url/es.hosts point at {es.shown_endpoint}, an external node or cluster; "
            "unset them to manage a local one."
        )
    if _port_open(es.host, es.port):
        if _healthy(_probe(settings)):
            return
        if _alive_pid(settings) is None:
            raise ServiceUnavailable(
                f"Port {es.port} on {es.host} is held by something that is not a healthy Elasticsearch node; "
                "stop it or set LISTINGWATCH_ES__PORT to a free port."
            )
    else:
        _require("java", "openjdk-17-jre-headless")
        dist = fetch_distribution(settings)
        conf = _write_config(settings, dist)
        logs = node_dir(settings) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        (node_dir(settings) / "tmp").mkdir(exist_ok=True)
        _hand_over(settings)
        pid_path = pid_file(settings)
        pid_path.unlink(missing_ok=True)
        with log_file(settings).open("ab") as out:
            # -d: the launcher returns once the server JVM is up (or has failed) and leaves it detached.
            proc = subprocess.run(
                [str(dist / "bin" / "elasticsearch"), "-d", "-p", str(pid_path)],
                env=_node_env(settings, conf),
                cwd=logs,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=es.startup_timeout,
                check=False,
                **_privileges(settings),
            )
        if proc.returncode != 0:
            raise ServiceUnavailable(
                f"Elasticsearch failed to start (exit {proc.returncode}); see `listingwatch es logs` "
                f"({log_file(settings)})."
            )
    _wait_healthy(settings)


def _wait_healthy(settings: Settings) -> None:
    deadline = time.monotonic() + settings.es.startup_timeout
    refused_since: float | None = None
    while time.monotonic() < deadline:
        try:
            if _healthy(_probe(settings)):
                return
            refused_since = None
        except CredentialsRefused:
            # A node still setting up security may refuse briefly; one that keeps refusing has the wrong password.
            refused_since = refused_since or time.monotonic()
            if time.monotonic() - refused_since > AUTH_GRACE_S:
                raise
        if _alive_pid(settings) is None and not _port_open(settings.es.host, settings.es.port):
            raise ServiceUnavailable(f"Elasticsearch exited during startup; see {log_file(settings)}.")
        time.sleep(0.5)
    raise ServiceUnavailable(
        f"Elasticsearch did not become healthy within {settings.es.startup_timeout:.0f}s; see {log_file(settings)}."
    )


def _alive_pid(settings: Settings) -> int | None:
    path = pid_file(settings)
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def stop_node(settings: Settings, timeout: float = 60.0) -> bool:
    """Stop the node this project started on the configured port; False when none was running."""
    pid = _alive_pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    pid_file(settings).unlink(missing_ok=True)
    return True


def node_status(settings: Settings) -> dict[str, Any]:
    """What is known about the configured node without starting anything."""
    probe = _probe(settings)
    status: dict[str, Any] = {
        "endpoint": settings.es.shown_endpoint,
        "managed": is_local(settings),
        "pid": _alive_pid(settings) if is_local(settings) else None,
        "running": probe is not None,
        "health": probe.get("status") if probe else None,
        "version": probe.get("version") if probe else None,
    }
    if is_local(settings):
        status["data_dir"] = str(node_dir(settings) / "data")
        status["distribution"] = str(distribution_dir(settings))
    return status


def ensure_node(settings: Settings) -> None:
    """Make sure something healthy answers at the configured endpoint, starting the local node if needed."""
    if _healthy(_probe(settings)):
        return
    if not is_local(settings):
        raise ServiceUnavailable(
            f"Elasticsearch at {settings.es.shown_endpoint} is not reachable; start it or fix LISTINGWATCH_ES__URL."
        )
    start_node(settings)


def tail_log(settings: Settings, lines: int = 50) -> list[str]:
    """The last lines of the node's console log (startup errors land here)."""
    path = log_file(settings)
    if not path.exists():
        raise ServiceUnavailable(f"No log at {path}; the node on port {settings.es.port} has not been started here.")
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 64 * 1024))
        text = fh.read().decode("utf-8", errors="replace")
    return text.splitlines()[-lines:]
