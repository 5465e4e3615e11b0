"""Scaling: memory at 200 vs 2,000 clips, parallel extraction, no-op rerun, disk per clip.

    python benchmarks/scale.py [WORKDIR]     (default: /tmp/tagbench-bench/scale; ~12 min)

Runs the real workflow (snakemake) on two demo datasets of 201 and 2,001 clips of 4 s, with
the same shard counts (so shards are 10x larger in the big one) and a one-variant, one-epoch
training, and reads each job's peak RSS from Snakemake's benchmark files. Prints:
- peak RSS of extract / train / evaluate jobs, big over small (target <= 1.2: flat);
- extraction wall time with --cores 2 over --cores 1 on the big dataset (target >= 1.8x);
- a no-op `snakemake` rerun on the big dataset (target < 10 s);
- bytes of stored features per clip, scaled to MTT's 29.1 s clips, float16 vs float32, and
  the test ROC-AUC of the same model on float16 vs float32 features.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml
from common import ROOT, machine

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SHARDS = {"train": 8, "valid": 2, "test": 4}
JOBS = {"extract": "extract (largest shard)", "train": "train", "evaluate": "evaluate"}


def config(n_tracks: int) -> dict:
    return {
        "dataset": "demo",
        "demo": {"n_tracks": n_tracks, "clips_per_track": 3, "clip_seconds": 4.0, "seed": 0},
        "split": {"valid_fraction": 0.15},
        "features": {"shards": SHARDS},
        "train": {"seeds": [0], "epochs": 1, "patches_per_clip": 2, "finetune": False,
                  "threads": 2},
        "variants": {"vggish_2fc": {"pooling": "avg", "head": [256]}},
    }


def snakemake(work: Path, *args) -> float:
    t0 = time.perf_counter()
    subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work),
                    "--quiet", "all", *args], check=True, capture_output=True)
    return time.perf_counter() - t0


def feature_targets() -> list[str]:
    return [f"results/demo/features/vggish/{p}/{i:03d}.h5" for p, n in SHARDS.items() for i in range(n)]


def max_rss(work: Path, pattern: str) -> float:
    import pandas as pd

    return max(pd.read_csv(f, sep="\t")["max_rss"].max()
               for f in (work / "results/demo/benchmarks").glob(pattern))


def main() -> None:
    base = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tagbench-bench/scale")
    rows, runs = {}, {}
    for n_tracks in (67, 667):
        work = base / f"clips-{3 * n_tracks}"
        work.mkdir(parents=True, exist_ok=True)
        (work / "config.yaml").write_text(yaml.safe_dump(config(n_tracks)))
        snakemake(work, "--cores", "2", "results/demo/split/tags.txt")
        if n_tracks == 667:  # parallel extraction, from scratch each time
            for cores in ("1", "2"):
                shutil.rmtree(work / "results/demo/features", ignore_errors=True)
                runs[cores] = snakemake(work, "--cores", cores, *feature_targets())
        snakemake(work, "--cores", "2")
        rows[3 * n_tracks] = {job: max_rss(work, f"{job}/**/*.tsv") for job in JOBS}
        if n_tracks == 667:
            noop = snakemake(work, "--cores", "2")
            big = work
    small_n, big_n = sorted(rows)

    # disk and the float16 choice, on the big dataset's test part
    from tagbench.features.shards import FeatureStore

    f16 = FeatureStore(sorted((big / "results/demo/features/vggish/test").glob("*.h5")))
    frames = int(f16.n_frames.sum())
    size16 = sum(p.stat().st_size for p in (big / "results/demo/features/vggish/test").glob("*.h5"))
    spec32 = json.dumps({"dtype": "float32", "resample": "soxr_hq"})
    out32 = big / "f32"
    for i in range(SHARDS["test"]):
        subprocess.run([sys.executable, "-m", "tagbench.cli", "extract",
                        str(big / "results/demo/split/test.tsv"), "--audio-root",
                        str(big / "resources/demo/audio"), "--shard", str(i), "--n-shards",
                        str(SHARDS["test"]), "--out", str(out32 / f"{i:03d}.h5"), "--spec", spec32],
                       check=True, capture_output=True)
    size32 = sum(p.stat().st_size for p in out32.glob("*.h5"))
    model = big / "results/demo/models/vggish_2fc/seed0/model.keras"
    auc = {}
    for name, shards in (("float16", sorted((big / "results/demo/features/vggish/test").glob("*.h5"))),
                         ("float32", sorted(out32.glob("*.h5")))):
        subprocess.run([sys.executable, "-m", "tagbench.cli", "evaluate", "--model", str(model),
                        "--shards", *map(str, shards), "--out-dir", str(big / f"eval-{name}"),
                        "--spec", '{"batch_size": 256}'], check=True, capture_output=True)
        auc[name] = json.loads((big / f"eval-{name}" / "metrics.json").read_text())["roc_auc_macro"]
    mtt_frames = 1 + (int(29.1 * 16000) - 400) // 160

    print(machine())
    print(f"datasets: {small_n} and {big_n} clips of 4 s; shards {SHARDS}")
    print("| what | figure | baseline | ratio | target |\n|---|---|---|---|---|")
    for job, label in JOBS.items():
        a, b = rows[small_n][job], rows[big_n][job]
        print(f"| peak RSS, {label} | {b:,.0f} MB at {big_n} clips | {a:,.0f} MB at {small_n} | "
              f"{b / a:.2f} | <= 1.2 |")
    print(f"| extraction of {big_n} clips, wall | {runs['2']:.1f} s with --cores 2 | "
          f"{runs['1']:.1f} s with --cores 1 | {runs['1'] / runs['2']:.2f}x | >= 1.8x |")
    print(f"| no-op rerun, {big_n} clips | {noop:.1f} s | | | < 10 s |")
    per16, per32 = size16 / frames * mtt_frames, size32 / frames * mtt_frames
    print(f"| disk per 29.1 s clip | {per16 / 1e3:,.0f} KB float16 (MTT {per16 * 25863 / 1e9:.1f} GB) "
          f"| {per32 / 1e3:,.0f} KB float32 (MTT {per32 * 25863 / 1e9:.1f} GB) | "
          f"{per16 / per32:.2f} | MTT <= 10 GB |")
    print(f"| test ROC-AUC, same model | {auc['float16']:.4f} on float16 | {auc['float32']:.4f} "
          f"on float32 | {auc['float16'] - auc['float32']:+.4f} | no measurable loss |")


if __name__ == "__main__":
    main()
