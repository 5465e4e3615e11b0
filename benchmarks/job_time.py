"""Where a finished run's job time goes: per rule, start-up (a fresh `tagbench` process importing
what the job imports, TensorFlow started where the job starts it) against the job's own work.

    python benchmarks/job_time.py [RESULTS_DIR]   (default: results/demo; ~1 min)

Reads the run's Snakemake benchmark files (`RESULTS_DIR/benchmarks/**.tsv`: each job's wall
seconds) and, in the same run, times each rule's start-up as the median of 3 fresh interpreters
that import the job's stage module (and, for the jobs that run a network, start TensorFlow the
way `core.runtime.configure_tensorflow` does). Work is a job's seconds less that start-up. The
jobs of a deformed test part (config robustness) are their own row. What #31 asks to cut first is
what this prints as start-up.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, machine

# rule (its benchmark folder) -> what its verb imports, and whether it starts TensorFlow
STARTUP = {
    "make_demo": ("tagbench.data.demo", False),
    "split": ("tagbench.data.split", False),
    "extract": ("tagbench.features.shards", False),
    "cache_backbone": ("tagbench.models.backbone_cache", True),
    "train": ("tagbench.models.train", True),
    # a frozen variant's head is scored in NumPy (a fine-tuned one would start TensorFlow)
    "evaluate": ("tagbench.evaluation.evaluate, tagbench.models.head", False),
    "summarize": ("tagbench.evaluation.replicates", False),
    "baseline": ("tagbench.evaluation.baseline", False),
    "report_curves": ("tagbench.reporting.report", False),
    "report_compare": ("tagbench.reporting.report", False),
    "report_robustness": ("tagbench.reporting.robustness", False),
}


def startup_seconds(module: str, tensorflow: bool) -> float:
    """Median wall seconds of a fresh interpreter that imports `module` (and the CLI, as the
    `tagbench` command does), and starts TensorFlow with 1 thread if the job does."""
    code = f"import tagbench.cli, {module}"
    if tensorflow:
        code += ("; from tagbench.core.runtime import configure_tensorflow; "
                 "configure_tensorflow(1); import keras; keras.ops.zeros((1,))")
    times = []
    for _ in range(3):  # the whole process, interpreter start included, as a job pays it
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "src"),
                            "TF_CPP_MIN_LOG_LEVEL": "3"})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def dag_wall(results: Path) -> float:
    """Seconds from the first job's start to the last job's end: each benchmark file is written
    as its job ends, so a job started at the file's mtime less its seconds."""
    spans = [(tsv.stat().st_mtime, float(tsv.read_text().splitlines()[1].split("\t")[0]))
             for tsv in (results / "benchmarks").rglob("*.tsv")
             if len(tsv.read_text().splitlines()) >= 2]
    return max(end for end, _ in spans) - min(end - s for end, s in spans)


def jobs(results: Path) -> dict[str, list[float]]:
    """Rule (deformed parts apart) -> each job's wall seconds, from its benchmark file."""
    found: dict[str, list[float]] = {}
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        rule = tsv.relative_to(results / "benchmarks").parts[0].removesuffix(".tsv")
        if "~" in tsv.name or "=" in tsv.name:
            rule += " (deformed)"
        lines = tsv.read_text().splitlines()
        if len(lines) >= 2:
            found.setdefault(rule, []).append(float(lines[1].split("\t")[0]))
    return found


def main(results: Path) -> None:
    print(machine())
    runs = jobs(results)
    if not runs:
        sys.exit(f"{results}: no benchmark files (run snakemake there first)")
    print(f"{results}: {sum(map(len, runs.values()))} jobs, "
          f"{sum(map(sum, runs.values())):.0f} s of job wall time")
    print("| rule | jobs | total s | mean s | start-up s | work s (mean) | start-up share |")
    print("|---|---|---|---|---|---|---|")
    total_startup = 0.0
    for rule, seconds in sorted(runs.items(), key=lambda kv: -sum(kv[1])):
        module, tensorflow = STARTUP.get(rule.removesuffix(" (deformed)"), (None, False))
        start = startup_seconds(module, tensorflow) if module else float("nan")
        mean = statistics.mean(seconds)
        share = min(start, mean) * len(seconds) / sum(seconds) if module else float("nan")
        total_startup += min(start, mean) * len(seconds) if module else 0.0
        print(f"| {rule} | {len(seconds)} | {sum(seconds):.0f} | {mean:.1f} | {start:.1f} | "
              f"{max(mean - start, 0):.1f} | {share:.0%} |")
    total = sum(map(sum, runs.values()))
    wall = dag_wall(results)
    print(f"start-up in all: {total_startup:.0f} s of {total:.0f} s")
    print(f"DAG wall, first job's start to last job's end: {wall:.0f} s "
          f"({total / wall:.2f} jobs at a time on average)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results" / "demo")
