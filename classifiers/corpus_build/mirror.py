"""Reading pinned files out of local git mirrors; every blob read is hashed for the manifest."""

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path

import yaml

from core.errors import ListingwatchError

SOURCES_FILE = Path(__file__).resolve().parent.parent / "data" / "real_sources.yaml"


@lru_cache(maxsize=1)
def load_sources(path: Path = SOURCES_FILE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


class Mirror:
    """Files of one repository at one commit, read from a bare git mirror; every blob read is hashed."""

    def __init__(self, git_dir: Path, commit: str) -> None:
        self.git_dir, self.commit = git_dir, commit
        self.hashes: dict[str, str] = {}

    def _git(self, *args: str) -> bytes:
        try:
            return subprocess.run(
                ["git", "--git-dir", str(self.git_dir), *args], check=True, capture_output=True
            ).stdout
        except subprocess.CalledProcessError as err:
            raise ListingwatchError(
                f"Cannot read {self.git_dir} at {self.commit}: {err.stderr.decode(errors='replace').strip()}."
            ) from None

    def files(self, prefix: str) -> list[str]:
        out = self._git("ls-tree", "-r", "--name-only", self.commit, "--", prefix).decode()
        return sorted(p for p in out.splitlines() if p)

    def read(self, path: str) -> bytes:
        data = self._git("show", f"{self.commit}:{path}")
        self.hashes[path] = hashlib.sha256(data).hexdigest()
        return data


def mirror_dir(root: Path, repo: str) -> Path:
    """Where `fetch` mirrors a repository: <root>/<owner>+<name>/repo (a bare repository, or a clone's .git)."""
    base = root / repo.replace("/", "+") / "repo"
    return base / ".git" if (base / ".git").is_dir() else base
