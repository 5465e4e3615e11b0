"""The comparison's files from variant summaries: intervals named by method, flags by family;
an odd interval never costs the report; `tagbench compare` pairs seeds or says it did not."""

import numpy as np
import pandas as pd
import pytest

from tagbench.reporting.verdict import BASELINE
from tagbench.settings.config import BootstrapSettings

N_CLIPS, TAGS = 60, [f"t{j}" for j in range(8)]
SETTINGS = BootstrapSettings(resamples=200, seed=0, resample_by="clip")  # synthetic: no tracks


def summary(folder, seeds, quality, rng, labels):
    """A variant's (or, with seeds None, the baseline's) summary folder from synthetic scores."""
    from tagbench.evaluation.replicates import summarize
    from tagbench.evaluation.scoring import score

    scored = [score([f"c{i}" for i in range(N_CLIPS)], labels,
                    1 / (1 + np.exp(-(quality * (2.0 * labels - 1) + rng.normal(0, 1, labels.shape)))),
                    TAGS, {"best_epoch": 2, "n_params": 9, "n_trainable_params": 9,
                           "train_seconds": 1.0}) for _ in (seeds or [None])]
    return summarize(scored, seeds, SETTINGS, folder)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """results/exp1: variants three, two (seeds 0 1 2) and one (seed 0), and the baseline;
    results/exp2: variant three on seeds 3 4 5, the same test clips."""
    root = tmp_path_factory.mktemp("results")
    rng = np.random.default_rng(0)
    labels = (rng.random((N_CLIPS, len(TAGS))) < 0.3).astype(np.uint8)
    labels[0], labels[1] = 1, 0
    for name, seeds, quality in (("three", [0, 1, 2], 1.5), ("two", [0, 1, 2], 1.0),
                                 ("one", [0], 1.2)):
        summary(root / "exp1" / "eval" / name, seeds, quality, rng, labels)
    summary(root / "exp1" / "baseline", None, 0.6, rng, labels)
    summary(root / "exp2" / "eval" / "three", [3, 4, 5], 1.5, rng, labels)
    return root


