"""Safe extraction of a zip archive split into byte parts (MTT's `mp3.zip.001..003`).

The parts are read as one seekable stream (no 3 GB concatenated copy on disk). Every member is
checked before anything is written: an absolute path, a `..` component, a symlink or any
name that resolves outside the target folder refuses the whole archive (zip-slip). Files go
to `<target>.partial` and the folder is renamed when every member has been read and its CRC
checked, so a corrupt archive leaves no half-extracted dataset behind.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import sys
import zipfile
from pathlib import Path, PurePosixPath

from ..core.errors import DataError


class JoinedParts(io.RawIOBase):
    """Read-only, seekable view of files laid end to end."""

    def __init__(self, paths):
        self._files = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed in close()
        self._starts, pos = [], 0
        for fh in self._files:
            self._starts.append(pos)
            pos += os.fstat(fh.fileno()).st_size
        self._size, self._pos = pos, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view, done = memoryview(buffer).cast("B"), 0
        while done < len(view) and self._pos < self._size:
            i = max(k for k, start in enumerate(self._starts) if start <= self._pos)
            fh = self._files[i]
            fh.seek(self._pos - self._starts[i])
            n = fh.readinto(view[done:])
            if not n:  # an empty part: step over it
                i += 1
                if i >= len(self._files):
                    break
                self._pos = self._starts[i]
                continue
            done += n
            self._pos += n
        return done

    def close(self) -> None:
        for fh in self._files:
            fh.close()
        super().close()


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why writing this member could escape the target folder, or None if it is safe."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in PurePosixPath(name).parts:
        return "'..' in the path"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    return None


def extract_parts(parts: list[str | Path], target: str | Path) -> int:
    """Extract the zip formed by `parts` (in order) into `target`; returns the file count."""
    target = Path(target)
    label = ", ".join(Path(p).name for p in parts)
    staging = target.with_name(target.name + ".partial")
    try:
        stream = JoinedParts(parts)
    except FileNotFoundError as err:
        raise DataError(f"{err.filename}: archive part not found") from None
    try:
        with stream, zipfile.ZipFile(io.BufferedReader(stream, 1 << 20)) as archive:
            members = archive.infolist()
            for info in members:
                reason = unsafe_reason(info)
                if reason:
                    raise DataError(f"{label}: member {info.filename!r} is unsafe ({reason}); "
                                    f"refusing to extract anything from this archive")
            if staging.exists():
                shutil.rmtree(staging)
            staging.mkdir(parents=True)
            root = staging.resolve()
            from tqdm import tqdm

            files = [m for m in members if not m.is_dir()]
            for info in tqdm(files, desc="extract", unit="file", disable=not sys.stderr.isatty(),
                             mininterval=1.0):
                out = (staging / info.filename).resolve()
                if root not in out.parents:
                    raise DataError(f"{label}: member {info.filename!r} resolves outside {target}")
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as err:
        if staging.exists():
            shutil.rmtree(staging)
        raise DataError(f"{label}: not a valid zip archive ({err}); the parts are kept: delete "
                        f"them to download again, or check that all parts are whole") from None
    except DataError:
        if staging.exists():
            shutil.rmtree(staging)
        raise
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return len(files)
