"""Reading a written split: the parts' TSV files and split.json.

What later stages need of a split (features read the parts, the report their sizes and
tracks), apart from the code that makes one (`split`), so that a change to how splits are made
does not count as a change to the stages that only read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import DataError


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
        If the file is missing or its header does not start clip_id, track, mp3_path.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: split file not found (run the split rule first)")
    lines = path.read_text().splitlines()
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

    Returns
    -------
    dict
        The split's provenance; {} for a split written before split.json existed.
    """
    path = Path(split_dir) / "split.json"
    return json.loads(path.read_text()) if path.is_file() else {}