def test_comparison_names_each_interval_and_each_flag_family(experiment, tmp_path):
    from tagbench.reporting.report import write_comparison

    exp = experiment / "exp1"
    names = ["three", "two", "one"]
    table, differences = write_comparison(names, [exp / "eval" / n for n in names], [],
                                          tmp_path, exp / "baseline", SETTINGS)
    for name in ("comparison.csv", "comparison.md", "differences.csv", "comparison.png",
                 "forest.png", "per_tag_auc.png", "roc_pr.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    intervals = dict(zip(table["variant"], table["interval"], strict=True))
    assert intervals == {"three": "seeds+clips t, 3 seeds", "two": "seeds+clips t, 3 seeds",
                         "one": "clips only: one seed (no seed spread, no verdict)",
                         BASELINE: "clips only: a deterministic row (fixed seed)"}
    assert "clips only: one seed" in (tmp_path / "comparison.md").read_text()
    assert pd.read_csv(tmp_path / "comparison.csv")["interval"].tolist() == list(intervals.values())
    roc = differences[differences["metric"] == "roc_auc_macro"].set_index(["a", "b"])
    assert roc.loc[("three", "two"), "family"] == "variant pairs, roc_auc_macro"
    assert roc.loc[("three", "two"), "family_size"] == 1  # the pair with `one` has no verdict
    assert roc.loc[("three", BASELINE), "family"] == "against the floor, roc_auc_macro"
    assert roc.loc[("three", BASELINE), "family_size"] == 2
    assert roc.loc[("three", "one"), "family"].startswith("none") and \
        not roc.loc[("three", "one"), "significant"]
    assert roc.loc[("three", "two"), "interval"] == "seeds+clips t, 3 paired seeds"
    assert roc.loc[("three", BASELINE), "interval"] == (
        "seeds+clips t, 3 seeds against a deterministic row")
    written = pd.read_csv(tmp_path / "differences.csv")
    assert {"family", "family_size", "correction", "p_adjusted", "interval",
            "half_width"} <= set(written.columns)


def odd_table():
    """Two rows whose points lie outside their intervals, one with no interval at all."""
    row = {"variant": "v", "roc_auc_macro": 0.25, "roc_auc_macro_ci95_low": 0.2542,
           "roc_auc_macro_ci95_high": 0.3653, "pr_auc_macro": 0.9,
           "pr_auc_macro_ci95_low": 0.8, "pr_auc_macro_ci95_high": 0.85}
    nan = {**row, "variant": BASELINE, "roc_auc_macro_ci95_low": np.nan,
           "roc_auc_macro_ci95_high": np.nan}
    return pd.DataFrame([row, nan])


def test_a_point_outside_its_interval_still_draws_the_comparison(tmp_path):
    """The error a 30-clip custom dataset hit: `'yerr' must not contain negative values`."""
    from tagbench.evaluation.stats import KEYS, Runs
    from tagbench.reporting.report import _plot_comparison

    per_tag = {"v": pd.DataFrame({"roc_auc": [0.2, 0.3], "pr_auc": [0.9, 0.8]})}
    runs = {"v": Runs(np.full((2, len(KEYS)), 0.25), np.zeros((3, 2, len(KEYS))), (0, 1)),
            BASELINE: Runs(np.full((1, len(KEYS)), 0.5), np.zeros((3, 1, len(KEYS))), None)}
    _plot_comparison(odd_table(), ["v"], per_tag, runs, tmp_path / "comparison.png")
    assert (tmp_path / "comparison.png").stat().st_size > 0


def test_a_figure_that_fails_costs_one_line_and_nothing_else(experiment, tmp_path, capsys,
                                                             monkeypatch):
    from tagbench.reporting import report

    def broken(*args):
        raise ValueError("'yerr' must not contain negative values")

    monkeypatch.setattr(report, "_plot_comparison", broken)
    exp = experiment / "exp1"
    report.write_comparison(["three", "two"], [exp / "eval" / n for n in ("three", "two")], [],
                            tmp_path, exp / "baseline", SETTINGS)
    err = capsys.readouterr().err
    assert err == ("tagbench: warning: comparison.png: not drawn (ValueError: 'yerr' must not "
                   "contain negative values)\n")
    for name in ("comparison.csv", "comparison.md", "differences.csv", "comparison.png",
                 "forest.png", "per_tag_auc.png", "roc_pr.png"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_compare_within_one_experiment_uses_the_report_family(experiment):
    from tagbench.reporting.leaderboard import compare_runs, format_comparison

    table = compare_runs(experiment, "exp1/two", "exp1/three")
    roc = table[table["metric"] == "roc_auc_macro"].iloc[0]
    assert roc["family"] == "variant pairs, roc_auc_macro of experiment exp1"
    assert roc["family_size"] == 1 and roc["interval"] == "seeds+clips t, 3 paired seeds"
    assert roc["change"] > 0
    text = format_comparison(table)
    assert "interval: seeds+clips t, 3 paired seeds" in text
    floor = compare_runs(experiment, "exp1/baseline", "exp1/three")
    roc = floor[floor["metric"] == "roc_auc_macro"].iloc[0]
    assert roc["family"] == "against the floor, roc_auc_macro of experiment exp1"
    assert roc["family_size"] == 2


def test_compare_across_seeds_is_unpaired_and_says_so(experiment):
    from tagbench.reporting.leaderboard import compare_runs, format_comparison

    table = compare_runs(experiment, "exp1/three", "exp2/three")
    roc = table[table["metric"] == "roc_auc_macro"].iloc[0]
    assert roc["interval"] == "seeds+clips t, unpaired: seeds differ (3 vs 3)"
    assert roc["family"] == "this comparison, roc_auc_macro" and roc["family_size"] == 1
    assert roc["ci95_low"] <= roc["change"] <= roc["ci95_high"]
    assert "unpaired: seeds differ" in format_comparison(table)


def test_leaderboard_of_nothing_is_one_clear_line(tmp_path):
    from .conftest import run_cli

    (tmp_path / "results").mkdir()
    proc = run_cli("leaderboard", "--results", tmp_path / "results", "--out", tmp_path / "b",
                   check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "no experiment found" in proc.stderr and "run snakemake first" in proc.stderr


def test_a_summary_resamples_the_tracks_it_is_given(tmp_path):
    from tagbench.core.errors import DataError
    from tagbench.evaluation.replicates import split_test_tracks, summarize
    from tagbench.evaluation.scoring import score

    rng = np.random.default_rng(4)
    labels = (rng.random((N_CLIPS, len(TAGS))) < 0.3).astype(np.uint8)
    labels[0], labels[1] = 1, 0
    clips = [f"c{i}" for i in range(N_CLIPS)]
    scored = [score(clips, labels, rng.random(labels.shape), TAGS, {}) for _ in range(3)]
    tracks = {c: f"track{i // 3}" for i, c in enumerate(clips)}
    by_tracks = BootstrapSettings(resamples=200, resample_by="track")
    by_track = summarize(scored, [0, 1, 2], by_tracks, tmp_path / "a", tracks)
    assert (by_track["resample_by"], by_track["n_resampled"]) == ("track", N_CLIPS // 3)
    by_clip = summarize(scored, [0, 1, 2], SETTINGS, tmp_path / "b", tracks)
    assert (by_clip["resample_by"], by_clip["n_resampled"]) == ("clip", N_CLIPS)
    assert by_clip["resampled_sha256"] != by_track["resampled_sha256"]
    with pytest.raises(DataError, match="test clip c1 is not in the split's test part"):
        summarize(scored, [0, 1, 2], by_tracks, tmp_path / "c", {"c0": "track0"})
    with pytest.raises(DataError, match="--split-test"):  # never a silent fall back to clips
        summarize(scored, [0, 1, 2], by_tracks, tmp_path / "d", split_test_tracks(None, by_tracks))

    # compare pairs only summaries whose resamples match: other tracks draw other weights
    from tagbench.reporting.leaderboard import compare_runs

    other = {c: f"track{i // 4}" for i, c in enumerate(clips)}
    summarize(scored, [0, 1, 2], by_tracks, tmp_path / "e" / "eval" / "v", tracks)
    summarize(scored, [0, 1, 2], by_tracks, tmp_path / "f" / "eval" / "v", other)
    summarize(scored, [0, 1, 2], by_tracks, tmp_path / "g" / "eval" / "v", tracks)
    assert not compare_runs(tmp_path, "e", "f")["paired"].any()
    table = compare_runs(tmp_path, "e", "g")
    assert table["paired"].all() and (table["resampled"] == f"{N_CLIPS // 3} tracks").all()


def test_the_leaderboard_lists_what_the_comparison_lists_and_how_it_was_summarized(
        experiment, tmp_path):
    """A variant summary on disk that the experiment's report no longer lists (renamed or
    removed from the config) is no row; each row names its interval and the code behind it."""
    import shutil

    from tagbench.reporting.leaderboard import collect
    from tagbench.reporting.report import write_comparison

    root = tmp_path / "results"
    shutil.copytree(experiment / "exp1", root / "exp1")
    assert set(collect(root)["variant"]) == {"three", "two", "one", "baseline"}
    exp = root / "exp1"
    write_comparison(["three", "two"], [exp / "eval" / n for n in ("three", "two")], [],
                     exp / "report", exp / "baseline", SETTINGS)
    rows = collect(root).set_index("variant")
    assert set(rows.index) == {"three", "two", "baseline"}
    assert rows.loc["three", "interval"] == "seeds+clips t, 3 seeds"
    assert rows.loc["baseline", "interval"] == "clips only: a deterministic row (fixed seed)"
    assert rows["summarized_by"].str.match(r"tagbench \S+, summarize code [0-9a-f]{16}$").all()


def test_robustness_pairs_each_variant_with_its_clean_figures(tmp_path):
    """Two variants scored clean and under one deformation (synthetic: `sturdy` keeps its
    quality, `fragile` loses most of it): the drops, their flags, which degrades less, the
    figure, and the leaderboard's columns."""
    from tagbench.reporting.leaderboard import collect
    from tagbench.reporting.robustness import summary as robust_summary
    from tagbench.reporting.robustness import write_robustness

    rng = np.random.default_rng(3)
    labels = (rng.random((N_CLIPS, len(TAGS))) < 0.3).astype(np.uint8)
    labels[0], labels[1] = 1, 0
    exp = tmp_path / "results" / "exp"
    for variant, clean, deformed in (("sturdy", 1.5, 1.45), ("fragile", 1.5, 0.3)):
        summary(exp / "eval" / variant, [0, 1, 2], clean, rng, labels)
        summary(exp / "eval" / variant / "robustness" / "noise_snr_db=10", [0, 1, 2], deformed,
                rng, labels)
    table = write_robustness(["sturdy", "fragile"], ["noise_snr_db=10"], exp / "eval",
                             exp / "report", SETTINGS)
    roc = table[table["metric"] == "roc_auc_macro"].set_index("variant")
    assert roc.loc["fragile", "drop"] < -0.1 and roc.loc["fragile", "significant"]
    assert roc.loc["fragile", "drop_high"] < 0 and roc.loc["fragile", "family"] == \
        "drops, roc_auc_macro"
    assert roc.loc["sturdy", "drop"] == pytest.approx(
        roc.loc["sturdy", "deformed"] - roc.loc["sturdy", "clean"])
    assert roc.loc["sturdy", "interval"] == "seeds+clips t, 3 paired seeds"
    pairs = pd.read_csv(exp / "report" / "robustness_pairs.csv")
    pair = pairs[pairs["metric"] == "roc_auc_macro"].iloc[0]
    assert (pair["a"], pair["b"]) == ("sturdy", "fragile")
    assert pair["difference"] > 0 and pair["significant"]  # sturdy degrades less
    assert (exp / "report" / "robustness.png").stat().st_size > 0
    assert "sturdy vs fragile under `noise_snr_db=10`" in (exp / "report" / "robustness.md").read_text()
    worst = robust_summary(table).set_index("variant")
    assert worst.loc["fragile", "worst_deformation"].startswith("noise_snr_db=10 (-")
    rows = collect(tmp_path / "results").set_index("variant")
    assert rows.loc["fragile", "robust_mean_drop"] == pytest.approx(
        roc.loc["fragile", "relative_drop"], abs=1e-6)  # robustness.csv holds 6 decimals
    # `tagbench compare --deformation`: the two runs on the deformed part, paired
    from tagbench.core.errors import DataError
    from tagbench.reporting.leaderboard import compare_runs

    table = compare_runs(tmp_path / "results", "exp/sturdy", "exp/fragile",
                         deformation="noise_snr_db=10")
    row = table[table["metric"] == "roc_auc_macro"].iloc[0]
    assert row["paired"] and row["b_value"] < row["a_value"] and row["significant"]
    assert row["a_value"] == pytest.approx(roc.loc["sturdy", "deformed"], abs=1e-6)
    with pytest.raises(DataError, match="no run there was scored on deformation 'gain_db=-6' "
                                        r"\(deformations scored: noise_snr_db=10\)"):
        compare_runs(tmp_path / "results", "exp/sturdy", "exp/fragile", deformation="gain_db=-6")
