"""Training one variant, resumable after a kill.

After every epoch the full model (with optimizer state) is saved as `epoch-NNN.keras` in a
state folder next to (not inside) the rule's outputs, then `state.json` is atomically pointed
at it: a job killed at any moment restarts from its last completed epoch and ends with the
same number of epochs. The state folder is removed once the outputs are written, so a
deliberate rerun (changed settings or code) starts from scratch.

Importing this module imports Keras: call `runtime.configure_tensorflow` first (the CLI does).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from .. import __version__
from ..core.atomic import atomic_path, write_text
from ..core.errors import DataError
from ..core.metrics import tagging_metrics
from ..core.runtime import configure_tensorflow
from ..core.versions import library_versions
from ..features.shards import FeatureStore
from ..settings.config import TrainSettings
from .inference import predict_store
from .stream import epoch_batches, steps_per_epoch

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "roc_auc", "pr_auc", "valid_loss",
                   "valid_accuracy", "valid_roc_auc", "valid_pr_auc", "learning_rate", "seconds")


def input_dataset(store, batch_size: int, n_active: int, seed: int, steps: int,
                  first_epoch: int = 0, chunk: int = 16):
    """The per-epoch pescador batches (`stream.epoch_batches`) as a prefetching tf.data
    pipeline: batches are drawn in a background thread while the model trains on the previous
    one (benchmarks/training.py).

    The generator hands over `chunk` batches at a time, which tf.data splits again: each call
    into Python from tf.data's thread costs ~2 ms, more than a cached head's training step.
    Autotuning is off (nothing here has a parallelism to tune): its thread made the iterator's
    teardown at the end of `fit` wait ~2 s in a third of the jobs."""
    import tensorflow as tf

    def chunks():
        # every batch has batch_size rows (pescador's buffer_stream yields no partial batch)
        batches = epoch_batches(store, batch_size, n_active, seed, steps, first_epoch)
        while group := list(itertools.islice(batches, chunk)):
            xs, ys = zip(*group, strict=True)
            yield np.stack(xs), np.stack(ys)

    signature = (tf.TensorSpec((None, None, *store.patch_shape), tf.float32),
                 tf.TensorSpec((None, None, len(store.tags)), tf.float32))
    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = tf.data.Dataset.from_generator(chunks, output_signature=signature)
    return dataset.unbatch().prefetch(4).with_options(options)


def compile_model(model, settings: TrainSettings, n_tags: int) -> None:
    """Compile a tagger for training, in place: binary cross-entropy loss.

    Parameters
    ----------
    model : keras.Model
        A whole model or a head.
    settings : TrainSettings
        `optimizer` (adam, sgd or rmsprop) and `learning_rate`.
    n_tags : int
        Number of outputs, for the multi-label ROC-AUC and PR-AUC metrics (besides accuracy).
    """
    import keras

    optimizer = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
                 "rmsprop": keras.optimizers.RMSprop}[settings.optimizer](settings.learning_rate)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=[
        keras.metrics.BinaryAccuracy(name="accuracy"),
        keras.metrics.AUC(curve="ROC", multi_label=True, num_labels=n_tags, name="roc_auc"),
        keras.metrics.AUC(curve="PR", multi_label=True, num_labels=n_tags, name="pr_auc"),
    ])


class TrainingState:
    """What survives a kill: `state.json` + the last epoch's full model in the state folder.

    `commit` saves the epoch's model, then atomically points `state.json` at it (the commit
    point), then drops the previous epoch's file. A state written for other settings, tags or
    shards, code or libraries (`key`) is discarded, so a rerun after a change starts from scratch.
    """

    def __init__(self, state_dir: Path, key: str):
        self.dir, self.file = state_dir, state_dir / "state.json"
        saved = json.loads(self.file.read_text()) if self.file.is_file() else None
        self.discarded = bool(saved and saved.get("checkpoint")) and saved.get("key") != key
        if saved and saved.get("key") == key and (state_dir / saved["checkpoint"]).is_file():
            self.data = saved
        else:
            shutil.rmtree(state_dir, ignore_errors=True)
            self.data = {"key": key, "epoch": 0, "best_epoch": 0, "best_auc": -1.0, "history": [],
                         "seconds": 0.0, "stopped": False, "checkpoint": None}
        state_dir.mkdir(parents=True, exist_ok=True)

    @property
    def resumed(self) -> bool:
        return self.data["checkpoint"] is not None

    def __getitem__(self, name):
        return self.data[name]

    def commit(self, model, epoch: int) -> None:
        checkpoint = f"epoch-{epoch:03d}.keras"
        with atomic_path(self.dir / checkpoint) as tmp:
            model.save(tmp)
        old = self.data["checkpoint"]
        self.data.update(epoch=epoch, checkpoint=checkpoint,
                         rng_states=[v.numpy().tolist() for v in _rng_states(model)])
        write_text(self.file, json.dumps(self.data, indent=1, sort_keys=True))
        if old and old != checkpoint:
            (self.dir / old).unlink(missing_ok=True)


def _rng_states(model) -> list:
    """The state of every random generator in the model (dropout's): `model.save` does not keep
    them, and a resumed run must continue their sequences, not restart them."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _resume_model(state: TrainingState):
    """The model of the last committed epoch, its random generators where they were."""
    model = keras.models.load_model(state.dir / state["checkpoint"])
    for variable, value in zip(_rng_states(model), state["rng_states"], strict=True):
        variable.assign(np.asarray(value, dtype=variable.dtype))
    return model


class EpochEnd(keras.callbacks.Callback):
    """After each epoch: clip-level validation metrics, the history row, best-model selection by
    valid ROC-AUC, early stopping, and the resumable checkpoint (in that order)."""

    def __init__(self, state: TrainingState, valid, settings: TrainSettings, log):
        super().__init__()
        self.state, self.valid, self.settings, self.log = state, valid, settings, log

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs, state, n = logs or {}, self.state, epoch + 1
        scores, _ = predict_store(self.model, self.valid)
        m = tagging_metrics(self.valid.labels, scores)
        seconds = time.perf_counter() - self.t0
        row = {"epoch": n, "loss": logs.get("loss"), "accuracy": logs.get("accuracy"),
               "roc_auc": logs.get("roc_auc"), "pr_auc": logs.get("pr_auc"),
               "valid_loss": m["loss"], "valid_accuracy": m["accuracy"],
               "valid_roc_auc": m["roc_auc_macro"], "valid_pr_auc": m["pr_auc_macro"],
               "learning_rate": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
               "seconds": seconds}
        state.data["history"].append(row)
        state.data["seconds"] += seconds
        # a valid part with no scorable tag has no ROC-AUC: then the latest epoch counts as best
        auc = m["roc_auc_macro"] if np.isfinite(m["roc_auc_macro"]) else -1.0
        if auc > state["best_auc"] or auc == state["best_auc"] == -1.0:
            state.data.update(best_auc=auc, best_epoch=n)
            with atomic_path(state.dir / "best.keras") as tmp:  # a kill mid-save keeps the last
                self.model.save(tmp)
        patience = self.settings.early_stopping_patience
        if patience and n - state["best_epoch"] >= patience:
            state.data["stopped"] = True
            self.model.stop_training = True
        state.commit(self.model, n)
        self.log(f"epoch {n}/{self.settings.epochs}: loss {row['loss']:.4f}, valid ROC-AUC "
                 f"{m['roc_auc_macro']:.4f}, PR-AUC {m['pr_auc_macro']:.4f}, {seconds:.1f}s")


def _state_key(settings: TrainSettings, train, valid, weights_path) -> str:
    """What a saved state must match to be resumed: the settings, the code training runs and
    the libraries it computes with, what the train and valid parts hold (clips, labels, tags,
    front end, split; for a cache also its backbone, weights and patch positions), and the
    checkpoint's content. Anything else would resume epochs trained on data or code that no
    longer exist."""
    from ..backbones import backbone
    from ..core.digests import sha256_of
    from ..settings.fingerprint import code_digest
    from .networks import checkpoint_prefix

    checkpoint = None
    if weights_path and Path(weights_path).is_file():  # a TF checkpoint's index: its data too
        data = Path(checkpoint_prefix(weights_path) + ".data-00000-of-00001")
        checkpoint = [sha256_of(f) for f in (Path(weights_path), data) if f.is_file()]
    # the code of this backbone's family, as the rule's fingerprint (fingerprint.py)
    code = code_digest("train", front_end=backbone(settings.backbone).front_end)
    key = json.dumps({"settings": settings.model_key, "code": code,
                      "libraries": library_versions(), "train": train.digest(),
                      "valid": valid.digest(), "checkpoint": checkpoint},
                     sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _open_parts(settings: TrainSettings, train_shards, valid_shards, train_cache, valid_cache):
    """The train and valid stores: log-mel features, or a frozen variant's cached backbone
    outputs (both caches given)."""
    if train_cache or valid_cache:
        from .backbone_cache import open_cache

        if settings.finetune:
            raise DataError("a fine-tuned variant (finetune: true) trains through the backbone: "
                            "it cannot use a backbone cache")
        if not (train_cache and valid_cache):
            raise DataError("a cached run needs the train and the valid backbone cache")
        train = open_cache(train_shards, train_cache, settings)
        valid = open_cache(valid_shards, valid_cache, settings)
    else:
        train, valid = FeatureStore(train_shards), FeatureStore(valid_shards)
    if train.tags != valid.tags:
        raise DataError("train and valid shards disagree on the tag list: rerun the split")
    if len(train) == 0 or len(valid) == 0:
        raise DataError(f"no decodable clips in the {'train' if len(train) == 0 else 'valid'} "
                        "shards (see their failed tables)")
    return train, valid


def _start_model(settings: TrainSettings, state: TrainingState, tags, weights_path, log,
                 cached: bool):
    """The model to continue from: the last committed epoch's, or a new one (the backbone's
    trained weights loaded); the head alone when training from the cache."""
    from .networks import build_head, build_model

    if state.resumed:
        return _resume_model(state)
    if cached:
        model = build_head(settings, len(tags), tags)
    else:
        model = build_model(settings, len(tags), tags)
        _load_backbone_weights(model, settings, weights_path, log)
    compile_model(model, settings, len(tags))
    return model


def _load_backbone_weights(model, settings: TrainSettings, weights_path, log) -> None:
    """The backbone's trained weights into a whole model: the checkpoint its `train.weights`
    names (none for random weights)."""
    from .networks import load_backbone_weights

    loaded = load_backbone_weights(model, settings.backbone, settings.weights, weights_path)
    if loaded:
        log(loaded)


def _whole_model(settings: TrainSettings, head, tags, weights_path, log):
    """A head trained on cached outputs, put into the whole model (backbone + head), so the
    saved model tags audio like any other."""
    from .networks import build_model, copy_weights

    model = build_model(settings, len(tags), tags)
    _load_backbone_weights(model, settings, weights_path, log)
    copy_weights(head, model)
    return model


def _score_as_shipped(model, state: TrainingState, valid, log) -> None:
    """A shipped head is not trained: its validation figures are history row 0 and the model
    as built is the best one."""
    scores, _ = predict_store(model, valid)
    m = tagging_metrics(valid.labels, scores)
    state.data["history"] = [{"epoch": 0, "valid_loss": m["loss"], "valid_accuracy": m["accuracy"],
                              "valid_roc_auc": m["roc_auc_macro"], "valid_pr_auc": m["pr_auc_macro"],
                              "seconds": 0.0}]
    state.data.update(best_epoch=0, best_auc=m["roc_auc_macro"], epoch=0)
    with atomic_path(state.dir / "best.keras") as tmp:
        model.save(tmp)
    log(f"shipped head: not trained; valid ROC-AUC {m['roc_auc_macro']:.4f}, "
        f"PR-AUC {m['pr_auc_macro']:.4f}")


def _write_outputs(out: Path, variant: str, settings: TrainSettings, state: TrainingState,
                   train, weights_path, cached: bool, log) -> dict:
    import pandas as pd

    from ..backbones import backbone
    from .model_file import save_with_metadata

    best = keras.models.load_model(state.dir / "best.keras")
    # a frozen-only backbone (a user's, no Keras graph) saves the head alone: predict runs the
    # backbone, then the head, and the metadata ties the head to the backbone's weights
    head_only = cached and backbone(settings.backbone).frozen_only
    if cached and not head_only:
        from .backbone_cache import check_backbone

        head = best
        best = _whole_model(settings, head, train.tags, weights_path, log)
        check_backbone(best, train.weights, skip={layer.name for layer in head.layers})
    metadata = {
        "variant": variant, "tags": train.tags, "feature_params": train.feature_params,
        "split": train.split,
        "pooling": settings.pooling, "aggregate": settings.aggregate, "spec": asdict(settings),
        "best_epoch": state["best_epoch"], "best_valid_roc_auc": state["best_auc"],
        "epochs_trained": state["epoch"], "train_seconds": round(state["seconds"], 2),
        "trained_on": ("not trained (shipped head)" if settings.shipped_head else
                       "backbone cache" if cached else "log-mel features"),
        "backbone": settings.backbone,
        "tagbench_version": __version__, "libraries": library_versions(),
    }
    if head_only:
        metadata.update(head_only=True, backbone_weights=train.weights,
                        backbone_output=train.output)
    save_with_metadata(best, out / "model.keras", metadata)
    with atomic_path(out / "history.csv") as tmp:
        pd.DataFrame(state["history"], columns=HISTORY_COLUMNS).to_csv(tmp, index=False,
                                                                        float_format="%.6f")
    return metadata


def train_variant(settings: TrainSettings, variant: str, train_shards, valid_shards, *, out_dir,
                  state_dir, weights_path=None, threads: int | None = None, log=print,
                  train_cache=None, valid_cache=None) -> dict:
    """Train one variant (one seed), resumably, and write its model file and history.

    Writes `out_dir/model.keras` (the best epoch by valid ROC-AUC) and `history.csv`. After each
    epoch the state is saved in `state_dir`, so a killed job resumes from its last epoch; the
    state is removed once the outputs are written. A shipped head is scored, not trained.

    Parameters
    ----------
    settings : TrainSettings
        The variant, with one seed (`TrainSettings.for_seed`).
    variant : str
        The variant's name, for the log and the metadata.
    train_shards, valid_shards : iterable of str or Path
        Feature shards of the train and valid parts.
    out_dir, state_dir : str or Path
        Where the outputs go, and the resumable state (next to, not inside, `out_dir`).
    weights_path : str or Path, optional
        The backbone's checkpoint (see `networks.load_backbone_weights`).
    threads : int, optional
        CPU threads for TensorFlow.
    log : callable, optional
        Takes one line of progress (default: print).
    train_cache, valid_cache : iterable of str or Path, optional
        Backbone cache shards (one per feature shard): a frozen variant then trains its head on
        the cached outputs. The saved model is the whole model either way.

    Returns
    -------
    dict
        The metadata stored in the model file (tags, best epoch, provenance, ...).

    Raises
    ------
    DataError
        If the parts disagree on tags or hold no clip, a fine-tuned variant is given a cache, or
        only one cache is given.
    """
    gpus = configure_tensorflow(threads, settings.mixed_precision)
    train, valid = _open_parts(settings, train_shards, valid_shards, train_cache, valid_cache)
    cached = bool(train_cache)
    n_tags = len(train.tags)
    state = TrainingState(Path(state_dir), _state_key(settings, train, valid, weights_path))
    if state.discarded:
        log(f"discarding the saved training state in {state_dir}: it was trained with other "
            "settings, code, libraries, data or weights; starting from scratch")
    if state.resumed:
        log(f"resuming {variant} after epoch {state['epoch']} of {settings.epochs}")
    model = _start_model(settings, state, train.tags, weights_path, log, cached)
    steps = steps_per_epoch(len(train), settings.batch_size, settings.patches_per_clip)
    log(f"{variant}: {len(train)} train / {len(valid)} valid clips, {n_tags} tags, "
        f"{steps} steps of {settings.batch_size} per epoch, {model.count_params():,} parameters, "
        f"{'cached backbone outputs' if cached else 'log-mel through the backbone'}, "
        f"device {f'GPU x{len(gpus)}' if gpus else 'CPU'}")
    with train, valid:
        if settings.shipped_head:
            _score_as_shipped(model, state, valid, log)
        elif state["epoch"] < settings.epochs and not state["stopped"]:
            stream = input_dataset(train, settings.batch_size, settings.n_active, settings.seed,
                                   steps, first_epoch=state["epoch"])
            model.fit(stream, steps_per_epoch=steps, epochs=settings.epochs, shuffle=False,
                      initial_epoch=state["epoch"], callbacks=[EpochEnd(state, valid, settings, log)],
                      verbose=1 if sys.stdout.isatty() else 0)
    metadata = _write_outputs(Path(out_dir), variant, settings, state, train, weights_path,
                              cached, log)
    shutil.rmtree(state.dir, ignore_errors=True)
    return metadata
