"""`listingwatch` commands for the crawl area: `crawl`, `sources check|list`, `sites serve`."""

from pathlib import Path
from typing import Annotated

import typer

from core.errors import ConfigError
from listingwatch.terminal import FormatOption, OutputFormat

sources_app = typer.Typer(help="Validate and list the source configs (crawlers/sources/*.yaml).", no_args_is_help=True)
sites_app = typer.Typer(help="The local marketplace sites used by tests and the demo.", no_args_is_help=True)


def crawl(
    source: Annotated[str, typer.Argument(help="Source name (file stem in the sources dir) or a path to a YAML file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and show the plan; fetch nothing.")] = False,
    max_pages: Annotated[
        int | None,
        typer.Option("--max-pages", min=1, help="Fetch at most N pages (photos, robots.txt and the login form aside)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="JSONL file (default: var/crawl/...).")] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=1,
            help="Wall-clock bound in seconds (default: limits.crawl_timeout_s, else the pipeline's). At the bound "
            "the crawl stops cleanly; one that does not stop is interrupted, then killed. Ctrl-C stops it cleanly.",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume/--no-resume",
            help="--resume continues the previous crawl of this source that was stopped (its queue and seen pages "
            "in var/jobs/); the default, --no-resume, discards that state and starts from the start URLs.",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            max=256,
            help="Local worker processes sharing the Redis frontier "
            "(needs crawl.frontier: redis; default: crawl.workers).",
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Join or resume this distributed run (default: a new one, named by UTC time)."),
    ] = None,
    wacz: Annotated[
        bool,
        typer.Option(
            "--wacz", help="Also package this run's WARC files as OUTPUT.wacz (opens in ReplayWeb.page / pywb)."
        ),
    ] = False,
) -> None:
    """Crawl one source: listings to JSONL, raw pages to WARC, screenshots for browser sources.

    SOURCE is a name (a file in crawl.sources_dir, by default crawlers/sources/) or the path of
    any YAML file, e.g. `listingwatch crawl ./my-board.yaml`. The result table goes to stdout;
    progress and errors to stderr. Source keys: docs/crawlers.md.

    With `crawl.frontier: redis`, N worker processes share one queue and dupefilter in Redis;
    start more on other machines with the same --run-id. The source YAML is the same in both modes.
    """
    from rich.console import Console
    from rich.table import Table

    from core.jsonl import count_lines
    from core.schema import utcnow
    from core.settings import get_settings
    from crawlers.run import crawl_timeout_s, start_crawl
    from crawlers.scrapy_settings import evidence_dirs
    from crawlers.sources import find_source
    from listingwatch.terminal import escape, plain

    settings = get_settings()
    config = find_source(settings.crawl.sources_dir, source)
    dirs = evidence_dirs(settings, config.name)
    output = output or settings.var_dir / "crawl" / config.name / f"{utcnow():%Y%m%dT%H%M%SZ}.jsonl"
    jobdir = dirs["jobs"]
    resumable = (jobdir / "requests.seen").exists()
    mode = (
        ("resumed: continues the stopped crawl in " if resumable else "fresh: no stopped crawl to resume in ")
        if resume
        else ("fresh: discards the stopped crawl in " if resumable else "fresh: state kept in ")
    ) + str(jobdir)
    timeout = crawl_timeout_s(config, settings, timeout)
    console = Console(stderr=True)
    if dry_run:
        plan = Table(title=f"crawl plan: {config.name}", show_header=False)
        for key, value in [
            ("platform", config.platform),
            ("render", config.render),
            ("start_urls", "\n".join(config.start_urls)),
            ("robots.txt", "obeyed" if config.politeness.obey_robots_txt else "ignored"),
            ("max pages", str(max_pages or config.limits.max_pages or "unbounded")),
            ("time bound", f"{timeout:.0f}s"),
            ("output", str(output)),
            ("warc", str(dirs["warc"])),
            ("screenshots", str(dirs["screenshots"])),
            ("mode", mode),
            ("proxy", config.proxy or "none"),
            ("login", f"{config.login.url} ({config.login.credentials})" if config.login else "none"),
            ("feed", "every post on a page is a listing" if config.feed else "no"),
        ]:
            plan.add_row(key, plain(value))
        console.print(plan)
        return
    if not resume:
        import shutil

        shutil.rmtree(jobdir, ignore_errors=True)
    if workers or settings.crawl.frontier == "redis":
        from listingwatch.cli.crawl_workers import crawl_with_workers

        crawl_with_workers(
            config,
            settings,
            console,
            workers=workers,
            run_id=run_id,
            output=output,
            max_pages=max_pages,
            timeout=timeout,
        )
        return
    process = start_crawl(config, settings, output=output, jobdir=jobdir, max_pages=max_pages, timeout_s=timeout)
    interrupted = False
    with console.status(f"crawling {config.name}…") as status:

        def tick(elapsed: float) -> None:
            status.update(f"crawling {config.name}: {count_lines(output)} listings written, {elapsed:.0f}s")

        try:
            report = process.wait(timeout, on_tick=tick)
        except KeyboardInterrupt:
            interrupted = True
            report = process.report
    if report is None:
        raise typer.Exit(130)
    ending = "interrupted" if interrupted else "timed out" if report.timed_out else report.finish_reason
    out = Console()
    table = Table(title=f"crawl {config.name}: {escape(ending or 'did not finish')}", show_header=False)
    table.add_row("mode", "resumed" if resume and resumable else "fresh")
    table.add_row("pages fetched", str(report.pages_fetched))
    table.add_row("listings written", str(report.listings_written))
    if report.lost:
        table.add_row("pages lost", str(report.lost))
    for reason, count in sorted(report.skipped.items()):
        table.add_row(plain(f"skipped: {reason}"), str(count))
    out.print(table)
    # Paths as whole lines (never folded into a table cell), so they copy and paste.
    paths = [("output", report.output), *(("warc", p) for p in report.warc_files), ("log", report.log_file)]
    if wacz and report.warc_files:
        from crawlers.wacz import package_wacz

        packaged = package_wacz(
            report.warc_files,
            report.output.with_suffix(".wacz"),
            listings_jsonl=report.output,
            title=f"listingwatch crawl {config.name}",
        )
        paths.append(("wacz", packaged))
    for label, path in paths:
        out.print(f"{label}: {escape(str(path))}", soft_wrap=True, highlight=False)
    for url in report.lost_urls:
        out.print(f"lost: {escape(url)}", soft_wrap=True, highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True, highlight=False)
    for error in report.errors:
        console.print(f"[red]error:[/red] {escape(error)}", soft_wrap=True, highlight=False)
    if interrupted:
        raise typer.Exit(130)
    if report.errors:
        raise typer.Exit(1)


@sources_app.command("check")
def sources_check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Source files and/or folders of them (default: the sources folder in settings)."),
    ] = None,
    directory: Annotated[Path | None, typer.Option("--dir", help="A sources folder (same as passing it).")] = None,
) -> None:
    """Validate source files: every problem of every file at once, naming the file and the field.

    Examples: `listingwatch sources check` (the configured folder), `listingwatch sources check
    my-board.yaml` (the file you are writing), `listingwatch sources check a.yaml other/`.
    Exits 2 if any file is invalid.
    """
    from rich.console import Console

    from core.settings import get_settings
    from crawlers.sources import load_source, source_files
    from listingwatch.terminal import escape

    locations = [*(paths or []), *([directory] if directory else [])] or [get_settings().crawl.sources_dir]
    files: list[Path] = []
    for location in locations:
        found = source_files(location)
        if not found:
            raise ConfigError(f"No source files (*.yaml) in {location}; add one or fix crawl.sources_dir.")
        files += found
    console = Console()
    bad = 0
    for path in files:
        try:
            config = load_source(path)
        except ConfigError as err:
            bad += 1
            console.print(f"[red]✗[/red] {escape(err)}", soft_wrap=True, highlight=False)
        else:
            when = escape(config.schedule_summary)
            line = f"[green]✓[/green] {escape(path.stem)} ({config.render}, {when}) {escape(path)}"
            if not config.follows_pages:
                line += " [yellow](links.next_pages unset: pagination is not followed)[/yellow]"
            if config.platform.startswith("TODO"):
                line += " [yellow](platform: still a TODO: name who receives takedown requests)[/yellow]"
            console.print(line, soft_wrap=True, highlight=False)
    if bad:
        raise ConfigError(f"{bad} of {len(files)} source file(s) are invalid; see above.")


