"""The intervals: their calibration on synthetic scores, and the bootstrap's cost at MTT size.

    python benchmarks/intervals.py      (~2 min on 2 cores; needs the git history for "before")

Calibration, on the score model of tests/test_calibration.py (200 replications of a demo-sized
test part, a variant with the demo's vggish_3fc seed spread against one with vggish_2fc's): how
often equal variants are flagged at 3 and 5 seeds, and how often a gap of three seed stds is
found at 5 seeds, for
- clip-only percentile: tagbench before (commit `BEFORE`): clip resamples of counts, each
  figure averaged over the seeds, the 2.5-97.5 percentiles of the paired difference;
- two-level bootstrap: per resample, the clips and, per variant, its seeds with replacement;
  percentiles of the difference;
- clips only, centred: `evaluate.interval: clips` (the seeds ignored);
- seeds+clips t: tagbench now (`stats.pairwise`).
Cost: seconds per resample and seed of the bootstrap on MTT's test part size (6,466 clips x 188
tags, random float32 scores), now and at `BEFORE`.
Coverage: how often a variant's 95 % interval covers its true figure (known in closed form), one
tag, 60 test clips half positive, scores = (q + a_i) x label + N(0, 1), in two scenarios:
interaction-dominated (no seed effect: each seed errs on its own clips) and seed-dominated
(a_i ~ N(0, 1)), at 2, 3 and 5 seeds, for the interval that counted each seed's own clip
errors twice (before #29: the seeds' s^2 / n plus the resampled variance of their mean, the
clip term on infinite df) and now (the clip term is what the seeds share, scaled to the
classical variance on T - 1 df).
Tracks: how often the clip-only 95 % interval of one model's ROC-AUC macro covers its value on
the whole population of tracks, when a test part holds 32 tracks of k clips that share their
labels and a track effect on the scores (layers of one drum, excerpts of one song), with the
resamples weighting clips (`evaluate.resample_by: clip`, tagbench before) or tracks (`track`).
"""

from __future__ import annotations

import subprocess
import sys
import time
import types

import numpy as np
from common import ROOT

sys.path.insert(0, str(ROOT))

BEFORE = "c6c67db"  # the last commit with clip-only intervals


