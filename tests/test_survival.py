"""The Kaplan–Meier quantile: censored items count while they wait, and 'not reached' is said, not guessed."""

import pytest

from takedown.survival import km_quantile


def test_without_censoring_it_is_the_empirical_quantile() -> None:
    assert km_quantile([1, 2, 3, 4], [True] * 4, 0.5) == 2
    assert km_quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [True] * 10, 0.9) == 9


def test_censored_items_keep_the_median_from_being_only_the_fast_ones() -> None:
    # Two removed quickly, three still live after 100 h: the median removal time is not reached.
    assert km_quantile([1, 2, 100, 100, 100], [True, True, False, False, False], 0.5) is None
    # The median of the removed ones alone would be 1.5 h; KM with censoring gives a later answer.
    assert km_quantile([1, 2, 5, 10, 20], [True, False, True, True, False], 0.5) == 10


def test_textbook_example() -> None:
    # S drops at 6 (3 events of 21), 7, 10, 13, 16... (Gehan's 6-MP data): median 23.
    times = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
    events = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert km_quantile(times, [bool(e) for e in events], 0.5) == 23


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        km_quantile([1], [True, False], 0.5)
    with pytest.raises(ValueError):
        km_quantile([1], [True], 1.0)
