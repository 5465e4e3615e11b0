"""The verdict: a best variant only when every interval against another row excludes 0, the
variants below the floor after the correction in their family, no verdict on one seed, and what
the seeds can resolve per comparison."""

import re

import numpy as np
import pandas as pd
import pytest

from tagbench.evaluation.stats import estimate, pairwise, resample_weights
from tagbench.reporting.verdict import BASELINE, resolution, verdict

from .conftest import runs_from_scores

# A synthetic test part: clips, tags, their labels and the clip resamples every row shares.
CLIPS, N_TAGS, RESAMPLES = 120, 6, 200
LABELS = (np.random.default_rng(0).random((CLIPS, N_TAGS)) < 0.3).astype(np.int8)
HARD = np.random.default_rng(1).standard_normal(LABELS.shape)  # clips hard for every model
WEIGHTS = resample_weights(CLIPS, RESAMPLES, seed=2)


def scored(separation, seeds=(0, 1, 2), name=0):
    """A row as `summarize` builds it, from scores the test makes: each seed scores the clips
    labels x separation + the shared hard-clip noise + its own noise (seeds=None: one
    deterministic run, like the baseline)."""
    scores = [LABELS * separation + HARD + 0.3 * np.random.default_rng([name, s]).standard_normal(
        LABELS.shape) for s in ([0] if seeds is None else seeds)]
    return runs_from_scores(LABELS, scores, WEIGHTS, None if seeds is None else tuple(seeds))


def compare(**rows):
    """(comparison table, differences) as the report makes them: the real `pairwise`, the
    baseline last and the floor of its family."""
    runs = {name.replace("floor", BASELINE): r for name, r in rows.items()}
    table = pd.DataFrame({"variant": list(runs),
                          "roc_auc_macro": [estimate(r, "roc_auc_macro").point for r in runs.values()]})
    return table, pairwise(runs, floor=BASELINE if BASELINE in runs else None)


GAP = re.compile(r"(\S+) \(?([+-]\d\.\d{3}) \[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\]")


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


def test_a_best_variant_is_named_with_its_gaps_from_pairwise():
    """The winner (stored second, so its pairs are flipped) is named, and each gap printed is
    its mean minus the other row's, with an interval above 0."""
    table, rows = compare(v1=scored(1.0, name=1), v0=scored(1.6, name=2), floor=scored(0.5, None))
    text = verdict(table, rows)
    assert text.startswith("Best by ROC-AUC macro: **v0**; its 95 % interval"), text
    mean = dict(zip(table["variant"], table["roc_auc_macro"], strict=True))
    gaps = {m[1]: tuple(map(float, m.groups()[1:])) for m in GAP.finditer(text)}
    assert set(gaps) == {"v1", "(floor)"}
    for other, key in (("v1", "v1"), ("(floor)", BASELINE)):
        gap, low, high = gaps[other]
        assert gap == pytest.approx(mean["v0"] - mean[key], abs=6e-4) and 0 < low < gap < high
    assert "below the baseline floor" not in text


def test_equal_recipes_are_not_separable():
    """Two rows of one recipe (other seeds' noise): no best, the pair named as not separable."""
    table, rows = compare(v0=scored(1.2, name=1), v1=scored(1.2, name=2), floor=scored(0.5, None))
    text = verdict(table, rows)
    assert text.startswith("No variant is significantly better than all others by ROC-AUC macro.")
    best, other = table.sort_values("roc_auc_macro")["variant"].iloc[[-1, -2]]
    assert f"The highest mean among the variants, {best}, is not separable" in text
    [(name, gap, low, high)] = [m.groups() for m in GAP.finditer(text)]
    assert name == other and float(low) < 0 < float(high) and float(gap) >= 0
    assert "below the baseline floor" not in text


def test_variants_below_the_floor_are_named_with_their_family():
    table, rows = compare(v0=scored(0.8, name=1), v1=scored(0.5, name=2), floor=scored(1.6, None))
    text = verdict(table, rows)
    assert text.startswith("No variant is significantly better")
    assert text.endswith("Significantly below the baseline floor (holm correction over the 2 "
                         "variants against the floor): v0, v1."), text


def test_below_the_floor_follows_the_corrected_flag_not_the_interval():
    t = table(0.80, 0.70, 0.90)
    rows = differences([("v0", "v1", 0.10, 0.05, 0.15),
                        ("v0", BASELINE, -0.10, -0.15, -0.01, False),  # not after Holm
                        ("v1", BASELINE, -0.20, -0.25, -0.15, True)])
    assert verdict(t, rows).endswith("against the floor): v1.")


def test_no_verdict_rests_on_a_row_with_one_seed():
    """A clearly better row trained on one seed gets no verdict: its interval is clip-only."""
    table, rows = compare(v0=scored(1.8, seeds=(0,), name=1), v1=scored(1.0, name=2),
                          floor=scored(0.5, None))
    text = verdict(table, rows)
    assert text.startswith("No variant is significantly better")
    assert "No verdict between v0 and v1, baseline (floor): a row with fewer than 3 seeds " \
        "(train more seeds)" in text, text


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
    assert seeds[:5] == ["v0 - v1", "+0.030", "[-0.010, +0.070]", "no", "±0.040 (3 seeds)"]
    assert seeds[5].startswith("more seeds (81 % of the variance; 6: ±")
    assert clips[5] == "a larger test part (96 % of the variance)"
    more = float(seeds[5].split("6: ±")[1].rstrip(")"))
    assert more < 0.040


@pytest.mark.parametrize("name", ["interval", "correction", "resample_by"])
def test_an_unknown_method_or_correction_name_is_one_config_line(name, tmp_path):
    from tagbench.core.errors import ConfigError
    from tagbench.settings.config import BootstrapSettings, from_json, load_settings

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
