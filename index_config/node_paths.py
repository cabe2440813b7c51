"""Where the project-managed local node keeps its files, and whether the settings name that node.

Kept apart from `node` so that the client (which needs the local node's CA and password) and
the node manager (which needs the client's connection resolution) do not import each other.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from core.settings import Settings


def _reachable(path: Path) -> Path:
    """`path`, or a stand-in under the system temp dir when the node's unprivileged user could not reach it.

    Under root the node runs as `es.run_as`, which needs search permission on every parent
    directory; a checkout under a private home (mode 700) would make it fail with an obscure
    Java error, so its files move to a world-traversable place instead.
    """
    if os.geteuid() != 0:
        return path
    existing = [p for p in (path, *path.parents) if p.exists()]
    if all(p.stat().st_mode & 0o001 for p in existing):
        return path
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"listingwatch-{digest}" / path.name


def distribution_dir(settings: Settings) -> Path:
    return _reachable(settings.cache_dir / "elasticsearch") / f"elasticsearch-{settings.es.version}"


def node_dir(settings: Settings) -> Path:
    return _reachable(settings.var_dir / "es") / str(settings.es.port)


def pid_file(settings: Settings) -> Path:
    return node_dir(settings) / "elasticsearch.pid"


def log_file(settings: Settings) -> Path:
    return node_dir(settings) / "logs" / "listingwatch.log"


def password_file(settings: Settings) -> Path:
    return node_dir(settings) / "secure" / "elastic-password"


def ca_file(settings: Settings) -> Path:
    return node_dir(settings) / "config" / "certs" / "ca" / "ca.crt"


def is_local(settings: Settings) -> bool:
    """True when the configured endpoint is the node this project manages."""
    return settings.es.url is None and not settings.es.hosts
