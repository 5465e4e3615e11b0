"""The bootstrap's fast metrics equal scikit-learn's; intervals over seeds and clips, pairing,
families and Holm behave; no point estimate falls outside its interval on a tiny test part."""


import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student

from tagbench.core.metrics import tagging_metrics
from tagbench.evaluation.scoring import read_metrics
from tagbench.evaluation.stats import (
    KEYS,
    NO_VERDICT,
    RankingFigures,
    Runs,
    bootstrap,
    difference,
    estimate,
    holm,
    pairwise,
    ranking_metrics,
    resample_weights,
)


@pytest.mark.parametrize("seed", range(5))
def test_ranking_metrics_equal_scikit_learn_with_ties_and_unscorable_tags(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((60, 9)) < 0.3).astype(np.uint8)
    y[:, 0] = 0          # no positive: skipped by the macro averages
    y[:, 1] = 1          # no negative: skipped too
    s = np.round(rng.random((60, 9)), 1)  # coarse scores: many ties
    s[:, 2] = rng.random(60)              # and a column without ties (the shorter path)
    fast, reference = ranking_metrics(y, s), tagging_metrics(y, s)
    for key in KEYS:
        assert fast[key] == pytest.approx(reference[key], abs=1e-12), key


@pytest.mark.parametrize("coarse", [True, False])
def test_resampled_figures_equal_scikit_learn_with_the_same_clip_weights(coarse):
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(7)
    y = (rng.random((50, 6)) < 0.3).astype(np.uint8)
    s = np.round(rng.random((50, 6)), 1) if coarse else rng.random((50, 6))
    weights = resample_weights(50, 5, seed=2)
    figures = RankingFigures(y, s).figures(weights)  # all resamples at once
    for w, fast in zip(weights, figures, strict=True):
        tags = range(6)
        reference = [np.mean([roc_auc_score(y[:, j], s[:, j], sample_weight=w) for j in tags]),
                     np.mean([average_precision_score(y[:, j], s[:, j], sample_weight=w)
                              for j in tags]),
                     roc_auc_score(y.ravel(), s.ravel(), sample_weight=np.repeat(w, 6)),
                     average_precision_score(y.ravel(), s.ravel(), sample_weight=np.repeat(w, 6))]
        np.testing.assert_allclose(fast, reference, atol=1e-12)


def test_resamples_are_shared_by_every_model_positive_and_depend_on_the_seed():
    a, b = resample_weights(50, 20, seed=0), resample_weights(50, 20, seed=0)
    assert np.array_equal(a, b) and a.shape == (20, 50)
    assert (a > 0).all() and np.allclose(a.mean(axis=1), 1.0)
    assert not np.array_equal(a, resample_weights(50, 20, seed=1))


def test_track_resamples_give_one_weight_per_track_shared_by_its_clips():
    tracks = np.array(["b", "a", "b", "c", "a", "b"])
    w = resample_weights(6, 50, seed=0, groups=tracks)
    assert w.shape == (50, 6) and (w > 0).all() and np.allclose(w.sum(axis=1), 6)
    assert np.array_equal(w[:, 0], w[:, 2]) and np.array_equal(w[:, 0], w[:, 5])
    assert np.array_equal(w[:, 1], w[:, 4]) and not np.array_equal(w[:, 0], w[:, 1])
    assert np.array_equal(w, resample_weights(6, 50, seed=0, groups=list(tracks)))
    with pytest.raises(ValueError, match="5 track labels given for 6 clips"):
        resample_weights(6, 5, seed=0, groups=tracks[:5])


def test_track_resamples_count_a_recording_once_however_many_clips_it_has():
    """Every test track as 4 identical clips (velocity layers, excerpts of one song): resampling
    clips one by one sees 4x the evidence and halves the spread; resampling tracks gives the
    spread of the 60 recordings themselves."""
    rng = np.random.default_rng(3)
    y = (rng.random((60, 5)) < 0.3).astype(np.uint8)
    y[0], y[1] = 1, 0
    s = np.clip(y * 0.3 + rng.random((60, 5)), 0, 1)
    once = bootstrap(y, [s], resample_weights(60, 2000, seed=0))["roc_auc_macro"].std()
    y4, s4, tracks = np.repeat(y, 4, axis=0), np.repeat(s, 4, axis=0), np.repeat(np.arange(60), 4)
    by_clip = bootstrap(y4, [s4], resample_weights(240, 2000, seed=0))["roc_auc_macro"].std()
    by_track = bootstrap(y4, [s4], resample_weights(240, 2000, seed=0, groups=tracks))[
        "roc_auc_macro"].std()
    assert by_clip == pytest.approx(once / 2, rel=0.15)
    assert by_track == pytest.approx(once, rel=0.1)


