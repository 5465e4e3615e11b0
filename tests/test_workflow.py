"""The real snakemake on a tiny config: the whole DAG through the report, reruns, targeting."""

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import REPORT, ROOT, SNAKEMAKE, TINY, planned, snakemake, write_config

pytestmark = pytest.mark.workflow


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
    assert table["variant"].tolist() == ["small_avg", "small_autopool", "baseline (floor)"]
    assert table["roc_auc_macro"].between(0, 1).all()
    assert (table["roc_auc_macro_ci95_low"] <= table["roc_auc_macro_ci95_high"]).all()
    assert (table["all_negative_accuracy"] > 0).all()
    overview = (report / "overview.rst").read_text()
    assert "**Backbones**: ``vggish``: random weights, no pretraining." in overview
    n_test = len((built / "results/demo/split/test.tsv").read_text().splitlines()) - 1
    assert f"test {n_test} clips" in overview
    assert ("Best by ROC-AUC macro: **small_" in overview) != (
        "No variant is significantly better than all others by ROC-AUC macro." in overview)
    best = table.loc[table["roc_auc_macro"].idxmax()]
    assert f"{best['roc_auc_macro']:.3f}" in overview
    differences = pd.read_csv(report / "differences.csv")
    assert len(differences) == 3 * 4  # 3 pairs of rows x 4 figures
    assert set(differences["b"]) == {"small_autopool", "baseline (floor)"}
    seeds = TINY["train"]["seeds"]
    for variant in TINY["variants"]:
        summary = json.loads((built / f"results/demo/eval/{variant}/metrics.json").read_text())
        runs = [json.loads((built / f"results/demo/eval/{variant}/seed{s}/metrics.json")
                           .read_text()) for s in seeds]
        assert summary["seeds"] == seeds
        # every figure names the library versions that computed it, and those of training
        import tensorflow as tf

        assert summary["libraries"]["tensorflow"] == tf.__version__
        assert summary["trained_with"]["keras"] == summary["libraries"]["keras"]
        assert summary["roc_auc_macro"] == pytest.approx(
            sum(r["roc_auc_macro"] for r in runs) / len(runs))
        low, high = summary["pr_auc_micro_ci95"]
        assert low <= high and summary["pr_auc_micro_std"] >= 0
        for s in seeds:
            assert (built / f"results/demo/models/{variant}/seed{s}/model.keras").is_file()
            assert (built / f"results/demo/logs/train/{variant}/seed{s}.log").is_file()
    baseline = json.loads((built / "results/demo/baseline/metrics.json").read_text())
    assert set(summary) - set(baseline) <= {"n_params", "n_trainable_params", "train_seconds",
                                            "epochs_trained", "best_epoch", "scored_from", "aggregate",
                                            "trained_with"}
    assert baseline["C"] in (0.01, 0.1, 1.0, 10.0)
    # every interval resamples the test tracks, the same ones for the variants and the floor
    test_tracks = {line.split("\t")[1] for line in
                   (built / "results/demo/split/test.tsv").read_text().splitlines()[1:]}
    assert len(test_tracks) < n_test
    for metrics in (summary, baseline):
        assert (metrics["resample_by"], metrics["n_resampled"]) == ("track", len(test_tracks))
    assert f"{len(test_tracks)} tracks" in overview
    assert set(zip(table["resample_by"], table["n_resampled"], strict=True)) == {
        ("track", len(test_tracks))}


