"""A variant's figures over its seeds (and a deterministic row's: the baseline, a shipped head):
the summary shared by the summarize verb and the baseline, and `read_summary`, its reader.

`summarize` writes the variant-level `metrics.json`: every key of a seed's file, the mean over
seeds where they differ; for each ranking figure (`stats.KEYS`) `<key>_seeds` (each seed's
figure, in the order of `seeds`), `<key>_std` (sample std over seeds, 0 for one seed),
`<key>_se_clips` (the clip part of its standard error) and `<key>_ci95` (the 95 % interval over
seeds and test clips, `stats.estimate`); `interval` (the method, in words; clip-only for one
seed or a deterministic row) and `interval_method` (the config's name); `seeds` (None: a
deterministic row, the baseline or a shipped head); `summarized_by` (tagbench's version and this
stage's code digest); `deformation` (from the seeds' files: "" for the clean test part); the
bootstrap's size and seed (`bootstrap`, `bootstrap_seed`, named as in the config), `resample_by`
(track or clip: what a resample weighted), `n_resampled` (how many of them) and
`resampled_sha256` (which clips form which track: what pairs two summaries' resamples). Beside
it: `bootstrap.csv` (long form: one row per resample and seed, what the differences are computed
from), `predictions.h5` (scores averaged over seeds: the ROC and PR curves) and `per_tag.csv`
(per-tag figures averaged over seeds).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.atomic import atomic_path
from ..core.errors import DataError
from ..data.split_files import read_part
from ..settings.config import SHIPPED, BootstrapSettings
from .scoring import (
    Scored,
    read_csv_beside,
    read_scored,
    read_sealed_metrics,
    write_metrics,
    write_predictions,
)
from .stats import KEYS, Runs, bootstrap, estimate, resample_weights


def _mean_of(values: list):
    first = values[0]
    if all(v == first for v in values) or not all(isinstance(v, int | float) and
                                                   not isinstance(v, bool) for v in values):
        return first
    return float(np.mean(values))


def summarize(runs: list[Scored], seeds, settings: BootstrapSettings, out_dir,
              tracks: dict[str, str] | None = None) -> dict:
    """Write the summary of `runs` (one per seed, same test clips) into out_dir. `tracks`
    (clip id -> track, the split's test part; `split_test_tracks`) is what `resample_by: track`
    resamples, and it needs them; `resample_by: clip` ignores them."""
    first = runs[0]
    if first.metrics.get("model", {}).get("head") == SHIPPED:
        # nothing was trained: every seed scored the same network, one deterministic row
        runs, seeds = runs[:1], None
    for run in runs[1:]:
        if run.clip_ids != first.clip_ids or run.tags != first.tags:
            raise DataError("the seeds were scored on different test clips or tags: rerun "
                            "their evaluation")
    metrics = {k: _mean_of([r.metrics.get(k) for r in runs]) for k in first.metrics}
    if seeds is not None and len(seeds) != len(runs):
        raise DataError(f"{len(runs)} scored runs for {len(seeds)} seeds")
    groups = None
    if settings.resample_by == "track":
        if tracks is None:
            raise DataError("evaluate.resample_by is track, but no test tracks were given: pass "
                            "the split's test part (--split-test results/EXPERIMENT/split/test.tsv)")
        unknown = [c for c in first.clip_ids if c not in tracks]
        if unknown:
            raise DataError(f"test clip {unknown[0]} is not in the split's test part: rerun "
                            "the evaluation on the current split")
        groups = [tracks[c] for c in first.clip_ids]
    weights = resample_weights(len(first.labels), settings.resamples, settings.seed, groups)
    resamples = bootstrap(first.labels, [r.scores for r in runs], weights, seeds)
    points = np.array([[r.metrics[k] for k in KEYS] for r in runs], dtype=np.float64)
    n_units = len(set(groups)) if groups is not None else len(first.clip_ids)
    figures = Runs(points, resamples[list(KEYS)].to_numpy().reshape(-1, len(runs), len(KEYS)),
                   None if seeds is None else tuple(seeds), n_units)
    for j, key in enumerate(KEYS):
        est = estimate(figures, key, settings.interval)
        metrics[key] = est.point
        metrics[f"{key}_seeds"] = [float(v) for v in points[:, j]]
        metrics[f"{key}_std"] = float(np.std(points[:, j], ddof=1)) if len(runs) > 1 else 0.0
        metrics[f"{key}_se_clips"] = est.se_clips
        metrics[f"{key}_ci95"] = [est.low, est.high]
        metrics["interval"] = est.label
    metrics.update(seeds=None if seeds is None else list(seeds), interval_method=settings.interval,
                   summarized_by=summarized_by(),
                   bootstrap=settings.resamples, bootstrap_seed=settings.seed,
                   resample_by=settings.resample_by,
                   n_resampled=n_units,
                   resampled_sha256=_units_digest(settings.resample_by, groups))
    out = Path(out_dir)
    with atomic_path(out / "bootstrap.csv") as tmp:
        resamples.to_csv(tmp, index=False, float_format="%.6f")
    write_predictions(out / "predictions.h5", first.clip_ids,
                      np.mean([r.scores for r in runs], axis=0), first.labels, first.tags,
                      first.metrics.get("aggregate", "mean"))
    per_tag = pd.concat([r.per_tag for r in runs]).groupby("tag", sort=False).mean().reset_index()
    with atomic_path(out / "per_tag.csv") as tmp:
        per_tag.to_csv(tmp, index=False, float_format="%.6f")
    write_metrics(out / "metrics.json", metrics, [out / "bootstrap.csv", out / "per_tag.csv"])
    return metrics


def read_summary(folder, what: str = "a variant") -> tuple[dict, Runs]:
    """A summary folder's metrics and its per-seed figures and resamples (`Runs`): what every
    interval and difference of the reports is computed from.

    Raises
    ------
    DataError
        If a file is missing, not what was written, or the folder is one seed's, not a summary.
    """
    folder = Path(folder)
    metrics, files = read_sealed_metrics(folder / "metrics.json")
    if f"{KEYS[0]}_ci95" not in metrics:
        raise DataError(f"{folder / 'metrics.json'}: has no intervals: it is one seed's file, "
                        f"not the summary of {what}")
    refuse_folds(metrics, folder / "metrics.json")
    return metrics, Runs.from_summary(metrics, read_csv_beside(folder / "bootstrap.csv", files),
                                      str(folder))


def refuse_folds(metrics: dict, path) -> None:
    """A summary over folds (split.method kfold) has no test resamples to pair: one line
    pointing to where its differences are."""
    if metrics.get("resample_by") == "fold":
        raise DataError(f"{path}: a summary over folds (split.method kfold): its differences "
                        "are in the experiment's report/differences.csv, paired over folds; "
                        "compare pairs runs scored on one test part")


# What two summaries' resamples must share to be paired: the test clips, the resample count and
# seed, and which clips form which track (`resampled_sha256` also digests `resample_by`)
RESAMPLED_ON = ("n_clips", "bootstrap", "bootstrap_seed", "resampled_sha256")


def resampling(metrics: dict) -> tuple:
    """A summary's values of `RESAMPLED_ON`: equal for two summaries whose resamples pair."""
    return tuple(metrics.get(k) for k in RESAMPLED_ON)


def summarized_by() -> str:
    """Which code computed a summary's intervals (the leaderboard shows it beside each row)."""
    from .. import __version__
    from ..settings.fingerprint import code_digest

    return f"tagbench {__version__}, summarize code {code_digest('summarize')}"


def _units_digest(resample_by: str, groups) -> str:
    """What pairs two summaries' resamples beyond their clips and seed: the same unit and, for
    tracks, the same track of every clip (another track column draws other weights)."""
    return hashlib.sha256(json.dumps([resample_by, groups]).encode()).hexdigest()[:16]


def summarize_seeds(run_dirs, seeds, settings: BootstrapSettings, out_dir,
                    tracks: dict[str, str] | None = None) -> dict:
    """Summarize a variant over its seeds: read their evaluation folders, write the summary.

    Parameters
    ----------
    run_dirs : sequence of str or Path
        One evaluation folder per seed (`scoring.read_scored`), same test clips and tags.
    seeds : sequence of int
        The seeds, in `run_dirs` order.
    settings : BootstrapSettings
        Resamples, seed, interval method and `resample_by`.
    out_dir : str or Path
        Where `metrics.json`, `bootstrap.csv`, `predictions.h5` and `per_tag.csv` are written.
    tracks : dict of str to str, optional
        Clip id -> track of the test part (`split_test_tracks`); needed for `resample_by: track`.

    Returns
    -------
    dict
        The variant-level metrics written (see the module docstring for the keys).

    Raises
    ------
    DataError
        If folders and seeds differ in number, a folder is unreadable, the seeds were scored on
        different clips or tags, or track resampling lacks the tracks of a test clip.
    """
    if len(run_dirs) != len(seeds):
        raise DataError(f"{len(run_dirs)} evaluation folders for {len(seeds)} seeds")
    return summarize([read_scored(d) for d in run_dirs], seeds, settings, out_dir, tracks)


def split_test_tracks(split_test, settings: BootstrapSettings) -> dict[str, str] | None:
    """Read the test part's clip -> track map that `resample_by: track` needs.

    Parameters
    ----------
    split_test : str or Path or None
        The split's `test.tsv`.
    settings : BootstrapSettings
        Only `resample_by` is read.

    Returns
    -------
    dict of str to str or None
        Clip id -> track; None for `resample_by: clip` or no file (`summarize` then says what
        is missing).
    """
    if settings.resample_by != "track" or split_test is None:
        return None
    part = read_part(split_test)
    return dict(zip(part.clip_ids, part.tracks, strict=True))
