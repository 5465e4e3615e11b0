"""The 3/4-1/4 train/test split, a validation part carved from train, and the tag set.

Clips of one track (MTT: same folder and file name before the final `-start-end`) always stay
on one side; `check_no_track_leak` proves it for every split written. Output TSVs keep the
annotations' clip order and are byte-identical for the same input and seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from .annotations import Annotations
from .atomic import write_text
from .config import SplitSettings
from .errors import DataError

TRAIN_FOLDERS = set("0123456789ab")
TEST_FOLDERS = set("cdef")
_SEGMENT = re.compile(r"^(?P<track>.+)-\d+-\d+$")


def track_of(rel_path: str) -> str:
    """MTT track key: folder + file stem without its final `-start-end` (seconds)."""
    p = PurePosixPath(rel_path.replace("\\", "/"))
    m = _SEGMENT.match(p.stem)
    return str(p.parent / (m.group("track") if m else p.stem))


@dataclass(frozen=True)
class Split:
    parts: dict[str, np.ndarray]  # part -> row indices into the annotations, ascending
    tags: tuple[str, ...]
    tag_columns: np.ndarray  # column indices into annotations.labels, in `tags` order
    tracks: tuple[str, ...]


def _group_fraction(tracks: np.ndarray, candidates: np.ndarray, fraction: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Rows (from candidates) of a random set of whole tracks holding ~fraction of the clips."""
    unique = np.unique(tracks[candidates])
    order = rng.permutation(len(unique))
    counts = {t: 0 for t in unique}
    for t in tracks[candidates]:
        counts[t] += 1
    target = fraction * len(candidates)
    chosen, total = set(), 0
    for i in order:
        if total >= target:
            break
        chosen.add(unique[i])
        total += counts[unique[i]]
    return candidates[np.isin(tracks[candidates], list(chosen))]


def make_split(ann: Annotations, settings: SplitSettings, annotations_path: str = "") -> Split:
    tracks = np.array([track_of(p) for p in ann.paths], dtype=object)
    rows = np.arange(len(ann))
    rng = np.random.default_rng(settings.seed)
    if settings.method == "folder":
        folders = np.array([PurePosixPath(p).parts[0].lower() if "/" in p else "" for p in ann.paths])
        unknown = sorted(set(folders) - TRAIN_FOLDERS - TEST_FOLDERS)
        if unknown:
            raise DataError(
                f"{annotations_path}: split.method 'folder' needs MTT's hex folders 0-f as the "
                f"first path component, found {unknown[0]!r}; set split.method: group")
        test = rows[np.isin(folders, list(TEST_FOLDERS))]
    else:
        test = _group_fraction(tracks, rows, settings.test_fraction, rng)
    train_all = np.setdiff1d(rows, test)
    if len(train_all) == 0 or len(test) == 0:
        raise DataError(f"{annotations_path}: the split leaves no clips in "
                        f"{'train' if len(train_all) == 0 else 'test'}; add clips or use another method")
    valid = _group_fraction(tracks, train_all, settings.valid_fraction, rng)
    train = np.setdiff1d(train_all, valid)
    if len(train) == 0:
        raise DataError(f"{annotations_path}: split.valid_fraction leaves no training clips")
    parts = {"train": train, "valid": np.sort(valid), "test": np.sort(test)}
    check_no_track_leak(tracks, parts)

    positives = ann.labels[train].sum(axis=0, dtype=np.int64)  # signed: ranked by -count below
    present = np.flatnonzero(positives > 0)
    if settings.top_n is None:
        columns = present
    else:
        # Most frequent first; ties by column order, so the choice is deterministic.
        ranked = sorted(present, key=lambda c: (-positives[c], c))
        columns = np.array(sorted(ranked[: settings.top_n]), dtype=int)
    if len(columns) == 0:
        raise DataError(f"{annotations_path}: no tag has a positive clip in the train part")
    return Split(parts, tuple(ann.tags[c] for c in columns), np.asarray(columns), tuple(tracks))


def check_no_track_leak(tracks: np.ndarray, parts: dict[str, np.ndarray]) -> None:
    seen: dict[str, str] = {}
    for part, idx in parts.items():
        for t in set(tracks[idx]):
            if seen.setdefault(t, part) != part:
                raise DataError(f"track {t!r} is in both {seen[t]} and {part}: the split leaks")


def write_split(split: Split, ann: Annotations, out_dir: str | Path) -> None:
    """`{part}.tsv` (clip_id, track, mp3_path, one 0/1 column per selected tag) + tags.txt."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    header = "\t".join(["clip_id", "track", "mp3_path", *split.tags]) + "\n"
    for part, idx in split.parts.items():
        lines = [header]
        labels = ann.labels[np.ix_(idx, split.tag_columns)]
        for r, row in zip(idx, labels, strict=True):
            cells = [ann.clip_ids[r], split.tracks[r], ann.paths[r], *map(str, row)]
            lines.append("\t".join(cells) + "\n")
        write_text(out / f"{part}.tsv", "".join(lines))
    write_text(out / "tags.txt", "".join(t + "\n" for t in split.tags))


@dataclass(frozen=True)
class PartTable:
    """One split part as read back by later stages."""

    clip_ids: list[str]
    paths: list[str]
    tags: list[str]
    labels: np.ndarray  # uint8 (n, n_tags)


def read_part(path: str | Path) -> PartTable:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: split file not found (run the split rule first)")
    lines = path.read_text().splitlines()
    if not lines or not lines[0].startswith("clip_id\ttrack\tmp3_path"):
        raise DataError(f"{path}: not a tagbench split file (header must start clip_id, track, mp3_path)")
    tags = lines[0].split("\t")[3:]
    ids, paths, rows = [], [], []
    for line in lines[1:]:
        cells = line.split("\t")
        ids.append(cells[0])
        paths.append(cells[2])
        rows.append([int(c) for c in cells[3:]])
    labels = np.array(rows, dtype=np.uint8).reshape(len(ids), len(tags))
    return PartTable(ids, paths, tags, labels)
