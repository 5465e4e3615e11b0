"""Training, evaluation and resume on the tiny demo's shards."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from tagbench.evaluation.scoring import read_metrics
from tagbench.settings.config import TrainSettings, to_json

SPEC = TrainSettings(epochs=3, batch_size=8, n_active=4, head=(8,), finetune=False,
                     patches_per_clip=2, threads=1)


def train_cmd(shards, out, state, spec=SPEC):
    return [sys.executable, "-m", "tagbench.cli", "train", "--variant", "t",
            "--train-shards", *map(str, shards["train"]), "--valid-shards",
            *map(str, shards["valid"]), "--out-dir", str(out), "--state-dir", str(state),
            "--spec", to_json(spec)]


def test_train_then_evaluate(tiny_features, tmp_path):
    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.models.train import HISTORY_COLUMNS, train_variant

    meta = train_variant(SPEC, "t", tiny_features["train"], tiny_features["valid"],
                         out_dir=tmp_path / "m", state_dir=tmp_path / "state", threads=1,
                         log=lambda *_: None)
    history = pd.read_csv(tmp_path / "m" / "history.csv")
    assert tuple(history.columns) == HISTORY_COLUMNS
    assert history["epoch"].tolist() == [1, 2, 3]
    assert history[["loss", "valid_loss", "valid_roc_auc", "seconds"]].notna().all().all()
    assert not (tmp_path / "state").exists()  # state is removed once outputs are whole
    assert meta["best_epoch"] == int(history["valid_roc_auc"].idxmax()) + 1
    assert meta["feature_params"]["hop"] == 160 and meta["feature_params"]["dtype"] == "float16"
    metrics = evaluate_model(tmp_path / "m" / "model.keras", tiny_features["test"], tmp_path / "e")
    for key in ("roc_auc_macro", "roc_auc_micro", "pr_auc_macro", "pr_auc_micro", "accuracy",
                "all_negative_accuracy", "n_clips", "n_tags", "n_tags_scored", "n_params"):
        assert key in metrics
    assert read_metrics(tmp_path / "e" / "metrics.json") == metrics
    assert len(pd.read_csv(tmp_path / "e" / "per_tag.csv")) == metrics["n_tags"]


def test_killed_training_resumes_and_ends_as_an_uninterrupted_run(tiny_features, tmp_path):
    """SIGKILL mid-epoch, rerun: the same history (timing aside), weights and test metrics as a
    run that was never interrupted."""
    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.models.networks import load_model

    spec = TrainSettings(**{**SPEC.__dict__, "epochs": 4, "patches_per_clip": 6})
    out, state = tmp_path / "m", tmp_path / "state"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    whole = subprocess.run(train_cmd(tiny_features, tmp_path / "u", tmp_path / "us", spec),
                           env=env, capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    proc = subprocess.Popen(train_cmd(tiny_features, out, state, spec), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 240
    while time.time() < deadline:
        if (state / "state.json").is_file() and json.loads((state / "state.json").read_text())["epoch"] >= 1:
            break
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    else:
        pytest.fail("training never completed an epoch")
    os.kill(proc.pid, signal.SIGKILL)  # kill -9 in the middle of epoch 2
    proc.wait()
    done = json.loads((state / "state.json").read_text())["epoch"]
    assert 1 <= done < 4 and not (out / "model.keras").exists()

    rerun = subprocess.run(train_cmd(tiny_features, out, state, spec), env=env,
                           capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resuming t after epoch {done}" in rerun.stdout
    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    uninterrupted = pd.read_csv(tmp_path / "u" / "history.csv")
    pd.testing.assert_frame_equal(history.drop(columns="seconds"),
                                  uninterrupted.drop(columns="seconds"), check_exact=True)
    resumed_model, _ = load_model(out / "model.keras")
    whole_model, _ = load_model(tmp_path / "u" / "model.keras")
    for a, b in zip(resumed_model.get_weights(), whole_model.get_weights(), strict=True):
        assert np.array_equal(a, b)
    ma = evaluate_model(out / "model.keras", tiny_features["test"], tmp_path / "ea")
    mb = evaluate_model(tmp_path / "u" / "model.keras", tiny_features["test"], tmp_path / "eb")
    ma.pop("train_seconds"), mb.pop("train_seconds")  # timing: the only field allowed to differ
    assert ma == mb


class Died(Exception):
    """A training job killed after its first epoch."""


def die_after_first_epoch(monkeypatch, shards, state, spec):
    """Leave the state a job killed after epoch 1 leaves (the state folder survives a failed
    job: it is outside the rule's outputs)."""
    from tagbench.models import train

    original = train.EpochEnd.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        raise Died

    with monkeypatch.context() as m:
        m.setattr(train.EpochEnd, "on_epoch_end", on_epoch_end)
        with pytest.raises(Died):
            train.train_variant(spec, "t", shards["train"], shards["valid"], out_dir=state.parent / "m",
                                state_dir=state, threads=1, log=lambda *_: None)
    assert json.loads((state / "state.json").read_text())["epoch"] == 1


def rerun(shards, state):
    from tagbench.models.train import train_variant

    lines = []
    train_variant(SHORT, "t", shards["train"], shards["valid"], out_dir=state.parent / "m",
                  state_dir=state, threads=1, log=lines.append)
    return "\n".join(lines)


SHORT = TrainSettings(**{**SPEC.__dict__, "epochs": 2})


def test_a_state_resumes_only_on_the_same_code_and_data(tiny_features, tmp_path, monkeypatch):
    """A job dies; the user edits training code, or re-splits, and reruns: it must not resume
    epochs trained with code or on clips that no longer exist, and it says so in the log."""
    import shutil

    import h5py

    from tagbench.settings import fingerprint

    state = tmp_path / "same" / "state"
    die_after_first_epoch(monkeypatch, tiny_features, state, SHORT)
    log = rerun(tiny_features, state)
    assert "resuming t after epoch 1" in log and "discarding" not in log

    state = tmp_path / "code" / "state"
    die_after_first_epoch(monkeypatch, tiny_features, state, SHORT)
    real = fingerprint.code_digest
    monkeypatch.setattr(fingerprint, "code_digest",  # an edit
                        lambda stage, **kwargs: real(stage, **kwargs)[::-1])
    log = rerun(tiny_features, state)
    assert "discarding the saved training state" in log and "starting from scratch" in log
    assert "resuming" not in log
    monkeypatch.setattr(fingerprint, "code_digest", real)

    # a re-split: the same shard names, other provenance (and so possibly other clips)
    state = tmp_path / "split" / "state"
    shards = {p: [] for p in ("train", "valid")}
    for part in shards:
        for path in tiny_features[part]:
            copy = tmp_path / "resplit" / part / path.name
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, copy)
            shards[part].append(copy)
    die_after_first_epoch(monkeypatch, shards, state, SHORT)
    with h5py.File(shards["train"][0], "a") as h5:
        h5.attrs["split"] = json.dumps({"method": "group", "seed": 7})
    log = rerun(shards, state)
    assert "discarding the saved training state" in log and "resuming" not in log
    assert pd.read_csv(state.parent / "m" / "history.csv")["epoch"].tolist() == [1, 2]


def test_the_training_pipeline_hands_over_the_streams_batches_unchanged(tmp_path):
    """tf.data gets the batches a few at a time and splits them again: the model must see the
    stream's batches, in order, across chunk and epoch boundaries, from any first epoch."""
    from itertools import islice

    from tagbench.models.stream import epoch_batches
    from tagbench.models.train import input_dataset

    from .conftest import labelled_store

    store, _ = labelled_store(tmp_path)
    for first_epoch in (0, 2):
        expected = list(islice(epoch_batches(store, 8, 4, seed=5, steps=3,
                                             first_epoch=first_epoch), 7))
        dataset = input_dataset(store, 8, 4, seed=5, steps=3, first_epoch=first_epoch, chunk=2)
        got = [(x.numpy(), y.numpy()) for x, y in dataset.take(7)]
        assert len(got) == 7
        for (xa, ya), (xb, yb) in zip(expected, got, strict=True):
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
