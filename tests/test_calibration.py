"""Calibration of the intervals on synthetic scores with the demo's seed spread: equal variants
are flagged at most 10 % of the time at 3 and at 5 seeds, a true gap of three seed stds is found
at least 80 % of the time at 5 seeds, and the clip-only method (what tagbench did before)
fails the same test.

The score model, per replication (one test part like the demo's, 96 clips x 10 tags of uneven
frequency): score = quality x label + shared + noise x N(0, 1), where `shared` is what makes a
clip hard for every model (the same for all), `noise` is each seed's own score noise, and each
seed's `quality` is the variant's plus `spread` x N(0, 1) (a per-seed global quality offset).
The constants give ROC-AUC macro seed stds of ~0.037 (`NOISY`, the demo's vggish_3fc) and
~0.007 (`QUIET`, vggish_2fc and vggish_autopool) at equal means, and `QUIET_LOW` three noisy seed
stds below them; the test checks these premises before the rates.
"""

import numpy as np
import pytest

from tagbench.evaluation.stats import KEYS, Runs, pairwise, resample_weights

from .conftest import runs_from_scores

N_CLIPS, N_TAGS, SEEDS = 96, 10, 5
REPLICATIONS, RESAMPLES = 200, 100
KEY = "roc_auc_macro"
# (quality, its spread over seeds, per-seed score noise)
NOISY, QUIET, QUIET_LOW = (2.3, 0.42, 0.5), (2.225, 0.04, 0.5), (1.38, 0.0, 0.5)
MAX_FALSE, MIN_FOUND = 0.10, 0.80


def draw(r: int) -> tuple[np.ndarray, dict[str, list[np.ndarray]]]:
    """One test part's labels and, per variant, SEEDS seeds' scores."""
    rng = np.random.default_rng([20261201, r])
    y = (rng.random((N_CLIPS, N_TAGS)) < np.linspace(0.08, 0.45, N_TAGS)).astype(np.uint8)
    y[0], y[1] = 1, 0  # every tag has a positive and a negative
    shared = rng.normal(0, 1, y.shape)
    return y, {name: [q * y + shared + noise * rng.normal(0, 1, y.shape)
                      for q in quality + spread * rng.normal(size=SEEDS)]
               for name, (quality, spread, noise) in (("noisy", NOISY), ("quiet", QUIET),
                                                      ("quiet_low", QUIET_LOW))}


def replication(r: int) -> dict[str, Runs]:
    """Per variant: its seeds' figures on the whole test part and on every clip resample."""
    y, scores = draw(r)
    weights = resample_weights(N_CLIPS, RESAMPLES, r)
    return {name: runs_from_scores(y, seed_scores, weights, tuple(range(SEEDS)))
            for name, seed_scores in scores.items()}


def first(runs: Runs, n: int) -> Runs:
    return Runs(runs.points[:n], runs.resamples[:, :n], runs.seeds[:n])


@pytest.fixture(scope="module")
def replications():
    return [replication(r) for r in range(REPLICATIONS)]


def flagged(replications, a, b, n, method):
    """Per replication: (significant, difference) of a - b at n seeds."""
    out = []
    for runs in replications:
        rows = pairwise({a: first(runs[a], n), b: first(runs[b], n)}, method, "holm")
        row = rows[rows["metric"] == KEY].iloc[0]
        out.append((bool(row["significant"]), row["difference"]))
    return np.array(out)


def rates(replications, method):
    """Equal variants flagged at 3 and 5 seeds; the 3-std gap found (right sign) at 5 seeds."""
    equal = {n: flagged(replications, "noisy", "quiet", n, method)[:, 0].mean() for n in (3, 5)}
    gap = flagged(replications, "noisy", "quiet_low", SEEDS, method)
    return equal, float(np.mean(gap[:, 0].astype(bool) & (gap[:, 1] > 0)))


def describe(method, equal, found) -> str:
    return (f"{method}: equal variants flagged {equal[3]:.1%} at 3 seeds and {equal[5]:.1%} at "
            f"5 seeds (at most {MAX_FALSE:.0%}); a gap of 3 seed stds found {found:.1%} at 5 "
            f"seeds (at least {MIN_FOUND:.0%})")


