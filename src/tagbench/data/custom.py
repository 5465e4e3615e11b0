"""A user's own dataset in MTT layout: validated annotations plus a link to their audio folder."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import DataError
from .annotations import Annotations, read_annotations, write_annotations


def import_custom(annotations: str | Path, audio_dir: str | Path,
                  out: str | Path) -> tuple[Annotations, list]:
    """Import a user's MTT-layout dataset into `out`.

    Validates the table, links `audio_dir` as `out/audio` (replacing an old link) and writes the
    table as `out/annotations_final.csv`.

    Parameters
    ----------
    annotations : str or Path
        The user's annotations table (see `read_annotations`).
    audio_dir : str or Path
        The folder the table's `mp3_path` entries are relative to.
    out : str or Path
        The dataset folder to write.

    Returns
    -------
    tuple of (Annotations, list)
        The annotations, and the listed paths with no file (extraction records them as failed).

    Raises
    ------
    DataError
        If `audio_dir` is not a folder, the table is invalid, or none of its files exist.
    """
    audio = Path(audio_dir).resolve()
    if not audio.is_dir():
        raise DataError(f"{audio_dir}: audio folder not found (config key custom.audio_dir)")
    ann = read_annotations(annotations)
    missing = [p for p in ann.paths if not (audio / p).is_file()]
    if len(missing) == len(ann.paths):
        raise DataError(f"{annotations}: none of the mp3_path entries exist under {audio} "
                        f"(first: {missing[0]}); check custom.audio_dir")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    link = out / "audio"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(audio, target_is_directory=True)
    write_annotations(out / "annotations_final.csv", ann)
    return ann, missing
