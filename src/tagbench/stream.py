"""The training input stream: pescador over HDF5 shards.

One streamer per training clip: when the mux activates it, it reads that clip's log-mel once
and yields random 96-frame windows with the clip's labels. A StochasticMux keeps `n_active`
streamers live (each for ~`rate` patches), so a batch mixes many clips, and a buffer makes
batches. Memory holds only the active clips, whatever the dataset size.
"""

from __future__ import annotations

import math

import numpy as np
import pescador

from .features import FeatureStore
from .frontend import EXAMPLE_FRAMES


def _clip_patches(store: FeatureStore, clip: int, rng: np.random.Generator):
    data = store.logmel(clip)
    labels = store.labels[clip].astype(np.float32)
    last = len(data) - EXAMPLE_FRAMES
    while True:
        start = int(rng.integers(0, last + 1))
        yield {"x": data[start:start + EXAMPLE_FRAMES], "y": labels}


def patch_stream(store: FeatureStore, n_active: int, seed: int, rate: float = 16.0):
    """Infinite stream of {'x': (96, 64) float32, 'y': (n_tags,) float32} patches."""
    # One generator shared by all streamers: a reactivated clip draws new windows, and the
    # whole stream is reproducible from the seed (it is consumed in one thread).
    rng = np.random.default_rng(seed)
    streamers = [pescador.Streamer(_clip_patches, store, i, rng) for i in range(len(store))]
    return pescador.StochasticMux(streamers, n_active=min(n_active, len(streamers)), rate=rate,
                                  mode="with_replacement", random_state=int(rng.integers(2**31)))


def batch_stream(store: FeatureStore, batch_size: int, n_active: int, seed: int):
    """Infinite generator of (x, y) batches for keras fit."""
    mux = patch_stream(store, n_active, seed)
    for batch in pescador.buffer_stream(mux, batch_size):
        yield batch["x"], batch["y"]


def steps_per_epoch(n_clips: int, batch_size: int, patches_per_clip: float = 1.0) -> int:
    """An epoch sees `patches_per_clip` patches per training clip on average (the report's
    bug was a guessed constant here)."""
    return max(1, math.ceil(n_clips * patches_per_clip / batch_size))
