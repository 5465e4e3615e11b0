"""Tagging metrics, from scikit-learn. Never accuracy alone: with ~3% positives, predicting
all zeros is ~97% accurate, so `accuracy` is always reported beside `all_negative_accuracy`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

EPS = 1e-7


def binary_cross_entropy(y_true: np.ndarray, y_score: np.ndarray) -> float:
    p = np.clip(y_score.astype(np.float64), EPS, 1 - EPS)
    y = y_true.astype(np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def scorable(y_true: np.ndarray) -> np.ndarray:
    """Tags with at least one positive and one negative clip: AUCs are defined only there."""
    pos = y_true.sum(axis=0)
    return (pos > 0) & (pos < len(y_true))


def tagging_metrics(y_true: np.ndarray, y_score: np.ndarray) -> dict:
    """Compute the clip-level tagging figures of scores against 0/1 labels.

    Accuracy is never reported alone: with ~3 % positives, predicting no tag is ~97 % accurate.

    Parameters
    ----------
    y_true : array_like
        (clips, tags) 0/1 labels.
    y_score : array_like
        (clips, tags) scores in [0, 1].

    Returns
    -------
    dict
        `roc_auc_macro`, `pr_auc_macro` (average precision) over scorable tags (a positive and a
        negative clip), `roc_auc_micro`, `pr_auc_micro` over all (clip, tag) pairs (nan where
        undefined); element-wise `accuracy` at 0.5 and `all_negative_accuracy`; `loss` (binary
        cross-entropy); `n_clips`, `n_tags`, `n_tags_scored`.
    """
    y_true = np.asarray(y_true).astype(np.uint8)
    y_score = np.asarray(y_score, dtype=np.float64)
    ok = scorable(y_true)
    both = 0 < y_true.sum() < y_true.size
    nan = float("nan")
    return {
        "roc_auc_macro": float(roc_auc_score(y_true[:, ok], y_score[:, ok], average="macro"))
        if ok.any() else nan,
        "roc_auc_micro": float(roc_auc_score(y_true, y_score, average="micro")) if both else nan,
        "pr_auc_macro": float(average_precision_score(y_true[:, ok], y_score[:, ok],
                                                      average="macro")) if ok.any() else nan,
        "pr_auc_micro": float(average_precision_score(y_true, y_score, average="micro"))
        if both else nan,
        "accuracy": float(np.mean((y_score >= 0.5) == y_true)),
        "all_negative_accuracy": float(np.mean(y_true == 0)),
        "loss": binary_cross_entropy(y_true, y_score),
        "n_clips": int(y_true.shape[0]),
        "n_tags": int(y_true.shape[1]),
        "n_tags_scored": int(ok.sum()),
    }


def per_tag_metrics(y_true: np.ndarray, y_score: np.ndarray, tags) -> pd.DataFrame:
    """Compute each tag's figures, one row per tag in `tags` order.

    Returns
    -------
    DataFrame
        Columns `tag`, `positives`, `roc_auc`, `pr_auc` (nan for a tag without both a positive
        and a negative clip) and `accuracy` at 0.5.
    """
    ok = scorable(y_true)
    rows = []
    for j, tag in enumerate(tags):
        y, s = y_true[:, j], y_score[:, j]
        rows.append({
            "tag": tag,
            "positives": int(y.sum()),
            "roc_auc": float(roc_auc_score(y, s)) if ok[j] else float("nan"),
            "pr_auc": float(average_precision_score(y, s)) if ok[j] else float("nan"),
            "accuracy": float(np.mean((s >= 0.5) == y)),
        })
    return pd.DataFrame(rows)
