"""The label space shared by the corpus, the model head, evaluation and inference.

The model has one output for "offers illicit synthetic drugs for sale" followed by one per
substance class, so the order here is the order of the logits and must never change
within a model version (it is also written to each model's `labels.json`).
"""

SALE = "illicit_sale"
SUBSTANCES: tuple[str, ...] = (
    "fentanyl",
    "nitazene",
    "counterfeit_pill",
    "methamphetamine",
    "xylazine",
    "precursor",
    "other_drug",
)
OUTPUTS: tuple[str, ...] = (SALE, *SUBSTANCES)
# The project's first scope (fentanyl and analogues, nitazenes, pressed/pharma pills, meth, xylazine,
# precursors); `other_drug` offers are flagged too, and ranked after these.
SYNTHETIC = frozenset(SUBSTANCES) - {"other_drug"}
LANGUAGES: tuple[str, ...] = ("en", "es")


def checked_substances(values: object) -> list[str]:
    """A labelled row's substances, sorted; ValueError naming any the label space does not have."""
    if not isinstance(values, list | tuple):
        raise ValueError("`substances` must be a list")
    unknown = set(values) - set(SUBSTANCES)
    if unknown:
        raise ValueError(f"unknown substances {sorted(unknown)}")
    return sorted(values)


def scope_of(flagged: bool, substances: list[str] | tuple[str, ...]) -> str:
    """ "synthetic", "other_drug" or "none": what a verdict is about, for filtering and ranking.

    The names sort the way analysts rank them (synthetic > other_drug > none), so a descending
    sort on the stored keyword puts synthetic offers first.
    """
    if not flagged:
        return "none"
    return "synthetic" if SYNTHETIC & set(substances) else "other_drug"
