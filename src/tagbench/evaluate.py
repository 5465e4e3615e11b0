"""Clip-level prediction and evaluation.

Every non-overlapping 0.96 s patch of a clip is scored, batched across clips so the model
always sees full batches, and a clip's score is the mean (or max) of its patch scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from .errors import DataError
from .features import FeatureStore
from .frontend import frame_examples
from .metrics import per_tag_metrics, tagging_metrics


def predict_patches(model, patch_arrays, batch_size: int = 256):
    """Score lists of (n_i, 96, 64) patch arrays; yields (n_i, n_tags) scores per item, in order.

    Patches of consecutive items share batches; `predict_on_batch` avoids Keras' per-call
    dataset setup, which dominates `model.predict` on small inputs.
    """
    pending, sizes = [], []
    buffered = 0

    def flush():
        scores = np.asarray(model.predict_on_batch(np.concatenate(pending)), dtype=np.float32)
        out, at = [], 0
        for n in sizes:
            out.append(scores[at:at + n])
            at += n
        pending.clear()
        sizes.clear()
        return out

    for patches in patch_arrays:
        pending.append(patches)
        sizes.append(len(patches))
        buffered += len(patches)
        if buffered >= batch_size:
            yield from flush()
            buffered = 0
    if pending:
        yield from flush()


def predict_store(model, store: FeatureStore, batch_size: int = 256, aggregate: str = "mean"):
    """(clip scores (n_clips, n_tags), list of per-patch score arrays) for every clip."""
    patch_scores = list(predict_patches(
        model, (frame_examples(store.logmel(i)) for i in range(len(store))), batch_size))
    pool = np.max if aggregate == "max" else np.mean
    clip_scores = np.stack([pool(s, axis=0) for s in patch_scores]) if patch_scores else \
        np.zeros((0, len(store.tags)), np.float32)
    return clip_scores, patch_scores


def evaluate_model(model_path, shard_paths, out_dir, batch_size: int = 256) -> dict:
    from .models import load_model

    model, meta = load_model(model_path)
    store = FeatureStore(shard_paths)
    if store.tags != meta["tags"]:
        raise DataError(f"{model_path}: the model's tags differ from the test shards' "
                        "(retrain the variant after a new split)")
    scores, _ = predict_store(model, store, batch_size, meta.get("aggregate", "mean"))
    metrics = tagging_metrics(store.labels, scores)
    metrics.update({
        "n_failed_clips": len(store.failed),
        "n_params": int(model.count_params()),
        "n_trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "train_seconds": meta.get("train_seconds"),
        "epochs_trained": meta.get("epochs_trained"),
        "best_epoch": meta.get("best_epoch"),
        "aggregate": meta.get("aggregate", "mean"),
    })
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_tag_metrics(store.labels, scores, store.tags).to_csv(out / "per_tag.csv", index=False,
                                                              float_format="%.6f")
    with h5py.File(out / "predictions.h5.tmp", "w") as h5:
        h5["clip_id"] = np.array(store.clip_ids, dtype=object).astype(h5py.string_dtype())
        h5["scores"] = scores.astype(np.float32)
        h5["labels"] = store.labels
        h5.attrs["tags"] = json.dumps(store.tags)
        h5.attrs["aggregate"] = metrics["aggregate"]
    (out / "predictions.h5.tmp").replace(out / "predictions.h5")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    store.close()
    return metrics
