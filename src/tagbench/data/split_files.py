"""Reading a written split: the parts' TSV files and split.json.

What later stages need of a split (features read the parts, the report their sizes and
tracks), apart from the code that makes one (`split`), so that a change to how splits are made
does not count as a change to the stages that only read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import DataError
from ..core.sealed import check_beside, read_sealed

MISSING = "run the split rule first: snakemake --forcerun split"


@dataclass(frozen=True)
class PartTable:
    """One split part as read back by later stages."""

    clip_ids: list[str]
    paths: list[str]
    tags: list[str]
    labels: np.ndarray  # uint8 (n, n_tags)
    tracks: list[str]  # the track each clip belongs to (what the split kept on one side)


def read_part(path: str | Path) -> PartTable:
    """Read one split part (`{part}.tsv`, as `split.write_split` writes it).

    Raises
    ------
    DataError
        If the file is missing, not what the split wrote (checked against the sha256 that
        `split.json` beside it records), or its header does not start clip_id, track, mp3_path.
    """
    path = Path(path)
    check_beside(path, path.parent / "split.json", MISSING)
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith("clip_id\ttrack\tmp3_path"):
        raise DataError(f"{path}: not a tagbench split file (header must start clip_id, track, mp3_path)")
    tags = lines[0].split("\t")[3:]
    ids, paths, rows, tracks = [], [], [], []
    for line in lines[1:]:
        cells = line.split("\t")
        ids.append(cells[0])
        tracks.append(cells[1])
        paths.append(cells[2])
        rows.append([int(c) for c in cells[3:]])
    labels = np.array(rows, dtype=np.uint8).reshape(len(ids), len(tags))
    return PartTable(ids, paths, tags, labels, tracks)


def read_provenance(split_dir: str | Path) -> dict:
    """Read `split.json` of a split folder.

    Raises
    ------
    DataError
        If it is missing, or not what the split wrote (`core.sealed`).
    """
    return read_sealed(Path(split_dir) / "split.json", MISSING)[0]
