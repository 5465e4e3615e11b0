"""Shared helpers for the benchmarks: the machine line, demo data of a given size, peak RSS."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def machine() -> str:
    from importlib.metadata import version

    libs = ", ".join(f"{p} {version(p)}" for p in ("numpy", "librosa", "soundfile", "soxr", "h5py",
                                                    "pescador", "tensorflow", "keras", "snakemake"))
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; {libs}")


def best_of(n, fn) -> float:
    """The shortest of n timed calls of fn (seconds)."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def mtt_like_waves(n: int, seconds: float = 29.1, rate: int = 16000):
    """MTT-like clips as float64 waveforms: four slowly beating tones and some noise, seeded."""
    import numpy as np

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    for _ in range(n):
        notes = sum(np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t + k))
                    for k, f in enumerate(rng.uniform(80, 2000, 4)))
        yield 0.15 * notes + 0.02 * rng.standard_normal(t.size)


def demo_shards(workdir: Path, n_tracks: int, clips_per_track: int = 3, clip_seconds: float = 4.0,
                shards=(("train", 2), ("valid", 1), ("test", 1)), dtype: str = "float16",
                front_end: str = "vggish"):
    """A seeded demo dataset of n_tracks x clips_per_track clips, split and extracted in-process.
    Returns {part: [shard paths]} and the dataset folder; reuses what an earlier call made."""
    from tagbench.data.annotations import read_annotations
    from tagbench.data.demo import make_demo
    from tagbench.data.split import make_split, write_split
    from tagbench.features.shards import extract_shard
    from tagbench.settings.config import DemoSettings, FeatureSettings, SplitSettings

    data = workdir / "dataset"
    if not (data / "annotations_final.csv").is_file():
        make_demo(data, DemoSettings(n_tracks=n_tracks, clips_per_track=clips_per_track,
                                     clip_seconds=clip_seconds, seed=0))
    ann = read_annotations(data / "annotations_final.csv")
    if not (workdir / "split" / "test.tsv").is_file():
        write_split(make_split(ann, SplitSettings(valid_fraction=0.15)), ann, workdir / "split")
    out = {}
    for part, n in shards:
        folder = workdir / dtype if front_end == "vggish" else workdir / f"{front_end}-{dtype}"
        out[part] = [folder / part / f"{i:03d}.h5" for i in range(n)]
        for i, path in enumerate(out[part]):
            if not path.is_file():
                extract_shard(workdir / "split" / f"{part}.tsv", data / "audio", i, n, path,
                              FeatureSettings(dtype=dtype, front_end=front_end))
    return out, data


def peak_rss_mb(cmd: list[str], cwd=None) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of a command, measured in a fresh child process."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
             "time.perf_counter() - t, rc)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], cwd=cwd, capture_output=True,
                         text=True, check=True).stdout.split()
    if out[2] != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed")
    return int(out[0]) / 1024, float(out[1])


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def own_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
