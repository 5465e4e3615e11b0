"""Training one variant, resumable after a kill.

After every epoch the full model (with optimizer state) is saved as `epoch-NNN.keras` in a
state folder next to (not inside) the rule's outputs, then `state.json` is atomically pointed
at it: a job killed at any moment restarts from its last completed epoch and ends with the
same number of epochs. The state folder is removed once the outputs are written, so a
deliberate rerun (changed settings or code) starts from scratch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from . import __version__
from .config import TrainSettings
from .errors import DataError
from .features import FeatureStore
from .frontend import EXAMPLE_FRAMES, N_MELS
from .stream import batch_stream, steps_per_epoch

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "roc_auc", "pr_auc", "valid_loss",
                   "valid_accuracy", "valid_roc_auc", "valid_pr_auc", "learning_rate", "seconds")


# TensorFlow's C++ start-up notices on a machine without a GPU; they bypass
# TF_CPP_MIN_LOG_LEVEL and bury a one-line error, so configure_tensorflow drops them.
_STARTUP_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|"
                            r"To enable the following instructions|"
                            r"[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cpu_feature_guard|"
                            r"cuda_platform|cuda_executor)\.cc)")


@contextlib.contextmanager
def _without_startup_noise():
    """Hold the process's stderr (fd 2) in a file while TensorFlow starts; pass on the rest."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines():
                if not _STARTUP_NOISE.match(line):
                    print(line, file=sys.stderr)


def configure_tensorflow(threads: int | None, mixed_precision: bool) -> list:
    """Thread pools and precision; must run before TensorFlow builds anything. Returns GPUs."""
    with _without_startup_noise():
        import keras
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:  # TensorFlow already running in this process (tests, notebooks)
            pass
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed_precision else "float32")
    return gpus


def input_dataset(store: FeatureStore, batch_size: int, n_active: int, seed: int):
    """The pescador batch stream as a prefetching tf.data pipeline: batches are drawn in a
    background thread while the model trains on the previous one (benchmarks/training.py)."""
    import tensorflow as tf

    signature = (tf.TensorSpec((None, EXAMPLE_FRAMES, N_MELS), tf.float32),
                 tf.TensorSpec((None, len(store.tags)), tf.float32))
    dataset = tf.data.Dataset.from_generator(
        lambda: batch_stream(store, batch_size, n_active, seed), output_signature=signature)
    return dataset.prefetch(4)


def _spec_hash(spec: TrainSettings, tags, shards) -> str:
    key = json.dumps([spec.model_key, list(tags), sorted(Path(s).name for s in shards)],
                     sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


def _write_history(path: Path, rows: list[dict]) -> None:
    import pandas as pd

    tmp = path.with_name(path.name + ".tmp")
    pd.DataFrame(rows, columns=HISTORY_COLUMNS).to_csv(tmp, index=False, float_format="%.6f")
    tmp.replace(path)


def _compile(model, spec: TrainSettings, n_tags: int) -> None:
    import keras

    optimizer = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
                 "rmsprop": keras.optimizers.RMSprop}[spec.optimizer](spec.learning_rate)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=[
        keras.metrics.BinaryAccuracy(name="accuracy"),
        keras.metrics.AUC(curve="ROC", multi_label=True, num_labels=n_tags, name="roc_auc"),
        keras.metrics.AUC(curve="PR", multi_label=True, num_labels=n_tags, name="pr_auc"),
    ])


