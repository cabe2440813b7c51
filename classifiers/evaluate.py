"""The evaluation report: what an analyst lead reads before trusting a model version.

Scores a corpus split (by default the test families, never trained on) through the same
path as production (`Classifier`, int8 ONNX when exported) and writes, under
``<model_dir>/evaluation/<split>/``: `metrics.json`, `report.md` and PNG plots (PR curve,
reliability diagram, confusion matrix). A lexicon-only rule is scored beside the model as
the baseline the transformer has to beat. `evaluate_model(...)["headline"]` is the number
the retrain DAG compares between versions.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from core.errors import ListingwatchError
from core.labels import SUBSTANCES, checked_substances, scope_of
from core.lexicon import load_lexicon, match_fields
from core.settings import Settings

from . import metrics as M
from .corpus import SPLITS, Example, corpus_for
from .gate import gate_report, probes_table, readings_table, substance_table
from .inference import Classifier, reported_substance_scores
from .modeldir import ModelDir
from .text import ListingInput

WORST = 20
# Issue #12's targets, on held-out real data: what "good enough to put in service" means.
TARGETS = {"recall_synthetic": 0.95, "recall_other_drug": 0.85, "precision": 0.95, "fpr_lookalike": 0.03}


def split_examples(split: str, model_dir: Path, real_path: Path) -> list[Example]:
    """The corpus split as the model's training run built it (same sizes, seed and real corpus, so the same rows)."""
    if split not in SPLITS:
        raise ListingwatchError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
    spec = ModelDir.open(model_dir).meta.spec
    return [e for e in corpus_for(spec, real_path) if e.split == split]


def scope(sale: int, substances: Sequence[str]) -> str:
    """synthetic (fentanyl, nitazenes, pressed/pharma pills, meth, xylazine, precursors), other_drug, or lookalike."""
    labelled = scope_of(bool(sale), list(substances))  # a label's scope, as a verdict's is named
    return "lookalike" if labelled == "none" else labelled


def read_labelled(path: Path) -> list[Example]:
    """A labelled JSONL file: listing fields plus `sale` (0/1) and optional `substances` and `source`.

    Every bad line is reported at once, with its number, so a file is fixed in one pass.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as err:
        raise ListingwatchError(f"Cannot read {path}: {err.strerror}; pass a labelled JSONL file.") from None
    out, problems = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            if row.get("sale") not in (0, 1, True, False):
                raise ValueError("`sale` must be 0 or 1")
            subs = checked_substances(row.get("substances") or [])
            item = ListingInput.from_mapping(row)
            if not (item.title or item.description):
                raise ValueError("needs a title or a description")
        except (ValueError, TypeError) as err:
            problems.append(f"line {n}: {err}")
            continue
        out.append(
            Example.from_input(
                item,
                int(row["sale"]),
                subs,
                lang=str(row.get("lang") or "en"),
                platform=item.source_kind,
                family=str(row.get("source") or "data"),
                source="real",
                split="test",
                origin=str(row.get("source") or Path(path).stem),
            )
        )
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise ListingwatchError(f"{path} has {len(problems)} bad lines: {'; '.join(problems[:10])}{more}.")
    if not out:
        raise ListingwatchError(f"{path} holds no labelled listings.")
    return out


def real_test_examples(settings: Settings) -> list[Example]:
    """The held-out rows (whole markets, look-alike sources) of the real corpus now in `model.real_corpus`."""
    from .corpus import real_examples

    return [e for e in real_examples(settings.model.real_corpus) if e.split == "test"]


def comparison_score(model_dir: Path, settings: Settings) -> tuple[str, float]:
    """The number the retrain job compares two models by, measured now on the same rows for both.

    With a real corpus present that is the sale PR-AUC on its held-out test rows (markets and
    look-alike sources no model trains on); without one, the model's own test split.
    """
    if settings.model.real_corpus.is_file():
        result = evaluate_model(model_dir, settings, examples=real_test_examples(settings), name="real-test")
        return f"{M.HEADLINE} (real test)", float(result[M.HEADLINE])
    result = evaluate_model(model_dir, settings, split="test")
    return M.HEADLINE, float(result[M.HEADLINE])


def lexicon_baseline(examples: list[Example]) -> np.ndarray:
    """Keyword rule analysts used before the model: a substance term and a sale cue, no benign cue."""
    lex = load_lexicon()
    out = np.zeros(len(examples))
    for i, ex in enumerate(examples):
        kinds = {lex.kind(h.category) for h in match_fields(ex.fields(), lex)}
        out[i] = float("substance" in kinds and "sale" in kinds and "benign" not in kinds)
    return out


def scope_report(examples: Sequence[Example], flagged: np.ndarray) -> dict:
    """Recall per scope, precision, look-alike false-positive rate, and whether issue #12's targets are met."""
    scopes = np.array([scope(e.sale, e.substances) for e in examples])
    sale = np.array([e.sale for e in examples]) == 1

    def rate(mask: np.ndarray) -> float | None:
        return float(flagged[mask].mean()) if mask.any() else None

    tp = int((flagged & sale).sum())
    out = {
        "n": len(examples),
        "recall_synthetic": rate(scopes == "synthetic"),
        "recall_other_drug": rate(scopes == "other_drug"),
        "recall_all": rate(sale),
        "precision": tp / int(flagged.sum()) if flagged.any() else None,
        "fpr_lookalike": rate(scopes == "lookalike"),
        "support": {k: int((scopes == k).sum()) for k in ("synthetic", "other_drug", "lookalike")},
    }
    out["targets"] = {
        k: (out[k] is not None and (out[k] <= v if k.startswith("fpr") else out[k] >= v)) for k, v in TARGETS.items()
    }
    return out


