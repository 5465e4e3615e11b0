"""The MTT annotation layout every dataset is brought into.

`annotations_final.csv`: tab-separated, every cell quoted, columns `clip_id`, one 0/1 column
per tag, `mp3_path` (relative to the dataset's audio folder), and optionally `track`: the
recording a clip was cut from, which the split keeps on one side (without it, tracks are read
from MTT-style file names). Reading validates it fully, so a
malformed file stops the workflow at the first rule with a line naming the file, the line and
the column, instead of surfacing as a KeyError three stages later.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.atomic import atomic_path
from ..core.errors import DataError

REQUIRED = ("clip_id", "mp3_path")
OPTIONAL = ("track",)


@dataclass(frozen=True)
class Annotations:
    """Clips in file order: ids, relative audio paths, tag names and a (clips, tags) 0/1 matrix."""

    clip_ids: tuple[str, ...]
    paths: tuple[str, ...]
    tags: tuple[str, ...]
    labels: np.ndarray  # uint8 (n_clips, n_tags)
    tracks: tuple[str, ...] | None = None  # the optional `track` column

    def __len__(self) -> int:
        return len(self.clip_ids)


def read_annotations(path: str | Path) -> Annotations:
    """Read and fully validate an MTT-layout `annotations_final.csv`.

    A malformed file fails here, with its line and column, rather than as a KeyError stages later.

    Parameters
    ----------
    path : str or Path
        Tab-separated table: `clip_id`, one 0/1 column per tag, `mp3_path`, optionally `track`.

    Returns
    -------
    Annotations
        Clips in file order; `tracks` is None when the table has no `track` column.

    Raises
    ------
    DataError
        If the file is missing, empty or unreadable, a row's width differs from the header's,
        `clip_id`/`mp3_path` or every tag column is missing, a column repeats, a tag cell is not
        0 or 1, a clip id repeats, or a clip id, path or track is empty.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: annotations file not found")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh, delimiter="\t", quotechar="\"", strict=True))
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: unreadable annotations file ({err})") from None
    if not rows:
        raise DataError(f"{path}: empty annotations file")
    width = len(rows[0])
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != width and row:
            raise DataError(f"{path} line {line}: {len(row)} cells where the header has {width} "
                            "(not a tab-separated MTT annotations file?)")
    frame = pd.DataFrame([r for r in rows[1:] if r], columns=rows[0], dtype=str)
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: header has no {' or '.join(repr(m) for m in missing)} column "
            "(expected tab-separated MTT layout: clip_id, one 0/1 column per tag, mp3_path)")
    tags = [c for c in frame.columns if c not in REQUIRED + OPTIONAL]
    if not tags:
        raise DataError(f"{path}: no tag columns between clip_id and mp3_path")
    if len(set(frame.columns)) != len(frame.columns):
        dup = frame.columns[frame.columns.duplicated()][0]
        raise DataError(f"{path}: column {dup!r} appears twice in the header")

    values = frame[tags].to_numpy(dtype=str)
    bad = ~np.isin(values, ("0", "1"))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"{path} line {row + 2}, column {tags[col]!r}: value "
                        f"{str(values[row, col])!r} is not 0 or 1")
    ids = frame["clip_id"].str.strip()
    if (ids == "").any():
        raise DataError(f"{path} line {int(np.argmax(ids == '')) + 2}: empty clip_id")
    dup = ids.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())
        first = ids.iloc[rows[0]]
        lines = [str(r + 2) for r in rows if ids.iloc[r] == first]
        raise DataError(f"{path}: clip_id {first} appears more than once "
                        f"(lines {', '.join(lines)}); clip ids must be unique")
    paths = frame["mp3_path"].str.strip()
    if (paths == "").any():
        raise DataError(f"{path} line {int(np.argmax(paths == '')) + 2}: empty mp3_path")
    tracks = None
    if "track" in frame.columns:
        tracks = frame["track"].str.strip()
        if (tracks == "").any():
            raise DataError(f"{path} line {int(np.argmax(tracks == '')) + 2}: empty track (the "
                            "track column names the recording of every clip)")
        tracks = tuple(tracks)
    return Annotations(tuple(ids), tuple(paths), tuple(tags), (values == "1").astype(np.uint8),
                       tracks)


def write_annotations(path: str | Path, annotations: Annotations) -> None:
    """Write annotations in MTT's own style (tab-separated, every cell quoted), atomically.

    Columns are `clip_id`, the tags, `track` (only when `annotations.tracks` is set), `mp3_path`.
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        tracks = annotations.tracks
        writer.writerow(["clip_id", *annotations.tags, *(["track"] if tracks else []), "mp3_path"])
        for i, (cid, rel, row) in enumerate(zip(annotations.clip_ids, annotations.paths,
                                                annotations.labels, strict=True)):
            writer.writerow([cid, *(str(int(v)) for v in row), *([tracks[i]] if tracks else []),
                             rel])