def train_variant(spec: TrainSettings, variant: str, train_shards, valid_shards, out_dir,
                  state_dir, weights_path=None, threads: int | None = None,
                  log=print) -> dict:
    """Train, writing out_dir/model.keras (best epoch by valid ROC-AUC) and history.csv."""
    gpus = configure_tensorflow(threads, spec.mixed_precision)
    import keras

    from .evaluate import predict_store
    from .metrics import tagging_metrics
    from .models import build_model, save_with_metadata

    train, valid = FeatureStore(train_shards), FeatureStore(valid_shards)
    if train.tags != valid.tags:
        raise DataError("train and valid shards disagree on the tag list: rerun the split")
    if len(train) == 0 or len(valid) == 0:
        raise DataError(f"no decodable clips in the {'train' if len(train) == 0 else 'valid'} "
                        "shards (see their failed tables)")
    n_tags = len(train.tags)
    out, state_dir = Path(out_dir), Path(state_dir)
    out.mkdir(parents=True, exist_ok=True)
    spec_hash = _spec_hash(spec, train.tags, train_shards)
    state_file = state_dir / "state.json"
    state = json.loads(state_file.read_text()) if state_file.is_file() else None
    if state and state.get("spec_hash") == spec_hash and (state_dir / state["checkpoint"]).is_file():
        model = keras.models.load_model(state_dir / state["checkpoint"])
        log(f"resuming {variant} after epoch {state['epoch']} of {spec.epochs}")
    else:
        shutil.rmtree(state_dir, ignore_errors=True)
        state = {"spec_hash": spec_hash, "epoch": 0, "best_epoch": 0, "best_auc": -1.0,
                 "history": [], "seconds": 0.0, "stopped": False, "checkpoint": None}
        model = build_model(spec, n_tags)
        if spec.weights == "vggish":
            from .vggish import load_checkpoint

            loaded = load_checkpoint(model, weights_path)
            log(f"VGGish weights loaded into {len(loaded)} layers from {weights_path}")
        _compile(model, spec, n_tags)
    state_dir.mkdir(parents=True, exist_ok=True)
    steps = steps_per_epoch(len(train), spec.batch_size, spec.patches_per_clip)
    log(f"{variant}: {len(train)} train / {len(valid)} valid clips, {n_tags} tags, "
        f"{steps} steps of {spec.batch_size} per epoch, {model.count_params():,} parameters, "
        f"device {f'GPU x{len(gpus)}' if gpus else 'CPU'}")

    class EpochEnd(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            scores, _ = predict_store(self.model, valid)
            m = tagging_metrics(valid.labels, scores)
            seconds = time.perf_counter() - self.t0
            row = {"epoch": epoch + 1, "loss": logs.get("loss"), "accuracy": logs.get("accuracy"),
                   "roc_auc": logs.get("roc_auc"), "pr_auc": logs.get("pr_auc"),
                   "valid_loss": m["loss"], "valid_accuracy": m["accuracy"],
                   "valid_roc_auc": m["roc_auc_macro"], "valid_pr_auc": m["pr_auc_macro"],
                   "learning_rate": float(keras.ops.convert_to_numpy(
                       self.model.optimizer.learning_rate)),
                   "seconds": seconds}
            state["history"].append(row)
            state["seconds"] += seconds
            auc = m["roc_auc_macro"] if np.isfinite(m["roc_auc_macro"]) else -1.0
            if auc > state["best_auc"]:
                state["best_auc"], state["best_epoch"] = auc, epoch + 1
                self.model.save(state_dir / "best.keras")
            patience = spec.early_stopping_patience
            if patience and epoch + 1 - state["best_epoch"] >= patience:
                state["stopped"] = True
                self.model.stop_training = True
            checkpoint = f"epoch-{epoch + 1:03d}.keras"
            self.model.save(state_dir / checkpoint)
            old = state["checkpoint"]
            state["epoch"], state["checkpoint"] = epoch + 1, checkpoint
            _write_json(state_file, state)  # the commit point of this epoch
            if old and old != checkpoint:
                (state_dir / old).unlink(missing_ok=True)
            log(f"epoch {epoch + 1}/{spec.epochs}: loss {row['loss']:.4f}, valid ROC-AUC "
                f"{m['roc_auc_macro']:.4f}, PR-AUC {m['pr_auc_macro']:.4f}, {seconds:.1f}s")

    if state["epoch"] < spec.epochs and not state["stopped"]:
        stream = input_dataset(train, spec.batch_size, spec.n_active,
                               seed=spec.seed + 1000003 * state["epoch"])
        model.fit(stream, steps_per_epoch=steps, epochs=spec.epochs, shuffle=False,
                  initial_epoch=state["epoch"], callbacks=[EpochEnd()],
                  verbose=1 if sys.stdout.isatty() else 0)
    train.close()
    valid.close()

    best = keras.models.load_model(state_dir / "best.keras")
    metadata = {
        "variant": variant, "tags": train.tags, "feature_params": train.feature_params,
        "pooling": spec.pooling, "aggregate": spec.aggregate, "spec": asdict(spec),
        "best_epoch": state["best_epoch"], "best_valid_roc_auc": state["best_auc"],
        "epochs_trained": state["epoch"], "train_seconds": round(state["seconds"], 2),
        "tagbench_version": __version__,
    }
    save_with_metadata(best, out / "model.keras", metadata)
    _write_history(out / "history.csv", state["history"])
    shutil.rmtree(state_dir, ignore_errors=True)
    return metadata


