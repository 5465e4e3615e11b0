"""The overview's verdict: a best variant only when every paired interval excludes 0."""

import pandas as pd

from tagbench.report import BASELINE, verdict


def table(*means):
    names = [f"v{i}" for i in range(len(means) - 1)] + [BASELINE]
    return pd.DataFrame({"variant": names, "roc_auc_macro": means})


def differences(rows):
    return pd.DataFrame([{"a": a, "b": b, "metric": "roc_auc_macro", "difference": d,
                          "ci95_low": lo, "ci95_high": hi, "significant": lo > 0 or hi < 0}
                         for a, b, d, lo, hi in rows])


def test_a_best_variant_is_named_only_when_all_its_intervals_exclude_zero():
    t = table(0.95, 0.93, 0.90)
    clear = differences([("v0", "v1", 0.02, 0.01, 0.03), ("v0", BASELINE, 0.05, 0.03, 0.07),
                         ("v1", BASELINE, 0.03, 0.01, 0.05)])
    assert verdict(t, clear).startswith("Best by ROC-AUC macro: **v0**")
    close = differences([("v0", "v1", 0.02, -0.01, 0.04), ("v0", BASELINE, 0.05, 0.03, 0.07),
                         ("v1", BASELINE, 0.03, 0.01, 0.05)])
    text = verdict(t, close)
    assert text.startswith("No variant is significantly better than all others by ROC-AUC macro.")
    assert "v0, is not separable" in text and "v1 (+0.020 [-0.010, +0.040])" in text


def test_variants_below_the_floor_are_named():
    t = table(0.80, 0.70, 0.90)
    rows = differences([("v0", "v1", 0.10, 0.05, 0.15), ("v0", BASELINE, -0.10, -0.15, -0.05),
                        ("v1", BASELINE, -0.20, -0.25, -0.15)])
    text = verdict(t, rows)
    assert text.startswith("No variant is significantly better")
    assert text.endswith("Significantly below the baseline floor: v0, v1.")


def test_leaderboard_of_nothing_is_one_clear_line(tmp_path):
    from .conftest import run_cli

    (tmp_path / "results").mkdir()
    proc = run_cli("leaderboard", "--results", tmp_path / "results", "--out", tmp_path / "b",
                   check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "no experiment found" in proc.stderr and "run snakemake first" in proc.stderr


def test_verdict_when_no_tag_is_scorable():
    t = table(float("nan"), float("nan"), float("nan"))
    rows = differences([("v0", "v1", float("nan"), float("nan"), float("nan")),
                        ("v0", BASELINE, float("nan"), float("nan"), float("nan")),
                        ("v1", BASELINE, float("nan"), float("nan"), float("nan"))])
    assert verdict(t, rows).startswith("No ROC-AUC macro could be computed")
