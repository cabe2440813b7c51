"""Throughput and accuracy: a plain fp32 transformers pipeline against listingwatch's inference.

Same model version, same 5,000 listings, same run, same threads:

* baseline — `transformers.pipeline("text-classification")` on the fp32 PyTorch weights,
  batch 32, truncation at the model's 512 positions, raw sigmoid of the sale output;
* project  — `Classifier.predict(explain=False)`: int8 ONNX, head+tail truncation at the
  model's `max_length`, length-sorted batches padded per batch, lexicon stacker;
* project + explanations — the same with occlusion attributions for flagged listings
  (measured on a subset: it costs one extra row per word of every flagged listing).

F1 is measured on the test split (families never trained on) for the plain pipeline (sigmoid
>= 0.5), the fp32 model through the project's calibration, and the int8 project inference.
Targets on 2 cores: project >= 3x baseline, >= 300 listings/s, int8 F1 >= fp32 F1 - 0.01.

`--student-dir` adds a row for a distilled student (`listingwatch model train --layers 3`) of the
same 6-layer model: its int8 speed against the same baseline, and its test F1 against the same
fp32 reference.

    .venv/bin/python benchmarks/bench_classify.py [--model-dir var/models/<version>] [--n 5000]
        [--student-dir var/models/<student version>]
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np


def listings_for(n: int, seed: int) -> list:
    """n distinct listing-shaped records from the corpus generator (all splits; throughput only)."""
    from classifiers.corpus import build_corpus
    from core.schema import Listing, Seller

    per_family = 40
    while True:
        rows = build_corpus(per_family=per_family, seed=seed)
        if len(rows) >= n:
            break
        per_family *= 2
    rows = rows[:: max(1, len(rows) // n)][:n]
    return [
        Listing(
            url=f"https://bench.example/{i}",
            source="bench",
            platform=r.platform,
            title=r.title,
            description=r.description,
            seller=Seller(name=r.seller or None),
        )
        for i, r in enumerate(rows)
    ]


def predict_seconds(classifier, listings: list) -> float:
    """Seconds for `predict(explain=False)` over all listings, after a warm-up call."""
    classifier.predict(listings[:64], explain=False)
    t = time.perf_counter()
    classifier.predict(listings, explain=False)
    return time.perf_counter() - t


def f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = int(np.sum(pred & (y == 1)))
    return 2 * tp / (2 * tp + int(np.sum(pred & (y == 0))) + int(np.sum(~pred & (y == 1)))) if tp else 0.0


def project_text(listing) -> str:
    from classifiers.text import ListingInput, model_text

    return model_text(ListingInput.from_listing(listing))[0]


def main() -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from classifiers.backends import TorchBackend, cpu_threads
    from classifiers.evaluate import split_examples
    from classifiers.inference import Classifier
    from classifiers.registry import active_model_dir
    from core.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--explain-n", type=int, default=500)
    parser.add_argument("--student-dir", type=Path, default=None)
    args = parser.parse_args()

    settings = get_settings()
    model_dir = args.model_dir or active_model_dir(settings)
    if model_dir is None:
        raise SystemExit("no trained model: run `listingwatch model train` first")
    threads = cpu_threads()
    torch.set_num_threads(threads)
    listings = listings_for(args.n, seed=101)
    texts = [project_text(li) for li in listings]

    model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype="float32").eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    pipe = pipeline(
        "text-classification", model=model, tokenizer=tokenizer, device=-1, function_to_apply="sigmoid", top_k=None
    )
    project = Classifier.load(settings, model_dir=model_dir)
    fp32 = Classifier(model_dir, TorchBackend(model))

    pipe(texts[:64], batch_size=32, truncation=True)  # warm-up
    t = time.perf_counter()
    pipe(texts, batch_size=32, truncation=True)
    base_s = time.perf_counter() - t
    proj_s = predict_seconds(project, listings)
    student = Classifier.load(settings, model_dir=args.student_dir) if args.student_dir else None
    student_s = predict_seconds(student, listings) if student else float("nan")
    sub = listings[:: max(1, len(listings) // args.explain_n)][: args.explain_n]
    t = time.perf_counter()
    flagged = sum(c.flagged for c in project.predict(sub, explain=True))
    expl_s = time.perf_counter() - t

    test = split_examples("test", model_dir, settings.model.real_corpus)
    y = np.array([e.sale for e in test])
    raw = pipe([e.text(project.meta.input_format) for e in test], batch_size=32, truncation=True)
    base_pred = np.array([next(s["score"] for s in r if s["label"] == "illicit_sale") >= 0.5 for r in raw])
    items = [e.input() for e in test]
    fp32_pred = np.array([s.probs[0] >= fp32.threshold for s in fp32.score(items)])
    int8_pred = np.array([s.probs[0] >= project.threshold for s in project.score(items)])

    base_rate, proj_rate, expl_rate = len(texts) / base_s, len(texts) / proj_s, len(sub) / expl_s
    f1_fp32, f1_int8 = f1(y, fp32_pred), f1(y, int8_pred)
    print(f"\nmodel {model_dir.name}, {threads} threads, {len(texts)} listings, test split n={len(test)}\n")
    print(f"| {'inference':<48} | {'listings/s':>10} | {'vs baseline':>11} | {'F1 (test)':>9} |")
    print(f"|{'-' * 50}|{'-' * 12}|{'-' * 13}|{'-' * 11}|")
    rows = [
        ("plain pipeline, fp32, sigmoid>=0.5 (baseline)", base_rate, f1(y, base_pred)),
        ("fp32 PyTorch + lexicon stacker (reference F1)", float("nan"), f1_fp32),
        (f"project: int8 ONNX, sorted batches ({project.max_length} tok)", proj_rate, f1_int8),
        (f"project + explanations ({flagged}/{len(sub)} flagged)", expl_rate, f1_int8),
    ]
    if student:
        layers = student.meta.get("network", {}).get("layers", "?")
        student_pred = np.array([s.probs[0] >= student.threshold for s in student.score(items)])
        rows.append((f"distilled {layers}-layer student: int8 ONNX", len(texts) / student_s, f1(y, student_pred)))
    for name, rate, score in rows:
        ratio = rate / base_rate
        rate_s = "-" if np.isnan(rate) else f"{rate:.0f}"
        ratio_s = "-" if np.isnan(rate) else f"{ratio:.2f}x"
        print(f"| {name:<48} | {rate_s:>10} | {ratio_s:>11} | {score:>9.3f} |")
    print(
        f"\ntargets: >=3x baseline {'met' if proj_rate >= 3 * base_rate else 'MISSED'}; "
        f">=300/s {'met' if proj_rate >= 300 else 'MISSED'}; "
        f"int8 F1 within 0.01 of fp32 {'met' if f1_int8 >= f1_fp32 - 0.01 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
