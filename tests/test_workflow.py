"""The real snakemake on a tiny config: the whole DAG through the report, reruns, targeting."""

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import ROOT

pytestmark = pytest.mark.workflow
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = {
    "dataset": "demo",
    "demo": {"n_tracks": 16, "clips_per_track": 2, "clip_seconds": 1.5, "seed": 1},
    "split": {"valid_fraction": 0.2},
    "features": {"shards": {"train": 2, "valid": 1, "test": 1}},
    "train": {"epochs": 2, "batch_size": 8, "n_active": 4, "finetune": False,
              "patches_per_clip": 1, "threads": 1, "head": [8]},
    "variants": {"small_avg": {"pooling": "avg"}, "small_autopool": {"pooling": "autopool"}},
}
REPORT = ["curves.png", "comparison.csv", "comparison.md", "comparison.png", "per_tag_auc.png",
          "overview.rst"]


def snakemake(workdir, *args):
    return subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory",
                           str(workdir), "--cores", "2", *args], capture_output=True, text=True)


def planned(proc) -> dict[str, int]:
    """Rule -> job count from a dry run's job stats table."""
    text = proc.stdout + proc.stderr
    table = text.split("Job stats:")[-1] if "Job stats:" in text else ""
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
            if m[1] != "total"}


def write_config(workdir, config):
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("wf")
    write_config(workdir, TINY)
    proc = snakemake(workdir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir


def test_whole_dag_builds_the_report(built):
    report = built / "results/demo/report"
    for name in REPORT:
        assert (report / name).stat().st_size > 0, name
    table = pd.read_csv(report / "comparison.csv")
    assert table["variant"].tolist() == ["small_avg", "small_autopool"]
    assert table["roc_auc_macro"].between(0, 1).all()
    assert (table["all_negative_accuracy"] > 0).all()
    overview = (report / "overview.rst").read_text()
    n_test = len((built / "results/demo/split/test.tsv").read_text().splitlines()) - 1
    assert f"test {n_test} clips" in overview and "Best by ROC-AUC: **small_" in overview
    best = table.loc[table["roc_auc_macro"].idxmax()]
    assert f"{best['roc_auc_macro']:.3f}" in overview
    for variant in TINY["variants"]:
        assert (built / f"results/demo/eval/{variant}/predictions.h5").is_file()
        assert (built / f"results/demo/logs/train/{variant}.log").is_file()
        assert (built / f"results/demo/benchmarks/train/{variant}.tsv").is_file()


def test_second_run_has_nothing_to_do(built):
    proc = snakemake(built, "-n")
    assert proc.returncode == 0
    assert planned(proc) == {}, proc.stdout[-2000:]


def test_changing_one_variant_reruns_only_that_variant(built):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["variants"]["small_avg"]["learning_rate"] = 0.01
    write_config(built, config)
    try:
        proc = snakemake(built, "-n")
        assert planned(proc) == {"train": 1, "evaluate": 1, "report_curves": 1,
                                 "report_compare": 1, "all": 1}, proc.stdout[-2000:]
        assert "variant=small_avg" in proc.stdout and "variant=small_autopool" not in proc.stdout
    finally:
        write_config(built, TINY)


def test_targeting_one_variant_builds_only_it(built, tmp_path):
    shutil.copytree(built / "results/demo/split", tmp_path / "results/demo/split")
    shutil.copytree(built / "resources", tmp_path / "resources")
    write_config(tmp_path, TINY)
    proc = snakemake(tmp_path, "-n", "results/demo/eval/small_autopool/metrics.json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = planned(proc)
    assert jobs["train"] == 1 and jobs["evaluate"] == 1 and "report_compare" not in jobs
    assert "variant=small_avg" not in proc.stdout


def test_bad_config_stops_with_one_clear_line(tmp_path):
    write_config(tmp_path, {**TINY, "train": {**TINY["train"], "epochs": "many"}})
    proc = snakemake(tmp_path, "-n")
    assert proc.returncode != 0
    assert "tagbench: config error: config key 'train.epochs'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_lint_is_clean():
    proc = subprocess.run([SNAKEMAKE, "--lint"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_predict_rule_tags_a_folder_and_reruns_when_a_file_is_added(built, tmp_path):
    import numpy as np

    from .conftest import write_wav

    music = tmp_path / "my music"
    t = np.arange(32000) / 16000
    write_wav(music / "a.wav", 0.3 * np.sin(2 * np.pi * 440 * t))
    write_wav(music / "sub" / "b.wav", 0.3 * np.sin(2 * np.pi * 220 * t), rate=44100)
    (music / "broken.mp3").write_bytes(b"junk" * 100)
    assert snakemake(built).returncode == 0   # up to date, whatever earlier tests changed
    config = copy.deepcopy(TINY)              # (a YAML round trip would reorder the variants)
    config["predict"] = {"audio_dir": str(music), "variant": "small_autopool", "top_k": 3}
    write_config(built, config)
    try:
        assert planned(snakemake(built, "-n")) == {"predict": 1, "all": 1}
        proc = snakemake(built)
        assert proc.returncode == 0, proc.stderr[-3000:]
        table = pd.read_csv(built / "results/demo/predict/small_autopool.csv")
        assert sorted(set(table["path"].map(lambda p: Path(p).name))) == ["a.wav", "b.wav", "broken.mp3"]
        assert (table.groupby("path")["rank"].count().sort_values().tolist()) == [0, 3, 3]
        assert table["error"].dropna().str.contains("broken.mp3: cannot decode").all()
        write_wav(music / "c.wav", 0.3 * np.sin(2 * np.pi * 330 * t))
        assert planned(snakemake(built, "-n")) == {"predict": 1, "all": 1}
    finally:
        write_config(built, TINY)
