"""Atomic file writes: a reader (or a killed job's rerun) sees the old file or the whole new one.

Every output file of a stage goes to a hidden temporary sibling and is renamed into place when
complete; a failure removes the temporary file and leaves any earlier file untouched.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def temporary_sibling(path: str | Path) -> Path:
    """A hidden name next to `path` for this process (the suffix is kept: Keras needs it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a hidden temporary path next to `path`; rename it to `path` when the block succeeds.

    The caller writes the temporary file inside the `with` block. On an error it is removed and
    any earlier `path` is left untouched. Missing parent folders are created.
    """
    path = Path(path)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` atomically (see `atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
