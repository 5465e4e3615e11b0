"""The cost of HDF5 checksums: a feature shard of MTT's size written and read back with and
without the fletcher32 filter, in the same run.

MTT's standard extraction is 78 shards of ~330 clips of 29.1 s: ~960,000 frames x 64 bands of
float16 (~120 MB) per shard, in tagbench's (4096, 64) chunks. "read" is a whole pass over the
data, as `core.hdf5.verify` makes on open. Prints seconds (best of 3) and the ratio with/without.

    .venv/bin/python benchmarks/checksums.py [FRAMES]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
from common import best_of, machine


def main(frames: int = 960_000) -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(frames, 64)).astype(np.float16)
    out = Path(tempfile.mkdtemp())
    rows = {}
    for checksum in (False, True):
        path = out / f"shard-{checksum}.h5"

        def write(path=path, checksum=checksum):
            with h5py.File(path, "w") as h5:
                h5.create_dataset("logmel", data=data, chunks=(4096, 64), maxshape=(None, 64),
                                  fletcher32=checksum)

        def read(path=path):
            with h5py.File(path, "r") as h5:
                ds = h5["logmel"]
                for block in ds.iter_chunks():
                    ds[block]

        rows[checksum] = (best_of(3, write), best_of(3, read), path.stat().st_size)
        path.unlink()
    print(machine())
    print(f"feature shard of {frames:,} frames x 64 float16 ({data.nbytes / 1e6:.0f} MB):")
    for checksum, (w, r, size) in rows.items():
        print(f"  {'fletcher32' if checksum else 'no checksum':<12} write {w:6.3f} s  "
              f"read {r:6.3f} s  file {size / 1e6:7.1f} MB")
    (w0, r0, s0), (w1, r1, s1) = rows[False], rows[True]
    print(f"  ratio with/without: write {w1 / w0:.2f}x, read {r1 / r0:.2f}x, size {s1 / s0:.4f}x")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
