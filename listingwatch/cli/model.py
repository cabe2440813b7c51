"""`listingwatch model train|evaluate|export|info|promote|docs` and `listingwatch classify IN OUT`.

Heavy imports (torch, transformers, onnxruntime) happen inside the commands so that
`listingwatch --help` stays instant.
"""

import json
from pathlib import Path
from typing import Annotated

import typer

from core.errors import ListingwatchError

model_app = typer.Typer(help="Train, evaluate, export and inspect the listing classifier.", no_args_is_help=True)


def _model_dir(version: str | None) -> Path:
    from classifiers.registry import active_model_dir, is_complete
    from core.settings import get_settings

    settings = get_settings()
    if version:
        path = settings.model.models_dir / version
        if not is_complete(path):
            raise ListingwatchError(
                f"No model {version} in {settings.model.models_dir}; see `listingwatch model info` for versions."
            )
        return path
    path = active_model_dir(settings)
    if path is None:
        raise ListingwatchError(
            f"No trained model in {settings.model.models_dir}: run `listingwatch model train` first."
        )
    return path


@model_app.command()
def train(
    quick: Annotated[bool, typer.Option("--quick", help="Small corpus slice, for CI and smoke tests.")] = False,
    seed: Annotated[int, typer.Option(help="Seed for corpus generation, splits and training.")] = 0,
    layers: Annotated[
        int,
        typer.Option(
            min=1,
            max=6,
            help="Transformer layers of the served model. Below 6, the fine-tuned 6-layer model is distilled "
            "into a student this deep: about 6/N times faster on CPU, at some accuracy (the model card "
            "shows both). Training takes about twice as long.",
        ),
    ] = 6,
    export: Annotated[bool, typer.Option("--export/--no-export", help="Also export the int8 ONNX model.")] = True,
    real: Annotated[
        Path | None,
        typer.Option(
            help="Real-text corpus (JSONL or .jsonl.gz from scripts/fetch_real_corpus.py). Default: model.real_corpus,"
            " which is the copy shipped in classifiers/data (full training only); its held-out sources become the"
            " test split.",
        ),
    ] = None,
    no_real: Annotated[bool, typer.Option("--no-real", help="Train on the generated corpus only.")] = False,
    triage: Annotated[
        Path | None,
        typer.Option(
            help="Analysts' labels from `listingwatch triage export OUT.jsonl`: added to the train split only, as "
            "a stratum of their own, so validation and test stay comparable (the retrain DAG gathers them itself).",
        ),
    ] = None,
    promote: Annotated[
        bool | None, typer.Option("--promote/--no-promote", help="Put it in service (default: only if none is yet).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Promote even if the model misses the release gate (recorded in its evaluation/gate.json).",
        ),
    ] = False,
) -> None:
    """Fine-tune the classifier on the project corpus and write a new versioned model directory.

    Before a model goes into service it must pass the release gate on the held-out real rows, read
    bare and with the source kind: issue #20's precision, recall and look-alike targets, the probe
    listings, and no measure more than 0.02 below the model in service. A model that misses it
    stays in the registry unpromoted, the reasons are printed, and the command exits non-zero.
    Quick models are not gated unless a full model is in service.
    """
    from rich.progress import Progress

    from classifiers.modeldir import ModelDir
    from classifiers.registry import promoted_version
    from classifiers.release import train_and_release
    from core.settings import get_settings

    settings = get_settings()
    if real is not None and not real.is_file():
        raise ListingwatchError(
            f"Real corpus {real} does not exist; build it with `python scripts/fetch_real_corpus.py`."
        )
    if triage is not None and not triage.is_file():
        raise ListingwatchError(f"Triage labels {triage} do not exist; write them with `listingwatch triage export`.")
    with Progress(transient=True) as bar:
        task = bar.add_task("fine-tuning", total=None)

        def report(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total or None)

        path = train_and_release(
            settings,
            quick=quick,
            seed=seed,
            layers=layers,
            real=real,
            use_real=not no_real,
            triage=triage,
            export=export,
            promote=promote,
            force=force,
            progress=report,
        )
    gate = path / "evaluation" / "gate.json"
    if promoted_version(settings) == path.name:
        missed = json.loads(gate.read_text(encoding="utf-8"))["failures"] if gate.is_file() else []
        how = f"despite missing the release gate (--force; {gate})" if missed else f"(passed the release gate: {gate})"
        typer.echo(f"promoted {path.name} " + (how if gate.is_file() else "(quick model: not gated)"))
    typer.echo(f"trained {path}")
    trained = ModelDir.open(path)
    for split_name, res in trained.metrics["splits"].items():
        o = res["overall"]
        typer.echo(
            f"  {split_name:<10} precision {o['precision']:.3f} recall {o['recall']:.3f} F1 {o['f1']:.3f} "
            f"PR-AUC {o['pr_auc']:.3f} (n={o['n']})"
        )
    typer.echo(f"  model card: {path / 'MODEL_CARD.md'}")


