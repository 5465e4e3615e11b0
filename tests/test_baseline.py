"""The baseline floor: clip log-mel statistics + logistic regression, scored like a variant."""


import numpy as np
import pandas as pd
import pytest

from tagbench.evaluation.scoring import read_metrics
from tagbench.features.shards import FeatureStore, ShardWriter
from tagbench.settings.config import BootstrapSettings, FeatureSettings


def shard(path, n_clips, seed):
    """tag `loud` raises band 10's mean, tag `busy` its spread over frames; `rare` is noise."""
    rng = np.random.default_rng(seed)
    with ShardWriter(path, ["loud", "busy", "rare"], FeatureSettings(dtype="float32")) as w:
        for k in range(n_clips):
            labels = (rng.random(3) < [0.5, 0.5, 0.2]).astype(np.uint8)
            mel = rng.normal(0, 1, (int(rng.integers(96, 150)), 64))
            mel[:, 10] += 3.0 * labels[0]
            mel[:, 20] *= 1 + 2 * labels[1]
            w.add(f"c{seed}-{k}", f"{k}.mp3", labels, mel)
    return [path]


def test_clip_statistics_are_band_means_then_band_stds(tmp_path):
    from tagbench.evaluation.baseline import clip_statistics

    store = FeatureStore(shard(tmp_path / "a.h5", 3, 0))
    stats = clip_statistics(store)
    mel = store.logmel(1).astype(np.float64)
    assert stats.shape == (3, 128)
    np.testing.assert_allclose(stats[1, :64], mel.mean(axis=0))
    np.testing.assert_allclose(stats[1, 64:], mel.std(axis=0))


def test_baseline_learns_audible_statistics_and_writes_a_summary(tmp_path):
    from tagbench.evaluation.baseline import GRID, run_baseline

    parts = {p: shard(tmp_path / f"{p}.h5", n, s)
             for p, n, s in (("train", 400, 1), ("valid", 100, 2), ("test", 100, 3))}
    metrics = run_baseline(parts["train"], parts["valid"], parts["test"], tmp_path / "out",
                           BootstrapSettings(resamples=200, seed=0, resample_by="clip"))
    assert read_metrics(tmp_path / "out" / "metrics.json") == metrics
    per_tag = pd.read_csv(tmp_path / "out" / "per_tag.csv").set_index("tag")["roc_auc"]
    # audible tags are found (a floor that is not trivial), the noise tag is not
    assert per_tag["loud"] > 0.95 and per_tag["busy"] > 0.95 and per_tag["rare"] < 0.8
    assert metrics["C"] in GRID and set(metrics["valid_roc_auc_by_C"]) == {str(c) for c in GRID}
    low, high = metrics["roc_auc_macro_ci95"]
    assert low <= metrics["roc_auc_macro"] <= high
    assert metrics["roc_auc_macro_std"] == 0.0 and metrics["seeds"] is None
    assert len(open(tmp_path / "out" / "bootstrap.csv").read().splitlines()) == 201


def test_baseline_refuses_parts_with_other_tags(tmp_path):
    from tagbench.core.errors import DataError
    from tagbench.evaluation.baseline import run_baseline

    other = tmp_path / "other.h5"
    with ShardWriter(other, ["x"], FeatureSettings()) as w:
        w.add("c", "c.mp3", [1], np.zeros((96, 64)))
    train = shard(tmp_path / "t.h5", 10, 0)
    with pytest.raises(DataError, match="disagree on the tag list"):
        run_baseline(train, train, [other], tmp_path / "out",
                     BootstrapSettings(resamples=10, resample_by="clip"))
