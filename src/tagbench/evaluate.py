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

    Patches of consecutive items share batches of exactly `batch_size`; the last one is padded
    to a power of two. The model so sees at most log2(batch_size) + 1 input shapes: no
    retracing per clip, and memory that does not grow with the number of clips.
    `predict_on_batch` avoids Keras' per-call dataset setup.
    """
    pending: list[np.ndarray] = []   # patch arrays not yet scored
    sizes: list[int] = []            # patches per item still owed a result
    scores: list[np.ndarray] = []    # scored rows not yet handed out
    buffered = scored = 0

    def run(patches: np.ndarray) -> None:
        n = len(patches)
        size = min(batch_size, 1 << max(0, n - 1).bit_length())
        if n < size:
            patches = np.concatenate([patches, np.zeros((size - n, *patches.shape[1:]),
                                                        patches.dtype)])
        scores.append(np.asarray(model.predict_on_batch(patches), dtype=np.float32)[:n])

    def ready():
        nonlocal scored
        while sizes and sizes[0] <= scored:
            flat = np.concatenate(scores) if scores else np.zeros((0, 0), np.float32)
            n = sizes.pop(0)
            out, rest = flat[:n], flat[n:]
            scores[:] = [rest] if len(rest) else []
            scored -= n
            yield out

    for patches in patch_arrays:
        pending.append(patches)
        sizes.append(len(patches))
        buffered += len(patches)
        while buffered >= batch_size:
            flat = np.concatenate(pending)
            run(flat[:batch_size])
            pending[:] = [flat[batch_size:]]
            buffered -= batch_size
            scored += batch_size
            yield from ready()
    if buffered:
        run(np.concatenate(pending))
        scored += buffered
    yield from ready()


def predict_store(model, store: FeatureStore, batch_size: int = 256, aggregate: str = "mean",
                  keep_patches: bool = False):
    """(clip scores (n_clips, n_tags), per-patch score arrays or None) for every clip.

    Patch scores are pooled as they arrive, so memory does not grow with the test set unless
    `keep_patches` asks for them.
    """
    pool = np.max if aggregate == "max" else np.mean
    clip_scores = np.zeros((len(store), len(store.tags)), np.float32)
    kept = [] if keep_patches else None
    patches = (frame_examples(store.logmel(i)) for i in range(len(store)))
    for i, scores in enumerate(predict_patches(model, patches, batch_size)):
        clip_scores[i] = pool(scores, axis=0)
        if kept is not None:
            kept.append(scores)
    return clip_scores, kept


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
