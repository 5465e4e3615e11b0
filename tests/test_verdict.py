"""The verdict: a best variant only when every interval against another row excludes 0, the
variants below the floor after the correction in their family, no verdict on one seed, and what
the seeds can resolve per comparison."""

import pandas as pd
import pytest

from tagbench.stats import NO_VERDICT
from tagbench.verdict import BASELINE, resolution, verdict


def table(*means):
    names = [f"v{i}" for i in range(len(means) - 1)] + [BASELINE]
    return pd.DataFrame({"variant": names, "roc_auc_macro": means})


def differences(rows, floor_size=2):
    """Rows (a, b, difference, low, high[, significant after correction])."""
    out = []
    for a, b, d, lo, hi, *flag in rows:
        floor = BASELINE in (a, b)
        out.append({"a": a, "b": b, "metric": "roc_auc_macro", "difference": d, "ci95_low": lo,
                    "ci95_high": hi, "significant": flag[0] if flag else (lo > 0 or hi < 0),
                    "family": ("against the floor, roc_auc_macro" if floor
                               else "variant pairs, roc_auc_macro"),
                    "family_size": floor_size if floor else 1, "correction": "holm",
                    "se": (hi - lo) / 4, "se_seeds": (hi - lo) / 4 * 0.9,
                    "se_clips": (hi - lo) / 4 * 0.436, "n_seeds": 3, "half_width": (hi - lo) / 2})
    return pd.DataFrame(out)


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


def test_variants_below_the_floor_are_named_with_their_family():
    t = table(0.80, 0.70, 0.90)
    rows = differences([("v0", "v1", 0.10, 0.05, 0.15), ("v0", BASELINE, -0.10, -0.15, -0.05),
                        ("v1", BASELINE, -0.20, -0.25, -0.15)])
    text = verdict(t, rows)
    assert text.startswith("No variant is significantly better")
    assert text.endswith("Significantly below the baseline floor (holm correction over the 2 "
                         "variants against the floor): v0, v1.")


def test_below_the_floor_follows_the_corrected_flag_not_the_interval():
    t = table(0.80, 0.70, 0.90)
    rows = differences([("v0", "v1", 0.10, 0.05, 0.15),
                        ("v0", BASELINE, -0.10, -0.15, -0.01, False),  # not after Holm
                        ("v1", BASELINE, -0.20, -0.25, -0.15, True)])
    assert verdict(t, rows).endswith("against the floor): v1.")


def test_no_verdict_rests_on_a_row_with_one_seed():
    t = table(0.95, 0.80, 0.70)
    rows = differences([("v0", "v1", 0.15, 0.10, 0.20), ("v0", BASELINE, 0.25, 0.2, 0.3),
                        ("v1", BASELINE, 0.10, 0.05, 0.15)])
    rows.loc[0, "family"] = NO_VERDICT
    text = verdict(t, rows)
    assert text.startswith("No variant is significantly better")
    assert "No verdict between v0 and v1: a row with one seed has a clip-only interval" in text


def test_verdict_when_no_tag_is_scorable():
    nan = float("nan")
    t = table(nan, nan, nan)
    rows = differences([("v0", "v1", nan, nan, nan), ("v0", BASELINE, nan, nan, nan),
                        ("v1", BASELINE, nan, nan, nan)])
    assert verdict(t, rows).startswith("No ROC-AUC macro could be computed")


def test_resolution_says_what_the_seeds_can_resolve_and_when_more_seeds_are_the_cure():
    rows = differences([("v0", "v1", 0.03, -0.01, 0.07), ("v0", BASELINE, 0.05, 0.04, 0.06)])
    rows.loc[1, "se_seeds"], rows.loc[1, "se_clips"] = 0.001, 0.005  # clips dominate
    rows.loc[1, "se"] = (0.001 ** 2 + 0.005 ** 2) ** 0.5
    seeds, clips = resolution(rows)
    assert seeds.startswith("v0 - v1: +0.030 [-0.010, +0.070]; 3 seeds and these test clips "
                            "resolve gaps beyond ±0.040")
    assert "the seeds carry 81 % of the variance: more seeds are the cure (6 seeds: about ±" in seeds
    assert "the test clips carry 96 % of the variance: more seeds would help little" in clips
    more = float(seeds.split("about ±")[1].rstrip(").").split(")")[0])
    assert more < 0.040


@pytest.mark.parametrize("name", ["interval", "correction", "resample_by"])
def test_an_unknown_method_or_correction_name_is_one_config_line(name, tmp_path):
    from tagbench.config import BootstrapSettings, from_json, load_settings
    from tagbench.errors import ConfigError

    from .conftest import run_cli

    for bad in (lambda: load_settings({"evaluate": {name: "bca"}}),
                lambda: from_json(BootstrapSettings, f'{{"{name}": "bca"}}')):  # --spec by hand
        with pytest.raises(ConfigError, match=rf"config key 'evaluate.{name}': 'bca' is not one"):
            bad()
    config = tmp_path / "config.yaml"
    config.write_text(f"evaluate: {{{name}: bca}}\n")
    proc = run_cli("summarize", "--config", config, "--runs", tmp_path, "--seeds", "0",
                   "--out-dir", tmp_path / "out", check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"tagbench: error: config key 'evaluate.{name}': 'bca'")