@model_app.command()
def evaluate(
    version: Annotated[str | None, typer.Argument(help="Model version; default: the one in service.")] = None,
    split: Annotated[str, typer.Option(help="Corpus split: train, validation or test.")] = "test",
    backend: Annotated[str, typer.Option(help="auto (int8 ONNX if exported), onnx or pytorch.")] = "auto",
    data: Annotated[
        Path | None,
        typer.Option(
            help="Score this labelled JSONL instead of a corpus split: one listing per line (title, description, "
            "seller, price, source_kind, page_kind) with `sale` 0/1 and optional `substances` and `source`.",
        ),
    ] = None,
) -> None:
    """Write the evaluation report (scopes, per source, plots, worst errors) for a model version."""
    from classifiers.evaluate import evaluate_model, scope_table
    from core.settings import get_settings

    if backend not in ("auto", "onnx", "pytorch"):
        raise ListingwatchError(f"Unknown backend {backend!r}; use auto, onnx or pytorch.")
    if data is not None and not data.is_file():
        raise ListingwatchError(f"Labelled file {data} does not exist; pass a JSONL file with a `sale` label per line.")
    result = evaluate_model(_model_dir(version), get_settings(), split=split, backend=backend, data=data)  # type: ignore[arg-type]
    o, b = result["overall"], result["lexicon_baseline"]
    typer.echo(
        f"{result['model_version']} on {result['split']} ({result['backend']}), threshold {result['threshold']:.4f}"
    )
    typer.echo(
        f"  model:    precision {o['precision']:.3f} recall {o['recall']:.3f} F1 {o['f1']:.3f} PR-AUC {o['pr_auc']:.3f}"
    )
    typer.echo(f"  lexicon:  precision {b['precision']:.3f} recall {b['recall']:.3f} F1 {b['f1']:.3f}")
    typer.echo(f"  ECE {result['calibration']['ece']:.3f}; report in {result['report_dir']}")
    rows = {"all rows": result["scopes"], **({"real rows": result["real"]} if result.get("real") else {})}
    for line in scope_table({**rows, **result["per_source"]}):
        typer.echo(line)
    if result.get("heldout"):
        from classifiers.gate import check, probes_table, readings_table, substance_table

        typer.echo("held-out real rows, bare and with the source kind:")
        for line in [*readings_table(result["heldout"]), "", *substance_table(result["heldout"])]:
            typer.echo(line)
        typer.echo("probes (bare / market / shop):")
        for line in probes_table(result["heldout"]):
            typer.echo(line)
        misses = check(result["heldout"])
        verdict = f"{len(misses)} missed: {'; '.join(misses)}" if misses else "met"
        typer.echo(f"release gate targets: {verdict}")


@model_app.command("export")
def export_cmd(
    version: Annotated[str | None, typer.Argument(help="Model version; default: the one in service.")] = None,
) -> None:
    """Export a model to ONNX and quantise it to int8 (checked against PyTorch F1)."""
    from classifiers.export import export_model
    from core.settings import get_settings

    path = export_model(_model_dir(version), get_settings().model.real_corpus)
    typer.echo(f"wrote {path}")


