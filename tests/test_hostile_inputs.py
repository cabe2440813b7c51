"""Every command that reads a file, fed what an attacker or a bad day would feed it.

Each entry (`index load`, `classify`, `sources check`, `crawl`, `run`) gets malformed,
oversize, non-UTF-8, markup-laden and adversarial input and must answer with a clear error on
one line, the documented exit status (0 all good, 1 some lines or records bad and reported,
2 the command could not run, 3 a service was unreachable), no traceback, and no record lost
or altered on the way.
"""

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from rich.console import Console
from scrapy import Request
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from core.schema import Listing
from core.settings import Settings
from crawlers.failures import failure_reason
from index_config.loader import MAX_LINE_BYTES, DocumentError, LoadReport
from index_config.manage import listings_alias
from listingwatch.demo.run import flagged_table
from listingwatch.runs.summary import RunSummary, describe
from listingwatch.terminal import plain
from tests.index_data import fresh_prefix

REPO = Path(__file__).resolve().parents[1]

# Titles that are Rich markup, terminal escapes or otherwise awkward: all must survive as typed.
HOSTILE_TITLES = [
    "M30 [/] blues",
    "[link=http://evil.example/]click me[/link] pressed pills",
    "[bold red]FLASH SALE[/bold red] \\[/x] oxy",
    "escape \x1b[2J\x1b[31m cleared your screen",
    "trailing backslash \\",
    "💊🔥❄️ рецепт 药 \u202eRTL override",
]


def _listing_line(i: int, title: str) -> str:
    return Listing(
        url=f"https://market.example/item/{i}", source="market", platform="p", title=title,
        description=f"{title} — discreet shipping, telegram @plug{i}",
        fetched_at=datetime(2026, 11, 1, tzinfo=UTC),
    ).model_dump_json()  # fmt: skip


