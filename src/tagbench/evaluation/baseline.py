"""The floor every variant must clear: clip-level log-mel statistics + logistic regression.

Each clip becomes 128 numbers, the mean and the standard deviation of each of its 64 log-mel
bands over all its frames (from the same shards the variants read). They are standardized
(statistics of the train part), and one logistic regression per tag is fitted
(scikit-learn, one-vs-rest); C is picked from `GRID` by macro ROC-AUC on the valid part. The
test part is scored like a variant (`scoring`) and summarized by the summary shared with the
variants (`replicates`), so the baseline has the same keys and enters the differences. It is
deterministic (one fit, no seed): a fixed-seed row, whose interval is clip-only (labelled so) and
whose side of a difference adds no seed term.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core.errors import DataError
from ..features.shards import FeatureStore
from ..settings.config import BootstrapSettings
from .replicates import summarize
from .scoring import score

GRID = (0.01, 0.1, 1.0, 10.0)
DESCRIPTION = "log-mel band mean + std per clip, standardized, one-vs-rest logistic regression"


def clip_statistics(store: FeatureStore) -> np.ndarray:
    """(clips, 128): per-band mean then per-band std over each clip's frames."""
    out = np.zeros((len(store), 128), np.float64)
    for i in range(len(store)):
        mel = store.logmel(i).astype(np.float64)
        out[i, :64], out[i, 64:] = mel.mean(axis=0), mel.std(axis=0)
    return out


def _fit(x, y, c: float):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    with warnings.catch_warnings():
        # a tag absent from train is predicted constant, by design
        warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
        warnings.filterwarnings("ignore", category=UserWarning, module="sklearn.multiclass")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        return OneVsRestClassifier(LogisticRegression(C=c, max_iter=2000)).fit(x, y)


def run_baseline(train_shards, valid_shards, test_shards, out_dir,
                 settings: BootstrapSettings, tracks: dict[str, str] | None = None) -> dict:
    """Run the log-mel statistics + logistic regression baseline and write its summary.

    Fits on train, picks C from `GRID` by valid macro ROC-AUC (ties: the smaller C), scores
    test, and summarizes the one deterministic run as for a variant (`replicates.summarize`).

    Parameters
    ----------
    train_shards, valid_shards, test_shards : iterable of str or Path
        The parts' feature shards.
    out_dir : str or Path
        Where the summary files (`metrics.json`, `bootstrap.csv`, ...) are written.
    settings : BootstrapSettings
        The bootstrap, as for the variants.
    tracks : dict of str to str, optional
        The test part's clip id -> track, for `resample_by: track`.

    Returns
    -------
    dict
        The summary metrics written.

    Raises
    ------
    DataError
        If the parts disagree on the tags (or as `replicates.summarize`).
    """
    from sklearn.preprocessing import StandardScaler

    from ..core.metrics import tagging_metrics

    with FeatureStore(train_shards) as train, FeatureStore(valid_shards) as valid, \
            FeatureStore(test_shards) as test:
        if not train.tags == valid.tags == test.tags:
            raise DataError("the train, valid and test shards disagree on the tag list: rerun "
                            "the split")
        scaler = StandardScaler().fit(clip_statistics(train))
        x_train, x_valid, x_test = (scaler.transform(clip_statistics(s))
                                    for s in (train, valid, test))
        valid_auc = {}
        for c in GRID:
            scores = _fit(x_train, train.labels, c).predict_proba(x_valid)
            valid_auc[c] = tagging_metrics(valid.labels, scores)["roc_auc_macro"]
        best = max(GRID, key=lambda c: (np.nan_to_num(valid_auc[c], nan=-1.0), -c))
        scores = _fit(x_train, train.labels, best).predict_proba(x_test)
        extra = {"model": {"description": DESCRIPTION}, "C": best, "split": test.split,
                 "deformation": test.deformation, "n_failed_clips": len(test.failed),
                 "valid_roc_auc_by_C": {str(c): valid_auc[c] for c in GRID}}
        run = score(test.clip_ids, test.labels, scores, test.tags, extra)
    return summarize([run], None, settings, out_dir, tracks)