@model_app.command()
def promote(version: Annotated[str, typer.Argument(help="Model version to put in service.")]) -> None:
    """Put a model version in service for `classify` and the pipeline."""
    from classifiers.registry import promote as do_promote
    from core.settings import get_settings

    do_promote(get_settings(), version)
    typer.echo(f"promoted {version}")


@model_app.command()
def docs(
    version: Annotated[str | None, typer.Argument(help="Model version; default: the one in service.")] = None,
    doc: Annotated[Path, typer.Option(help="The page whose generated model-card block is rewritten.")] = Path(
        "docs/classifier.md"
    ),
) -> None:
    """Rewrite the figures docs/classifier.md quotes (substances, threshold, release gate) from a model's card."""
    from classifiers.modelcard import docs_block, write_docs_block

    if not doc.is_file():
        raise ListingwatchError(f"{doc} does not exist; pass --doc with the path of docs/classifier.md.")
    path = _model_dir(version)
    write_docs_block(doc, docs_block(path))
    typer.echo(f"quoted {path.name}'s model card into {doc}")


@model_app.command()
def info() -> None:
    """List model versions, which one is in service, and their thresholds and headline metric."""
    from classifiers.modeldir import ModelDir
    from classifiers.registry import active_model_dir, list_models
    from core.settings import get_settings

    settings = get_settings()
    models = list_models(settings)
    if not models:
        raise ListingwatchError(
            f"No trained model in {settings.model.models_dir}: run `listingwatch model train` first."
        )
    active = active_model_dir(settings)
    for path in models:
        m = ModelDir.open(path)
        onnx = "int8 onnx" if m.has_onnx else "pytorch only"
        mark = "*" if path == active else " "
        typer.echo(
            f"{mark} {path.name}  threshold {m.thresholds.sale:.4f} (precision >= {m.thresholds.target_precision})"
            f"  {m.headline.name} {m.headline.value:.4f}  {onnx}"
        )


def classify(
    in_path: Annotated[
        Path, typer.Argument(help="JSONL, one object per line with a title and/or description (e.g. crawl output).")
    ],
    out_path: Annotated[Path, typer.Argument(help="Where to write each line back with `classification` added.")],
    explain: Annotated[bool, typer.Option("--explain/--no-explain", help="Explain flagged listings.")] = True,
) -> None:
    """Classify a JSONL file with the model in service.

    A line needs only `title` and/or `description` (and `seller` as a name or {"name": ...});
    every other field, including your own (an `id` to join on), is written back unchanged
    with `classification` added. Bad lines (not UTF-8, not JSON, no text) are reported by
    number and skipped, as `index load` does. Exit status: 0 every line classified, 1 some
    lines were skipped or could not be classified, 2 the command could not run.
    """
    from rich.progress import Progress

    from classifiers.inference import Classifier, classify_file
    from core.errors import EXIT_BAD_INPUT
    from core.settings import get_settings

    if not in_path.is_file():
        raise ListingwatchError(f"Input file {in_path} does not exist; pass a JSONL file of listings.")
    settings = get_settings()
    classifier = Classifier.load(settings)
    with in_path.open("rb") as fh:
        total = sum(1 for _ in fh)
    with Progress(transient=True) as bar:
        task = bar.add_task(f"classifying with {classifier.version}", total=total)
        report = classify_file(
            in_path, out_path, settings, classifier, explain=explain, progress=lambda n: bar.advance(task, n)
        )
    problems = [(bad, "skipped") for bad in report.bad_lines] + [(bad, "not classified") for bad in report.failed]
    for bad, what in sorted(problems, key=lambda p: p[0].line)[:20]:
        typer.secho(f"{in_path}:{bad.line}: {what}, {bad.error}", err=True, fg=typer.colors.YELLOW)
    if len(problems) > 20:
        typer.secho(f"... and {len(problems) - 20} more problem lines", err=True, fg=typer.colors.YELLOW)
    typer.echo(
        f"{report.classified} classified ({report.cached} from cache), {report.flagged} flagged, "
        f"{len(report.bad_lines)} bad lines skipped, {len(report.failed)} not classified -> {out_path}"
    )
    if problems:
        raise typer.Exit(EXIT_BAD_INPUT)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(model_app, name="model")
    app.command("classify")(classify)
