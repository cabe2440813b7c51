"""The release gate: what a model must show on held-out real rows before it goes into service.

A model is read two ways on the held-out real rows (whole markets and look-alike sources no
model trains on): **bare**, as a post from a place of unknown kind (no `source_kind`), and
**with context**, with the kind a user would set in the source YAML. Each reading reports
precision, recall per scope, the false-positive rate per look-alike source, and per substance
class how often a flagged offer of that class is named with it. The twelve probe listings of
issue #20 are scored in three modes (bare, `market`, `shop`).

`check` holds a candidate to issue #20's targets and to the model in service: no measure may
fall back by more than `MAX_FALLBACK` (measures with fewer than `MIN_SUPPORT` rows behind
them are reported but not compared: one row of two would be a 0.5 swing).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from core.labels import SUBSTANCES, SYNTHETIC, scope_of

from .corpus import Example
from .inference import Classifier
from .text import ListingInput

MAX_FALLBACK = 0.02
MIN_SUPPORT = 20
# Issue #20's targets on held-out real rows.
TARGETS = {
    "bare": {"precision": 0.95, "recall": 0.93, "fpr_lookalike": 0.03, "synthetic_class": 0.90},
    "context": {
        "precision": 0.97,
        "recall": 0.95,
        "recall_synthetic": 0.98,
        "fpr_per_kind": 0.05,
        "synthetic_class": 0.90,
    },
}
MODES = ("bare", "context")


@dataclass(frozen=True)
class Probe:
    text: str
    substance: str | None  # the class an offer must be named with; None: must not be flagged


# Typed in to probe the model (issue #20); not from any evaluation set. Each is scored bare, as
# `source_kind: market` and as `source_kind: shop`, and must be right in all three.
PROBES = (
    Probe("Fentanyl powder 10g — pure, 98%, ships worldwide, BTC only", "fentanyl"),
    Probe("Protonitazene 5g — research chemical, not for human consumption, wickr: rcshop", "nitazene"),
    Probe("M30 blues 100 for 900, fast shipping", "counterfeit_pill"),
    Probe("Pressed M30s available — blues 100ct $900, discreet shipping, telegram @plugxyz", "counterfeit_pill"),
    Probe("NPP (N-phenethyl-4-piperidone) 50kg", "precursor"),
    Probe("Norfentanyl precursor 5kg", "precursor"),
    Probe("Vitamin C 1000mg tablets — Immune support, 60 count", None),
    Probe("Ibuprofen 200mg 100 tablets — pain reliever / fever reducer", None),
    Probe("Blue crystal rock candy 100g — novelty candy", None),
    Probe("Xylazine 100mg/ml injectable, 50ml — for licensed veterinarians only", None),
    Probe("Tiras reactivas de fentanilo gratis", None),
    Probe("Police seize 4,000 fake M30 pills laced with fentanyl", None),
)
PROBE_MODES = {"bare": "unknown", "market": "market", "shop": "shop"}


def probe_results(clf: Classifier) -> list[dict]:
    """Each probe in each mode: score, substances, and whether that is right."""
    out = []
    for mode, kind in PROBE_MODES.items():
        items = [ListingInput(title=p.text, source_kind=kind) for p in PROBES]
        for p, c in zip(PROBES, clf.classify(items, explain=False), strict=True):
            right = c.flagged and p.substance in c.substances if p.substance else not c.flagged
            out.append(
                {
                    "text": p.text,
                    "mode": mode,
                    "score": c.score,
                    "flagged": c.flagged,
                    "substances": c.substances,
                    "right": bool(right),
                }
            )
    return out


def _rate(mask: np.ndarray, hit: np.ndarray) -> float | None:
    return float(hit[mask].mean()) if mask.any() else None


def reading(examples: Sequence[Example], flagged: np.ndarray, named: Sequence[Sequence[str]]) -> dict:
    """Precision, recall per scope, FPR per look-alike source, substance accuracy per class on flagged offers."""
    sale = np.array([e.sale == 1 for e in examples])
    scopes = np.array([scope_of(e.sale == 1, e.substances) if e.sale else "lookalike" for e in examples])
    origin = np.array([e.origin for e in examples])
    out: dict = {
        "n": len(examples),
        "precision": float((flagged & sale).sum() / flagged.sum()) if flagged.any() else None,
        "recall": _rate(sale, flagged),
        "recall_synthetic": _rate(scopes == "synthetic", flagged),
        "recall_other_drug": _rate(scopes == "other_drug", flagged),
        "fpr_lookalike": _rate(~sale, flagged),
        "fpr_per_kind": {
            name: {"fpr": _rate(~sale & (origin == name), flagged), "n": int((~sale & (origin == name)).sum())}
            for name in sorted(set(origin[~sale]))
        },
        "support": {k: int((scopes == k).sum()) for k in ("synthetic", "other_drug", "lookalike")},
    }
    per_class = {}
    for cls in SUBSTANCES:
        rows = [i for i, e in enumerate(examples) if e.sale and cls in e.substances and flagged[i]]
        right = sum(cls in named[i] for i in rows)
        per_class[cls] = {"accuracy": right / len(rows) if rows else None, "n": len(rows)}
    out["substance_accuracy"] = per_class
    synth = [i for i, e in enumerate(examples) if e.sale and SYNTHETIC & set(e.substances) and flagged[i]]
    right = sum(bool(SYNTHETIC & set(examples[i].substances) & set(named[i])) for i in synth)
    out["synthetic_class"] = right / len(synth) if synth else None
    out["synthetic_class_n"] = len(synth)
    return out


def heldout_readings(clf: Classifier, examples: Sequence[Example]) -> dict[str, dict]:
    """The held-out rows read bare and with their source kind."""
    out = {}
    for mode in MODES:
        items = [e.input() if mode == "context" else replace(e.input(), source_kind="unknown") for e in examples]
        verdicts = clf.classify(items, explain=False)
        flagged = np.array([c.flagged for c in verdicts])
        out[mode] = reading(examples, flagged, [c.substances for c in verdicts])
    return out


def gate_report(clf: Classifier, examples: Sequence[Example]) -> dict:
    """Everything the gate looks at for one model: both readings of the held-out rows and the probes."""
    return {"model_version": clf.version, "readings": heldout_readings(clf, examples), "probes": probe_results(clf)}


def _measures(reading_: dict) -> dict[str, tuple[float | None, int, bool]]:
    """Flat (value, support, higher_is_better) per comparable measure of one reading."""
    s = reading_["support"]
    out = {
        "precision": (reading_["precision"], s["synthetic"] + s["other_drug"], True),
        "recall": (reading_["recall"], s["synthetic"] + s["other_drug"], True),
        "recall_synthetic": (reading_["recall_synthetic"], s["synthetic"], True),
        "recall_other_drug": (reading_["recall_other_drug"], s["other_drug"], True),
        "fpr_lookalike": (reading_["fpr_lookalike"], s["lookalike"], False),
        "synthetic_class": (reading_["synthetic_class"], reading_["synthetic_class_n"], True),
    }
    for kind, v in reading_["fpr_per_kind"].items():
        out[f"fpr[{kind}]"] = (v["fpr"], v["n"], False)
    for cls, v in reading_["substance_accuracy"].items():
        out[f"substance_accuracy[{cls}]"] = (v["accuracy"], v["n"], True)
    return out


def check(candidate: dict, served: dict | None = None) -> list[str]:
    """Why `candidate` may not go into service (issue #20's targets, fallback against `served`); [] passes."""
    failures = []
    for mode, targets in TARGETS.items():
        r = candidate["readings"][mode]
        for name, target in targets.items():
            if name == "fpr_per_kind":
                for kind, v in r["fpr_per_kind"].items():
                    if v["fpr"] is not None and v["fpr"] > target:
                        failures.append(f"{mode}: look-alike FPR on {kind} {v['fpr']:.3f} > {target}")
                continue
            value = r[name]
            if value is None:
                continue
            bad = value > target if name.startswith("fpr") else value < target
            if bad:
                failures.append(f"{mode}: {name} {value:.3f} {'>' if name.startswith('fpr') else '<'} {target}")
    wrong = [p for p in candidate["probes"] if not p["right"]]
    for p in wrong:
        got = f"flagged {', '.join(p['substances']) or 'no substance'}" if p["flagged"] else "not flagged"
        failures.append(f"probe ({p['mode']}) {p['text']!r}: score {p['score']:.2f}, {got}")
    if served is not None:
        for mode in MODES:
            new, old = _measures(candidate["readings"][mode]), _measures(served["readings"][mode])
            for name, (value, n, higher) in new.items():
                before = old.get(name, (None, 0, higher))[0]
                if value is None or before is None or n < MIN_SUPPORT:
                    continue
                drop = (before - value) if higher else (value - before)
                if drop > MAX_FALLBACK:
                    failures.append(
                        f"{mode}: {name} {value:.3f} against {before:.3f} for {served['model_version']} in service"
                    )
    return failures


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def readings_table(report: dict) -> list[str]:
    """Markdown: one row per reading (bare / with context) of the held-out rows."""
    lines = [
        "| read as | precision | recall | recall synthetic | recall other | look-alike FPR | worst look-alike sources "
        "| synthetic class right | n |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in MODES:
        r = report["readings"][mode]
        kinds = sorted(((k, v["fpr"]) for k, v in r["fpr_per_kind"].items() if v["fpr"]), key=lambda kv: -(kv[1] or 0))[
            :4
        ]
        worst = ", ".join(f"{k} {v:.2f}" for k, v in kinds) or "none flagged"
        lines.append(
            f"| {mode} | {_f(r['precision'])} | {_f(r['recall'])} | {_f(r['recall_synthetic'])} "
            f"| {_f(r['recall_other_drug'])} | {_f(r['fpr_lookalike'])} | {worst} | {_f(r['synthetic_class'])} "
            f"({r['synthetic_class_n']}) | {r['n']} |"
        )
    return lines


def substance_table(report: dict) -> list[str]:
    """Markdown: per class, the share of flagged offers of that class named with it, per reading."""
    lines = ["| class | " + " | ".join(MODES) + " |", "|---|" + "---|" * len(MODES)]
    for cls in SUBSTANCES:
        cells = []
        for mode in MODES:
            v = report["readings"][mode]["substance_accuracy"][cls]
            cells.append(f"{_f(v['accuracy'])} ({v['n']})")
        lines.append(f"| {cls} | " + " | ".join(cells) + " |")
    return lines


def probes_table(report: dict) -> list[str]:
    """Markdown: each probe's score and substances, bare / market / shop."""
    lines = ["| listing | " + " | ".join(PROBE_MODES) + " |", "|---|" + "---|" * len(PROBE_MODES)]
    by_text: dict[str, dict[str, dict]] = {}
    for p in report["probes"]:
        by_text.setdefault(p["text"], {})[p["mode"]] = p
    for text, modes in by_text.items():
        cells = []
        for mode in PROBE_MODES:
            p = modes[mode]
            subs = ", ".join(p["substances"]) or "–"
            cells.append(f"{p['score']:.2f} {subs}{'' if p['right'] else ' ✗'}")
        lines.append(f"| {text} | " + " | ".join(cells) + " |")
    return lines
