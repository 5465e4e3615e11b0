"""Scoring patches with a model and pooling them into clip scores.

One home for batched inference, used by training (per-epoch validation), evaluation and
prediction: every non-overlapping patch of a clip (the backbone's own patch length) is scored,
batched across clips so the model always sees full batches, and a clip's score is the mean (or
max) of its patch scores.
"""

from __future__ import annotations

import numpy as np

POOLS = {"mean": np.mean, "max": np.max}


def predict_patches(model, patch_arrays, batch_size: int = 256):
    """Score a stream of patch arrays with a model, batching across items.

    Patches of consecutive items share batches of exactly `batch_size`; only the last batch is
    padded, to a power of two. The model so sees at most log2(batch_size) + 1 input shapes (no
    retracing per clip) and memory does not grow with the number of items. `predict_on_batch`
    avoids Keras' per-call dataset setup.

    Parameters
    ----------
    model : keras.Model
        Scores a batch of patches.
    patch_arrays : iterable of ndarray
        One (n_i, frames, n_mels) array per item (or per-patch cached backbone outputs).
    batch_size : int, optional
        Patches per model call.

    Yields
    ------
    ndarray
        (n_i, n_tags) float32 scores for each item, in input order.
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


def predict_store(model, store, batch_size: int = 256, aggregate: str = "mean",
                  keep_patches: bool = False):
    """Score every clip of a store: its non-overlapping patches, pooled into clip scores.

    Patch scores are pooled as they arrive, so memory does not grow with the test set unless
    `keep_patches` asks for them.

    Parameters
    ----------
    model : keras.Model
        A whole model for a `features.shards.FeatureStore`, a head model for a
        `backbone_cache.CacheStore`.
    store : FeatureStore or CacheStore
        The clips to score (`eval_patches`, `tags`).
    batch_size : int, optional
        Patches per model call.
    aggregate : {"mean", "max"}, optional
        How a clip's patch scores are pooled.
    keep_patches : bool, optional
        Also return each clip's patch scores.

    Returns
    -------
    clip_scores : ndarray
        (n_clips, n_tags) float32.
    patch_scores : list of ndarray or None
        Each clip's (n_patches, n_tags) scores when `keep_patches`, else None.
    """
    pool = POOLS[aggregate]
    clip_scores = np.zeros((len(store), len(store.tags)), np.float32)
    kept = [] if keep_patches else None
    patches = (store.eval_patches(i) for i in range(len(store)))
    for i, scores in enumerate(predict_patches(model, patches, batch_size)):
        clip_scores[i] = pool(scores, axis=0)
        if kept is not None:
            kept.append(scores)
    return clip_scores, kept
