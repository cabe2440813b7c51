"""The model card written into every model directory, from the numbers training produced."""

from pathlib import Path

from .modeldir import Meta, Thresholds
from .stacker import Stacker

_LIMITS = """\
## Intended use

Triage for trust-and-safety analysts: rank crawled listings so that people read the likely
illicit sales of synthetic drugs (fentanyl and analogues, nitazenes, counterfeit pressed pills,
methamphetamine, xylazine, fentanyl precursors, other illicit drugs) first, with the words that
drove each decision. A flag is a reason for a human to look, never a finding on its own; takedown
requests must quote the listing, not this score.

Not for: judging people, scoring private messages, automated enforcement without review.

## Limits and known failure modes

- Trained on the project's generated families and hand-written examples and, when the real corpus
  is built, on real market titles (one 2017 market) and drug-information articles (see
  docs/data_card.md). Real sellers invent new slang faster than the lexicon grows: expect recall
  to drop on fresh terms until they are added to the lexicon or drug_classes.yaml and the model
  retrained. Weak labels (a market's categories, a title rule) carry their noise into the scores.
- The context line (source kind, price, quantity, seller) makes a market page naming a drug an
  offer. A listing crawled without `source_kind` is read on its words alone, with lower recall on
  terse titles.
- English and Spanish only. Other languages get low scores, whatever they say.
- Texts longer than `max_length` word pieces keep their head and tail; a sale buried in the middle
  of a long post can be missed.
- Hard negatives that look like sales (harm-reduction groups that "ship discreetly", reference-
  standard catalogues listing fentanyl analogues with CAS numbers, ordinary goods sold for crypto
  over Telegram) are the main source of false positives; news that quotes a seller's ad verbatim
  can be flagged.
- Images are not read: a listing whose text is only emoji and a contact handle relies on emoji
  codes in the lexicon.
- Terse street posts are the weakest kind of sale: a title of slang the lexicon lacks ("yellow
  footballs", "zaza") over a two-line description is often missed, and so are offers of only
  non-synthetic drugs ("Ketamine + coke").
- Substance outputs are only reported for flagged listings. Methamphetamine is over-reported:
  sellers of other drugs decorate with 💎, a meth code in the lexicon.
- The test split is made of template families the model never trained on, but they come from the
  same authors; numbers on real listings will be lower. Measure on labelled real data before
  relying on a precision figure.
"""


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def _network(meta: Meta) -> str:
    net = meta.network or {}
    kept = net.get("distilled_from_layers")
    if not kept:
        return f"Network: {net.get('layers', 6)} transformer layers."
    return (
        f"Network: {net['layers']} transformer layers, distilled from the fine-tuned 6-layer model (started "
        f"from its layers {kept}, trained on its probabilities). Serving costs about "
        f"{net['layers']}/6 of the full model; compare the metrics below with a 6-layer model's card before "
        "putting it in service."
    )


def write_model_card(path: Path, meta: Meta, thresholds: Thresholds, metrics: dict, stacker: Stacker) -> None:
    splits = metrics["splits"]
    rows = []
    for name, res in splits.items():
        o = res["overall"]
        rows.append(
            f"| {name} | {_fmt(o['precision'])} | {_fmt(o['recall'])} | {_fmt(o['f1'])} | {_fmt(o['pr_auc'])} "
            f"| {_fmt(res['calibration']['ece'])} | {o['n']} |"
        )
    corpus = meta.corpus
    sale_head = stacker.heads["illicit_sale"]
    coef = ", ".join(
        f"{n}={c:+.2f}" for n, c in zip(("model_logit", *stacker.lexicon_categories), sale_head.coef, strict=True)
    )
    text = (
        f"""# Model card: {meta.version}

Listing classifier for listingwatch. Base: {meta.base_model}, fine-tuned with a multi-label
head: `{", ".join(meta.outputs)}`. Created {meta.created_at}
({"quick CI slice" if meta.quick else "full training"}, {meta.train_seconds} s on CPU).
{_network(meta)}

## Data

Corpus owned by the project (`classifiers/corpus.py`, `classifiers/data/`): template families
(classified ads, marketplace listings, forum and social posts, supplier catalogues, news,
harm-reduction posts, pharmacies, lab catalogues, ordinary goods with unlucky words) in English
and Spanish, filled from the lexicon (v{meta.lexicon_version}) and disguised with spacing,
leetspeak, homoglyphs, invisible characters and emoji; plus hand-written examples. Split by
family (stratified by label and substance or language), never by row:

| split | rows | positives | families |
|---|---|---|---|
"""
        + "\n".join(f"| {k} | {v['rows']} | {v['positives']} | {v['families']} |" for k, v in corpus.items())
        + f"""

Real text (`{"none: generated corpus only" if meta.spec.real_sha256 is None else meta.spec.real_sha256[:16]}`, see
docs/data_card.md) and generated rows per split, by source: {
            "; ".join(f"{k}: {v.get('by_source', {})}" for k, v in corpus.items())
        }. Whole markets are held out for the test split (leave-one-market-out).

Max length {meta.max_length} word pieces (head {70}% + tail), training config
`{meta.train_config}`.

## Calibration and lexicon combination

The score is a logistic regression over [model sale logit, log1p(lexicon hits) per category],
fit on the validation split (families unseen in training): Platt scaling that also lets
transparent lexicon evidence move the score. Sale-head coefficients: {coef}; intercept
{sale_head.intercept:+.2f}. Each substance output has its own head over [its logit, log1p(lexicon
hits) of every substance category], fit on the validation rows that are sales, since a substance
is only reported for a flagged listing (it estimates P(substance | sale)). Substances are reported
for flagged listings when their calibrated probability is at least {thresholds.substance}:

| substance (test split, flagged listings) | precision | recall | F1 | support |
|---|---|---|---|---|
"""
        + "\n".join(
            f"| {k} | {_fmt(v['precision'])} | {_fmt(v['recall'])} | {_fmt(v['f1'])} | {v['support']} |"
            for k, v in splits["test"]["per_substance"].items()
        )
        + f"""

## Operating threshold

Threshold **{thresholds.sale:.4f}**, chosen for precision >= {thresholds.target_precision} on
the {thresholds.chosen_on}: precision {thresholds.validation_precision:.3f}, recall
{thresholds.validation_recall:.3f} there (target met: {thresholds.target_met}). The stacker is
fit on the same split (a 12-coefficient logistic regression, so the optimism is small); the
test split shows what to expect on unseen phrasing.

## Metrics (PyTorch weights at training time)

| split | precision | recall | F1 | PR-AUC | ECE | n |
|---|---|---|---|---|---|---|
"""
        + "\n".join(rows)
        + f"""

Headline for comparing models: `{metrics["headline"]["name"]}` on the {metrics["headline"]["split"]}
split = {metrics["headline"]["value"]:.4f}. Full report: `listingwatch model evaluate`.

{_LIMITS}"""
    )
    path.write_text(text, encoding="utf-8")
