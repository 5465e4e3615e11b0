"""Cross-validated summaries (split.method kfold): a row's per-seed figures of every fold, read
into `stats.FoldRuns`, and its summary `metrics.json` (what the leaderboard reads).

Each fold is a sub-experiment (`results/{experiment}/folds/r{repeat}f{fold}/`) with its own
split, models, evaluations and baseline; nothing here resamples: the folds' disjoint test
parts are the units of the interval (`stats.cv_estimate`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import DataError
from ..data.split_files import read_provenance
from ..settings.config import parse_fold
from .replicates import summarized_by
from .scoring import read_metrics, write_metrics
from .stats import KEYS, FoldRuns, cv_estimate

# per-seed fields averaged over folds and seeds into the summary
MEANS = ("accuracy", "all_negative_accuracy", "loss", "train_seconds", "n_tags_scored")


def fold_runs(fold_dirs, files_of, seeds=None) -> tuple[FoldRuns, list[dict], int]:
    """A row's `FoldRuns`, every fold x seed's metrics, and the clips the first repeat's folds
    test (every clip once).

    Parameters
    ----------
    fold_dirs : sequence of Path
        Each fold's sub-experiment folder (its `split/split.json` gives the part sizes).
    files_of : callable
        fold folder -> that row's metrics files in it, one per seed (one for a deterministic
        row), in seed order.
    seeds : sequence of int, optional
        The row's seeds (each fold trains them all); None for a deterministic row (the floor:
        one run per fold).

    Raises
    ------
    DataError
        If a file is missing or changed on disk, or two folds score different tags.
    """
    points, runs, ratios, clips = [], [], [], 0
    for fold in map(Path, fold_dirs):
        sizes = read_provenance(fold / "split").get("sizes", {})
        if not sizes.get("train"):
            raise DataError(f"{fold / 'split' / 'split.json'}: no part sizes (written by an older "
                            "tagbench): rerun snakemake")
        ratios.append(sizes["test"] / sizes["train"])
        scored = [read_metrics(path) for path in files_of(fold)]
        clips += scored[0].get("n_clips", 0) if parse_fold(fold.name)[0] == 0 else 0
        points.append([[m[k] for k in KEYS] for m in scored])
        runs += scored
    tags = {m.get("split", {}).get("tags_sha256") for m in runs}
    if len(tags) > 1:
        raise DataError(f"{fold_dirs[0]}: the folds score different tag sets: rerun snakemake")
    return FoldRuns(np.array(points, dtype=np.float64), None if seeds is None else tuple(seeds),
                    float(np.mean(ratios)),
                    tuple(Path(f).name for f in fold_dirs)), runs, clips


def write_fold_summary(out_dir, runs: FoldRuns, seed_metrics: list[dict], n_clips: int) -> dict:
    """Write a row's cross-validated `metrics.json`: each figure's mean over folds and seeds,
    the spread of the fold figures, the corrected 95 % interval, and the fold figures."""
    first = seed_metrics[0]
    summary = {
        "seeds": list(runs.seeds) if runs.seeds is not None else None,
        "folds": list(runs.folds), "n_folds": len(runs.folds),
        "test_train_ratio": runs.test_train, "resample_by": "fold",
        "n_resampled": len(runs.folds), "bootstrap": 0, "n_clips": n_clips,
        "model": first.get("model", {}), "split": {**first.get("split", {}),
                                                   "fold": None, "repeat": None},
        "n_tags": first.get("n_tags"), "summarized_by": summarized_by(),
        "trained_with": first.get("trained_with"), "n_params": first.get("n_params"),
        "n_trainable_params": first.get("n_trainable_params"),
        "epochs_trained": first.get("epochs_trained"), "best_epoch": first.get("best_epoch"),
    }
    for key in MEANS:
        values = [m[key] for m in seed_metrics if m.get(key) is not None]
        summary[key] = float(np.mean(values)) if values else None
    for key in KEYS:
        est = cv_estimate(runs, key)
        folds = runs.fold_figures(key)
        summary.update({key: est.point, f"{key}_std": float(np.std(folds, ddof=1)),
                        f"{key}_ci95": [est.low, est.high], f"{key}_folds": folds.tolist(),
                        "interval": est.label})
    write_metrics(Path(out_dir) / "metrics.json", summary)
    return summary