@sources_app.command("new")
def sources_new(
    name: Annotated[
        str,
        typer.Argument(
            help="Source name: lowercase letters, digits, - and _ (the file name). With -o FILE the draft is named "
            "after FILE instead, since a source's name must match its file name."
        ),
    ],
    from_url: Annotated[str, typer.Option("--from", help="The page that lists the listings (an index page).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the YAML (default: crawl.sources_dir/NAME.yaml)."),
    ] = None,
    proxy: Annotated[
        str | None, typer.Option(help="Fetch through this proxy, e.g. socks5h://127.0.0.1:9050 for an onion site.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Draft a source YAML from a site: fetches the page (and the first listing it links to) and
    suggests link rules and field selectors. Every selector is a guess: edit the file, then run
    `listingwatch sources check` and `listingwatch crawl NAME --max-pages 20`. Keys: docs/crawlers.md.
    """
    import re

    from rich.console import Console
    from rich.markup import escape

    from core.settings import get_settings
    from crawlers.draft import draft_source, listing_links

    if output is not None and output.stem != name:
        name = output.stem  # `sources check` requires name: to match the file name
    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", name):
        raise ConfigError(
            f"Source name {name!r} must be lowercase letters, digits, - and _ (with -o, the file name is the "
            "source name); pick another."
        )
    if not from_url.startswith(("http://", "https://")):
        raise ConfigError(f"--from {from_url!r} must be an absolute http(s) URL.")
    settings = get_settings()
    target = output or settings.crawl.sources_dir / f"{name}.yaml"
    if target.exists() and not force:
        raise ConfigError(f"{target} already exists; pass --force to overwrite it or -o to write elsewhere.")
    index_html, final_url = _fetch_page(from_url, settings.crawl.user_agent, proxy)
    _, _, examples = listing_links(index_html, final_url)
    listing_html = _fetch_page(examples[0], settings.crawl.user_agent, proxy)[0] if examples else None
    text = draft_source(name, final_url, index_html, listing_html, examples[0] if examples else None)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    console = Console()
    console.print(escape(text), soft_wrap=True, highlight=False)
    console.print(
        f"Draft {escape(name)} written to {escape(str(target))}; edit it (platform: is a TODO), then "
        "`listingwatch sources check`.",
        soft_wrap=True,
    )


def _fetch_page(url: str, user_agent: str, proxy: str | None) -> tuple[str, str]:
    """(HTML, final URL) of one page: 5 redirects, 20 s, 5 MB at most; failures are one plain sentence."""
    import httpx

    from core.errors import ServiceUnavailable

    limit = 5 * 1024 * 1024
    try:
        with (
            httpx.Client(
                proxy=proxy, follow_redirects=True, max_redirects=5, timeout=20, headers={"User-Agent": user_agent}
            ) as client,
            client.stream("GET", url) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ConfigError(f"{url} is larger than 5 MB; point --from at a listing index page.")
                chunks.append(chunk)
            if response.status_code >= 400:
                raise ServiceUnavailable(f"{url} answered HTTP {response.status_code}; check the URL.")
            return b"".join(chunks).decode(response.encoding or "utf-8", "replace"), str(response.url)
    except httpx.HTTPError as err:
        raise ServiceUnavailable(f"Could not fetch {url} ({type(err).__name__}); check the URL and network.") from None


@sources_app.command("list")
def sources_list(
    directory: Annotated[Path | None, typer.Option("--dir", help="Sources directory (default: settings).")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show the valid sources: platform, render mode, schedule, start URLs."""
    from core.settings import get_settings
    from crawlers.sources import SourceConfig, load_sources
    from listingwatch.terminal import emit

    sep = "\n" if fmt is OutputFormat.table else " "
    rows = [
        {
            "name": name,
            "platform": result.platform,
            "render": result.render,
            "schedule": result.schedule_summary,
            "enabled": result.enabled,
            "start urls": sep.join(result.start_urls),
        }
        for name, result in load_sources(directory or get_settings().crawl.sources_dir).items()
        if isinstance(result, SourceConfig)
    ]
    emit(rows, fmt)


@sites_app.command("serve")
def sites_serve(
    host: Annotated[str, typer.Option(help="Interface to bind (keep it local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (the demo sources expect 8700).")] = 8700,
) -> None:
    """Serve the local marketplace sites in the foreground until Ctrl-C."""
    from listingwatch.demo.marketplaces.sites import main

    main(["--host", host, "--port", str(port)])


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("crawl")(crawl)
    app.add_typer(sources_app, name="sources")
    app.add_typer(sites_app, name="sites")
