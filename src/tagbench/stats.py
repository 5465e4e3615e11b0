"""Uncertainty of the test figures: a bootstrap over test clips, paired across seeds and models.

Every model scored on one test part draws the same resamples (`resample_indices`: a function of
the number of clips, the count and the seed only), so the difference between two models is
computed resample by resample: a paired bootstrap, which cancels the variation the models share
(which clips happen to be easy). A figure's 95 % interval is the 2.5th-97.5th percentile over
resamples. Within a resample, macro averages skip tags without both a positive and a negative
clip (as `metrics.tagging_metrics` does on the whole test part).

The four ranking metrics are computed here vectorised over tags (ROC-AUC from tie-averaged
ranks, PR-AUC as scikit-learn's average precision), ~50x faster than calling scikit-learn per
resample; `tests/test_stats.py` checks them against scikit-learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

KEYS = ("roc_auc_macro", "pr_auc_macro", "roc_auc_micro", "pr_auc_micro")
LEVEL = 0.95


def resample_indices(n_clips: int, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, n_clips) clip indices drawn with replacement, the same for every model."""
    return np.random.default_rng([seed, n_clips]).integers(0, n_clips, (n_resamples, n_clips))


def _roc_auc(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """ROC-AUC of each column (nan where a column lacks a class): Mann-Whitney U over ranks."""
    pos = y.sum(axis=0)
    neg = len(y) - pos
    ranks = rankdata(s, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y).sum(axis=0) - pos * (pos + 1) / 2) / (pos * neg)
    return np.where((pos > 0) & (neg > 0), auc, np.nan)


def _average_precision(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Average precision of each column, as scikit-learn computes it (one step per distinct
    score: tied clips enter together); nan where a column has no positive or no negative."""
    order = np.argsort(-s, axis=0, kind="stable")
    ys = np.take_along_axis(y, order, axis=0).astype(np.float64)
    ss = np.take_along_axis(s, order, axis=0)
    tps = np.cumsum(ys, axis=0)
    seen = np.arange(1, len(y) + 1, dtype=np.float64)[:, None]
    last_of_tie = np.ones_like(ss, dtype=bool)
    last_of_tie[:-1] = ss[:-1] != ss[1:]
    at_step = np.where(last_of_tie, tps, 0.0)
    before = np.vstack([np.zeros((1, y.shape[1])), np.maximum.accumulate(at_step, axis=0)[:-1]])
    pos = tps[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (last_of_tie * (tps - before) * (tps / seen)).sum(axis=0) / pos
    return np.where((pos > 0) & (pos < len(y)), ap, np.nan)


def ranking_metrics(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """The four ranking figures of `metrics.tagging_metrics`, fast (see the module docstring)."""
    y = np.asarray(y_true).astype(np.float64)
    s = np.asarray(y_score, dtype=np.float64)
    roc, ap = _roc_auc(y, s), _average_precision(y, s)
    flat_y, flat_s = y.reshape(-1, 1), s.reshape(-1, 1)
    return {
        "roc_auc_macro": float(np.nanmean(roc)) if np.isfinite(roc).any() else np.nan,
        "pr_auc_macro": float(np.nanmean(ap)) if np.isfinite(ap).any() else np.nan,
        "roc_auc_micro": float(_roc_auc(flat_y, flat_s)[0]),
        "pr_auc_micro": float(_average_precision(flat_y, flat_s)[0]),
    }


def bootstrap(labels: np.ndarray, seed_scores: list[np.ndarray], indices: np.ndarray) -> pd.DataFrame:
    """One row per resample: each ranking figure averaged over the seeds' scores (a model
    scored with several training seeds is judged by its mean over seeds)."""
    rows = []
    for idx in indices:
        per_seed = [ranking_metrics(labels[idx], scores[idx]) for scores in seed_scores]
        rows.append({k: float(np.mean([m[k] for m in per_seed])) for k in KEYS})
    return pd.DataFrame(rows, columns=list(KEYS))


def interval(values) -> list[float]:
    """The central 95 % percentile interval, [low, high] (resamples with a nan are skipped)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return [float("nan"), float("nan")]
    tail = (1 - LEVEL) / 2 * 100
    return [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))]


def paired_differences(resamples: dict[str, pd.DataFrame], point: dict[str, dict]) -> pd.DataFrame:
    """Every ordered pair (a, b), a before b: for each figure, a - b on the whole test part and
    the 95 % interval of a - b over the shared resamples; `significant` when it excludes 0."""
    names = list(resamples)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for key in KEYS:
                low, high = interval(resamples[a][key] - resamples[b][key])
                rows.append({"a": a, "b": b, "metric": key,
                             "difference": point[a][key] - point[b][key],
                             "ci95_low": low, "ci95_high": high,
                             "significant": bool(low > 0 or high < 0)})
    return pd.DataFrame(rows, columns=["a", "b", "metric", "difference", "ci95_low", "ci95_high",
                                       "significant"])
