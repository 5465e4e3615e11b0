"""Per-file feature extraction into HDF5 shards, and reading them back.

A shard (`results/{experiment}/features/{front_end}/{part}/{shard}.h5`) holds the full log-mel
of each of its clips in one backbone front end (`backbones.FRONT_ENDS`), concatenated: `logmel`
(frames, n_mels), `clip_offsets` (n+1), `clip_id`, `path`, `labels` (n, n_tags) uint8, attributes
`tags`, `feature_params` (the front end's settings, its name included) and `split` (JSON), and a
`failed` table
(clip_id, path, error) of files that could not be decoded. It is written under a temporary
name and renamed when whole (`ShardWriter`), so a killed job never leaves a plausible-looking
shard.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .. import backbones
from ..core import hdf5
from ..core.atomic import temporary_sibling
from ..core.errors import DataError, DecodeError
from ..core.layout import shard_name
from ..data.split_files import read_part, read_provenance
from ..settings.config import FeatureSettings
from .audio import clip_logmel

FAILED_FIELDS = ("clip_id", "path", "error")


def shard_of(clip_id: str, n_shards: int) -> int:
    """Deterministic clip -> shard (CRC32 of the id): stable across runs, machines and orders."""
    return zlib.crc32(clip_id.encode()) % n_shards


def extract_shard(split_tsv: str | Path, audio_root: str | Path, shard: int, n_shards: int,
                  out_path: str | Path, settings: FeatureSettings, *, progress: bool = False,
                  deformation: str = "") -> dict:
    """Extract the log-mels of the clips of one shard of a split part and write the shard file.

    Each clip's log-mel is written as soon as it is computed, so memory holds one clip whatever
    the shard size. Undecodable files go to the shard's `failed` table; the rest is still written.

    Parameters
    ----------
    split_tsv : str or Path
        A split part (`{part}.tsv`); its folder's `split.json` is stored in the shard.
    audio_root : str or Path
        The folder the part's `mp3_path` entries are relative to.
    shard, n_shards : int
        Which shard to write, of how many (clips are assigned by `shard_of`).
    out_path : str or Path
        The shard file, written atomically.
    settings : FeatureSettings
        Front end, stored dtype and resampler.
    progress : bool, optional
        Show a tqdm progress bar.
    deformation : str, optional
        Deform every clip's audio first (`features.deform`; the shard's `deformation` attribute
        says which); "" for the clean part.

    Returns
    -------
    dict
        Counts: `clips` written, `failed`, `frames` and `seconds` of log-mel.
    """
    part = read_part(split_tsv)
    audio_root = Path(audio_root)
    rows = [i for i, cid in enumerate(part.clip_ids) if shard_of(cid, n_shards) == shard]
    if progress:
        from tqdm import tqdm

        rows = tqdm(rows, desc=f"shard {shard_name(shard)}", unit="clip", mininterval=2.0)
    fe = backbones.front_end(settings.front_end)
    if deformation:
        from .deform import check_rate

        check_rate(deformation, fe.sample_rate)
    with ShardWriter(out_path, part.tags, settings, split=read_provenance(Path(split_tsv).parent),
                     deformation=deformation) as writer:
        for i in rows:
            try:
                # (a waveform shard records lengths, which no deformation changes: its cache
                # job deforms the audio it decodes)
                mel = clip_logmel(audio_root / part.paths[i], settings.resample, settings.front_end,
                                  "" if fe.kind == "waveform" else deformation, part.clip_ids[i])
            except DecodeError as err:
                writer.add_failed(part.clip_ids[i], part.paths[i], str(err))
                continue
            writer.add(part.clip_ids[i], part.paths[i], part.labels[i], mel)
    return {"clips": writer.n_clips, "failed": len(writer.failed), "frames": writer.n_frames,
            "seconds": writer.n_frames * fe.frame_hop / fe.sample_rate}


class ShardWriter:
    """Write one feature shard atomically, as a context manager (`add`, `add_failed`).

    Clips are appended as they come (memory holds one clip); when the `with` block ends without
    an error the index tables are written and the file is renamed into place. An error leaves
    no shard behind.

    Parameters
    ----------
    out_path : str or Path
        The shard file.
    tags : sequence of str
        The part's tags, in label-column order.
    settings : FeatureSettings
        Front end (its `n_mels` and parameters), stored dtype and resampler.
    split : dict, optional
        The split's `split.json`, stored as the `split` attribute.
    deformation : str, optional
        What the audio was deformed with (`features.deform`), stored as `deformation`.
    """

    def __init__(self, out_path: str | Path, tags, settings: FeatureSettings,
                 split: dict | None = None, deformation: str = ""):
        self.out_path, self.tags, self.settings = Path(out_path), list(tags), settings
        self.split = split or {}
        self.deformation = deformation
        self.clip_ids: list[str] = []
        self.paths: list[str] = []
        self.labels: list[np.ndarray] = []
        self.failed: list[tuple[str, str, str]] = []
        self.offsets = [0]

    @property
    def n_clips(self) -> int:
        return len(self.clip_ids)

    @property
    def n_frames(self) -> int:
        return self.offsets[-1]

    def __enter__(self) -> ShardWriter:
        self._tmp = temporary_sibling(self.out_path)
        self._h5 = h5py.File(self._tmp, "w")
        fe = backbones.front_end(self.settings.front_end)
        self._keep = fe.kind != "waveform"  # a waveform shard records lengths, not samples
        self._logmel = hdf5.create(self._h5, "logmel", shape=(0, fe.n_mels),
                                   dtype=self.settings.dtype, maxshape=(None, fe.n_mels),
                                   chunks=(4096, fe.n_mels))
        return self

    def add(self, clip_id: str, path: str, labels, mel: np.ndarray) -> None:
        start = self.offsets[-1]
        if self._keep:
            self._logmel.resize(start + len(mel), axis=0)
            # numpy's float16 cast is ~10x faster than HDF5's own type conversion
            self._logmel[start:] = np.asarray(mel).astype(self.settings.dtype, copy=False)
        self.offsets.append(start + len(mel))
        self.clip_ids.append(clip_id)
        self.paths.append(path)
        self.labels.append(np.asarray(labels, dtype=np.uint8))

    def add_failed(self, clip_id: str, path: str, error: str) -> None:
        self.failed.append((clip_id, path, error))

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._write_index()
                self._h5.close()
                self._tmp.replace(self.out_path)
        finally:
            self._h5.close()  # no-op when already closed
            self._tmp.unlink(missing_ok=True)

    def _write_index(self) -> None:
        h5 = self._h5
        hdf5.create(h5, "clip_offsets", np.asarray(self.offsets, dtype=np.int64))
        hdf5.create(h5, "clip_id", hdf5.strings(self.clip_ids))
        hdf5.create(h5, "path", hdf5.strings(self.paths))
        labels = np.stack(self.labels) if self.labels else np.zeros((0, len(self.tags)), np.uint8)
        hdf5.create(h5, "labels", labels)
        hdf5.create(h5, "failed", hdf5.string_fields(self.failed, FAILED_FIELDS))
        h5.attrs["tags"] = json.dumps(self.tags)
        h5.attrs["feature_params"] = json.dumps(
            {**backbones.front_end_params(self.settings.front_end), "dtype": self.settings.dtype,
             "resample": self.settings.resample}, sort_keys=True)
        h5.attrs["split"] = json.dumps(self.split, sort_keys=True)
        h5.attrs["deformation"] = self.deformation


@dataclass
class ShardIndex:
    """What a shard holds, without its log-mel (small; read once)."""

    path: Path
    clip_ids: list[str]
    paths: list[str]
    offsets: np.ndarray
    labels: np.ndarray
    tags: list[str]
    failed: list[tuple[str, str, str]]
    feature_params: dict
    split: dict  # split.json of the split the shard was extracted from
    deformation: str = ""  # what its audio was deformed with ("" for clean audio)


def read_index(path: str | Path) -> ShardIndex:
    """Read what a shard holds besides its log-mel (clips, offsets, labels, tags, failures).

    Raises
    ------
    DataError
        If the shard is missing or not a readable tagbench shard.
    """
    path = Path(path)
    try:
        with h5py.File(path, "r") as h5:
            hdf5.verify(h5, path)
            return ShardIndex(
                path, [s.decode() if isinstance(s, bytes) else s for s in h5["clip_id"][()]],
                [s.decode() if isinstance(s, bytes) else s for s in h5["path"][()]],
                h5["clip_offsets"][()], h5["labels"][()], json.loads(h5.attrs["tags"]),
                [tuple(v.decode() if isinstance(v, bytes) else v for v in row)
                 for row in h5["failed"][()]],
                json.loads(h5.attrs["feature_params"]), json.loads(h5.attrs.get("split", "{}")),
                str(h5.attrs.get("deformation", "")))
    except FileNotFoundError:
        raise DataError(f"{path}: feature shard not found (run the extract rule)") from None
    except (OSError, KeyError) as err:
        raise DataError(f"{path}: not a readable tagbench feature shard ({err}); "
                        "delete it and rerun snakemake") from None


def index_digest(shards) -> str:
    """sha256 of what shards hold besides the log-mel: clips, their frame counts and labels, the
    tags, the front end and the split they came from (what a resumed training state must
    match; cheap: no log-mel is read)."""
    import hashlib

    digest = hashlib.sha256()
    for s in shards:
        digest.update(json.dumps([s.clip_ids, s.tags, s.feature_params, s.split],
                                 sort_keys=True).encode())
        digest.update(np.ascontiguousarray(s.offsets, np.int64).tobytes())
        digest.update(np.ascontiguousarray(s.labels, np.uint8).tobytes())
    return digest.hexdigest()


class FeatureStore:
    """All clips of a part, across its shards: labels in memory, log-mel read on demand.

    Gives `labels` (clips, tags), `clip_ids`, `clip_paths`, `tags`, `front_end`, `split` and
    `failed`, and per clip its `logmel`, `eval_patches` or endless `random_patches`. Shard files
    are opened on first read and closed by `close` (or the end of a `with` block).

    Parameters
    ----------
    shard_paths : iterable of str or Path
        The part's shards; they are read in sorted path order.

    Raises
    ------
    DataError
        If no shard is given, or the shards disagree on the tags or the front end.
    """

    def __init__(self, shard_paths):
        self.shards = [read_index(p) for p in sorted(map(Path, shard_paths))]
        if not self.shards:
            raise DataError("no feature shards given")
        tags = {tuple(s.tags) for s in self.shards}
        if len(tags) != 1:
            raise DataError(f"shards disagree on the tag list: {[s.path.name for s in self.shards]}")
        self.tags = list(tags.pop())
        self.feature_params = self.shards[0].feature_params
        fronts = {s.feature_params.get("front_end", backbones.DEFAULT_FRONT_END) for s in self.shards}
        if len(fronts) != 1:
            raise DataError(f"shards of different front ends ({', '.join(sorted(fronts))}) given "
                            "as one part")
        self.front_end = backbones.front_end(fronts.pop())
        self.patch_shape = (self.front_end.patch_frames, self.front_end.n_mels)
        self.split = self.shards[0].split
        deformations = {s.deformation for s in self.shards}
        if len(deformations) != 1:
            raise DataError("shards of differently deformed audio given as one part: "
                            f"{', '.join(sorted(d or 'clean' for d in deformations))}")
        self.deformation = deformations.pop()
        self.locations = [(si, ci) for si, s in enumerate(self.shards) for ci in range(len(s.clip_ids))]
        self.labels = (np.concatenate([s.labels for s in self.shards])
                       if self.locations else np.zeros((0, len(self.tags)), np.uint8))
        self.clip_ids = [cid for s in self.shards for cid in s.clip_ids]
        self.clip_paths = [p for s in self.shards for p in s.paths]  # relative to the audio
        self.n_frames = np.array([s.offsets[ci + 1] - s.offsets[ci] for si, ci in self.locations
                                  for s in [self.shards[si]]], dtype=np.int64)
        self._files: dict[int, h5py.File] = {}

    def __len__(self) -> int:
        return len(self.locations)

    def digest(self) -> str:
        """What the part holds (`index_digest`), for a training state to be matched against."""
        return index_digest(self.shards)

    @property
    def failed(self) -> list[tuple[str, str, str]]:
        return [row for s in self.shards for row in s.failed]

    def _file(self, si: int) -> h5py.File:
        if si not in self._files:
            self._files[si] = h5py.File(self.shards[si].path, "r")
        return self._files[si]

    def logmel(self, clip: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames [start, stop) of clip number `clip`, as float32."""
        if self.front_end.kind == "waveform":
            raise DataError(f"{self.shards[0].path}: a waveform shard records clip lengths, not "
                            "samples: its backbone's cache job decodes the audio")
        si, ci = self.locations[clip]
        off = self.shards[si].offsets
        lo = off[ci] + start
        hi = off[ci + 1] if stop is None else off[ci] + stop
        return self._file(si)["logmel"][lo:hi].astype(np.float32)

    def eval_patches(self, clip: int) -> np.ndarray:
        """The patches evaluation scores: every non-overlapping patch, (n, frames, n_mels)."""
        return backbones.patches(self.logmel(clip), self.front_end.patch_frames)

    def random_patches(self, clip: int, rng: np.random.Generator):
        """Endless random patches of one clip, at any frame (the training stream's streamer
        body: the clip is read once per activation)."""
        data = self.logmel(clip)
        frames = self.front_end.patch_frames
        last = len(data) - frames
        while True:
            start = int(rng.integers(0, last + 1))
            yield data[start:start + frames]

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
