"""The frozen backbone cache against computing the backbone every time, in the same run.

    python benchmarks/cache.py [WORKDIR]     (default: /tmp/tagbench-bench/cache; ~8 min, ~4 more
                                              the first time, to make its data)

1. a frozen variant's training epoch (the demo's vggish_2fc: 8 patches per train clip, then
   validation of every valid clip) from the cache vs through the backbone, same data and steps
   (target: >= 20x faster);
2. the cache rule's work (`backbone_cache.write_cache`: build the backbone, read the shard,
   run the backbone per patch, write HDF5) in patches/s vs the raw batched predict of the
   official VGGish network (conv + fc) on the same patches already in memory (target: >= 0.9x),
   on a shard like MTT's (~330 clips of 29.1 s: build, trace and write costs included);
3. disk: that cache at the default positions (non-overlapping patches), per clip and scaled
   to MTT's 25,863 clips
   (target <= 6 GB);
4. from the measured rates: the full frozen protocol on MTT (cache + 3 variants x 3 seeds,
   12 epochs of 8 patches per train clip, configs/mtt.yaml's folder split with 10 % valid,
   folders taken as equal in size) on this machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from common import best_of, demo_shards, machine

MTT_CLIPS = 25_863
MTT_TRAIN, MTT_VALID = round(MTT_CLIPS * 12 / 16 * 0.9), round(MTT_CLIPS * 12 / 16 * 0.1)
MTT_PATCHES = 30  # non-overlapping 0.96 s patches of a 29.1 s clip


def main() -> None:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tagbench-bench/cache")
    shards, _ = demo_shards(work / "demo", n_tracks=96)

    from tagbench.core.runtime import configure_tensorflow

    configure_tensorflow(2)
    from tagbench.backbones.vggish import embedding_model
    from tagbench.features.shards import FeatureStore
    from tagbench.models.backbone_cache import open_cache, write_cache
    from tagbench.models.inference import predict_store
    from tagbench.models.networks import build_head, build_model
    from tagbench.models.stream import steps_per_epoch
    from tagbench.models.train import compile_model, input_dataset
    from tagbench.settings.config import TrainSettings

    spec = TrainSettings(finetune=False, head=(256,), batch_size=32, n_active=20,
                         patches_per_clip=8)
    caches = {}
    for part in ("train", "valid"):
        caches[part] = [work / "cache" / part / p.name for p in shards[part]]
        for src, dst in zip(shards[part], caches[part], strict=True):
            if not dst.is_file():
                write_cache(src, dst, "random0", 1, "float16")
    train, valid = FeatureStore(shards["train"]), FeatureStore(shards["valid"])
    ctrain, cvalid = (open_cache(shards[p], caches[p], spec) for p in ("train", "valid"))
    n_tags = len(train.tags)
    steps = steps_per_epoch(len(train), spec.batch_size, spec.patches_per_clip)

    # 1. one epoch (fit + validation), through the backbone vs from the cache
    def epoch(model, store, valid_store):
        model.fit(input_dataset(store, spec.batch_size, spec.n_active, 0, steps),
                  steps_per_epoch=steps, epochs=1, verbose=0)
        predict_store(model, valid_store)

    whole, head = build_model(spec, n_tags), build_head(spec, n_tags)
    compile_model(whole, spec, n_tags)
    compile_model(head, spec, n_tags)
    epoch(head, ctrain, cvalid)  # build + trace
    t_head = best_of(3, lambda: epoch(head, ctrain, cvalid))
    epoch(whole, train, valid)
    t_whole = best_of(2, lambda: epoch(whole, train, valid))
    t_fit_head = best_of(3, lambda: head.fit(
        input_dataset(ctrain, spec.batch_size, spec.n_active, 0, steps), steps_per_epoch=steps,
        epochs=1, verbose=0))
    t_valid_head = best_of(3, lambda: predict_store(head, cvalid))
    valid_patches = sum(len(cvalid.eval_patches(i)) for i in range(len(cvalid)))

    # 2.-3. on one shard the size of MTT's (configs/mtt.yaml: ~330 clips of 29.1 s per shard)
    long_shards, _ = demo_shards(work / "mtt-shard", n_tracks=512, clips_per_track=1,
                                 clip_seconds=29.1, shards=(("train", 1),))
    shard = long_shards["train"][0]
    with FeatureStore([shard]) as one:
        from tagbench.backbones.vggish_frontend import frame_examples

        n_long = len(one)
        patches = np.concatenate([frame_examples(one.logmel(i)) for i in range(n_long)])
    vggish = embedding_model()
    vggish.predict_on_batch(patches[:256])
    t_raw = best_of(2, lambda: [vggish.predict_on_batch(patches[i:i + 256])
                                for i in range(0, len(patches), 256)])
    out = work / "long-cache.h5"
    t_cache = best_of(2, lambda: write_cache(shard, out, "random0", 1, "float16"))
    per_clip = out.stat().st_size / n_long

    # 4. the frozen protocol on MTT from these rates
    cache_rate = len(patches) / t_cache
    t_mtt_cache = MTT_CLIPS * MTT_PATCHES / cache_rate
    head_train_rate = steps * spec.batch_size / t_fit_head
    head_valid_rate = valid_patches / t_valid_head
    per_run = 12 * (MTT_TRAIN * 8 / head_train_rate + MTT_VALID * MTT_PATCHES / head_valid_rate) \
        + (MTT_CLIPS - MTT_TRAIN - MTT_VALID) * MTT_PATCHES / head_valid_rate
    t_runs = 9 * per_run

    print(machine())
    print(f"data: {len(train)} train / {len(valid)} valid clips of 4 s, {steps} steps of 32 per "
          f"epoch; cache shard: {n_long} clips of 29.1 s, {len(patches)} patches")
    print("| what | cached | baseline in the same run | ratio | target |\n|---|---|---|---|---|")
    print(f"| frozen epoch (fit + validation), s | {t_head:.2f} | {t_whole:.2f} through the "
          f"backbone | {t_whole / t_head:.0f}x faster | >= 20x |")
    print(f"| cache rule, patches/s | {cache_rate:,.0f} | {len(patches) / t_raw:,.0f} raw VGGish "
          f"predict | {t_raw / t_cache:.2f}x | >= 0.9x |")
    print(f"| cache disk per 29.1 s clip (non-overlapping patches, float16) | {per_clip / 1e3:,.0f} KB | MTT "
          f"{per_clip * MTT_CLIPS / 1e9:.2f} GB | | <= 6 GB |")
    print(f"| head training, patches/s | {head_train_rate:,.0f} | head scoring "
          f"{head_valid_rate:,.0f} patches/s | | |")
    print(f"| MTT frozen protocol, {os.cpu_count()} cores | cache {t_mtt_cache / 3600:.1f} h + "
          f"3 variants x 3 seeds {t_runs / 3600:.2f} h | | | |")


if __name__ == "__main__":
    main()
