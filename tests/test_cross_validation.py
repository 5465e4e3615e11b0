"""split.method kfold through the real snakemake: every fold a sub-experiment, one report over
the folds (a file of its own, so that a test worker runs it beside test_workflow.py)."""

import copy

import pandas as pd
import pytest

from .conftest import TINY, planned, run_cli, snakemake, write_config

pytestmark = pytest.mark.workflow


def test_kfold_cross_validates_every_fold_and_reports_over_folds(tmp_path):
    """split.method kfold: each fold a sub-experiment with its own split, models and floor; its
    test parts partition the clips by track; the experiment's own report and summaries say
    cross-validation, pair the folds, and reach the leaderboard; a rerun has nothing to do."""
    from tagbench.data.split_files import read_part, read_provenance
    from tagbench.evaluation.scoring import read_metrics

    config = copy.deepcopy(TINY)
    config["experiment"] = "cv"
    config["split"] = {"method": "kfold", "folds": 3, "valid_fraction": 0.2}
    config["features"]["shards"] = {"train": 1, "valid": 1, "test": 1}
    config["variants"] = {"small_avg": {"pooling": "avg"}}
    write_config(tmp_path, config)
    proc = snakemake(tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folds = [tmp_path / f"results/cv/folds/r0f{k}" for k in range(3)]
    tests = [read_part(f / "split/test.tsv") for f in folds]
    clips = [c for t in tests for c in t.clip_ids]
    assert len(clips) == len(set(clips)) == 32  # the tiny demo: 16 tracks x 2 clips
    assert not set(tests[0].tracks) & set(tests[1].tracks)
    assert [read_provenance(f / "split")["fold"] for f in folds] == [0, 1, 2]
    for f in folds:  # a fold is a whole experiment of its own
        assert (f / "baseline/metrics.json").is_file()
        assert (f / "eval/small_avg/seed1/metrics.json").is_file()

    report = tmp_path / "results/cv/report"
    table = pd.read_csv(report / "comparison.csv")
    assert table["variant"].tolist() == ["small_avg", "baseline (floor)"]
    assert table["interval"].str.startswith("cross-validation t, 3 folds x ").all()
    assert (table["resample_by"] == "fold").all() and (table["n_resampled"] == 3).all()
    differences = pd.read_csv(report / "differences.csv")
    assert differences["interval"].str.startswith("cross-validation t, paired over 3 folds").all()
    summary = read_metrics(tmp_path / "results/cv/eval/small_avg/metrics.json")
    per_fold = [read_metrics(f / "eval/small_avg/seed0/metrics.json")["roc_auc_macro"] / 2
                + read_metrics(f / "eval/small_avg/seed1/metrics.json")["roc_auc_macro"] / 2
                for f in folds]
    assert summary["roc_auc_macro_folds"] == pytest.approx(per_fold)
    assert summary["roc_auc_macro"] == pytest.approx(sum(per_fold) / 3)
    assert "Split ``kfold``: 3 folds by track" in (report / "overview.rst").read_text()
    for name in ("forest.png", "comparison.png", "comparison.md"):
        assert (report / name).stat().st_size > 0
    board = pd.read_csv(tmp_path / "results/leaderboard.csv")
    ours = board[board["experiment"] == "cv"]
    assert set(ours["split"]) == {"kfold"} and len(ours) == 2
    # compare pairs runs on one test part: a summary over folds is one line pointing to the report
    proc = run_cli("compare", "cv/small_avg", "cv/baseline", "--results", tmp_path / "results",
                   check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "a summary over folds (split.method kfold): its differences are in the " \
        "experiment's report/differences.csv" in proc.stderr, proc.stderr
    rerun = snakemake(tmp_path, "-n")
    assert rerun.returncode == 0 and planned(rerun) == {}, rerun.stdout[-2000:]
