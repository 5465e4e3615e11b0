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
    """The backbone of a cache name (`backbones.cache_name`), its trained weights loaded, with
    every output the registry caches flattened into one row per patch (one predict call)."""
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
                weights_path=None, batch_size: int = 256, progress: bool = False,
                audio_root=None) -> dict:
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
        The cache name (`backbones.cache_name`: a built-in's, or its random weights'), or a
        user's backbone by its reference (`backbones.backbone`).
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
    audio_root : str or Path, optional
        The folder the shard's clip paths are relative to: a waveform backbone's cache job
        decodes its clips from there (the shard records their lengths only).

    Returns
    -------
    dict
        Counts: `clips` and `patches` cached.

    Raises
    ------
    DataError
        If the shard's front end is not the backbone's, or an output is non-finite (naming the
        clip; nothing is cached), or a user's backbone fails, gives outputs of other names or
        shapes than it declares, or its weight files are missing or differ from their sha256.
    """
    ref, _, _ = parse_cache_name(name)
    spec = backbones.backbone(ref)
    outputs = spec.outputs
    with FeatureStore([feature_shard]) as store:
        if store.front_end.name != spec.front_end:
            raise DataError(f"{feature_shard}: {store.front_end.name} features, but backbone "
                            f"{spec.name} reads {spec.front_end}")
        if spec.input == "waveform":
            frames, hop = spec.patch_samples, spec.hop_samples
        else:
            frames = hop = store.front_end.patch_frames
        step = max(1, min(hop, frames // positions_per_patch))
        lengths = [max(int(n), frames) for n in store.n_frames]  # short clips: one padded patch
        starts = [np.arange(0, n - frames + 1, step) for n in lengths]
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in starts])]).astype(np.int64)
        clips = range(len(store))
        if progress:
            from tqdm import tqdm

            clips = tqdm(clips, desc=Path(out_path).name, unit="clip", mininterval=2.0)
        if spec.frozen_only:
            weights = plugin_weights(spec)
            rows_of = _plugin_rows(spec, store, clips, frames, step, batch_size, audio_root,
                                   feature_shard)
        else:
            model = backbone_model(name, weights_path)
            weights = weight_digests(model)
            patches = (backbones.patches(store.logmel(i), frames, step) for i in clips)
            widths = [int(np.prod(shape)) for shape in outputs.values()]
            bounds = np.cumsum([0, *widths])
            rows_of = ({out: rows[:, lo:hi].reshape(-1, *shape)
                        for (out, shape), lo, hi in zip(outputs.items(), bounds[:-1], bounds[1:],
                                                        strict=True)}
                       for rows in predict_patches(model, patches, batch_size))
        with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as h5:
            n = int(offsets[-1])
            datasets = {out: hdf5.create(
                h5, out, shape=(n, *shape), dtype=dtype,
                chunks=(min(CHUNK_PATCHES, n), *shape) if n else None)  # (a shard may be empty)
                for out, shape in outputs.items()}
            for i, rows in enumerate(rows_of):
                if not all(np.isfinite(r).all() for r in rows.values()):
                    fix = ("fix the plugin" if spec.frozen_only else
                           "its features or the weights are broken")
                    raise DataError(f"{feature_shard}: backbone {spec.ref or spec.name} gives "
                                    f"non-finite outputs for clip {store.clip_ids[i]} ({fix}); "
                                    "nothing was cached")
                for out in outputs:
                    datasets[out][offsets[i]:offsets[i + 1]] = rows[out].astype(dtype)
            hdf5.create(h5, "patch_offsets", offsets)
            hdf5.create(h5, "patch_start",
                        (np.concatenate(starts) if starts else np.zeros(0)).astype(np.int32))
            hdf5.create(h5, "clip_id", hdf5.strings(store.clip_ids))
            h5.attrs.update(backbone=spec.name if spec.frozen_only else name, patch_step=step,
                            source=Path(feature_shard).name,
                            feature_params=json.dumps(store.feature_params, sort_keys=True),
                            weights=json.dumps(weights, sort_keys=True),
                            deformation=store.deformation)
            if spec.frozen_only:
                h5.attrs.update(patch_frames=frames, eval_hop=hop)
    return {"clips": len(store), "patches": int(offsets[-1])}


def plugin_weights(spec) -> dict[str, str]:
    """A user's backbone's weight files, each checked against its declared sha256: what ties
    its caches and heads to the weights (and the plugin, by reference)."""
    from ..core.digests import sha256_of
    from ..settings.fingerprint import plugin_fingerprint

    for name, path in backbones.weight_paths(spec).items():
        if not Path(path).is_file():
            raise DataError(f"backbone {spec.ref}: weights file {path} not found (place it there "
                            "or fix the plugin's weights)")
        found = sha256_of(path)
        if found != spec.weight_files[name]:
            raise DataError(f"backbone {spec.ref}: {path} has sha256 {found[:16]}..., the plugin "
                            f"declares {spec.weight_files[name][:16]}...: replace the file or "
                            "update the declared sha256")
    return {**spec.weight_files, "plugin": spec.ref, "code": plugin_fingerprint(spec)}


def open_plugin(spec):
    """Instantiate a user's backbone with its (checked) weight files; a failure is one line."""
    plugin_weights(spec)
    try:
        return spec.plugin(backbones.weight_paths(spec))
    except Exception as err:  # noqa: BLE001 - a plugin's own error, any type
        raise DataError(f"backbone {spec.ref}: loading it failed ({type(err).__name__}: {err}); "
                        "fix the plugin or its weights (tagbench check-backbone)") from None


