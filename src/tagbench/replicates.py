"""A variant's figures over its seeds (and the baseline's, one deterministic run): the summary
shared by the summarize verb and the baseline.

`summarize` writes the variant-level `metrics.json`: every key of a seed's file, the mean over
seeds where they differ; for each ranking figure (`stats.KEYS`) `<key>_std` (sample std over
seeds, 0 for one seed) and `<key>_ci95` (bootstrap over test clips of the mean over seeds);
`seeds`; the bootstrap's size and seed (`bootstrap`, `bootstrap_seed`, named as in the config).
Beside it: `bootstrap.csv` (one row per resample, what paired differences are computed from),
`predictions.h5` (scores averaged over seeds: the ROC and PR curves) and `per_tag.csv`
(per-tag figures averaged over seeds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path
from .config import BootstrapSettings
from .errors import DataError
from .scoring import Scored, read_scored, write_metrics, write_predictions
from .stats import KEYS, bootstrap, interval, resample_indices


def _mean_of(values: list):
    first = values[0]
    if all(v == first for v in values) or not all(isinstance(v, int | float) and
                                                   not isinstance(v, bool) for v in values):
        return first
    return float(np.mean(values))


def summarize(runs: list[Scored], seeds, settings: BootstrapSettings, out_dir) -> dict:
    """Write the summary of `runs` (one per seed, same test clips) into out_dir."""
    first = runs[0]
    for run in runs[1:]:
        if run.clip_ids != first.clip_ids or run.tags != first.tags:
            raise DataError("the seeds were scored on different test clips or tags: rerun "
                            "their evaluation")
    metrics = {k: _mean_of([r.metrics.get(k) for r in runs]) for k in first.metrics}
    indices = resample_indices(len(first.labels), settings.resamples, settings.seed)
    resamples = bootstrap(first.labels, [r.scores for r in runs], indices)
    for key in KEYS:
        values = [r.metrics[key] for r in runs]
        metrics[key] = float(np.mean(values))
        metrics[f"{key}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        metrics[f"{key}_ci95"] = interval(resamples[key])
    metrics.update(seeds=None if seeds is None else list(seeds),
                   bootstrap=settings.resamples, bootstrap_seed=settings.seed)
    out = Path(out_dir)
    with atomic_path(out / "bootstrap.csv") as tmp:
        resamples.to_csv(tmp, index=False, float_format="%.6f")
    write_predictions(out / "predictions.h5", first.clip_ids,
                      np.mean([r.scores for r in runs], axis=0), first.labels, first.tags,
                      first.metrics.get("aggregate", "mean"))
    per_tag = pd.concat([r.per_tag for r in runs]).groupby("tag", sort=False).mean().reset_index()
    with atomic_path(out / "per_tag.csv") as tmp:
        per_tag.to_csv(tmp, index=False, float_format="%.6f")
    write_metrics(out / "metrics.json", metrics)
    return metrics


def summarize_seeds(run_dirs, seeds, settings: BootstrapSettings, out_dir) -> dict:
    """The variant-level files from its seeds' evaluation folders."""
    if len(run_dirs) != len(seeds):
        raise DataError(f"{len(run_dirs)} evaluation folders for {len(seeds)} seeds")
    return summarize([read_scored(d) for d in run_dirs], seeds, settings, out_dir)