def _hostile_file(path: Path) -> tuple[Path, dict[int, str], set[int]]:
    """A JSONL file of good records (hostile titles) mixed with every kind of bad line; (path, good, bad lines)."""
    good = {i: _listing_line(i, t) for i, t in enumerate(HOSTILE_TITLES)}
    lines: list[bytes] = []
    bad: set[int] = set()
    extras = [
        b'{"url": "https://market.example/x", "source": "m", "platform": "p", "title": "caf\xe9"}',  # Latin-1
        _listing_line(99, "cut inside a character 💊").encode()[:-3],  # torn mid-character
        b"{not json",
        b"[1, 2, 3]",
        b"[" * 50_000 + b"]" * 50_000,  # deep nesting
        json.dumps({"url": "http://", "source": "m", "platform": "p", "title": "no host"}).encode(),
        json.dumps({"url": "javascript:alert(1)", "source": "m", "platform": "p", "title": "x"}).encode(),
        b'{"url": "https://market.example/big", "source": "m", "platform": "p", "title": "'
        + b"A" * (MAX_LINE_BYTES + 10)
        + b'"}',
        b"\x00\x01\x02\xff binary",
    ]
    for i, line in good.items():
        lines.append(line.encode())
        if i < len(extras):
            lines.append(extras[i])
            bad.add(len(lines))
    for extra in extras[len(good) :]:
        lines.append(extra)
        bad.add(len(lines))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, good, bad


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(REPO)}
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "AIRFLOW_HOME"):
        if key in os.environ:
            base[key] = os.environ[key]
    return subprocess.run(
        [sys.executable, "-m", "listingwatch", *args], env={**base, **(env or {})}, cwd=REPO,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def _one_line_error(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


# ---------------------------------------------------------------------- index load


@pytest.fixture
def settings(es_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with fresh_prefix(es_settings, tmp_path / "var") as fresh:
        yield fresh


def _env(settings: Settings) -> dict[str, str]:
    return {
        "LISTINGWATCH_VAR_DIR": str(settings.var_dir),
        "LISTINGWATCH_ES__URL": settings.es.endpoint,
        "LISTINGWATCH_ES__INDEX_PREFIX": settings.es.index_prefix,
    }


@pytest.mark.integration
def test_index_load_keeps_every_good_record_exactly_and_reports_every_bad_line(
    settings: Settings, es_client: Elasticsearch, tmp_path: Path
) -> None:
    path, good, bad = _hostile_file(tmp_path / "hostile.jsonl")
    done = _cli("index", "load", str(path), env=_env(settings))
    assert done.returncode == 1, done.stderr  # some lines were bad: reported, the rest loaded
    assert "Traceback" not in done.stderr
    skipped = [line for line in done.stderr.splitlines() if line.startswith("skipped line ")]
    reported = {int(line.split()[2].rstrip(":")) for line in skipped}
    assert reported == bad
    es_client.indices.refresh(index=listings_alias(settings))
    hits = es_client.search(index=listings_alias(settings), size=100)["hits"]["hits"]
    stored = {h["_source"]["url"]: h["_source"]["title"] for h in hits}
    assert stored == {Listing.model_validate_json(line).url: HOSTILE_TITLES[i] for i, line in good.items()}


@pytest.mark.parametrize("target", ["missing.jsonl", "."])
def test_index_load_of_no_file_is_one_line(tmp_path: Path, target: str) -> None:
    done = _cli("index", "load", str(tmp_path / target), env={"LISTINGWATCH_VAR_DIR": str(tmp_path)})
    assert "does not exist" in _one_line_error(done)


# ---------------------------------------------------------------------- classify


@pytest.mark.slow
def test_classify_keeps_every_good_record_exactly_and_reports_every_bad_line(trained_model, tmp_path: Path) -> None:
    path, good, bad = _hostile_file(tmp_path / "hostile.jsonl")
    out = tmp_path / "out.jsonl"
    env = {"LISTINGWATCH_HOME": str(tmp_path), "LISTINGWATCH_MODEL__MODELS_DIR": str(trained_model.model_dir.parent)}
    done = _cli("classify", str(path), str(out), "--no-explain", env=env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    reported = {int(line.split(":")[1]) for line in done.stderr.splitlines() if ": skipped, " in line}
    assert reported == bad
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]

    def fields(row: dict) -> dict:
        return {k: v for k, v in row.items() if k != "classification"}

    assert [fields(row) for row in written] == [fields(json.loads(line)) for line in good.values()]
    assert all(row["classification"]["model_version"] == trained_model.version for row in written)


def test_classify_of_no_file_is_one_line(tmp_path: Path) -> None:
    done = _cli("classify", str(tmp_path / "missing.jsonl"), str(tmp_path / "out.jsonl"))
    assert "does not exist" in _one_line_error(done)


# ---------------------------------------------------------------------- sources check, crawl, run

SOURCE = """name: {name}
platform: p
start_urls: ["http://127.0.0.1:9/"]
allowed_domains: ["127.0.0.1"]
links:
  listings: {{allow: ["/item/"]}}
"""


def _bomb(levels: int = 7) -> str:
    lines = ["name: bomb", 'a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.fixture
def hostile_sources(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "good.yaml").write_text(SOURCE.format(name="good"))
    (folder / "latin.yaml").write_bytes(SOURCE.format(name="latin").encode() + b"# caf\xe9\n")
    (folder / "bomb.yaml").write_text(_bomb())
    (folder / "markup.yaml").write_text(SOURCE.format(name="markup").replace('"/item/"', '"([/x][link=http://e]"'))
    (folder / "empty.yaml").write_text("")
    (folder / "list.yaml").write_text("- just\n- a list\n")
    (folder / "huge.yaml").write_text(SOURCE.format(name="huge") + "#" * 300_000 + "\n")
    (folder / "syntax.yaml").write_text("name: [unclosed\n  : :\n")
    return folder


def test_sources_check_reports_every_hostile_file_on_its_own_line(hostile_sources: Path) -> None:
    done = _cli("sources", "check", str(hostile_sources), timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr + done.stdout
    lines = done.stdout.splitlines()
    assert len(lines) == 8  # one line per file, however long or odd its problem
    by_file = {name: next(line for line in lines if f"{name}.yaml" in line or f"✓ {name} " in line)
               for name in ("good", "latin", "bomb", "markup", "empty", "list", "huge", "syntax")}  # fmt: skip
    assert by_file["good"].startswith("✓")
    assert "not UTF-8" in by_file["latin"] and "aliases" in by_file["bomb"] and "KiB" in by_file["huge"]
    assert "([/x][link=http://e]" in by_file["markup"]  # shown as written, not read as markup
    assert "mapping" in by_file["empty"] and "mapping" in by_file["list"] and "not valid YAML" in by_file["syntax"]
    assert "7 of 8 source file(s) are invalid" in _one_line_error(done)


@pytest.mark.parametrize("name", ["../../etc/passwd", "name[/x]", "[link=http://e]x[/link]", "a\x1b[2Jb"])
def test_crawl_and_run_refuse_odd_source_names_in_one_line(tmp_path: Path, name: str) -> None:
    env = {"LISTINGWATCH_VAR_DIR": str(tmp_path), "LISTINGWATCH_CRAWL__SOURCES_DIR": str(tmp_path)}
    for command in ("crawl", "run"):
        line = _one_line_error(_cli(command, name, env=env, timeout=120))
        assert "\x1b" not in line


def test_crawl_refuses_a_hostile_source_file_in_one_line(hostile_sources: Path) -> None:
    for name in ("latin", "bomb", "markup", "huge"):
        line = _one_line_error(_cli("crawl", str(hostile_sources / f"{name}.yaml"), "--dry-run", timeout=120))
        assert str(hostile_sources / f"{name}.yaml") in line


# ---------------------------------------------------------------------- what reaches the terminal


def test_crawled_text_is_shown_as_typed_never_as_markup() -> None:
    hits = [{"title": t, "url": "https://m.example/[/]", "source": "[red]s", "classification": {"score": 0.9}}
            for t in HOSTILE_TITLES]  # fmt: skip
    console = Console(record=True, width=400, color_system="truecolor", force_terminal=True)
    console.print(flagged_table(hits))
    text = console.export_text()
    for title in HOSTILE_TITLES:
        assert plain(title[:80]).plain in text
    assert "\x1b]8;" not in console.export_text(styles=True)  # no hyperlink escape sequence was emitted
    assert "\x1b[2J" not in console.export_text(styles=True)  # the title's own escape was not passed through


def test_load_report_shows_error_text_as_typed(capsys: pytest.CaptureFixture[str]) -> None:
    from listingwatch.cli.index import _report

    report = LoadReport(read=2, skipped_lines=1)
    report.note(DocumentError(reason="title: String should have at most 1000 characters [/x] [link=e]y", line=7))
    _report(report, "loaded [/bold] file")
    err = capsys.readouterr().err
    assert "[/x] [link=e]y" in err and "loaded [/bold] file" in err


def test_run_summary_names_time_outs_and_skipped_pages() -> None:
    summary = RunSummary(
        source="hostile", run_key="k", finished_at=datetime.now(UTC), pages_fetched=3,
        pages_skipped={"too_large": 2, "timeout": 1}, crawl_timed_out=True,
        error_samples=["M30 [/] blues \x1b[2J"],
    )  # fmt: skip
    text = describe(summary)
    assert "skipped: timeout 1, too_large 2" in text and "STOPPED BY ITS TIME BOUND" in text
    assert RunSummary.model_validate_json(summary.model_dump_json()).pages_skipped == {"timeout": 1, "too_large": 2}


# ---------------------------------------------------------------------- adversarial responses and records


def test_a_gzip_bomb_counts_as_too_large_not_ignored() -> None:
    middleware = HttpCompressionMiddleware.from_crawler(get_crawler(settings_dict={"DOWNLOAD_MAXSIZE": 1 << 20}))
    request = Request("http://127.0.0.1/bomb")
    bomb = gzip.compress(b"\0" * (20 << 20))
    response = Response(request.url, body=bomb, headers={"Content-Encoding": "gzip"}, request=request)
    with pytest.raises(IgnoreRequest) as info:
        middleware.process_response(request, response)
    assert failure_reason(Failure(info.value)) == "too_large"


@pytest.mark.parametrize("url", ["http://", "https://:8080/x", "http:///path"])
def test_a_url_without_a_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="no host"):
        Listing(url=url, source="s", platform="p")


@pytest.mark.integration
def test_index_load_of_a_file_named_like_markup(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a[").mkdir()
    path = tmp_path / "a[" / "b][link=x]crawl.jsonl"  # its path holds "[/b]": a closing tag with no opening one
    path.write_text(_listing_line(1, "M30 blues") + "\n")
    done = _cli("index", "load", str(path), env=_env(settings))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
