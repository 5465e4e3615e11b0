"""One format for a scored test part, written by evaluation (a variant's seed) and the baseline,
read by the summary over seeds and the report: `metrics.json`, `per_tag.csv`, `predictions.h5`
(clip_id, scores, labels; attributes tags and aggregate).

Nothing in them is read unchecked: `predictions.h5` carries HDF5's checksums (`core.hdf5`);
`metrics.json` embeds the sha256 of its own content (`content_sha256`) and of the CSV files
written beside it before it (`per_tag.csv`, a summary's `bootstrap.csv`; `core.sealed`), which
`read_metrics` and `read_csv_beside` check, so a flipped digit is an error, not a figure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ..core import hdf5
from ..core.atomic import atomic_path
from ..core.errors import DataError
from ..core.metrics import per_tag_metrics, tagging_metrics
from ..core.sealed import check_beside, read_sealed, write_sealed
from ..core.versions import library_versions


@dataclass
class Scored:
    """A scored test part: what one run (a seed, or the baseline) predicted and scored."""

    metrics: dict
    clip_ids: list[str]
    labels: np.ndarray
    scores: np.ndarray
    tags: list[str]
    per_tag: pd.DataFrame


def write_predictions(path, clip_ids, scores, labels, tags, aggregate: str = "mean") -> None:
    """Write a scored part's `predictions.h5` atomically.

    Datasets `clip_id`, `scores` (clips, tags) float32 and `labels` (clips, tags) uint8;
    attributes `tags` (JSON) and `aggregate` (how patch scores were pooled).
    """
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        hdf5.create(h5, "clip_id", hdf5.strings(clip_ids))
        hdf5.create(h5, "scores", np.asarray(scores, np.float32))
        hdf5.create(h5, "labels", np.asarray(labels, np.uint8))
        h5.attrs["tags"] = json.dumps(list(tags))
        h5.attrs["aggregate"] = aggregate


MISSING = "run snakemake for that experiment first"


def write_metrics(path, metrics: dict, files=()) -> None:
    """Write a metrics dict as `metrics.json`, atomically, sealed with the sha256 of its
    content and of `files` (written before it, beside it)."""
    write_sealed(path, metrics, files)


def score(clip_ids, labels, scores, tags, extra: dict) -> Scored:
    """Score clip predictions against labels.

    Parameters
    ----------
    clip_ids : sequence of str
        The clips, in row order.
    labels : array_like
        (clips, tags) 0/1.
    scores : array_like
        (clips, tags) clip scores.
    tags : sequence of str
        The tags, in column order.
    extra : dict
        Merged into the metrics (run details: aggregate, split, model, ...).

    Returns
    -------
    Scored
        The metrics (`core.metrics.tagging_metrics`, `extra`, and the library versions that
        computed them) and the per-tag table.
    """
    metrics = {**tagging_metrics(labels, scores), **extra,
               "libraries": library_versions()}
    return Scored(metrics, list(clip_ids), np.asarray(labels), np.asarray(scores, np.float32),
                  list(tags), per_tag_metrics(labels, scores, tags))


def write_scored(out_dir, run: Scored) -> dict:
    """The three files of a scored run; returns its metrics."""
    out = Path(out_dir)
    with atomic_path(out / "per_tag.csv") as tmp:
        run.per_tag.to_csv(tmp, index=False, float_format="%.6f")
    write_predictions(out / "predictions.h5", run.clip_ids, run.scores, run.labels, run.tags,
                      run.metrics.get("aggregate", "mean"))
    write_metrics(out / "metrics.json", run.metrics, [out / "per_tag.csv"])
    return run.metrics


def read_metrics(path) -> dict:
    """Read a `metrics.json` (a seed's, a summary over seeds or the baseline's), checked against
    its seal (`core.sealed`).

    Raises
    ------
    DataError
        Naming the file, if it is missing, unreadable, or its content is not what was written.
    """
    return read_sealed_metrics(path)[0]


def read_sealed_metrics(path) -> tuple[dict, dict]:
    """A `metrics.json` as `read_metrics` reads it, and the sha256 it records of the files beside
    it (for `read_csv_beside`, so that the seal is read once)."""
    return read_sealed(path, MISSING)


def read_csv_beside(path, files: dict | None = None) -> pd.DataFrame:
    """Read a CSV written before the `metrics.json` beside it (`per_tag.csv`, `bootstrap.csv`),
    checked against the sha256 that file records.

    `files`: the digests `read_sealed_metrics` returned for that `metrics.json`, if read already.

    Raises
    ------
    DataError
        If the CSV or its metrics file is missing, or the CSV's bytes are not what was written.
    """
    path = Path(path)
    return pd.read_csv(check_beside(path, path.parent / "metrics.json", MISSING, files))


def read_scored(run_dir) -> Scored:
    """Read a scored run back from its folder (`metrics.json`, `per_tag.csv`, `predictions.h5`).

    Raises
    ------
    DataError
        If one of the three files is missing or unreadable.
    """
    run = Path(run_dir)
    metrics, files = read_sealed_metrics(run / "metrics.json")
    per_tag = read_csv_beside(run / "per_tag.csv", files)
    try:
        with h5py.File(run / "predictions.h5", "r") as h5:
            hdf5.verify(h5, run / "predictions.h5")
            clip_ids = list(h5["clip_id"].asstr()[()])
            scores, labels = h5["scores"][()], h5["labels"][()]
            tags = json.loads(h5.attrs["tags"])
    except FileNotFoundError as err:
        raise DataError(f"{err.filename}: not found (evaluate that run first)") from None
    except (OSError, KeyError, ValueError) as err:
        raise DataError(f"{run / 'predictions.h5'}: corrupted ({type(err).__name__}: {err}); "
                        "delete it and rerun snakemake (it is rebuilt)") from None
    return Scored(metrics, clip_ids, labels, scores, tags, per_tag)
