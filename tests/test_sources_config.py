"""Source YAML validation: one clear sentence per bad file, naming the field; bad files never hide good ones."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import ConfigError
from crawlers.sources import find_source, load_source, load_sources
from listingwatch.cli import app

SOURCES = Path(__file__).resolve().parents[1] / "crawlers" / "sources"

GOOD = """
name: {name}
platform: Example Corp
start_urls: ["${{EXAMPLE_URL:-http://127.0.0.1:8700}}/board/"]
allowed_domains: ["127.0.0.1"]
schedule: "*/15 * * * *"
links:
  listings: {{restrict_css: ["ul.ads"], allow: ["/item/\\\\d+"]}}
fields:
  title: "h1"
  posted_at: "time::attr(datetime)"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_shipped_sources_are_valid() -> None:
    results = load_sources(SOURCES)
    assert {"classifieds", "forum", "spa", "shop", "hostile"} <= set(results)
    assert all(not isinstance(r, ConfigError) for r in results.values()), results
    assert results["spa"].render == "browser"  # type: ignore[union-attr]


def test_env_expansion_with_default_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "good", GOOD.format(name="good"))
    monkeypatch.delenv("EXAMPLE_URL", raising=False)
    assert load_source(path).start_urls == ["http://127.0.0.1:8700/board/"]
    monkeypatch.setenv("EXAMPLE_URL", "http://127.0.0.1:9999")
    assert load_source(path).start_urls == ["http://127.0.0.1:9999/board/"]


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('title: "h1"', 'title: "h1[["', "fields.title"),
        ('allow: ["/item/\\\\d+"]', 'allow: ["/item/(\\\\d+"]', "links.listings.allow.0"),
        ('schedule: "*/15 * * * *"', 'schedule: "every day"', "schedule"),
        ('allowed_domains: ["127.0.0.1"]', 'allowed_domains: ["http://127.0.0.1/"]', "allowed_domains"),
        ("platform: Example Corp\n", "platform: Example Corp\nrender: headless\n", "render"),
        ("platform: Example Corp\n", "platform: Example Corp\ncolour: blue\n", "colour"),
        ("platform: Example Corp\n", "", "platform"),
    ],
)
def test_bad_field_is_named(tmp_path: Path, old: str, new: str, field: str) -> None:
    text = GOOD.format(name="bad")
    assert old in text
    path = write(tmp_path, "bad", text.replace(old, new))
    with pytest.raises(ConfigError) as err:
        load_source(path)
    message = str(err.value)
    assert str(path) in message and f"field {field}:" in message
    assert "\n" not in message


def test_unset_variable_without_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_URL", raising=False)
    text = GOOD.format(name="env").replace("${EXAMPLE_URL:-http://127.0.0.1:8700}", "${NOPE_URL}")
    path = write(tmp_path, "env", text)
    with pytest.raises(ConfigError, match="NOPE_URL is not set"):
        load_source(path)


def test_bad_file_does_not_hide_good_ones(tmp_path: Path) -> None:
    write(tmp_path, "good", GOOD.format(name="good"))
    write(tmp_path, "broken", "name: [unclosed")
    write(tmp_path, "mismatch", GOOD.format(name="other"))
    results = load_sources(tmp_path)
    assert not isinstance(results["good"], ConfigError)
    assert isinstance(results["broken"], ConfigError) and "not valid YAML" in str(results["broken"])
    assert isinstance(results["mismatch"], ConfigError) and "must match the file name" in str(results["mismatch"])


def test_find_source_lists_known_names(tmp_path: Path) -> None:
    write(tmp_path, "good", GOOD.format(name="good"))
    with pytest.raises(ConfigError, match=r"known: good"):
        find_source(tmp_path, "missing")


def test_cli_sources_check(tmp_path: Path) -> None:
    runner = CliRunner()
    write(tmp_path, "good", GOOD.format(name="good"))
    ok = runner.invoke(app, ["sources", "check", "--dir", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    write(tmp_path, "bad", GOOD.format(name="bad").replace('title: "h1"', 'title: "h1[["'))
    bad = runner.invoke(app, ["sources", "check", "--dir", str(tmp_path)])
    assert bad.exit_code != 0
    assert "fields.title" in bad.output and "✓ good" in bad.output


@pytest.mark.parametrize(("text", "found"), [("", "is empty"), ("- a\n- b\n", "holds a YAML list")])
def test_a_file_that_is_not_a_mapping_says_what_it_holds(tmp_path: Path, text: str, found: str) -> None:
    with pytest.raises(ConfigError, match=f"{found}, but must be a mapping of fields .*docs/crawlers.md"):
        load_source(write(tmp_path, "odd", text))