def test_the_premises_match_the_demo(replications):
    j = KEYS.index(KEY)

    def seed_std(name):
        return float(np.sqrt(np.mean([np.var(r[name].points[:, j], ddof=1)
                                      for r in replications])))

    def mean(name):
        return float(np.mean([r[name].points[:, j].mean() for r in replications]))

    noisy, quiet = seed_std("noisy"), seed_std("quiet")
    assert 0.032 < noisy < 0.042 and 0.005 < quiet < 0.010, (noisy, quiet)
    assert abs(mean("noisy") - mean("quiet")) < 0.1 * noisy, (mean("noisy"), mean("quiet"))
    gap = (mean("noisy") - mean("quiet_low")) / noisy
    assert 2.8 < gap < 3.2, gap


def test_seeds_and_clips_intervals_are_calibrated(replications):
    equal, found = rates(replications, "seeds_and_clips")
    message = describe("seeds_and_clips", equal, found)
    assert equal[3] <= MAX_FALSE and equal[5] <= MAX_FALSE and found >= MIN_FOUND, message
    print(message)


def test_clip_only_intervals_fail_the_same_test(replications):
    """The test can fail: the clip-only interval ignores the seeds and flags equal variants."""
    equal, found = rates(replications, "clips")
    assert equal[3] > MAX_FALSE and equal[5] > MAX_FALSE, describe("clips", equal, found)


# --- coverage when the seeds' errors are their own (#29): the clip term counts only what the
# seeds share ---------------------------------------------------------------------------------
# One tag, 60 clips half positive, scores = label + N(0, 1) drawn afresh per seed: no seed
# effect, no shared clip effect, all the variance is each seed's own error on these clips. The
# true ROC-AUC is P(N(1, 1) > N(0, 1)) = Phi(1 / sqrt(2)) for every draw.
INTERACTION_CLIPS, INTERACTION_REPLICATIONS = 60, 400
TRUE_AUC = 0.5 * (1 + __import__("math").erf(0.5))


def interaction(r: int, n_seeds: int) -> Runs:
    rng = np.random.default_rng([20261207, r])
    y = np.zeros((INTERACTION_CLIPS, 1), np.uint8)
    y[: INTERACTION_CLIPS // 2] = 1
    scores = [y + rng.normal(0, 1, y.shape) for _ in range(n_seeds)]
    weights = resample_weights(INTERACTION_CLIPS, RESAMPLES, r)
    runs = runs_from_scores(y, scores, weights, tuple(range(n_seeds)))
    return Runs(runs.points, runs.resamples, runs.seeds, INTERACTION_CLIPS)


@pytest.mark.parametrize("n_seeds", [3, 5])
def test_intervals_cover_when_each_seed_errs_on_its_own(n_seeds):
    """95 % intervals cover the true figure 92-98 % of the time (400 draws: +-1.1 % binomial
    sd); the interval that counted each seed's own clip errors twice covered 99-100 %."""
    from scipy.stats import t

    from tagbench.evaluation.stats import estimate

    covered, before = [], []
    for r in range(INTERACTION_REPLICATIONS):
        runs = interaction(r, n_seeds)
        est = estimate(runs, KEY)
        covered.append(est.low <= TRUE_AUC <= est.high)
        # the double count: the seeds' spread plus the resampled variance of their mean
        j = KEYS.index(KEY)
        var_seeds = np.var(runs.points[:, j], ddof=1) / n_seeds
        var = var_seeds + np.var(runs.resamples[:, :, j].mean(axis=1), ddof=1)
        half = t.ppf(0.975, var ** 2 / (var_seeds ** 2 / (n_seeds - 1))) * np.sqrt(var)
        before.append(abs(runs.points[:, j].mean() - TRUE_AUC) <= half)
    coverage, old = float(np.mean(covered)), float(np.mean(before))
    print(f"{n_seeds} seeds: coverage {coverage:.1%} (before: {old:.1%})")
    assert 0.92 <= coverage <= 0.98, (coverage, old)
    assert old > coverage