def test_a_rare_tag_keeps_its_positives_in_every_resample():
    """One positive in 30 clips: a resample of counts loses it 36 % of the time; weights never."""
    rng = np.random.default_rng(0)
    y = (rng.random((30, 4)) < 0.3).astype(np.uint8)
    y[:, 3] = 0
    y[5, 3] = 1
    frame = bootstrap(y, [rng.random((30, 4))], resample_weights(30, 500, seed=0))
    assert np.isfinite(frame[list(KEYS)].to_numpy()).all()


def test_bootstrap_is_long_form_one_row_per_resample_and_seed():
    rng = np.random.default_rng(1)
    y = (rng.random((40, 4)) < 0.4).astype(np.uint8)
    s1, s2 = rng.random((40, 4)), rng.random((40, 4))
    w = resample_weights(40, 5, seed=3)
    both = bootstrap(y, [s1, s2], w, seeds=[3, 7])
    assert list(both.columns) == ["resample", "seed", *KEYS] and len(both) == 10
    assert both["resample"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    one = bootstrap(y, [s2], w, seeds=[7])
    pd.testing.assert_frame_equal(both[both["seed"] == 7].reset_index(drop=True), one)
    assert set(bootstrap(y, [s1], w)["seed"]) == {"-"}  # the baseline: one deterministic run


def runs(points, seeds="auto", n_resamples=200, clip_sd=0.0, seed=0):
    """A row from per-seed points (the same for every figure) and clip resamples that shift
    every seed's figure together by N(0, clip_sd)."""
    per_seed = np.repeat(np.asarray(points, dtype=np.float64)[:, None], len(KEYS), axis=1)
    shift = np.random.default_rng(seed).normal(0, clip_sd, (n_resamples, 1, 1))
    seeds = tuple(range(len(per_seed))) if seeds == "auto" else seeds
    return Runs(per_seed, per_seed[None] + shift, seeds)


def test_seed_spread_alone_gives_the_t_interval_on_n_minus_1_df():
    x = np.array([0.90, 0.94, 0.86])
    est = estimate(runs(x), "roc_auc_macro")
    half = student.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)
    assert est.df == pytest.approx(2) and est.se_clips == pytest.approx(0, abs=1e-12)
    assert [est.low, est.high] == pytest.approx([x.mean() - half, x.mean() + half])
    assert est.label == "seeds+clips t, 3 seeds"


def test_clip_spread_alone_gives_the_normal_interval():
    est = estimate(runs([0.9], seeds=None, clip_sd=0.01, n_resamples=4000), "roc_auc_macro")
    assert est.df == np.inf and est.se_clips == pytest.approx(0.01, rel=0.05)
    assert est.high - est.low == pytest.approx(2 * student.ppf(0.975, np.inf) * est.se_clips)
    assert est.label.startswith("clips only: a deterministic row")


def test_both_sources_add_and_the_df_lies_between():
    est = estimate(runs([0.90, 0.94, 0.86], clip_sd=0.02, n_resamples=4000), "roc_auc_macro")
    seeds = np.var([0.90, 0.94, 0.86], ddof=1) / 3
    assert est.se ** 2 == pytest.approx(seeds + est.se_clips ** 2)
    assert 2 < est.df < np.inf


def test_one_seed_is_clip_only_and_never_flagged():
    one = runs([0.99], clip_sd=0.001)
    assert estimate(one, "roc_auc_macro").label.startswith("clips only: one seed")
    rows = pairwise({"one": one, "many": runs([0.5, 0.52, 0.51], clip_sd=0.001)})
    assert (rows["family"] == NO_VERDICT).all() and not rows["significant"].any()
    assert rows["ci95_low"].gt(0).all()  # its interval excludes 0, and still no flag


