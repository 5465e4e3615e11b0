"""Every backbone's frozen cache, in the same run: the cache rule against raw batched predict
of the same network, and its disk per clip and for all of MTT.

    python benchmarks/backbones.py [WORKDIR] [N_CLIPS]
        (default /tmp/tagbench-bench/backbones, 200 clips of 29.1 s: ~6 min on 2 cores)

For vggish (random weights: the same network as the checkpoint's), MSD_musicnn and MSD_vgg (the
MTT models are the same networks): one feature shard of N_CLIPS MTT-length clips in the
backbone's front end; `backbone_cache.write_cache` (build, load weights, read the shard, run
every non-overlapping patch, write float16) vs `predict_on_batch` of the same flattened network
on the same patches held in memory, best of 2 each. Disk is the cache file per clip, x 25,863.
The MTT cost of a backbone's cache follows from its rate: 25,863 clips x its patches per clip.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from common import ROOT, best_of, demo_shards, machine

MTT_CLIPS = 25_863
BACKBONES = (("random0", "vggish"), ("MSD_musicnn", "MSD_musicnn"), ("MSD_vgg", "MSD_vgg"))


def main() -> None:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tagbench-bench/backbones")
    n_clips = int(sys.argv[2]) if len(sys.argv) > 2 else 200

    from tagbench.core.runtime import configure_tensorflow

    configure_tensorflow(2)
    from tagbench import backbones
    from tagbench.backbones.musicnn_weights import unpack_weights
    from tagbench.features.shards import FeatureStore
    from tagbench.models.backbone_cache import backbone_model, write_cache

    wheel = ROOT / "resources" / "musicnn" / "musicnn-0.1.0-py3-none-any.whl"
    rows = []
    for name, backbone in BACKBONES:
        spec = backbones.backbone(backbone)
        weights = None
        if backbone != "vggish":
            weights = f"{unpack_weights(wheel, work / 'weights', backbone)}.index"
        shards, _ = demo_shards(work / "data", n_tracks=n_clips, clips_per_track=1,
                                clip_seconds=29.1, shards=(("train", 1),),
                                front_end=spec.front_end)
        shard = shards["train"][0]
        with FeatureStore([shard]) as store:
            frames = store.front_end.patch_frames
            patches = np.concatenate([backbones.patches(store.logmel(i), frames)
                                      for i in range(len(store))])
            clips = len(store)
        model = backbone_model(name, weights)
        model.predict_on_batch(patches[:256])
        t_raw = best_of(2, lambda m=model, x=patches: [m.predict_on_batch(x[i:i + 256])
                                                       for i in range(0, len(x), 256)])
        out = work / f"cache-{name}.h5"
        t_cache = best_of(2, lambda s=shard, o=out, n=name, w=weights:
                          write_cache(s, o, n, 1, "float16", weights_path=w))
        per_clip = out.stat().st_size / clips
        rows.append((backbone, len(patches) / clips, len(patches) / t_cache,
                     len(patches) / t_raw, t_raw / t_cache, per_clip))

    print(machine())
    print(f"data: one shard of {n_clips} clips of 29.1 s per front end; float16 caches")
    print("| backbone | patches / clip | cache rule, patches/s | raw predict, patches/s | ratio "
          "(target >= 0.9x) | cache disk per clip | MTT cache disk | MTT cache time |")
    print("|---|---|---|---|---|---|---|---|")
    for backbone, per, rate, raw, ratio, disk in rows:
        print(f"| {backbone} | {per:.0f} | {rate:,.0f} | {raw:,.0f} | {ratio:.2f}x | "
              f"{disk / 1e3:,.0f} KB | {disk * MTT_CLIPS / 1e9:.2f} GB | "
              f"{MTT_CLIPS * per / rate / 3600:.2f} h |")


if __name__ == "__main__":
    main()
