"""A git repository made in a test, laid out as the corpus build's `fetch` leaves its mirrors (``<owner>+<name>``)."""

import subprocess
from pathlib import Path

from classifiers.corpus_build.mirror import Mirror, mirror_dir


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def mirror_of(tmp_path: Path, files: dict[str, str], clone: bool = True) -> tuple[Path, str]:
    """(mirrors dir, commit) of repository ``o/r`` holding `files`: a bare mirror of the work tree
    ``tmp_path/work``, or (clone=False) a work tree's .git, as `fetch` leaves some repositories."""
    mirrors = tmp_path / "mirrors"
    work = tmp_path / "work" if clone else mirrors / "o+r" / "repo"
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text, encoding="utf-8")
    git(work, "init", "-q")
    git(work, "add", ".")
    git(work, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "data")
    if clone:
        subprocess.run(["git", "clone", "-q", "--mirror", str(work), str(mirrors / "o+r" / "repo")], check=True)
    return mirrors, git(work, "rev-parse", "HEAD").strip()


def repo_mirror(tmp_path: Path, files: dict[str, str], clone: bool = True) -> Mirror:
    """Repository ``o/r`` holding `files`, made by `mirror_of` and opened as the parsers read a source's mirror."""
    mirrors, commit = mirror_of(tmp_path, files, clone)
    return Mirror(mirror_dir(mirrors, "o/r"), commit)
