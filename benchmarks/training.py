"""Training input stream, training overhead and evaluation throughput, against in-run baselines.

    python benchmarks/training.py [WORKDIR]     (default: /tmp/tagbench-bench/train; ~3 min)

1. stream alone: pescador mux over HDF5 shards -> batches of 32, patches/s on one core
   (targets: >= 10,000/s and >= 10x what a CPU training step consumes);
2. training overhead: wall time of the same number of steps fed by the stream (as training
   feeds it: a prefetching tf.data pipeline over the pescador batches) vs by arrays in memory
   (target <= 1.1x); each is timed twice and the faster kept;
3. evaluation: clip-level scoring (every patch of every clip, pooled) vs the model's raw batched
   predict on the same patches already in memory (target >= 0.8x).
The model is the demo's vggish_2fc (frozen random VGGish + 256-unit head) on a 96-track demo.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from common import demo_shards, machine


def main() -> None:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tagbench-bench/train")
    shards, _ = demo_shards(work, n_tracks=96)

    from tagbench.backbones.vggish_frontend import frame_examples
    from tagbench.core.runtime import configure_tensorflow
    from tagbench.features.shards import FeatureStore
    from tagbench.models.inference import predict_patches, predict_store
    from tagbench.models.networks import build_model
    from tagbench.models.stream import batch_stream
    from tagbench.settings.config import TrainSettings

    configure_tensorflow(2)
    from tagbench.models.train import compile_model, input_dataset
    spec = TrainSettings(finetune=False, head=(256,), batch_size=32, n_active=20)
    train = FeatureStore(shards["train"])
    n_tags = len(train.tags)

    # 1. the stream alone
    stream = batch_stream(train, spec.batch_size, spec.n_active, seed=0)
    next(stream)
    n_batches = 2000
    t0 = time.perf_counter()
    for _ in range(n_batches):
        next(stream)
    stream_rate = n_batches * spec.batch_size / (time.perf_counter() - t0)

    # 2. training: steps from the stream vs the same steps from arrays in memory
    model = build_model(spec, n_tags)
    compile_model(model, spec, n_tags)
    steps = 60
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps * spec.batch_size, 96, 64)).astype(np.float32)
    y = (rng.random((steps * spec.batch_size, n_tags)) < 0.3).astype(np.float32)
    model.fit(x[:64], y[:64], batch_size=spec.batch_size, epochs=1, verbose=0)  # build + trace
    model.fit(input_dataset(train, spec.batch_size, spec.n_active, 1, 2), steps_per_epoch=2,
              epochs=1, verbose=0)
    def fit_arrays():
        model.fit(x, y, batch_size=spec.batch_size, epochs=1, shuffle=False, verbose=0)

    def fit_stream(seed):
        model.fit(input_dataset(train, spec.batch_size, spec.n_active, seed, steps),
                  steps_per_epoch=steps, epochs=1, verbose=0)

    t_arrays = t_stream = float("inf")
    for seed in (2, 3):  # alternate, keep the best of two: less sensitive to other load
        t0 = time.perf_counter()
        fit_arrays()
        t_arrays = min(t_arrays, time.perf_counter() - t0)
        t0 = time.perf_counter()
        fit_stream(seed)
        t_stream = min(t_stream, time.perf_counter() - t0)
    train_rate = steps * spec.batch_size / t_arrays

    # 3. evaluation: clip-level scoring vs raw predict on the same patches
    test = FeatureStore(shards["test"])
    patches = [frame_examples(test.logmel(i)) for i in range(len(test))]
    flat = np.concatenate(patches)
    predict_store(model, test)  # warm-up
    t0 = time.perf_counter()
    for _ in predict_patches(model, [flat[:256]], 256):
        pass
    t0 = time.perf_counter()
    raw = [model.predict_on_batch(flat[i:i + 256]) for i in range(0, len(flat), 256)]
    t_raw = time.perf_counter() - t0
    t0 = time.perf_counter()
    predict_store(model, test)
    t_eval = time.perf_counter() - t0
    assert sum(len(r) for r in raw) == len(flat)

    print(machine())
    print(f"data: {len(train)} train clips, {len(test)} test clips ({len(flat)} patches), {n_tags} tags")
    print("| what | figure | baseline | ratio | target |\n|---|---|---|---|---|")
    print(f"| input stream, patches/s (one core) | {stream_rate:,.0f} | CPU training step "
          f"{train_rate:,.0f}/s | {stream_rate / train_rate:.0f}x | >= 10,000/s and >= 10x |")
    print(f"| training, {steps} steps of 32 | {t_stream:.2f} s from the stream | {t_arrays:.2f} s "
          f"from arrays | {t_stream / t_arrays:.2f}x | <= 1.1x |")
    print(f"| evaluation, patches/s | {len(flat) / t_eval:,.0f} (clip level) | "
          f"{len(flat) / t_raw:,.0f} (raw predict) | {t_raw / t_eval:.2f}x | >= 0.8x |")


if __name__ == "__main__":
    main()