def test_seeds_are_paired_when_they_match_and_unpaired_when_they_differ():
    a = runs([0.90, 0.95, 0.85])
    b_same = runs([0.89, 0.94, 0.84])  # a - b = 0.01 on every seed: the pairing sees it
    b_other = Runs(b_same.points, b_same.resamples, (3, 4, 5))
    paired, unpaired = (difference(a, b, "roc_auc_macro") for b in (b_same, b_other))
    assert paired.label == "seeds+clips t, 3 paired seeds" and paired.se == 0
    assert paired.p_value == 0.0 and paired.low == pytest.approx(0.01)
    assert unpaired.label == "seeds+clips t, unpaired: seeds differ (3 vs 3)"
    assert unpaired.low < 0 < unpaired.high and unpaired.df == pytest.approx(4)


def test_holm_adjusts_step_down_and_ignores_nan():
    adjusted = holm([0.01, 0.04, np.nan, 0.03])
    assert adjusted[[0, 1, 3]] == pytest.approx([0.03, 0.06, 0.06]) and np.isnan(adjusted[2])


def test_each_flag_belongs_to_a_family_corrected_on_its_own():
    rows = pairwise({"v0": runs([0.9, 0.91, 0.92]), "v1": runs([0.8, 0.82, 0.81]),
                     "v2": runs([0.7, 0.73, 0.71]), "floor": runs([0.75], seeds=None)},
                    floor="floor")
    roc = rows[rows["metric"] == "roc_auc_macro"].set_index(["a", "b"])
    assert (roc.loc[[("v0", "v1"), ("v0", "v2"), ("v1", "v2")], "family"]
            == "variant pairs, roc_auc_macro").all()
    assert (roc.xs("floor", level="b")["family"] == "against the floor, roc_auc_macro").all()
    assert (roc["family_size"] == 3).all() and (roc["correction"] == "holm").all()
    assert (roc["p_adjusted"] >= roc["p_value"]).all()
    none = pairwise({"v0": runs([0.9, 0.91, 0.92]), "v1": runs([0.8, 0.82, 0.81])},
                    correction="none")
    assert (none["p_adjusted"] == none["p_value"]).all()


def test_pairing_over_clips_detects_a_small_consistent_gain_that_separate_intervals_miss():
    """b is a with 7 % of its noise removed on every clip: the intervals of a and b overlap,
    yet the difference b - a, resample by resample, excludes 0."""
    rng = np.random.default_rng(0)
    y = (rng.random((300, 6)) < 0.3).astype(np.uint8)
    noise = rng.normal(0, 1.2, y.shape)
    w = resample_weights(300, 300, seed=0)
    rows = {}
    for name, scores in (("b", y + noise * 0.93), ("a", y + noise)):
        frame = bootstrap(y, [scores], w)
        point = [ranking_metrics(y, scores)[k] for k in KEYS]
        rows[name] = Runs(np.array([point]), frame[list(KEYS)].to_numpy().reshape(300, 1, -1), None)
    ea, eb = (estimate(rows[n], "roc_auc_macro") for n in ("a", "b"))
    assert eb.low < ea.high  # separately: overlapping
    diff = pairwise(rows)
    row = diff[diff["metric"] == "roc_auc_macro"].iloc[0]
    assert row["a"] == "b" and row["difference"] > 0 and row["ci95_low"] > 0 and row["significant"]


def test_every_point_lies_inside_its_interval_on_a_tiny_multilabel_test_part(tmp_path):
    """30 clips, 16 tags, rare ones with one or two positives (the custom-dataset report whose
    PR-AUC macro fell below its own interval): summaries of 1 and 3 seeds and the baseline,
    every figure and every difference."""
    from tagbench.evaluation.replicates import summarize
    from tagbench.evaluation.scoring import score
    from tagbench.settings.config import BootstrapSettings

    rng = np.random.default_rng(5)
    y = (rng.random((30, 16)) < np.linspace(0.03, 0.4, 16)).astype(np.uint8)
    y[0, :4], y[1:, :2] = 1, 0  # tags 0, 1: one positive; 2, 3: a few
    tags = [f"t{j}" for j in range(16)]
    settings = BootstrapSettings(resamples=300, seed=1, resample_by="clip")
    found = {}
    for name, seeds in (("three", [0, 1, 2]), ("one", [0]), ("baseline", None)):
        scored = [score([f"c{i}" for i in range(30)], y,
                        np.clip(0.3 * y + rng.normal(0.4, 0.25, y.shape), 0, 1), tags, {})
                  for _ in (seeds or [None])]
        metrics = summarize(scored, seeds, settings, tmp_path / name)
        assert read_metrics(tmp_path / name / "metrics.json") == metrics
        for key in KEYS:
            low, high = metrics[f"{key}_ci95"]
            assert low <= metrics[key] <= high, (name, key, metrics[key], low, high)
        found[name] = Runs.from_summary(metrics, pd.read_csv(tmp_path / name / "bootstrap.csv"))
    rows = pairwise(found, floor="baseline")
    assert (rows["ci95_low"] <= rows["difference"]).all()
    assert (rows["difference"] <= rows["ci95_high"]).all()


