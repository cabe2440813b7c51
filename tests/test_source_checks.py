"""`sources check` on files and folders, every problem at once, regexes that cannot hang, origins with ports."""

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core.errors import ConfigError
from core.settings import load_settings
from crawlers.origins import OriginPolicy
from crawlers.sources import SourceConfig, load_source
from listingwatch.cli import app

GOOD = """
name: {name}
platform: Example Corp
start_urls: ["http://127.0.0.1:8791/board/"]
allowed_domains: ["127.0.0.1:8791"]
links:
  listings: {{allow: ["/item/"]}}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


def test_check_takes_a_file_and_reports_every_problem_of_every_file(tmp_path: Path) -> None:
    good = write(tmp_path, "good", GOOD.format(name="good"))
    bad = write(
        tmp_path,
        "bad",
        GOOD.format(name="other")
        .replace('["/item/"]', '["([/x]", "(a)\\\\1"]')  # invalid, and a backreference RE2 cannot run
        .replace("platform: Example Corp\n", ""),
    )
    later = write(tmp_path, "zz-later", GOOD.format(name="zz-later").replace("links:", "colour: blue\nlinks:"))
    runner = CliRunner()

    only_file = runner.invoke(app, ["sources", "check", str(good)])
    assert only_file.exit_code == 0, only_file.output
    assert "✓ good" in only_file.output and "bad" not in only_file.output

    result = runner.invoke(app, ["sources", "check", str(bad), str(tmp_path)])
    assert isinstance(result.exception, ConfigError), result.output  # `main()` turns it into exit status 2
    out = " ".join(result.output.split())
    assert "([/x]" in out  # the markup-like pattern is shown as written, and does not crash the command
    for field in ("field platform:", "field links.listings.allow.0:", "field links.listings.allow.1:", "field name:"):
        assert out.count(field) == 2, field  # the file was named twice: reported twice, all problems each time
    assert "linear time" in out and "must match the file name 'bad'" in out
    assert f"{later}: field colour:" in out and "✓ good" in out  # files after a bad one are still checked


def test_allowed_domains_take_a_port_or_say_how_to_write_one(tmp_path: Path) -> None:
    assert load_source(write(tmp_path, "good", GOOD.format(name="good"))).allowed_hosts == ["127.0.0.1"]
    wrong = GOOD.format(name="wrong").replace('["127.0.0.1:8791"]', '["127.0.0.1:port"]')
    with pytest.raises(ConfigError, match=r"optionally with a port: write 'market.example' or '127.0.0.1:8791'"):
        load_source(write(tmp_path, "wrong", wrong))


def _source(allowed: list[str], start: str) -> SourceConfig:
    return SourceConfig.model_validate(
        {"name": "s", "platform": "p", "start_urls": [start], "allowed_domains": allowed, "links": {"listings": {}}}
    )


def test_origins_include_the_port_the_source_gives_and_never_the_index_node() -> None:
    settings = load_settings(es={"port": 9200})
    bare = OriginPolicy.for_source(_source(["127.0.0.1"], "http://127.0.0.1:8791/"), settings)
    assert bare.allows("http://127.0.0.1:8791/item/1")
    assert not bare.allows("http://127.0.0.1:9200/_search")  # the Elasticsearch node
    assert not bare.allows("http://127.0.0.1:6379/")  # another service on an allowed host
    assert not bare.allows("http://evil.example:8791/")
    named = OriginPolicy.for_source(_source(["m.example", "127.0.0.1:9200"], "https://m.example/"), settings)
    assert named.allows("https://m.example/a") and named.allows("http://shop.m.example/")
    assert not named.allows("https://m.example:8443/")
    assert not named.allows("http://127.0.0.1:9200/")  # even when a source names it
    assert "not an allowed origin" in (named.why_refused("https://m.example:8443/") or "")


def test_every_node_of_a_cluster_is_kept_out_of_crawls() -> None:
    settings = load_settings(es={"hosts": ["https://es1.m.example:9200", "https://es2.m.example:9200/"]})
    policy = OriginPolicy.for_source(_source(["m.example", "m.example:9200"], "https://m.example/"), settings)
    assert policy.allows("https://search.m.example:9200/")  # the port is allowed on the site...
    assert policy.allows("https://shop.m.example/item/1")
    assert not policy.allows("https://es1.m.example:9200/_search")  # ...but never a node of the cluster
    assert not policy.allows("https://es2.m.example:9200/_search")  # not only the first node


_EXTRACT = """
import sys, time
from scrapy.http import HtmlResponse
from crawlers.sources import LinkRule
from crawlers.spiders.listing import _extractor
href = "/" + "a" * 40 + "!"
page = f'<a href="{href}">x</a><a href="/aaa">y</a>'.encode()
response = HtmlResponse("http://127.0.0.1:8791/", body=page, encoding="utf-8")
started = time.monotonic()
links = _extractor(LinkRule(allow=[sys.argv[1]])).extract_links(response)
print([l.url for l in links], round(time.monotonic() - started, 3))
"""


def test_a_catastrophic_backtracking_link_pattern_runs_in_linear_time() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _EXTRACT, "(a+)+$"], capture_output=True, text=True, timeout=60, check=True
    )  # Python's engine takes about 2**40 steps on this URL; RE2 answers at once
    urls, seconds = done.stdout.rsplit(" ", 1)
    assert urls == "['http://127.0.0.1:8791/aaa']"
    assert float(seconds) < 5


def _collect(results: AsyncIterator[Any]) -> list[Any]:
    async def drain() -> list[Any]:
        return [item async for item in results]

    return asyncio.run(drain())


def test_unset_next_pages_follows_no_link_as_an_index_page(tmp_path: Path) -> None:
    from scrapy.http import HtmlResponse

    from crawlers.spiders.listing import ListingSpider

    links = "".join(f'<a href="/page/{i}">p{i}</a>' for i in range(5_000))
    page = f'<ul class="ads"><a href="/item/1">one</a><a href="/item/2">two</a></ul>{links}'.encode()
    response = HtmlResponse("http://127.0.0.1:8791/board/", body=page, encoding="utf-8")
    config = load_source(write(tmp_path, "good", GOOD.format(name="good")))
    assert config.links.next_pages is None
    spider = ListingSpider(source=config, screenshot_dir=str(tmp_path))
    requests = _collect(spider.parse_index(response))
    assert [r.url for r in requests] == ["http://127.0.0.1:8791/item/1", "http://127.0.0.1:8791/item/2"]
    paged = config.model_copy(update={"links": config.links.model_copy(update={"next_pages": {"allow": ["/page/1$"]}})})
    spider = ListingSpider(source=SourceConfig.model_validate(paged.model_dump()), screenshot_dir=str(tmp_path))
    assert [r.url for r in _collect(spider.parse_index(response))][-1] == "http://127.0.0.1:8791/page/1"
    check = CliRunner().invoke(app, ["sources", "check", str(tmp_path / "good.yaml")])
    assert "pagination is not followed" in " ".join(check.output.split())