def run_plugin(model, spec, patches: np.ndarray, where: str) -> dict[str, np.ndarray]:
    """A user's backbone's outputs for a batch of patches, checked against what it declares
    (names, shapes); a failure is one line naming the plugin, `where` and the fix."""
    try:
        out = model(np.ascontiguousarray(patches, np.float32))
    except Exception as err:  # noqa: BLE001 - a plugin's own error, any type
        raise DataError(f"{where}: backbone {spec.ref} failed ({type(err).__name__}: {err}); "
                        "fix the plugin (tagbench check-backbone)") from None
    if not isinstance(out, dict) or set(out) != set(spec.outputs):
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise DataError(f"{where}: backbone {spec.ref} returned {got}, not its declared outputs "
                        f"{sorted(spec.outputs)}; fix the plugin")
    rows = {}
    for name, shape in spec.outputs.items():
        try:
            value = np.asarray(out[name], dtype=np.float32)
        except (TypeError, ValueError, RuntimeError) as err:
            raise DataError(f"{where}: backbone {spec.ref} output {name} is not an array of "
                            f"numbers ({type(err).__name__}: {err}); return NumPy arrays") from None
        if value.shape != (len(patches), *shape):
            raise DataError(f"{where}: backbone {spec.ref} output {name} has shape {value.shape}, "
                            f"declared ({len(patches)}, {', '.join(map(str, shape))}); fix the "
                            "plugin")
        rows[name] = value
    return rows


def clip_input(spec, store, i: int, frames: int, audio_root, where) -> np.ndarray:
    """A clip's input to a user's backbone, (samples or frames, n_mels): its log-mel, or for a
    waveform backbone its audio decoded at the backbone's rate (checked against the length the
    shard recorded) and padded to one patch."""
    if spec.input != "waveform":
        return store.logmel(i)
    from ..features.audio import load_audio

    if audio_root is None:
        raise DataError(f"{where}: a waveform backbone's cache job needs --audio-root")
    samples = load_audio(Path(audio_root) / store.clip_paths[i],
                         store.feature_params.get("resample", "soxr_hq"), spec.sample_rate)
    if store.deformation:  # the part's deformation, as extraction applied it to log-mels
        from ..features.deform import deform

        samples = deform(samples, spec.sample_rate, store.deformation, store.clip_ids[i])
    if len(samples) != store.n_frames[i]:
        raise DataError(f"{where}: {store.clip_paths[i]} decodes to {len(samples)} samples, the "
                        f"shard recorded {store.n_frames[i]}: the audio changed since extraction "
                        "(rerun snakemake)")
    if len(samples) < frames:
        samples = np.concatenate([samples, np.zeros(frames - len(samples), np.float32)])
    return samples.reshape(-1, 1)


def _plugin_rows(spec, store, clips, frames: int, step: int, batch_size: int, audio_root,
                 feature_shard):
    """Per clip, a user's backbone's outputs for its patches, in batches within the clip (so a
    failure names the clip)."""
    model = open_plugin(spec)
    for i in clips:
        where = f"{feature_shard}: clip {store.clip_ids[i]}"
        patches = backbones.patches(clip_input(spec, store, i, frames, audio_root, where),
                                    frames, step)
        if spec.input == "waveform":
            patches = patches[..., 0]
        parts = [run_plugin(model, spec, patches[lo:lo + batch_size], where)
                 for lo in range(0, len(patches), batch_size)]
        yield {name: np.concatenate([p[name] for p in parts]) for name in spec.outputs}


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
                    or clip_ids != shard.clip_ids \
                    or str(attrs.get("deformation", "")) != shard.deformation:
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
        self.split, self.deformation = self.index.split, self.index.deformation
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
        patch length; of a user's backbone's hop)."""
        frames = int(self.attrs[0].get("eval_hop", self.index.front_end.patch_frames))
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

