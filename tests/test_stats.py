"""The bootstrap's fast metrics equal scikit-learn's; intervals and paired differences behave."""

import numpy as np
import pandas as pd
import pytest

from tagbench.metrics import tagging_metrics
from tagbench.stats import (
    KEYS,
    bootstrap,
    interval,
    paired_differences,
    ranking_metrics,
    resample_indices,
)


@pytest.mark.parametrize("seed", range(5))
def test_ranking_metrics_equal_scikit_learn_with_ties_and_unscorable_tags(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((60, 9)) < 0.3).astype(np.uint8)
    y[:, 0] = 0          # no positive: skipped by the macro averages
    y[:, 1] = 1          # no negative: skipped too
    s = np.round(rng.random((60, 9)), 1)  # coarse scores: many ties
    fast, reference = ranking_metrics(y, s), tagging_metrics(y, s)
    for key in KEYS:
        assert fast[key] == pytest.approx(reference[key], abs=1e-12), key


def test_resampled_figures_equal_scikit_learn_on_the_resampled_clips():
    from tagbench.stats import RankingFigures

    rng = np.random.default_rng(7)
    y = (rng.random((50, 6)) < 0.3).astype(np.uint8)
    s = np.round(rng.random((50, 6)), 1)
    figures = RankingFigures(y, s)
    for idx in resample_indices(50, 5, seed=2):
        fast = figures(np.bincount(idx, minlength=50))
        reference = tagging_metrics(y[idx], s[idx])
        for key in KEYS:
            assert fast[key] == pytest.approx(reference[key], abs=1e-12, nan_ok=True), key


def test_resamples_are_shared_by_every_model_and_depend_on_the_seed():
    a, b = resample_indices(50, 20, seed=0), resample_indices(50, 20, seed=0)
    assert np.array_equal(a, b) and a.shape == (20, 50) and a.max() < 50
    assert not np.array_equal(a, resample_indices(50, 20, seed=1))


def test_interval_covers_the_middle_95_percent():
    low, high = interval(np.arange(1001.0))
    assert low == pytest.approx(25) and high == pytest.approx(975)
    assert interval([np.nan, 1.0, 1.0]) == [1.0, 1.0]


def test_pairing_detects_a_small_consistent_gain_that_unpaired_intervals_miss():
    """b is a with 7 % of its noise removed on every clip: the intervals of a and b overlap,
    yet the paired difference b - a excludes 0."""
    rng = np.random.default_rng(0)
    y = (rng.random((300, 6)) < 0.3).astype(np.uint8)
    noise = rng.normal(0, 1.2, y.shape)
    base, better = y + noise, y + noise * 0.93
    idx = resample_indices(300, 300, seed=0)
    res = {"a": bootstrap(y, [base], idx), "b": bootstrap(y, [better], idx)}
    point = {"a": ranking_metrics(y, base), "b": ranking_metrics(y, better)}
    ci_a, ci_b = interval(res["a"]["roc_auc_macro"]), interval(res["b"]["roc_auc_macro"])
    assert ci_b[0] < ci_a[1]  # unpaired: overlapping
    diff = paired_differences({"b": res["b"], "a": res["a"]}, point)
    row = diff[(diff["metric"] == "roc_auc_macro")].iloc[0]
    assert row["a"] == "b" and row["difference"] > 0 and row["ci95_low"] > 0 and row["significant"]


def test_bootstrap_averages_seeds_per_resample():
    rng = np.random.default_rng(1)
    y = (rng.random((40, 4)) < 0.4).astype(np.uint8)
    s1, s2 = rng.random((40, 4)), rng.random((40, 4))
    idx = resample_indices(40, 5, seed=3)
    both = bootstrap(y, [s1, s2], idx)
    one, two = bootstrap(y, [s1], idx), bootstrap(y, [s2], idx)
    pd.testing.assert_frame_equal(both, (one + two) / 2)
