"""The frozen backbone's outputs, computed once per feature shard and shared by frozen variants.

A variant with `finetune: false` never changes its backbone's weights, so the backbone's output
for a patch is the same in every epoch, variant and replicate that shares the backbone
(`backbones.cache_name`). A cache shard,
`results/{experiment}/backbone/{backbone}/{part}/{shard}.h5`, mirrors one feature shard of the
backbone's front end: for each clip, the patches starting every `patch_step` frames, each run
through the backbone on its own (`models.networks.build_backbone`). Patches are never cut out of a
whole-clip feature map: SAME convolutions see zeros at a patch's borders, so only a per-patch
forward pass equals what the whole model computes for that patch.

Layout: one dataset per output the registry lists for the backbone (`Backbone.outputs`),
(patches, *shape), in the features' storage type; `patch_offsets` (clips + 1), `patch_start`
(first frame of each patch), `clip_id`; attributes `backbone`, `patch_step`, `feature_params`,
`source` (the feature shard's file name) and `weights` (a digest per backbone layer).
`CacheStore` is the one reader: it checks them against what a variant asks for.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from .. import backbones
from ..backbones import cache_name, parse_cache_name
from ..core import hdf5
from ..core.atomic import atomic_path
from ..core.errors import DataError
from ..features.shards import FeatureStore
from .inference import predict_patches

CHUNK_PATCHES = 64


def weight_digests(model) -> dict[str, str]:
    """Layer name -> sha256 of its weights, for every layer of `model` that has weights: what
    ties a cache to the backbone of the model file trained from it."""
    import hashlib

    digests = {}
    for layer in model.layers:
        if layer.weights:
            digest = hashlib.sha256()
            for w in layer.get_weights():
                digest.update(np.ascontiguousarray(w, np.float32).tobytes())
            digests[layer.name] = digest.hexdigest()[:16]
    return digests


def check_backbone(model, cached: dict[str, str], skip=()) -> None:
    """Refuse a whole model whose backbone layers differ from the weights the cache was
    computed with (a library update or another checkpoint between the cache job and training):
    its figures, scored on the cache, would not be those of the model file."""
    for name, digest in weight_digests(model).items():
        if name in skip:
            continue
        if cached.get(name) != digest:
            why = "is not in the cache's backbone" if name not in cached else "has other weights"
            raise DataError(f"the saved model's backbone layer {name} {why} than the backbone "
                            "cache was computed with (another checkpoint or library version "
                            "between the cache and train jobs): delete the backbone cache and "
                            "rerun snakemake")


def backbone_model(name: str, weights_path=None):
    """The backbone of a cache name (`backbones.cache_name`: vggish, random{seed}, a musicnn
    model), its trained weights loaded, with every output the registry caches flattened into
    one row per patch (one predict call)."""
    import keras

    from .networks import build_backbone, load_backbone_weights

    backbone, weights, seed = parse_cache_name(name)
    model = build_backbone(seed, backbone=backbone)
    load_backbone_weights(model, backbone, weights, weights_path)
    outputs = backbones.backbone(backbone).outputs
    flat = [keras.layers.Flatten(name=f"flat_{out}")(model.output[out]) if len(shape) > 1
            else model.output[out] for out, shape in outputs.items()]
    return keras.Model(model.input, keras.layers.Concatenate(name="cache_row")(flat))


def write_cache(feature_shard, out_path, name: str, positions_per_patch: int, dtype: str, *,
                weights_path=None, batch_size: int = 256, progress: bool = False) -> dict:
    """Run a frozen backbone over the patches of one feature shard and write its cache shard.

    Each patch is run on its own, so its outputs equal what the whole model computes for it.
    The file is written atomically.

    Parameters
    ----------
    feature_shard : str or Path
        The feature shard (of the backbone's front end).
    out_path : str or Path
        The cache shard.
    name : str
        The cache name (`backbones.cache_name`): `vggish`, `random{seed}` or a musicnn model.
    positions_per_patch : int
        Patch start positions per patch length (patches start every `frames // this` frames).
    dtype : str
        Storage type of the outputs.
    weights_path : str or Path, optional
        The backbone's checkpoint (see `networks.load_backbone_weights`).
    batch_size : int, optional
        Patches per model call.
    progress : bool, optional
        Show a tqdm progress bar.

    Returns
    -------
    dict
        Counts: `clips` and `patches` cached.

    Raises
    ------
    DataError
        If the shard's front end is not the backbone's, or an output is non-finite (naming the
        clip; nothing is cached).
    """
    spec = backbones.backbone(parse_cache_name(name)[0])
    outputs = spec.outputs
    model = backbone_model(name, weights_path)
    widths = [int(np.prod(shape)) for shape in outputs.values()]
    bounds = np.cumsum([0, *widths])
    with FeatureStore([feature_shard]) as store:
        if store.front_end.name != spec.front_end:
            raise DataError(f"{feature_shard}: {store.front_end.name} features, but backbone "
                            f"{name} reads {spec.front_end}")
        frames = store.front_end.patch_frames
        step = max(1, frames // positions_per_patch)
        starts = [np.arange(0, n - frames + 1, step) for n in store.n_frames]
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in starts])]).astype(np.int64)
        clips = range(len(store))
        if progress:
            from tqdm import tqdm

            clips = tqdm(clips, desc=Path(out_path).name, unit="clip", mininterval=2.0)
        with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as h5:
            n = int(offsets[-1])
            datasets = {out: hdf5.create(
                h5, out, shape=(n, *shape), dtype=dtype,
                chunks=(min(CHUNK_PATCHES, n), *shape) if n else None)  # (a shard may be empty)
                for out, shape in outputs.items()}
            patches = (backbones.patches(store.logmel(i), frames, step) for i in clips)
            for i, rows in enumerate(predict_patches(model, patches, batch_size)):
                if not np.isfinite(rows).all():
                    raise DataError(f"{feature_shard}: backbone {name} gives non-finite outputs "
                                    f"for clip {store.clip_ids[i]} (its features or the weights "
                                    "are broken); nothing was cached")
                for (out, shape), lo, hi in zip(outputs.items(), bounds[:-1], bounds[1:],
                                                strict=True):
                    datasets[out][offsets[i]:offsets[i + 1]] = \
                        rows[:, lo:hi].reshape(-1, *shape).astype(dtype)
            hdf5.create(h5, "patch_offsets", offsets)
            hdf5.create(h5, "patch_start",
                        (np.concatenate(starts) if starts else np.zeros(0)).astype(np.int32))
            hdf5.create(h5, "clip_id", hdf5.strings(store.clip_ids))
            h5.attrs.update(backbone=name, patch_step=step, source=Path(feature_shard).name,
                            feature_params=json.dumps(store.feature_params, sort_keys=True),
                            weights=json.dumps(weight_digests(model), sort_keys=True))
    return {"clips": len(store), "patches": int(offsets[-1])}


class CacheStore:
    """A part's clips as cached backbone outputs: what a frozen variant trains and is scored on.

    Same interface as `features.shards.FeatureStore` for the stream and inference (`random_patches`,
    `eval_patches`, `labels`, `tags`), but a patch is one backbone output (`output`, what the
    variant's pooling reads). Usually made by `open_cache`.

    Parameters
    ----------
    feature_shards : iterable of str or Path
        The part's feature shards (clips, labels, tags).
    cache_shards : iterable of str or Path
        One cache shard per feature shard, matched by its `source` attribute.
    backbone : str
        The cache name (`backbones.cache_name`) the variant needs.
    output : str
        The backbone output to read.

    Raises
    ------
    DataError
        If a cache shard is missing, unreadable or from an older tagbench, a feature shard has
        no cache, or a cache was made by another backbone, from other features or clips, or
        with weights that differ between shards.
    """

    def __init__(self, feature_shards, cache_shards, backbone: str, output: str):
        self.index = FeatureStore(feature_shards)
        self.output = output
        by_source = {}
        for path in map(Path, cache_shards):
            try:
                with h5py.File(path, "r") as h5:
                    hdf5.verify(h5, path)
                    attrs = dict(h5.attrs)
                    clip_ids = list(h5["clip_id"].asstr()[()])
                    index = h5["patch_offsets"][()], h5["patch_start"][()]
            except FileNotFoundError:
                raise DataError(f"{path}: backbone cache not found (run the cache_backbone "
                                "rule)") from None
            except (OSError, KeyError) as err:
                raise DataError(f"{path}: not a readable backbone cache ({err}); delete it and "
                                "rerun snakemake") from None
            by_source[attrs.get("source")] = (path, attrs, clip_ids, index)
        self.backbone, self.paths, self.starts, self.offsets, steps = backbone, [], [], [], set()
        self.attrs, weights = [], set()
        for shard in self.index.shards:
            path, attrs, clip_ids, (offsets, starts) = by_source.get(
                shard.path.name, (None, None, None, (None, None)))
            if path is None:
                raise DataError(f"no backbone cache given for feature shard {shard.path}")
            if attrs["backbone"] != backbone:
                raise DataError(f"{path}: cached for backbone {attrs['backbone']}, the variant "
                                f"uses {backbone}; rerun snakemake to compute its own cache")
            if json.loads(attrs["feature_params"]) != shard.feature_params \
                    or clip_ids != shard.clip_ids:
                raise DataError(f"{path}: computed from other features than {shard.path} "
                                "(delete it and rerun snakemake)")
            if "weights" not in attrs or "patch_step" not in attrs:
                raise DataError(f"{path}: made by an older tagbench (no backbone weight digests): "
                                "delete it and rerun snakemake")
            self.offsets.append(offsets)
            self.starts.append(starts)
            self.paths.append(path)
            steps.add(int(attrs["patch_step"]))
            weights.add(attrs["weights"])
            self.attrs.append({k: (v.item() if hasattr(v, "item") else v) for k, v in attrs.items()})
        if len(weights) > 1:
            raise DataError(f"the backbone cache shards of {backbone} were computed with different "
                            "weights: delete them and rerun snakemake")
        self.weights = json.loads(weights.pop())
        self.patch_steps = sorted(steps)
        self.tags, self.labels, self.clip_ids = self.index.tags, self.index.labels, self.index.clip_ids
        self.clip_paths = self.index.clip_paths
        self.feature_params, self.failed = self.index.feature_params, self.index.failed
        self.split = self.index.split
        self._files: dict[int, h5py.File] = {}

    def __len__(self) -> int:
        return len(self.index)

    def digest(self) -> str:
        """What the part's cache holds: its feature shards' index and every cache shard's
        attributes and patch positions (for a training state to be matched against)."""
        import hashlib

        digest = hashlib.sha256(self.index.digest().encode())
        digest.update(json.dumps([self.output, self.attrs], sort_keys=True, default=str).encode())
        for offsets, starts in zip(self.offsets, self.starts, strict=True):
            digest.update(np.ascontiguousarray(offsets, np.int64).tobytes())
            digest.update(np.ascontiguousarray(starts, np.int64).tobytes())
        return digest.hexdigest()

    @property
    def patch_shape(self) -> tuple[int, ...]:
        return backbones.backbone(parse_cache_name(self.backbone)[0]).outputs[self.output]

    def rows(self, clip: int) -> tuple[np.ndarray, np.ndarray]:
        """(backbone outputs of the clip's cached patches as float32, their start frames)."""
        si, ci = self.index.locations[clip]
        if si not in self._files:
            self._files[si] = h5py.File(self.paths[si], "r")
        lo, hi = self.offsets[si][ci], self.offsets[si][ci + 1]
        return (self._files[si][self.output][lo:hi].astype(np.float32),
                self.starts[si][lo:hi])

    def eval_patches(self, clip: int) -> np.ndarray:
        """The patches evaluation scores: those at non-overlapping positions (multiples of the
        patch length)."""
        frames = self.index.front_end.patch_frames
        if any(frames % step for step in self.patch_steps):
            raise DataError(f"{self.paths[0]}: cached every {self.patch_steps[0]} frames, which "
                            f"misses the non-overlapping {frames}-frame patches evaluation scores")
        rows, starts = self.rows(clip)
        return rows[starts % frames == 0]

    def random_patches(self, clip: int, rng: np.random.Generator):
        """Endless random cached patches of one clip (the training stream's streamer body)."""
        rows, _ = self.rows(clip)
        while True:
            yield rows[int(rng.integers(len(rows)))]

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()
        self.index.close()

    def __enter__(self) -> CacheStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_cache(feature_shards, cache_shards, spec) -> CacheStore:
    """Open the backbone cache a frozen variant reads: its backbone's, at its pooling's output.

    Parameters
    ----------
    feature_shards, cache_shards : iterable of str or Path
        As for `CacheStore`.
    spec : TrainSettings
        The variant: backbone, weights, backbone_seed and pooling.

    Returns
    -------
    CacheStore
    """
    return CacheStore(feature_shards, cache_shards,
                      cache_name(spec.backbone, spec.weights, spec.backbone_seed),
                      backbones.backbone(spec.backbone).output_of(spec.pooling))