def per_source(examples: Sequence[Example], flagged: np.ndarray) -> dict[str, dict]:
    names = sorted({e.origin for e in examples})
    origin = np.array([e.origin for e in examples])
    return {name: scope_report([e for e in examples if e.origin == name], flagged[origin == name]) for name in names}


def evaluate_model(
    model_dir: Path,
    settings: Settings,
    split: str = "test",
    backend: Literal["auto", "onnx", "pytorch"] = "auto",
    data: Path | None = None,
    examples: list[Example] | None = None,
    name: str | None = None,
) -> dict:
    """Score `split` (or the labelled JSONL `data`), write the report directory, return the metrics.

    The result has `headline` (what the retrain job compares), `scopes` (issue #12's targets),
    `real` (the same on real rows only) and `per_source` (each held-out market and look-alike source).
    """
    model_dir = Path(model_dir)
    clf = Classifier.load(settings, model_dir=model_dir, backend=backend)
    if examples is None:
        examples = read_labelled(data) if data else split_examples(split, model_dir, settings.model.real_corpus)
    if not examples:
        raise ListingwatchError(f"Split {split} of {model_dir.name}'s corpus is empty; retrain with more data.")
    name = name or (Path(data).stem if data else split)
    scored = clf.score([e.input() for e in examples])
    probs = np.array([s.probs for s in scored])
    y_sale = np.array([e.sale for e in examples])
    y_sub = np.array([[float(s in e.substances) for s in SUBSTANCES] for e in examples])
    langs = [e.lang for e in examples]
    p_sub = reported_substance_scores([e.input() for e in examples], probs[:, 1:], clf.lexicon)
    result = M.summary(y_sale, probs[:, 0], clf.threshold, y_sub, p_sub, langs)
    flagged = probs[:, 0] >= clf.threshold
    result["scopes"] = scope_report(examples, flagged)
    real = np.array([e.source == "real" for e in examples])
    result["real"] = (
        scope_report([e for e, r in zip(examples, real, strict=True) if r], flagged[real]) if real.any() else None
    )
    result["per_source"] = per_source(examples, flagged)
    heldout = [e for e in examples if e.source == "real"]
    if not heldout and data is None and split == "test" and settings.model.real_corpus.is_file():
        heldout = real_test_examples(settings)  # a model trained without real text, read on the same rows
    result["heldout"] = gate_report(clf, heldout) if heldout else None
    baseline = lexicon_baseline(examples)
    result["lexicon_baseline"] = M.binary_metrics(y_sale, baseline, 0.5)
    result["confusion"] = {
        "labels": ["not sale", "sale"],
        "matrix": [
            [result["overall"]["tn"], result["overall"]["fp"]],
            [result["overall"]["fn"], result["overall"]["tp"]],
        ],
    }
    wrong = [i for i in range(len(examples)) if flagged[i] != bool(y_sale[i])]
    wrong.sort(key=lambda i: -abs(probs[i, 0] - y_sale[i]))
    result["worst_errors"] = [
        {
            "label": int(y_sale[i]),
            "score": round(float(probs[i, 0]), 4),
            "family": examples[i].family,
            "source": examples[i].origin,
            "lang": examples[i].lang,
            "text": examples[i].text(clf.meta.input_format),
        }
        for i in wrong[:WORST]
    ]
    result.update(
        split=name,
        model_version=clf.version,
        backend=clf.backend.kind,
        threshold=clf.threshold,
        target_precision=clf.thresholds.target_precision,
        headline={"name": M.HEADLINE, "value": result[M.HEADLINE], "split": name},
    )
    out = model_dir / "evaluation" / name
    out.mkdir(parents=True, exist_ok=True)
    _plots(out, y_sale, probs[:, 0], clf.threshold, result)
    (out / "metrics.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "report.md").write_text(_markdown(result), encoding="utf-8")
    result["report_dir"] = str(out)
    return result


def _plots(out: Path, y: np.ndarray, p: np.ndarray, threshold: float, result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(recall, precision, label=f"model (PR-AUC {result['overall']['pr_auc']:.3f})")
    base = result["lexicon_baseline"]
    ax.scatter([base["recall"]], [base["precision"]], color="tab:red", label="lexicon rule", zorder=3)
    o = result["overall"]
    ax.scatter([o["recall"]], [o["precision"]], color="black", marker="x", label=f"threshold {threshold:.3f}", zorder=3)
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (illicit sale)", ylim=(0, 1.02))
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "pr_curve.png", dpi=100)
    plt.close(fig)

    bins = result["calibration"]["bins"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", label="model")
    ax.set(
        xlabel="mean predicted probability",
        ylabel="fraction positive",
        title=f"Reliability (ECE {result['calibration']['ece']:.3f})",
    )
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "reliability.png", dpi=100)
    plt.close(fig)

    matrix = np.array(result["confusion"]["matrix"])
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(matrix, cmap="Blues")
    for (r, c), v in np.ndenumerate(matrix):
        ax.text(c, r, str(v), ha="center", va="center", color="black")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["not sale", "sale"], yticklabels=["not sale", "sale"])
    ax.set(xlabel="predicted", ylabel="actual", title="Confusion matrix")
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=100)
    plt.close(fig)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def scope_table(rows: dict[str, dict]) -> list[str]:
    """Markdown rows: recall per scope, precision, look-alike FPR (the issue's targets in the header)."""
    t = TARGETS
    head = [
        f"| | recall synthetic (>= {t['recall_synthetic']}) | recall other drugs (>= {t['recall_other_drug']}) "
        f"| precision (>= {t['precision']}) | look-alike FPR (<= {t['fpr_lookalike']}) "
        "| synthetic / other / look-alike |",
        "|---|---|---|---|---|---|",
    ]
    body = [
        f"| {k} | {_pct(v['recall_synthetic'])} | {_pct(v['recall_other_drug'])} | {_pct(v['precision'])} "
        f"| {_pct(v['fpr_lookalike'])} | {v['support']['synthetic']} / {v['support']['other_drug']} / "
        f"{v['support']['lookalike']} |"
        for k, v in rows.items()
    ]
    return head + body