def assert_nothing_to_do(workdir):
    proc = snakemake(workdir, "-n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert planned(proc) == {}, proc.stdout[-2000:]


def test_second_run_has_nothing_to_do(built):
    assert_nothing_to_do(built)


def test_no_log_of_the_dag_holds_a_warning(built):
    """A warning in a job's log (a plot's legend that does not fit, a metric on a constant
    column, a library deprecation) is something a user sees: none in any rule's log."""
    logs = sorted((built / "results/demo/logs").rglob("*.log")) + [built / "results/leaderboard.log"]
    assert {p.relative_to(built / "results/demo/logs").parts[0] for p in logs[:-1]} >= {
        "report_curves.log", "report_compare.log", "train", "evaluate", "summarize"}
    assert logs[-1].is_file()
    warned = {str(p.relative_to(built)): line for p in logs
              for line in p.read_text(errors="replace").splitlines() if "warning:" in line.lower()}
    assert warned == {}


def test_the_html_report_opens_on_the_overview_with_every_figure(built, tmp_path):
    """`snakemake --report` (docs/usage.md, "The HTML report"): one self-contained file holding the
    overview's table and verdict and every figure the report rules tag."""
    html = tmp_path / "report.html"
    proc = snakemake(built, "--report", str(html))
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = html.read_text()
    overview = (built / "results/demo/report/overview.rst").read_text()
    verdict = next(line for line in overview.splitlines() if line.startswith(("Best by", "No variant")))
    assert verdict[:20] in text
    for name in ("curves.png", "comparison.png", "forest.png", "roc_pr.png", "per_tag_auc.png",
                 "comparison.csv", "differences.csv"):
        assert name in text, name
    assert len(text) > 100_000  # the figures are embedded, not linked


def test_changing_one_variant_reruns_only_that_variant(built):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["variants"]["small_avg"]["learning_rate"] = 0.01
    write_config(built, config)
    try:
        proc = snakemake(built, "-n")
        assert planned(proc) == {"train": 2, "evaluate": 2, "summarize": 1, "report_curves": 1,
                                 "report_compare": 1, "leaderboard": 1, "all": 1}, proc.stdout[-2000:]
        assert "variant=small_avg" in proc.stdout and "variant=small_autopool" not in proc.stdout
    finally:
        write_config(built, TINY)


def test_adding_a_seed_runs_only_that_replicate(built):
    config = copy.deepcopy(TINY)
    config["variants"]["small_avg"]["seeds"] = [*TINY["train"]["seeds"], 9]
    write_config(built, config)
    try:
        proc = snakemake(built, "-n")
        assert planned(proc) == {"train": 1, "evaluate": 1, "summarize": 1, "report_curves": 1,
                                 "report_compare": 1, "leaderboard": 1, "all": 1}, proc.stdout[-2000:]
        assert "seed=9" in proc.stdout
    finally:
        write_config(built, TINY)


def test_a_killed_run_resumes_and_reproduces_every_figure_byte_for_byte(built, tmp_path):
    """Same machine, same lock file: a second run from scratch, killed (SIGTERM, as a cluster's
    time limit or `kill` sends it) once a training job has finished and rerun with the same
    command, keeps what it finished and ends with metrics and histories identical to the
    uninterrupted first run, timing aside."""
    import signal
    import time

    write_config(tmp_path, TINY)
    proc = subprocess.Popen([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory",
                             str(tmp_path), "--cores", "2"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    results = tmp_path / "results/demo"
    deadline = time.time() + 600
    # snakemake writes a job's benchmark file once its command has ended: a train job is done
    while not list(results.glob("benchmarks/train/*/seed*.tsv")) and proc.poll() is None \
            and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # (and recorded as done)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=120)
    assert not (results / "report/comparison.csv").exists()
    # what survives the kill is what snakemake counts as finished (a running job's outputs go)
    finished = {path: path.stat().st_mtime_ns for path in results.glob("models/*/seed*/model.keras")}
    rerun = snakemake(tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    # what the killed run finished is kept, not recomputed
    assert finished and {p: p.stat().st_mtime_ns for p in finished} == finished
    files = sorted(p.relative_to(built) for p in (built / "results/demo").rglob("*")
                   if p.name in ("metrics.json", "history.csv", "differences.csv", "bootstrap.csv"))
    assert len(files) >= 2 * 2 * 2 + 2 * 2 + 2

    def without_timing(path):
        if path.suffix == ".json":
            data = json.loads(path.read_text())
            data.pop("train_seconds", None)
            data.pop("content_sha256", None)  # a digest of the content, timing included
            return data
        frame = pd.read_csv(path)
        return frame.drop(columns=[c for c in ("seconds",) if c in frame]).to_csv(index=False)

    for name in files:
        first, second = built / name, tmp_path / name
        if name.name in ("differences.csv", "bootstrap.csv"):
            assert first.read_bytes() == second.read_bytes(), name
        else:
            assert without_timing(first) == without_timing(second), name


def test_editing_a_split_list_makes_the_split_stale(tmp_path):
    """docs/datasets.md, "Reproducing a list-based split": editing a list file reruns the split."""
    config = copy.deepcopy(TINY)
    root = tmp_path / "resources/demo"
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "resources/demo/annotations_final.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    from tagbench.data.annotations import read_annotations

    paths = list(read_annotations(root / "annotations_final.csv").paths)
    lists = {"train": paths[:20], "valid": paths[20:24], "test": paths[24:]}
    for part, items in lists.items():
        (tmp_path / f"{part}.txt").write_text("\n".join(items) + "\n")
    config["split"] = {"method": "lists", "lists": {p: str(tmp_path / f"{p}.txt") for p in lists}}
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "results/demo/split/split.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert planned(snakemake(tmp_path, "-n", "results/demo/split/split.json")) == {}
    (tmp_path / "test.txt").write_text("# one clip fewer\n" + "\n".join(lists["test"][1:]) + "\n")
    assert planned(snakemake(tmp_path, "-n", "results/demo/split/split.json")) == {"split": 1}


def test_code_edits_rerun_exactly_the_stages_that_run_that_code(built, tmp_path):
    """Edit a copy of the package beside a copy of the Snakefile; dry-run it on the finished run."""
    copy = tmp_path / "repo"
    for name in ("workflow", "profiles", "envs", "src"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "Snakefile", copy / "Snakefile")
    inference, report = copy / "src/tagbench/models/inference.py", copy / "src/tagbench/reporting/report.py"
    pristine = {path: path.read_text() for path in (inference, report)}

    def dry_run(*args):
        proc = subprocess.run([SNAKEMAKE, "--snakefile", str(copy / "Snakefile"), "--directory",
                               str(built), "--cores", "2", "-n", *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc

    assert planned(dry_run()) == {}
    for old in ('"""Score a stream of', "\nimport numpy as np\n"):
        assert old in pristine[inference], f"inference.py no longer holds {old!r}: update this test"
    inference.write_text(pristine[inference].replace('"""Score a stream of', '"""Score all of a stream of')
                         .replace("\nimport numpy as np\n", "\nimport numpy as np  # arrays\n"))
    assert planned(dry_run()) == {}, "a docstring or comment edit made something stale"

    inference.write_text(pristine[inference].replace("batch_size: int = 256", "batch_size: int = 128"))
    assert planned(dry_run()) == {"cache_backbone": 4, "train": 4, "evaluate": 4,
                                  "summarize": 2, "report_curves": 1, "report_compare": 1,
                                  "leaderboard": 1, "all": 1}
    # (not `--list-changes params`: in Snakemake 9.27 it lists outputs of unchanged rules too)
    inference.write_text(pristine[inference])
    report.write_text(pristine[report].replace("dpi=110", "dpi=120"))
    assert planned(dry_run()) == {"report_curves": 1, "report_compare": 1, "leaderboard": 1, "all": 1}
    report.write_text(pristine[report])
    published = copy / "src/tagbench/reporting/published.csv"
    published.write_text(published.read_text()
                         + "Another paper,0.9,0.4,mtt,standard,50,mtt_top50,true,X,2024\n")
    assert planned(dry_run()) == {"leaderboard": 1, "all": 1}


def test_targeting_one_variant_builds_only_it(built, tmp_path):
    shutil.copytree(built / "results/demo/split", tmp_path / "results/demo/split")
    shutil.copytree(built / "resources", tmp_path / "resources")
    write_config(tmp_path, TINY)
    proc = snakemake(tmp_path, "-n", "results/demo/eval/small_autopool/metrics.json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = planned(proc)
    assert jobs["train"] == 2 and jobs["evaluate"] == 2 and jobs["summarize"] == 1
    assert "report_compare" not in jobs and "baseline" not in jobs
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


def test_experiments_coexist_and_meet_on_the_leaderboard(built, tmp_path):
    """A second experiment (standard split, one seed) beside the first: its own results folder,
    the first untouched, both on results/leaderboard.*, and `tagbench compare` between them."""
    from .conftest import run_cli

    before = (built / "results/demo/eval/small_avg/metrics.json").read_bytes()
    config = copy.deepcopy(TINY)
    config.update(experiment="tiny-standard", split={"method": "standard"})
    config["train"]["seeds"] = [0]
    write_config(built, config)
    try:
        plan = planned(snakemake(built, "-n"))
        assert "make_demo" not in plan and plan["split"] == 1  # audio shared, split its own
        proc = snakemake(built)
        assert proc.returncode == 0, proc.stderr[-3000:]
        # a finished experiment stays finished: the leaderboard's inputs do not depend on
        # which experiment runs
        assert_nothing_to_do(built)
    finally:
        write_config(built, TINY)
    assert_nothing_to_do(built)
    assert (built / "results/demo/eval/small_avg/metrics.json").read_bytes() == before
    standard = json.loads((built / "results/tiny-standard/eval/small_avg/metrics.json").read_text())
    assert standard["split"]["method"] == "standard" and standard["seeds"] == [0]
    board = pd.read_csv(built / "results/leaderboard.csv")
    ours = board[board["kind"] == "experiment"]
    assert set(zip(ours["experiment"], ours["split"], strict=True)) == {
        ("demo", "folder"), ("tiny-standard", "standard")}
    assert (board["kind"] == "baseline").sum() == 2
    assert "## split `standard`" in (built / "results/leaderboard.md").read_text()

    # published rows appear beside experiments of the same split and tag set only: a row on
    # as many tags but other ones is not comparable
    tags = (built / "results/tiny-standard/split/tags.txt").read_text().split("\n")[:-1]
    n_tags = len(tags)
    (tmp_path / "same.txt").write_text("\n".join(reversed(tags)) + "\n")  # order does not matter
    (tmp_path / "other.txt").write_text("\n".join(tags[:-1] + ["not a demo tag"]) + "\n")
    published = tmp_path / "published.csv"
    published.write_text("model,roc_auc,pr_auc,dataset,split,n_tags,tags,frozen,source,year\n"
                         f"Paper model,0.91,0.40,demo,standard,{n_tags},same.txt,true,Someone et al.,2020\n"
                         f"Other tags,0.90,0.38,demo,standard,{n_tags},other.txt,true,Someone et al.,2021\n"
                         "MTT top-50,0.90,0.38,demo,standard,50,mtt_top50,true,Someone et al.,2021\n"
                         f"Other data,0.90,0.38,mtt,standard,{n_tags},same.txt,true,Someone et al.,2021\n")
    run_cli("leaderboard", "--results", built / "results", "--out", tmp_path / "board",
            "--published", published)
    board = pd.read_csv(tmp_path / "board.csv")
    assert board.loc[board["kind"] == "published", "model"].tolist() == ["Paper model"]
    assert "**published** | Someone et al. (2020) | Paper model" in (tmp_path / "board.md").read_text()

    paired = run_cli("compare", "demo/small_avg", "demo/small_autopool", "--results",
                     built / "results").stdout
    assert "demo/small_avg  ->  demo/small_autopool" in paired
    assert "roc_auc_macro" in paired and "[" in paired and "not scored on the same" not in paired
    across = run_cli("compare", "demo", "tiny-standard", "--results", built / "results").stdout
    assert "demo/small_avg  ->  tiny-standard/small_avg" in across
    assert "demo/baseline  ->  tiny-standard/baseline" in across
    assert "not scored on the same test clips" in across
    bad = run_cli("compare", "demo", "nope", "--results", built / "results", check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "no experiment 'nope' under" in bad.stderr and "(experiments: demo, tiny-standard)" in bad.stderr


def test_the_demo_config_plans_its_musicnn_variant(tmp_path):
    """config.yaml as shipped (a dry run): the MSD_musicnn variant gets the pinned wheel, its
    weights, its own front end's shards and cache beside VGGish's."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    proc = snakemake(tmp_path, "-n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    plan = planned(proc)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    shards = sum(config["features"]["shards"].values())
    seeds = len(config["train"]["seeds"])
    assert plan["musicnn_wheel"] == 1 and plan["musicnn_weights_MSD_musicnn"] == 1
    assert plan["extract"] == 2 * shards and plan["cache_backbone"] == 2 * shards
    assert plan["train"] == plan["evaluate"] == len(config["variants"]) * seeds
    text = proc.stdout + proc.stderr
    assert "results/demo/features/musicnn/train/000.h5" in text
    assert "results/demo/backbone/MSD_musicnn/test/000.h5" in text


def test_robustness_scores_every_variant_on_deformed_audio_and_a_new_severity_runs_alone(
        built, tmp_path):
    """robustness on the built DAG (a copy): the trained models are reused, each deformed
    test part is extracted once and scored by every variant and seed, the table and figure are
    written; then a changed severity plans that deformation's jobs and nothing else."""
    work = tmp_path / "wf"
    shutil.copytree(built, work, symlinks=True)
    config = copy.deepcopy(TINY)
    config["robustness"] = {"noise_snr_db": [10], "gain_db": [-6]}
    write_config(work, config)
    proc = snakemake(work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ran = {m[1] for m in __import__("re").finditer(r"rule (\w+):", proc.stdout + proc.stderr)}
    assert "evaluate_deformed" in ran and "report_robustness" in ran, ran
    assert not ran & {"train", "evaluate", "summarize", "split"}, ran  # the clean run is reused
    seeds, variants = TINY["train"]["seeds"], list(TINY["variants"])
    table = pd.read_csv(work / "results/demo/report/robustness.csv")
    roc = table[table["metric"] == "roc_auc_macro"]
    assert sorted(roc["deformation"].unique()) == ["gain_db=-6", "noise_snr_db=10"]
    assert set(roc["variant"]) == set(variants)
    shard = work / "results/demo/features/vggish/test~noise_snr_db=10/000.h5"
    import h5py

    with h5py.File(shard) as h5:
        assert h5.attrs["deformation"] == "noise_snr_db=10"
    for variant in variants:
        summary = json.loads((work / f"results/demo/eval/{variant}/robustness/noise_snr_db=10/"
                              "metrics.json").read_text())
        assert summary["deformation"] == "noise_snr_db=10" and summary["seeds"] == seeds
    assert (work / "results/demo/report/robustness.png").stat().st_size > 0
    board = pd.read_csv(work / "results/leaderboard.csv")
    ours = board[(board["kind"] == "experiment") & (board["experiment"] == "demo")]
    assert len(ours) == len(TINY["variants"]) and ours["robust_worst"].notna().all()
    # (another experiment of the built folder, scored on no deformation, has no such column)
    assert_nothing_to_do(work)
    config["robustness"]["noise_snr_db"] = [20]
    write_config(work, config)
    plan = planned(snakemake(work, "-n"))
    n_variants, n_runs = len(variants), len(variants) * len(seeds)
    assert plan == {"extract": 1, "cache_backbone": 1, "evaluate_deformed": n_runs,
                    "summarize_deformed": n_variants, "report_robustness": 1, "leaderboard": 1,
                    "all": 1}, plan
