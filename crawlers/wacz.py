"""Package a crawl's WARC files as WACZ, so the capture opens in standard replay tools (ReplayWeb.page, pywb).

WACZ (Webrecorder's format) is a zip of the WARCs, a CDXJ index, a page list and a
``datapackage.json`` holding every file's SHA-256; py-wacz builds and validates it. The page
list is the crawl's listings (URL, capture time, title) when the JSONL is given, so a
reviewer lands on the listings rather than on every index page and photo.
"""

import contextlib
import io
import json
import tempfile
from pathlib import Path

from wacz.main import main as wacz_main

from core.errors import ConfigError


def _pages(listings_jsonl: Path, out: Path) -> Path:
    lines = [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "Listings"})]
    with listings_jsonl.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            ts = (item.get("evidence") or {}).get("captured_at") or item.get("fetched_at")
            lines.append(json.dumps({"url": item.get("url"), "ts": ts, "title": item.get("title") or ""}))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def package_wacz(
    warc_files: list[Path], output: Path, *, listings_jsonl: Path | None = None, title: str | None = None
) -> Path:
    """Write `output` (.wacz) from WARC files and validate it; raises ConfigError naming what went wrong."""
    missing = [str(p) for p in warc_files if not Path(p).is_file()]
    if not warc_files or missing:
        raise ConfigError(f"WACZ needs existing WARC files; missing: {', '.join(missing) or 'none given'}.")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    log = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        args = ["create", "-o", str(output), *(str(p) for p in warc_files)]
        if listings_jsonl is not None and Path(listings_jsonl).is_file():
            args += ["-p", str(_pages(Path(listings_jsonl), Path(tmp) / "pages.jsonl"))]
        else:
            args.append("--detect-pages")
        if title:
            args += ["--title", title]
        created = wacz_main(args)
        valid = created == 0 and wacz_main(["validate", "-f", str(output)]) == 0
    if not valid:
        detail = log.getvalue().strip().splitlines()[-1:] or ["no detail"]
        raise ConfigError(f"Could not build a valid WACZ at {output} ({detail[0]}); check the WARC files.")
    return output
