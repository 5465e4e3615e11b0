"""Split and feature-extraction verbs."""

from __future__ import annotations

import json
import sys

from ..core.errors import ConfigError
from ..settings.config import CacheSettings, FeatureSettings, SplitSettings
from .spec import settings_from, settings_parent


def cmd_split(args) -> None:
    from ..data.annotations import read_annotations
    from ..data.split import make_split, write_split

    ann = read_annotations(args.annotations)
    split = make_split(ann, settings_from(args, SplitSettings), str(args.annotations))
    write_split(split, ann, args.out_dir)
    sizes = ", ".join(f"{k} {len(v)}" for k, v in split.parts.items())
    print(f"split: {sizes} clips; {len(split.tags)} tags -> {args.out_dir}")
    tracks, twins = split.provenance["tracks"], split.provenance["twins"]
    print(f"tracks: {tracks['n_tracks']} from {tracks['from']}" + (
        "" if tracks["grouped"] else "; warning: no two clips share a track, so nothing keeps "
        "excerpts of one recording on one side: name each clip's recording in a 'track' column "
        "of the annotations"))
    if twins["test_clips_with_a_twin"]:
        print(f"twins: {twins['test_clips_with_a_twin']} test clips have a twin "
              f"({twins['rule']}){'; dropped (split.drop_twins)' if twins['dropped'] else ''}")


def cmd_extract(args) -> None:
    from ..features.shards import extract_shard

    if not 0 <= args.shard < args.n_shards:
        raise ConfigError(f"--shard {args.shard} is outside 0..{args.n_shards - 1}")
    counts = extract_shard(args.split_tsv, args.audio_root, args.shard, args.n_shards, args.out,
                           settings_from(args, FeatureSettings), progress=sys.stderr.isatty(),
                           deformation=args.deformation)
    print(json.dumps({"shard": args.out, **counts}))


def cmd_cache_backbone(args) -> None:
    from ..backbones import backbone, parse_cache_name
    from ..core.runtime import configure_tensorflow

    if not backbone(parse_cache_name(args.backbone)[0]).frozen_only:
        configure_tensorflow(args.threads)  # a user's backbone runs without TensorFlow
    from ..models.backbone_cache import write_cache

    settings = settings_from(args, CacheSettings)
    counts = write_cache(args.shard, args.out, args.backbone, settings.positions_per_patch,
                         settings.dtype,
                         weights_path=args.weights, progress=sys.stderr.isatty(),
                         audio_root=args.audio_root)
    print(json.dumps({"cache": args.out, **counts}))


def cmd_compile_front_ends(args) -> None:
    """Run every built-in front end once on a second of noise at another rate (decode, resample,
    log-mel). librosa's numba functions compile on a fresh environment's first call (17.7 s
    here, 1.9 s once cached) and cache beside librosa: `make setup` calls this so that no job
    pays it. (Here, in the CLI, it is part of no stage's code fingerprint.)"""
    import tempfile
    from pathlib import Path

    import numpy as np
    import soundfile as sf

    from .. import backbones
    from ..features.audio import clip_logmel

    noise = np.random.default_rng(0).normal(scale=0.1, size=44100).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "noise.wav"
        sf.write(path, noise, 44100)
        for name in backbones.FRONT_ENDS:
            clip_logmel(path, "soxr_hq", name)
    print(f"front ends compiled: {', '.join(backbones.FRONT_ENDS)}")


def add_verbs(sub) -> None:
    p = sub.add_parser("compile-front-ends",
                       help="compile librosa's numba functions once (make setup does)")
    p.set_defaults(func=cmd_compile_front_ends)

    settings = settings_parent()
    p = sub.add_parser("split", parents=[settings],
                       help="3/4-1/4 train/test split, validation part, tag set")
    p.add_argument("annotations", help="annotations_final.csv")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("extract", parents=[settings],
                       help="a backbone front end's log-mel of one shard of a split part -> HDF5")
    p.add_argument("split_tsv")
    p.add_argument("--audio-root", required=True, help="folder the mp3_path entries are relative to")
    p.add_argument("--shard", type=int, required=True)
    p.add_argument("--n-shards", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--deformation", default="", help="deform every clip first (kind=severity, "
                   "e.g. noise_snr_db=20: config robustness)")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("cache-backbone", parents=[settings],
                       help="a frozen backbone's outputs for every patch of one feature shard")
    p.add_argument("shard", help="feature shard (.h5)")
    p.add_argument("--backbone", required=True,
                   help="a cache name (a built-in's, or its random weights', e.g. random0: "
                   "`tagbench backbones`), or a user's backbone (module path or entry-point name)")
    p.add_argument("--weights", help="a built-in's checkpoint (default: where the workflow puts "
                   "it)")
    p.add_argument("--audio-root", help="the folder the shard's clip paths are relative to "
                   "(a waveform backbone decodes its clips from there)")
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_cache_backbone)