def _row(name: str, m: dict) -> str:
    scores = f"{m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['pr_auc']:.3f}"
    return f"| {name} | {scores} | {m['support']} | {m['n']} |"


def _heldout_markdown(heldout: dict | None) -> list[str]:
    if not heldout:
        return []
    return [
        "## Held-out real rows, read bare and with the source kind (issue #20 targets)",
        "",
        *readings_table(heldout),
        "",
        "Substance class named on flagged offers of that class (flagged offers behind each figure):",
        "",
        *substance_table(heldout),
        "",
        "## Probes (bare / source_kind market / shop; ✗ = wrong)",
        "",
        *probes_table(heldout),
        "",
    ]


def _markdown(r: dict) -> str:
    head = "| | precision | recall | F1 | PR-AUC | positives | n |\n|---|---|---|---|---|---|---|"
    lines = [
        f"# Evaluation of {r['model_version']} on the {r['split']} split",
        "",
        f"Backend {r['backend']}; operating threshold {r['threshold']:.4f} (chosen on validation for precision "
        f">= {r['target_precision']}). Headline {r['headline']['name']} = {r['headline']['value']:.4f}.",
        "",
        "## Illicit sale",
        "",
        head,
        _row("model", r["overall"]),
        _row("lexicon rule (baseline)", r["lexicon_baseline"]),
        "",
        "## Scopes (issue #12 targets)",
        "",
        *scope_table({"all rows": r["scopes"], **({"real rows": r["real"]} if r.get("real") else {})}),
        "",
        *_heldout_markdown(r.get("heldout")),
        "## Per source (held-out markets and look-alike sources)",
        "",
        *scope_table(r["per_source"]),
        "",
        "## Per language",
        "",
        head,
        *[_row(k, v) for k, v in r["per_language"].items()],
        "",
        "## Per substance (reported on flagged listings only)",
        "",
        head,
        *[_row(k, v) for k, v in r["per_substance"].items()],
        "",
        f"## Calibration\n\nECE {r['calibration']['ece']:.4f}. ![reliability](reliability.png)",
        "",
        "## Confusion matrix\n\n| actual \\ predicted | not sale | sale |\n|---|---|---|",
        f"| not sale | {r['confusion']['matrix'][0][0]} | {r['confusion']['matrix'][0][1]} |",
        f"| sale | {r['confusion']['matrix'][1][0]} | {r['confusion']['matrix'][1][1]} |",
        "",
        "![confusion](confusion.png) ![pr](pr_curve.png)",
        "",
        f"## {len(r['worst_errors'])} worst errors",
        "",
    ]
    for e in r["worst_errors"]:
        text = e["text"].replace("\n", " / ").replace("|", "\\|")
        lines.append(f"- label {e['label']}, score {e['score']:.3f}, {e['source']} / {e['family']}: {text}")
    return "\n".join(lines) + "\n"
