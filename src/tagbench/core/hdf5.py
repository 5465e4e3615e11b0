"""Checksummed HDF5. Every dataset tagbench writes carries HDF5's fletcher32 filter, so a
corrupted chunk fails its read; strings are stored fixed-length (HDF5 cannot filter
variable-length data). Readers verify a whole file when they open it (`verify`), so a
corruption stops the job at once with one line, not midway through training."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from .errors import DataError


def strings(values) -> np.ndarray:
    """Python strings as fixed-length UTF-8 (at least one byte wide), a type the checksum can
    filter; `asstr()` reads them back as str."""
    encoded = [str(v).encode("utf-8") for v in values]
    width = max([1, *map(len, encoded)])
    return np.array(encoded, dtype=h5py.string_dtype("utf-8", width))


def string_fields(rows, names) -> np.ndarray:
    """Rows of strings as a compound array of fixed-length UTF-8 fields `names`."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    encoded = [[str(v).encode("utf-8") for v in col] for col in columns]
    dtype = np.dtype([(n, h5py.string_dtype("utf-8", max([1, *map(len, col)])))
                      for n, col in zip(names, encoded, strict=True)])
    return np.array(list(zip(*encoded, strict=True)) if rows else [], dtype=dtype)


def create(group, name: str, data=None, *, shape=None, dtype=None, maxshape=None,
           chunks=None):
    """`create_dataset` with the fletcher32 checksum. An empty dataset gets one-row chunks
    (HDF5 filters need chunks, and chunks may not be empty)."""
    if data is not None:
        data = np.asarray(data)
        shape = data.shape if shape is None else shape
    if chunks is None and shape is not None and 0 in shape:
        chunks = tuple(max(1, d) for d in shape)
        maxshape = maxshape or tuple(None if d == 0 else d for d in shape)
    return group.create_dataset(name, shape=shape, dtype=dtype, data=data, maxshape=maxshape,
                                chunks=chunks if chunks is not None else True, fletcher32=True)


def verify(h5: h5py.File, path) -> None:
    """Read every chunk of every dataset once, so HDF5 checks its checksum.

    Raises
    ------
    DataError
        Naming the file and the fix, if a chunk or the file's structure is corrupted, or a
        dataset carries no checksum (written by a tagbench before checksums).
    """
    def check(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        if not obj.fletcher32:
            raise DataError(f"{path}: dataset {name} carries no checksum (written by an older "
                            "tagbench): delete it and rerun snakemake (it is rebuilt)")
        if obj.size == 0:
            return
        for block in obj.iter_chunks():
            obj[block]

    try:
        h5.visititems(check)
    except (OSError, RuntimeError) as err:  # a failed checksum; a broken object header
        raise DataError(f"{Path(path)}: corrupted ({str(err).splitlines()[0]}): delete it and "
                        "rerun snakemake (it is rebuilt)") from None
