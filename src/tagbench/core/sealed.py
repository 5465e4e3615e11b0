"""JSON files sealed with the sha256 of their own content and of the files written beside them
before them (a `metrics.json` and its CSVs; a `split.json` and its parts), so that a digit
flipped on disk is an error naming the file, not a different figure."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .atomic import write_text
from .digests import sha256_of
from .errors import DataError

CONTENT, FILES = "content_sha256", "files_sha256"
REBUILD = "delete it and rerun snakemake (it is rebuilt)"


def _canonical(body: dict) -> str:
    return json.dumps(body, indent=2, sort_keys=True)


def write_sealed(path, body: dict, files=()) -> None:
    """Write `body` as indented JSON with sorted keys, atomically, with the sha256 of its
    content and of `files` (already written, beside it: recorded by name)."""
    body = {k: v for k, v in body.items() if k not in (CONTENT, FILES)}
    if files:
        body[FILES] = {Path(f).name: sha256_of(f) for f in files}
    body[CONTENT] = hashlib.sha256(_canonical(body).encode()).hexdigest()
    write_text(path, _canonical(body) + "\n")


def read_sealed(path, missing: str) -> tuple[dict, dict]:
    """A sealed JSON file's body (without the digests) and its files' sha256 by name.

    Raises
    ------
    DataError
        Naming the file: missing (`missing` says what makes it), unreadable, written without a
        seal, or not what was written.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: not found ({missing})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: corrupted (unreadable: {type(err).__name__}); {REBUILD}") from None
    if not isinstance(raw, dict) or CONTENT not in raw:
        raise DataError(f"{path}: carries no checksum (written by an older tagbench): delete it "
                        "and rerun snakemake")
    digest = raw.pop(CONTENT)
    if hashlib.sha256(_canonical(raw).encode()).hexdigest() != digest:
        raise DataError(f"{path}: corrupted (its content is not what was written: sha256 "
                        f"differs): {REBUILD}")
    return raw, raw.pop(FILES, {})


def check_beside(path, sealed_path, missing: str, files: dict | None = None) -> Path:
    """Check a file against the sha256 the sealed JSON beside it recorded (`files`, when the
    caller has read the seal already); returns its path.

    Raises
    ------
    DataError
        If either file is missing, the seal records no digest of it, or its bytes differ.
    """
    path = Path(path)
    if files is None:
        _, files = read_sealed(sealed_path, missing)
    if not path.is_file():
        raise DataError(f"{path}: not found ({missing})")
    if path.name not in files:
        raise DataError(f"{path}: carries no checksum in {sealed_path} (written by an older "
                        "tagbench): delete the folder and rerun snakemake")
    if sha256_of(path) != files[path.name]:
        raise DataError(f"{path}: corrupted (its bytes are not what was written: sha256 "
                        f"differs): {REBUILD}")
    return path
