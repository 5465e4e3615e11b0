"""The training input stream: pescador over a part's clips.

One streamer per training clip: when the mux activates it, it reads that clip once (its
log-mel from the feature shards, or its cached backbone outputs) and yields random patches
with the clip's labels. A StochasticMux keeps `n_active` streamers live (each for ~`rate`
patches), so a batch mixes many clips, and a buffer makes batches. Memory holds only the active
clips, whatever the dataset size.

Each epoch's stream is seeded by (seed, epoch) alone, so a training job killed after epoch k
and resumed sees exactly the batches an uninterrupted run sees from epoch k + 1 on.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pescador


class _ByReference:
    """An argument a pescador Streamer passes on as is. A Streamer deep-copies its arguments
    each time the mux activates it: a copied random generator replays the same windows at every
    activation of every clip, and a copied store copies every clip's index and reopens its HDF5
    files (most of the stream's time)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __deepcopy__(self, memo):
        return self


def _clip_patches(store: _ByReference, clip: int, rng: _ByReference):
    store, rng = store.value, rng.value
    labels = store.labels[clip].astype(np.float32)
    for patch in store.random_patches(clip, rng):
        yield {"x": patch, "y": labels}


def patch_stream(store, n_active: int, seed, rate: float = 16.0):
    """Infinite stream of {'x': patch float32, 'y': (n_tags,) float32} from a store
    (`features.shards.FeatureStore` or `backbone_cache.CacheStore`); `seed` is an int or a sequence
    of ints (numpy SeedSequence entropy)."""
    # One generator shared by all streamers: a reactivated clip draws new windows, and the
    # whole stream is reproducible from the seed (it is consumed in one thread).
    rng = np.random.default_rng(seed)
    shared_store, shared_rng = _ByReference(store), _ByReference(rng)
    streamers = [pescador.Streamer(_clip_patches, shared_store, i, shared_rng)
                 for i in range(len(store))]
    return pescador.StochasticMux(streamers, n_active=min(n_active, len(streamers)), rate=rate,
                                  mode="with_replacement", random_state=int(rng.integers(2**31)))


def batch_stream(store, batch_size: int, n_active: int, seed):
    """Infinite generator of (x, y) batches from one seeded stream."""
    mux = patch_stream(store, n_active, seed)
    for batch in pescador.buffer_stream(mux, batch_size):
        yield batch["x"], batch["y"]


def epoch_batches(store, batch_size: int, n_active: int, seed: int, steps: int,
                  first_epoch: int = 0):
    """The batches of epochs first_epoch, first_epoch + 1, ...: `steps` per epoch, each epoch
    from a fresh stream seeded by (seed, epoch), so where training starts does not change them."""
    for epoch in itertools.count(first_epoch):
        yield from itertools.islice(batch_stream(store, batch_size, n_active, (seed, epoch)), steps)


def steps_per_epoch(n_clips: int, batch_size: int, patches_per_clip: float = 1.0) -> int:
    """An epoch sees `patches_per_clip` patches per training clip on average (the report's
    bug was a guessed constant here)."""
    return max(1, math.ceil(n_clips * patches_per_clip / batch_size))
