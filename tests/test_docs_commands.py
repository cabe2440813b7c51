"""Every `listingwatch ...` command and `--option` the docs name exists in the CLI (docs/*.md, README.md)."""

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from listingwatch.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A command in a code span or block: `listingwatch takedown list --status reported`.
_CALL = re.compile(r"(?:^|\$ |bin/)[ \t]*listingwatch((?: +[a-z][a-z0-9-]*)+)((?: +[^\n|]*)?)", re.M)
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)


def _code(text: str) -> list[str]:
    """Fenced blocks and inline code spans: where the docs write commands, not prose about them."""
    blocks = _FENCE.findall(text)
    return blocks + re.findall(r"`([^`\n]+)`", _FENCE.sub("", text))


def _root() -> Any:
    """The root click group (typer ships its own click, so it is duck-typed: a group has `commands`)."""
    return typer.main.get_command(app)


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")


def mentions() -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(doc file, command words, options) for every `listingwatch` call the docs write out."""
    found = []
    for doc in DOCS:
        for m in (m for code in _code(doc.read_text(encoding="utf-8")) for m in _CALL.finditer(code)):
            words = tuple(m.group(1).split())
            try:
                rest = shlex.split(m.group(2), comments=True)
            except ValueError:
                rest = m.group(2).split()
            options = tuple(o.split("=", 1)[0] for o in rest if re.fullmatch(r"--[a-z][a-z0-9-]*(=\S*)?", o))
            found.append((doc.name, words, options))
    return found


def resolve(words: tuple[str, ...]) -> tuple[Any, list[str]]:
    """The deepest command the words name, and the words left over (arguments)."""
    command = _root()
    rest = list(words)
    while rest and _is_group(command) and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


def test_the_docs_name_many_commands() -> None:
    assert len(mentions()) > 40


@pytest.mark.parametrize(("doc", "words", "options"), mentions(), ids=lambda v: v if isinstance(v, str) else None)
def test_every_documented_command_and_option_exists(doc: str, words: tuple[str, ...], options: tuple[str, ...]) -> None:
    command, rest = resolve(words)
    assert not _is_group(command) or not rest, f"{doc}: `listingwatch {' '.join(words)}` has no command"
    known = {o for p in command.params for o in p.opts + p.secondary_opts} | {"--help"}
    if _is_group(command):
        known |= {o for p in _root().params for o in p.opts}
    missing = [o for o in options if o not in known]
    assert missing == [], f"{doc}: `listingwatch {' '.join(words)}` has no option {', '.join(missing)}"


def test_the_check_notices_a_missing_command_or_option() -> None:
    command, rest = resolve(("takedown", "bogus"))
    assert _is_group(command) and rest == ["bogus"]
    found = [m for m in _CALL.finditer("$ listingwatch takedown list --status new --nope")]
    assert found and found[0].group(1).split() == ["takedown", "list", "--status"][:2]
    listed, _ = resolve(("takedown", "list"))
    assert "--nope" not in {o for p in listed.params for o in p.opts} and "--format" in {
        o for p in listed.params for o in p.opts
    }