def before_stats() -> types.ModuleType:
    """tagbench.stats as it was at BEFORE (from git)."""
    source = subprocess.run(["git", "show", f"{BEFORE}:src/tagbench/stats.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("stats_before")
    exec(compile(source, f"{BEFORE}:stats.py", "exec"), module.__dict__)
    return module


def percentile_flag(values) -> bool:
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return bool(low > 0 or high < 0)


def calibration() -> None:
    from tagbench.evaluation.stats import KEYS, pairwise
    from tests import test_calibration as cal

    old = before_stats()
    j = KEYS.index(cal.KEY)
    pairs = {"equal, 3 seeds": ("noisy", "quiet", 3), "equal, 5 seeds": ("noisy", "quiet", 5),
             "3-std gap, 5 seeds": ("noisy", "quiet_low", 5)}
    methods = ("clip-only percentile (before)", "two-level bootstrap", "clips only, centred",
               "seeds+clips t (now)")
    flags = {(m, p): [] for m in methods for p in pairs}
    start = time.perf_counter()
    for r in range(cal.REPLICATIONS):
        y, scores = cal.draw(r)
        runs = cal.replication(r)
        idx = old.resample_indices(cal.N_CLIPS, cal.RESAMPLES, r)
        rng = np.random.default_rng([7, r])
        for label, (a, b, n) in pairs.items():
            point = {v: {k: np.mean([old.ranking_metrics(y, s)[k] for s in scores[v][:n]])
                         for k in KEYS} for v in (a, b)}
            boot = {v: old.bootstrap(y, scores[v][:n], idx) for v in (a, b)}
            rows = old.paired_differences(boot, point)
            flags["clip-only percentile (before)", label].append(
                bool(rows.loc[rows["metric"] == cal.KEY, "significant"].iloc[0]))
            ra, rb = cal.first(runs[a], n), cal.first(runs[b], n)
            pick = [rng.integers(0, n, (cal.RESAMPLES, n)) for _ in (a, b)]
            diff = (np.take_along_axis(ra.resamples[:, :, j], pick[0], axis=1).mean(axis=1)
                    - np.take_along_axis(rb.resamples[:, :, j], pick[1], axis=1).mean(axis=1))
            flags["two-level bootstrap", label].append(percentile_flag(diff))
            for method, name in (("clips", "clips only, centred"),
                                 ("seeds_and_clips", "seeds+clips t (now)")):
                rows = pairwise({a: ra, b: rb}, method, "holm")
                flags[name, label].append(bool(rows.loc[rows["metric"] == cal.KEY,
                                                        "significant"].iloc[0]))
    print(f"calibration: {cal.REPLICATIONS} replications, {cal.RESAMPLES} resamples, "
          f"{time.perf_counter() - start:.0f} s")
    print("| method | " + " | ".join(pairs) + " |")
    print("|---|" + "---|" * len(pairs))
    for m in methods:
        print(f"| {m} | " + " | ".join(f"{np.mean(flags[m, p]):.1%}" for p in pairs) + " |")
    print("(equal: flagged, target <= 10 %; gap: found, target >= 80 %)")


def cost() -> None:
    from tagbench.evaluation.stats import bootstrap, resample_weights

    rng = np.random.default_rng(0)
    y = (rng.random((6466, 188)) < 0.03).astype(np.uint8)
    scores = [rng.random((6466, 188)).astype(np.float32) for _ in range(2)]
    n = 20
    old = before_stats()
    timings = {}
    for name, run in (("now", lambda: bootstrap(y, scores, resample_weights(6466, n, 0), [0, 1])),
                      (f"before ({BEFORE})",
                       lambda: old.bootstrap(y, scores, old.resample_indices(6466, n, 0)))):
        start = time.perf_counter()
        run()
        timings[name] = (time.perf_counter() - start) / (n * len(scores))
    print(f"bootstrap at MTT size (6,466 clips x 188 tags, {n} resamples x 2 seeds, sorting "
          "included): " + ", ".join(f"{k} {v:.3f} s" for k, v in timings.items())
          + " per resample and seed")


def coverage(replications: int = 1000, resamples: int = 200, n_clips: int = 60) -> None:
    from math import erf, sqrt

    from scipy.stats import t

    from tagbench.evaluation.stats import KEYS, Runs, estimate, resample_weights
    from tests.conftest import runs_from_scores

    j = KEYS.index("roc_auc_macro")

    def phi(x):
        return 0.5 * (1 + erf(x / sqrt(2)))

    scenarios = {"interaction-dominated": 0.0, "seed-dominated": 0.5}  # the seeds' sd of q
    print(f"coverage: {replications} replications, {n_clips} clips (half positive), one tag, "
          f"{resamples} resamples; target 93-97 %")
    print("| scenario | seeds | double count (before) | now | now: verdict |")
    print("|---|---|---|---|---|")
    start = time.perf_counter()
    for name, spread in scenarios.items():
        truth = phi(1.0 / sqrt(2 + spread ** 2))  # E over a of P(N(1 + a, 1) > N(0, 1))
        for n in (2, 3, 5):
            before, now, verdicts = [], [], []
            for r in range(replications):
                rng = np.random.default_rng([29, n, int(10 * spread), r])
                y = np.zeros((n_clips, 1), np.uint8)
                y[: n_clips // 2] = 1
                scores = [(1.0 + spread * rng.normal()) * y + rng.normal(0, 1, y.shape)
                          for _ in range(n)]
                runs = runs_from_scores(y, scores, resample_weights(n_clips, resamples, r),
                                        tuple(range(n)))
                runs = Runs(runs.points, runs.resamples, runs.seeds, n_clips)
                est = estimate(runs, "roc_auc_macro")
                now.append(est.low <= truth <= est.high)
                verdicts.append(est.verdict)
                var_seeds = np.var(runs.points[:, j], ddof=1) / n
                var = var_seeds + np.var(runs.resamples[:, :, j].mean(axis=1), ddof=1)
                half = t.ppf(0.975, var ** 2 / (var_seeds ** 2 / (n - 1))) * np.sqrt(var)
                before.append(abs(runs.points[:, j].mean() - truth) <= half)
            print(f"| {name} | {n} | {np.mean(before):.1%} | {np.mean(now):.1%} | "
                  f"{'yes' if all(verdicts) else 'no (fewer than 3 seeds)'} |")
    print(f"({time.perf_counter() - start:.0f} s)")


def tracks(replications: int = 200, resamples: int = 200) -> None:
    from tagbench.evaluation.stats import bootstrap, ranking_metrics, resample_weights

    def draw(rng, n_tracks, k):
        y = (rng.random((n_tracks, 10)) < np.linspace(0.1, 0.45, 10)).astype(np.uint8)
        y[0], y[1] = 1, 0
        track_effect = rng.normal(0, 1.0, y.shape)
        y, effect = np.repeat(y, k, axis=0), np.repeat(track_effect, k, axis=0)
        return y, 1.5 * y + effect + rng.normal(0, 0.5, y.shape), np.repeat(np.arange(n_tracks), k)

    print(f"tracks: {replications} replications of 32 test tracks x k clips, 10 tags, "
          f"{resamples} resamples; coverage of the population ROC-AUC macro (target 95 %)")
    print("| clips per track | resample_by: clip | resample_by: track |")
    print("|---|---|---|")
    for k in (1, 3, 6):
        y, s, _ = draw(np.random.default_rng([1, k]), 20000, k)
        truth = ranking_metrics(y, s)["roc_auc_macro"]
        covered = {"clip": [], "track": []}
        for r in range(replications):
            y, s, groups = draw(np.random.default_rng([2, k, r]), 32, k)
            point = ranking_metrics(y, s)["roc_auc_macro"]
            for by, g in (("clip", None), ("track", groups)):
                w = resample_weights(len(y), resamples, r, g)
                se = bootstrap(y, [s], w)["roc_auc_macro"].std(ddof=1)
                covered[by].append(abs(point - truth) <= 1.96 * se)
        print(f"| {k} | {np.mean(covered['clip']):.1%} | {np.mean(covered['track']):.1%} |")


if __name__ == "__main__":
    from common import machine

    print(machine())
    cost()
    calibration()
    coverage()
    tracks()
