"""The demo DAG through a real one-node SLURM cluster (scripts/local_slurm.sh), fake GPU included.

Skipped, with the reason, only where the cluster cannot be had (not root, no apt, no plugin, the
packages not installable: the start script's exit 3), and never under CI: there a skip fails.
Daemons this test started are stopped by PID at the end; a cluster already running is left as is.
"""

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPORT, ROOT, SNAKEMAKE, TINY, write_config

pytestmark = pytest.mark.slurm
SCRIPT = ROOT / "scripts" / "local_slurm.sh"


# `make slurm-plugin` installs the plugin here, outside site-packages, so that only the snakemake
# calls of this test import it (it runs `scontrol` on import: 10 s with no controller answering).
PLUGIN_DIR = Path(sys.prefix) / "slurm-plugin"


def plugin_env() -> dict | None:
    """The environment for a snakemake that can submit to SLURM, or None without the plugin."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if (PLUGIN_DIR / "snakemake_executor_plugin_slurm").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_DIR), env.get("PYTHONPATH")]))
        return env
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return None
    return env


def daemons_running() -> bool:
    proc = subprocess.run([str(SCRIPT), "status"], capture_output=True, text=True)
    return proc.returncode == 0 and "slurmctld running" in proc.stdout


def skip_unless_ci(reason: str):
    """Skip on a machine that cannot have a SLURM cluster; under CI (where `make test` installs
    everything the test needs, as root) the same reason fails the test instead."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason} (CI is set: the SLURM test must run, not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        skip_unless_ci("SLURM test needs root to install and start slurm-wlm")
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        skip_unless_ci("SLURM test needs Debian's slurm-wlm packages (no apt-get here)")
    if plugin_env() is None:
        skip_unless_ci(f"snakemake-executor-plugin-slurm is in neither the environment nor "
                       f"{PLUGIN_DIR} (make slurm-plugin)")
    was_running = daemons_running()
    proc = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=600)
    if proc.returncode == 3:  # the script's own code: the packages cannot be installed here
        skip_unless_ci(f"SLURM could not be installed: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    yield
    if not was_running:
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, timeout=120)


def test_only_packages_that_cannot_be_installed_are_a_reason_to_skip(tmp_path):
    """The start script exits 3 only when apt cannot install slurm-wlm (the one failure the test
    may skip on, outside CI); any later start-up failure is an ordinary failure."""
    if os.geteuid() != 0:
        pytest.skip("the start script runs as root only")
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, body in (("dpkg-query", "exit 1"), ("apt-get", '[ "$1" = update ] || exit 100')):
        (fake / name).write_text(f"#!/bin/sh\n{body}\n")
        (fake / name).chmod(0o755)
    proc = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"})
    assert proc.returncode == 3, proc.stderr
    assert "apt-get could not install munge slurmctld slurmd slurm-client" in proc.stderr


def test_a_reason_to_skip_fails_the_test_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set: the SLURM test must run"):
        skip_unless_ci("no SLURM here")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        skip_unless_ci("no SLURM here")


def test_start_script_is_idempotent(cluster):
    proc = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "apt-get install" not in proc.stderr and "config written" not in proc.stderr
    assert re.search(r"^tagbench\*?\s+up.*\bidle\b", proc.stdout, re.M)


def test_demo_dag_runs_through_sbatch_with_a_fake_gpu(cluster, tmp_path):
    config = copy.deepcopy(TINY)
    config["train"]["epochs"] = 1
    config["train"]["seeds"] = [0]
    config["variants"] = {"on_any_gpu": {"pooling": "avg", "gpu": 1},
                          "on_testgpu": {"pooling": "autopool", "gpu": 1, "gpu_model": "testgpu"}}
    write_config(tmp_path, config)
    proc = subprocess.run(
        [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--workflow-profile", str(ROOT / "profiles" / "slurm"), "--jobs", "4", "--verbose",
         "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
         "--slurm-keep-successful-logs"],
        capture_output=True, text=True, timeout=1200, env=plugin_env())
    out = proc.stdout + proc.stderr
    (tmp_path / "snakemake.out").write_text(out)
    assert proc.returncode == 0, out[-4000:]
    for name in REPORT:
        assert (tmp_path / "results/demo/report" / name).stat().st_size > 0

    sbatch = [line for line in out.splitlines() if "sbatch call:" in line]
    by_rule = {rule: [s for s in sbatch if f"rule_{rule}" in s]
               for rule in ("extract", "cache_backbone", "train", "evaluate", "summarize",
                            "baseline")}
    assert len(by_rule["extract"]) == 4 and len(by_rule["evaluate"]) == 2, sbatch
    assert len(by_rule["cache_backbone"]) == 4 and len(by_rule["baseline"]) == 1, sbatch
    assert len(by_rule["summarize"]) == 2, sbatch
    train = sorted(by_rule["train"])
    assert len(train) == 2
    assert any("--gpus=1" in s for s in train) and any("--gpus=testgpu:1" in s for s in train)
    assert all("--mem 16000" in s or "--mem=16000" in s for s in train)
    # no rule sets a partition or account: the plugin fills in the cluster's default partition
    assert all(" -p tagbench " in s and " -A " not in s for s in sbatch)
    # the jobs really ran under SLURM: their logs, and the controller still knows them
    logs = list((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.parent.parent.name for p in logs} >= {"rule_extract", "rule_train", "rule_evaluate"}
    ids = re.findall(r"SLURM jobid (\d+)", out)
    assert len(ids) == len(sbatch) == 15
    shown = subprocess.run(["scontrol", "show", "job", "-o", ids[-1]], capture_output=True, text=True)
    assert "JobState=COMPLETED" in shown.stdout, shown.stdout + shown.stderr
    # local rules (demo, split, report) did not go to the cluster
    assert not any(f"rule_{r}" in s for s in sbatch
                   for r in ("make_demo", "split", "report_compare", "leaderboard"))
