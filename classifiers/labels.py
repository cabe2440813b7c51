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
LANGUAGES: tuple[str, ...] = ("en", "es")


def checked_substances(values: object) -> list[str]:
    """A labelled row's substances, sorted; ValueError naming any the label space does not have."""
    if not isinstance(values, list | tuple):
        raise ValueError("`substances` must be a list")
    unknown = set(values) - set(SUBSTANCES)
    if unknown:
        raise ValueError(f"unknown substances {sorted(unknown)}")
    return sorted(values)