def test_seeds_pair_by_label_in_any_order():
    """[0, 1, 2] against [2, 1, 0] is the same three pairs, not Welch."""
    a, b = runs([0.90, 0.95, 0.85]), runs([0.89, 0.94, 0.84])
    shuffled = Runs(b.points[::-1], b.resamples[:, ::-1], (2, 1, 0))
    d = difference(a, shuffled, "roc_auc_macro")
    assert d.label == "seeds+clips t, 3 paired seeds" and d.se == 0
    assert d.low == pytest.approx(0.01)


def test_two_seeds_or_a_few_test_tracks_give_an_interval_but_no_verdict():
    def with_units(row, n_units):
        return Runs(row.points, row.resamples, row.seeds, n_units)

    better, worse = runs([0.9, 0.91, 0.92], clip_sd=0.001), runs([0.5, 0.52, 0.51], clip_sd=0.001)
    assert pairwise({"a": better, "b": worse})["significant"].all()
    two = runs([0.9, 0.91], clip_sd=0.001)
    for rows in (pairwise({"a": two, "b": worse}),
                 pairwise({"a": with_units(better, 9), "b": with_units(worse, 9)})):
        assert (rows["family"] == NO_VERDICT).all() and not rows["significant"].any()
        assert rows["ci95_low"].gt(0).all()  # the interval excludes 0, and still no flag
    est = estimate(with_units(better, 9), "roc_auc_macro")
    assert not est.verdict and "fewer than 10 test tracks" in est.label
    assert estimate(two, "roc_auc_macro").label.endswith("(fewer than 3 seeds: no verdict)")


def test_the_clip_term_scales_the_bayesian_bootstrap_to_t_minus_1_df():
    """The clip term of T tracks is the resampled variance x (T + 1) / (T - 1), on T - 1 df."""
    row = runs([0.9], seeds=None, clip_sd=0.01, n_resamples=4000)
    plain = estimate(row, "roc_auc_macro")
    scaled = estimate(Runs(row.points, row.resamples, None, 11), "roc_auc_macro")
    assert scaled.se_clips ** 2 == pytest.approx(plain.se_clips ** 2 * 12 / 10)
    assert scaled.df == pytest.approx(10)


def test_a_shipped_head_is_one_deterministic_row_with_verdicts(tmp_path):
    """Nothing of a shipped head is trained: its seeds score one network, so its summary is a
    fixed-seed row, and its pairs get verdicts (they were all 'no verdict' as one-seed rows)."""
    from tagbench.evaluation.replicates import summarize
    from tagbench.evaluation.scoring import score
    from tagbench.settings.config import BootstrapSettings

    rng = np.random.default_rng(8)
    y = (rng.random((60, 4)) < 0.4).astype(np.uint8)
    y[0], y[1] = 1, 0
    clips, tags = [f"c{i}" for i in range(60)], list("abcd")
    shipped = score(clips, y, y + rng.normal(0, 0.5, y.shape), tags,
                    {"model": {"head": "shipped"}})
    settings = BootstrapSettings(resamples=200, seed=1, resample_by="clip")
    metrics = summarize([shipped, shipped], [0, 1], settings, tmp_path / "s")
    assert metrics["seeds"] is None and metrics["interval"].startswith("clips only: a determ")
    trained = [score(clips, y, 0.3 * y + rng.normal(0, 0.5, y.shape), tags, {})
               for _ in range(3)]
    summarize(trained, [0, 1, 2], settings, tmp_path / "t")
    found = {name: Runs.from_summary(read_metrics(tmp_path / name / "metrics.json"),
                                     pd.read_csv(tmp_path / name / "bootstrap.csv"))
             for name in ("s", "t")}
    assert found["s"].seeds is None and found["s"].n_units == 60
    rows = pairwise(found)
    assert (rows["family"] != NO_VERDICT).all()
    assert rows["interval"].eq("seeds+clips t, 3 seeds against a deterministic row").all()


