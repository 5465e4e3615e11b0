"""A neural model learns: trained through `train_variant` on audio whose tags are plain to hear,
on both routes (log-mel through the frozen backbone, and the backbone cache), it tags unseen
clips far better than chance and far better than the same network untrained.

The other training tests check shapes, ranges and that two routes agree; these are the ones that
fail when learning itself breaks (a learning rate of 0, labels paired with the wrong rows)."""

import numpy as np
import pytest

from tagbench.settings.config import TrainSettings

TAGS = ("tone", "hum", "noise")
RATE = 16000


def clip(rng, tags) -> np.ndarray:
    """One 1 s clip: a high sine ("tone"), a low one ("hum") and white noise ("noise"), each
    present when its tag is, over a faint noise floor."""
    t = np.arange(RATE) / RATE
    out = 0.003 * rng.standard_normal(RATE)
    if "tone" in tags:
        out += 0.3 * np.sin(2 * np.pi * rng.uniform(1500, 2500) * t)
    if "hum" in tags:
        out += 0.3 * np.sin(2 * np.pi * rng.uniform(250, 400) * t)
    if "noise" in tags:
        out += 0.15 * rng.standard_normal(RATE)
    return out


@pytest.fixture(scope="module")
def learnable(tmp_path_factory):
    """192 one-second clips in MTT layout (12 per hex folder), every tag on about half of them;
    split by folder (train 0-b, 20 % of it valid; test c-f: 48 clips) and extracted."""
    from tagbench.data.annotations import Annotations, write_annotations

    from .conftest import split_and_extract, write_wav

    root = tmp_path_factory.mktemp("learnable")
    rng = np.random.default_rng(7)
    ids, paths, rows = [], [], []
    for i in range(192):
        row = rng.random(len(TAGS)) < 0.5
        rel = f"{i % 16:x}/artist_{i:02d}-album-01-song_{i:02d}-0-1.wav"
        write_wav(root / "audio" / rel, clip(rng, {t for t, on in zip(TAGS, row, strict=True) if on}))
        ids.append(str(i + 1))
        paths.append(rel)
        rows.append(row.astype(np.uint8))
    write_annotations(root / "annotations_final.csv",
                      Annotations(tuple(ids), tuple(paths), TAGS, np.array(rows)))
    out = tmp_path_factory.mktemp("learnable_features")
    return split_and_extract(root, out, {"train": 1, "valid": 1, "test": 1}, dtype="float32")


@pytest.fixture(scope="module")
def learnable_caches(learnable, tmp_path_factory):
    """The random-weight VGGish's outputs of every part (train at two positions per patch)."""
    from .conftest import cache_parts

    return cache_parts(learnable, tmp_path_factory.mktemp("learnable_cache"))


SPEC = TrainSettings(epochs=5, batch_size=16, n_active=4, head=(64,), dropout=0.0, finetune=False,
                     patches_per_clip=2, threads=1, learning_rate=0.003, seeds=(0,))


@pytest.mark.parametrize("route", ["log-mel features", "backbone cache"])
def test_a_frozen_backbone_head_learns_audible_tags(learnable, learnable_caches, route, tmp_path):
    """Clearly learned: test ROC-AUC macro >= 0.9 on 48 unseen clips, and the training loss
    falls by a third from the first epoch to the last.

    Measured (AMD EPYC, 2 cores, 2026-12-04): 0.988 (log-mel) and 0.978 (cache); the untrained
    network scores 0.69 (noise is plain even to random features), a learning rate of 0 gives
    0.70, each clip trained with the next clip's labels 0.68 / 0.74."""
    import pandas as pd

    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.models.train import train_variant

    caches = learnable_caches if route == "backbone cache" else {}
    meta = train_variant(SPEC, "learn", learnable["train"], learnable["valid"],
                         out_dir=tmp_path / "m", state_dir=tmp_path / "s", threads=1,
                         log=lambda *_: None, train_cache=caches.get("train"),
                         valid_cache=caches.get("valid"))
    assert meta["trained_on"] == route
    metrics = evaluate_model(tmp_path / "m" / "model.keras", learnable["test"], tmp_path / "e",
                             cache_paths=caches.get("test"))
    assert metrics["n_clips"] == 48 and metrics["n_tags_scored"] == len(TAGS)
    assert metrics["roc_auc_macro"] >= 0.9, metrics
    history = pd.read_csv(tmp_path / "m" / "history.csv")
    assert history["loss"].iloc[-1] <= 2 / 3 * history["loss"].iloc[0], history
