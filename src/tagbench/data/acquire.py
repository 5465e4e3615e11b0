"""Getting the real data: MagnaTagATune (backbones' weights: `backbones.weight_steps`).

Checksums: the MTT SHA-256 values are the published ones (`layout.MTT_SHA256`); `mtt.sha256`
in config overrides them (tests serve their own files).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..core.atomic import atomic_path
from ..core.download import download, verify_sha256
from ..core.errors import DataError
from ..core.layout import MTT_FILES, MTT_SHA256
from ..settings.config import MttSettings


def _source(settings: MttSettings, name: str) -> str:
    return " (config mtt.sha256)" if name in settings.sha256 else " (published MTT checksum)"


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def download_mtt_file(name: str, dest: str | Path, settings: MttSettings) -> str:
    if name not in MTT_SHA256:
        raise DataError(f"{name}: not an MTT file (expected one of {', '.join(MTT_FILES)})")
    sha = settings.expected_sha256(name)
    return download([_join(m, name) for m in settings.mirrors], dest, sha, settings.download_settings,
                    hint=f" (expected sha256 {sha})")


def prepare_mtt_audio(parts: list[str | Path], target: str | Path, settings: MttSettings) -> int:
    """Verify the zip parts (hand-placed ones too) and extract them safely into `target`."""
    from .archive import extract_parts

    for part in parts:
        path = Path(part)
        if not path.is_file():
            raise DataError(f"{path}: MTT archive part not found")
        verify_sha256(path, settings.expected_sha256(path.name), _source(settings, path.name))
    return extract_parts(parts, target)


def prepare_mtt_table(src: str | Path, dest: str | Path, settings: MttSettings) -> None:
    """Verify a downloaded MTT csv and put it where the workflow reads it."""
    from .annotations import read_annotations

    src = Path(src)
    verify_sha256(src, settings.expected_sha256(src.name), _source(settings, src.name))
    if src.name == "annotations_final.csv":
        read_annotations(src)  # the strict parser: fails here, naming the line, if malformed
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


__all__ = ["download_mtt_file", "prepare_mtt_audio", "prepare_mtt_table"]
