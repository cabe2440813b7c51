"""The evaluation report: what an analyst lead reads before trusting a model version.

Scores a corpus split (by default the test families, never trained on) through the same
path as production (`Classifier`, int8 ONNX when exported) and writes, under
``<model_dir>/evaluation/<split>/``: `metrics.json`, `report.md` and PNG plots (PR curve,
reliability diagram, confusion matrix). A lexicon-only rule is scored beside the model as
the baseline the transformer has to beat. `evaluate_model(...)["headline"]` is the number
the retrain DAG compares between versions.
"""

import json
from pathlib import Path
from typing import Literal

import numpy as np

from listingwatch.errors import ListingwatchError
from listingwatch.settings import Settings

from . import metrics as M
from .corpus import SPLITS, Example, build_corpus
from .inference import Classifier
from .labels import SUBSTANCES
from .lexicon import load_lexicon, match_fields

WORST = 20


def split_examples(split: str, model_dir: Path) -> list[Example]:
    """The corpus split as the model's training run built it (same size and seed, so the same families)."""
    if split not in SPLITS:
        raise ListingwatchError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    cfg = meta["train_config"]
    return [e for e in build_corpus(per_family=cfg["per_family"], seed=cfg["seed"]) if e.split == split]


def lexicon_baseline(examples: list[Example]) -> np.ndarray:
    """Keyword rule analysts used before the model: a substance term and a sale cue, no benign cue."""
    lex = load_lexicon()
    out = np.zeros(len(examples))
    for i, ex in enumerate(examples):
        kinds = {lex.kind(h.category) for h in match_fields(ex.fields(), lex)}
        out[i] = float("substance" in kinds and "sale" in kinds and "benign" not in kinds)
    return out


def evaluate_model(
    model_dir: Path,
    settings: Settings,
    split: str = "test",
    backend: Literal["auto", "onnx", "pytorch"] = "auto",
) -> dict:
    """Score `split`, write the report directory, return the metrics (with `headline` and `report_dir`)."""
    model_dir = Path(model_dir)
    clf = Classifier.load(settings, model_dir=model_dir, backend=backend)
    examples = split_examples(split, model_dir)
    if not examples:
        raise ListingwatchError(f"Split {split} of {model_dir.name}'s corpus is empty; retrain with more data.")
    scored = clf.score_fields([e.fields() for e in examples])
    probs = np.array([s.probs for s in scored])
    y_sale = np.array([e.sale for e in examples])
    y_sub = np.array([[float(s in e.substances) for s in SUBSTANCES] for e in examples])
    langs = [e.lang for e in examples]
    result = M.summary(y_sale, probs[:, 0], clf.threshold, y_sub, probs[:, 1:], langs)
    baseline = lexicon_baseline(examples)
    result["lexicon_baseline"] = M.binary_metrics(y_sale, baseline, 0.5)
    result["confusion"] = {
        "labels": ["not sale", "sale"],
        "matrix": [
            [result["overall"]["tn"], result["overall"]["fp"]],
            [result["overall"]["fn"], result["overall"]["tp"]],
        ],
    }
    wrong = [i for i in range(len(examples)) if (probs[i, 0] >= clf.threshold) != bool(y_sale[i])]
    wrong.sort(key=lambda i: -abs(probs[i, 0] - y_sale[i]))
    result["worst_errors"] = [
        {
            "label": int(y_sale[i]),
            "score": round(float(probs[i, 0]), 4),
            "family": examples[i].family,
            "lang": examples[i].lang,
            "text": examples[i].text(),
        }
        for i in wrong[:WORST]
    ]
    result.update(
        split=split,
        model_version=clf.version,
        backend=clf.backend.kind,
        threshold=clf.threshold,
        target_precision=clf.thresholds["target_precision"],
        headline={"name": M.HEADLINE, "value": result[M.HEADLINE], "split": split},
    )
    out = model_dir / "evaluation" / split
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


def _row(name: str, m: dict) -> str:
    scores = f"{m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['pr_auc']:.3f}"
    return f"| {name} | {scores} | {m['support']} | {m['n']} |"


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
        lines.append(f"- label {e['label']}, score {e['score']:.3f}, {e['family']} ({e['lang']}): {text}")
    return "\n".join(lines) + "\n"
