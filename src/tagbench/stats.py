"""Uncertainty of the test figures: a bootstrap over test clips, paired across seeds and models.

Every model scored on one test part draws the same resamples (`resample_indices`: a function of
the number of clips, the count and the seed only), so the difference between two models is
computed resample by resample: a paired bootstrap, which cancels the variation the models share
(which clips happen to be easy). A figure's 95 % interval is the 2.5th-97.5th percentile over
resamples. Within a resample, macro averages skip tags without both a positive and a negative
clip (as `metrics.tagging_metrics` does on the whole test part).

The four ranking metrics are computed here vectorised over tags, from scores sorted once per
model: a resample only reweights clips (`SortedScores`). On MTT's test part (6,466 clips x 188
tags) that is ~0.1 s per resample and seed, where scikit-learn on the resampled arrays takes
~1 s; `tests/test_stats.py` checks the figures against scikit-learn, resamples included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ("roc_auc_macro", "pr_auc_macro", "roc_auc_micro", "pr_auc_micro")
LEVEL = 0.95


def resample_indices(n_clips: int, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, n_clips) clip indices drawn with replacement, the same for every model."""
    return np.random.default_rng([seed, n_clips]).integers(0, n_clips, (n_resamples, n_clips))


class SortedScores:
    """One model's scores sorted once (descending, per tag), so that each resample costs a
    weighted cumulative sum instead of a sort: a resample is a vector of per-clip counts, and a
    clip drawn k times counts k times. Ties enter together (one ROC point or PR step per
    distinct score), as in scikit-learn; ROC-AUC is the trapezoid area, PR-AUC the average
    precision."""

    def __init__(self, y_true: np.ndarray, y_score: np.ndarray):
        y = np.asarray(y_true, dtype=np.float64)
        s = np.asarray(y_score, dtype=np.float64)
        self.order = np.argsort(-s, axis=0, kind="stable")
        self.y = np.take_along_axis(y, self.order, axis=0)
        ranked = np.take_along_axis(s, self.order, axis=0)
        self.last_of_tie = np.ones_like(ranked, dtype=bool)
        self.last_of_tie[:-1] = ranked[:-1] != ranked[1:]

    def metrics(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ROC-AUC, PR-AUC) per column for per-clip weights; nan where a column lacks a class."""
        w = np.asarray(weights, dtype=np.float64)[self.order]
        tp = np.cumsum(w * self.y, axis=0)
        fp = np.cumsum(w * (1 - self.y), axis=0)
        step = self.last_of_tie
        zero = np.zeros((1, tp.shape[1]))
        prev_tp = np.vstack([zero, np.maximum.accumulate(np.where(step, tp, 0), axis=0)[:-1]])
        prev_fp = np.vstack([zero, np.maximum.accumulate(np.where(step, fp, 0), axis=0)[:-1]])
        pos, neg = tp[-1], fp[-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            roc = (step * (fp - prev_fp) * (tp + prev_tp)).sum(axis=0) / (2 * pos * neg)
            precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
            ap = (step * (tp - prev_tp) * precision).sum(axis=0) / pos
        ok = (pos > 0) & (neg > 0)
        return np.where(ok, roc, np.nan), np.where(ok, ap, np.nan)


def _macro(values: np.ndarray) -> float:
    """Mean over the tags that have both classes (nan if none has)."""
    return float(np.nanmean(values)) if np.isfinite(values).any() else np.nan


class RankingFigures:
    """The four ranking figures of one model's scores, for any resample of its test clips."""

    def __init__(self, y_true: np.ndarray, y_score: np.ndarray):
        y, s = np.asarray(y_true), np.asarray(y_score)
        self.n_tags = y.shape[1]
        self.per_tag = SortedScores(y, s)
        self.pairs = SortedScores(y.reshape(-1, 1), s.reshape(-1, 1))  # micro: every clip x tag

    def __call__(self, weights: np.ndarray) -> dict[str, float]:
        roc, ap = self.per_tag.metrics(weights)
        micro_roc, micro_ap = self.pairs.metrics(np.repeat(weights, self.n_tags))
        return {"roc_auc_macro": _macro(roc), "pr_auc_macro": _macro(ap),
                "roc_auc_micro": float(micro_roc[0]), "pr_auc_micro": float(micro_ap[0])}


def ranking_metrics(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """The four ranking figures of `metrics.tagging_metrics` on the whole test part."""
    return RankingFigures(y_true, y_score)(np.ones(len(y_true)))


def bootstrap(labels: np.ndarray, seed_scores: list[np.ndarray], indices: np.ndarray) -> pd.DataFrame:
    """One row per resample: each ranking figure averaged over the seeds' scores (a model
    scored with several training seeds is judged by its mean over seeds)."""
    figures = [RankingFigures(labels, scores) for scores in seed_scores]
    rows = []
    for idx in indices:
        weights = np.bincount(idx, minlength=len(labels))
        per_seed = [f(weights) for f in figures]
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