def test_what_more_seeds_buy_keeps_the_clip_terms_degrees_of_freedom():
    """The verdict's projection (twice the seeds) uses the clip term's T - 1 df, as the
    interval it projects does: with 11 tracks it is wider than on the normal."""
    from tagbench.evaluation.stats import projected_half_width

    on_tracks = projected_half_width(0.01, 0.01, 3, n_units=11)
    assert on_tracks > projected_half_width(0.01, 0.01, 3)
    a, b = runs([0.9, 0.91, 0.92], clip_sd=0.01), runs([0.8, 0.82, 0.81], clip_sd=0.01, seed=1)
    rows = pairwise({"a": Runs(a.points, a.resamples, a.seeds, 11),
                     "b": Runs(b.points, b.resamples, b.seeds, 11)})
    assert (rows["n_units"] == 11).all()


def _fold_runs(per_fold, seeds=(0, 1, 2), ratio=0.25):
    """FoldRuns whose seeds land at each fold's figure +- 0.01 (every figure alike)."""
    from tagbench.evaluation.stats import FoldRuns

    offsets = np.linspace(-0.01, 0.01, len(seeds)) if seeds else np.zeros(1)
    points = np.array([[[f + o] * 4 for o in offsets] for f in per_fold])
    return FoldRuns(points, seeds, ratio, tuple(f"r0f{k}" for k in range(len(per_fold))))


def test_cross_validated_interval_is_the_corrected_resampled_t():
    """Over J fold figures (each its mean over seeds) with variance s^2: mean +- t(J-1) x
    sqrt((1/J + n_test/n_train) s^2), wider than the plain t by the overlap of training sets."""
    from scipy.stats import t

    from tagbench.evaluation.stats import cv_estimate

    folds = [0.80, 0.82, 0.84, 0.86, 0.88]
    est = cv_estimate(_fold_runs(folds), "roc_auc_macro")
    se = np.sqrt((1 / 5 + 0.25) * np.var(folds, ddof=1))
    assert est.point == pytest.approx(0.84)
    assert (est.low, est.high) == pytest.approx((0.84 - t.ppf(0.975, 4) * se,
                                                 0.84 + t.ppf(0.975, 4) * se))
    assert est.df == 4 and est.verdict
    assert est.label == ("cross-validation t, 5 folds x 3 seeds (corrected: Nadeau & Bengio)")
    plain = t.ppf(0.975, 4) * np.sqrt(np.var(folds, ddof=1) / 5)
    assert est.high - est.point > 1.4 * plain
    two = cv_estimate(_fold_runs(folds[:2]), "roc_auc_macro")
    assert not two.verdict and "fewer than 3 folds: no verdict" in two.label


def test_cross_validated_pairs_are_paired_over_folds_and_flagged_per_family():
    """A variant that beats another by the same margin on every fold is flagged even when the
    folds spread widely; the fold spread alone flags nothing; the floor has its own family."""
    from tagbench.evaluation.stats import cv_difference, pairwise

    wide = [0.70, 0.78, 0.86, 0.74, 0.82]
    a, b = _fold_runs(wide), _fold_runs([f - 0.03 for f in wide])
    d = cv_difference(a, b, "roc_auc_macro")
    assert d.point == pytest.approx(0.03) and d.se == pytest.approx(0.0, abs=1e-12)
    floor = _fold_runs([0.6, 0.61, 0.62, 0.63, 0.64], seeds=None)
    rows = pairwise({"a": a, "b": b, "floor": floor}, floor="floor")
    macro = rows[rows["metric"] == "roc_auc_macro"].set_index(["a", "b"])
    assert bool(macro.loc[("a", "b"), "significant"])
    assert macro.loc[("a", "floor"), "family"].startswith("against the floor")
    assert macro["interval"].str.startswith("cross-validation t, paired over 5 folds").all()
    noise = pairwise({"a": a, "c": _fold_runs([0.78, 0.70, 0.82, 0.86, 0.74])})
    assert not noise["significant"].any()
