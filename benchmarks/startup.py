"""snakemake start-up with and without the SLURM executor plugin importable, in the same run.

    python benchmarks/startup.py [WORKDIR]   (default: /tmp/tagbench-bench/startup; ~2 min once)

Times `snakemake --version` and a dry run (`snakemake -n`) of a finished workflow in WORKDIR:
one that holds a finished run (e.g. the repository after `make demo`), or a new folder, where
the tests' `.test/tiny.yaml` is run first. Each is the median of 3 calls, under two conditions:
- baseline: the plugin importable (what `make demo`'s environment held before it became the
  opt-in `slurm` extra), here through PYTHONPATH=.venv/slurm-plugin (`make slurm-plugin`);
- tagbench: the environment `make demo` creates, without the plugin.
The plugin runs `scontrol show config` while it is imported, so the difference only shows
where a SLURM client is installed and no controller answers: run `scripts/local_slurm.sh start`
then `scripts/local_slurm.sh stop` first (the line `condition:` says what held during the run).
Targets: --version <= 2 s and -n <= 3 s in the tagbench condition.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, machine

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
PLUGIN_DIR = Path(sys.prefix) / "slurm-plugin"
TINY = ROOT / ".test" / "tiny.yaml"


def snakemake(workdir: Path, *args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory",
                           str(workdir), *args], capture_output=True, text=True, env=env)


def median_seconds(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def finished_workdir(workdir: Path) -> Path:
    """WORKDIR when its run is finished; a new folder gets the tiny config, run to the end."""
    config = workdir / "config.yaml"
    if config.is_file():
        if "Nothing to be done" not in snakemake(workdir, "-n", "--cores", "1").stdout:
            sys.exit(f"{workdir}: its run is not finished: run snakemake there first")
        return workdir
    workdir.mkdir(parents=True, exist_ok=True)
    config.write_text(TINY.read_text())
    proc = snakemake(workdir, "--cores", "2")
    if proc.returncode != 0:
        sys.exit(f"building the tiny workflow in {workdir} failed:\n{proc.stderr[-2000:]}")
    return workdir


def main() -> None:
    if not (PLUGIN_DIR / "snakemake_executor_plugin_slurm").is_dir():
        sys.exit(f"{PLUGIN_DIR}: no plugin for the baseline: run `make slurm-plugin` first")
    workdir = finished_workdir(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tagbench-bench/startup"))
    scontrol = shutil.which("scontrol")
    controller = subprocess.run(["pgrep", "-x", "slurmctld"], capture_output=True).returncode == 0
    print(machine())
    print(f"condition: scontrol {'at ' + scontrol if scontrol else 'not installed'}, "
          f"slurmctld {'running' if controller else 'not running'}; workdir {workdir}")
    base_env = {**os.environ, "PYTHONPATH": str(PLUGIN_DIR)}
    rows = []
    for label, args, target in (("snakemake --version", ("--version",), 2.0),
                                ("snakemake -n (finished run)", ("-n", "--cores", "1"), 3.0)):
        before = median_seconds(lambda a=args: snakemake(workdir, *a, env=base_env))
        after = median_seconds(lambda a=args: snakemake(workdir, *a))
        rows.append((label, before, after, target))
    print("\n| what | plugin importable (baseline) | tagbench env | ratio | target |\n|---|---|---|---|---|")
    for label, before, after, target in rows:
        verdict = "met" if after <= target else "**not met**"
        print(f"| {label} | {before:.2f} s | {after:.2f} s | {before / after:.1f}x faster | "
              f"<= {target:.0f} s: {verdict} |")


if __name__ == "__main__":
    main()
