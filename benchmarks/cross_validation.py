"""Cross-validated intervals (split.method kfold): their coverage with a real split effect.

    python benchmarks/cross_validation.py      (~1 min on 2 cores)

A small dataset is drawn from a population of tracks (20 features, 3 tags from a logistic
model), and a recipe (scikit-learn's SGD logistic regression, whose seed changes the fit) is
cross-validated on it as tagbench does: 5 folds by track, stratified over tags, valid ignored,
3 seeds per fold; every fold x seed scores ROC-AUC macro on its fold. What the interval should
cover is the recipe's expected figure when trained on a training part of that size, averaged over
training sets and seeds, on the whole population (Monte Carlo: 300 training sets scored on 20,000
fresh tracks). Over 300 datasets, it prints how often each interval covers it:

- plain t over folds: mean +- t(J-1) x sqrt(s^2 / J), ignoring that the folds' training sets
  overlap;
- corrected (tagbench, `stats.cv_estimate`): the same t with SE^2 = (1/J + n_test/n_train) s^2
  (Nadeau & Bengio 2003);
- one group split (what tagbench did for small datasets before): a single 3/4-1/4 split, seeds
  and clips interval (`stats.estimate`), which holds no split variation at all.

Then two recipes compared, paired over folds (`stats.cv_difference`): how often two equal recipes
are flagged (p < 0.05), and how often a recipe with a real gap is.
"""

from __future__ import annotations

import sys

import numpy as np
from common import ROOT, machine

sys.path.insert(0, str(ROOT / "src"))

N_TRACKS, N_FEATURES, N_TAGS, FOLDS, SEEDS = 160, 20, 3, 5, 3


def population(rng):
    """The population's tag model: logistic in the features, a few informative ones."""
    w = rng.normal(size=(N_FEATURES, N_TAGS)) * (rng.random((N_FEATURES, 1)) < 0.4)
    return w * 0.9, rng.normal(size=N_TAGS) - 0.8


def draw(model, n, rng):
    w, b = model
    x = rng.normal(size=(n, N_FEATURES))
    y = (rng.random((n, N_TAGS)) < 1 / (1 + np.exp(-(x @ w + b)))).astype(np.uint8)
    return x, y


def fit_score(x, y, x_test, y_test, seed, noise=0.0):
    """The recipe: one SGD logistic regression per tag (its seed shuffles and initialises);
    `noise` blurs the features (a weaker recipe). ROC-AUC macro on the test tracks."""
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed + 7919)
    x = x + noise * rng.normal(size=x.shape)
    x_test = x_test + noise * rng.normal(size=x_test.shape)
    aucs = []
    for t in range(N_TAGS):
        if len(set(y[:, t])) < 2 or len(set(y_test[:, t])) < 2:
            continue
        clf = SGDClassifier(loss="log_loss", alpha=0.01, max_iter=5, tol=None, random_state=seed)
        clf.fit(x, y[:, t])
        aucs.append(roc_auc_score(y_test[:, t], clf.decision_function(x_test)))
    return float(np.mean(aucs))


def folds_of(y, seed):
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    splitter = MultilabelStratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def truth(model, n_train, rng, noise=0.0, draws=300):
    x_test, y_test = draw(model, 20_000, rng)
    return float(np.mean([fit_score(*draw(model, n_train, rng), x_test, y_test, s, noise)
                          for s in range(draws)]))


def main(replications: int = 300) -> None:
    from tagbench.evaluation.stats import FoldRuns, cv_difference, cv_estimate

    print(machine())
    rng = np.random.default_rng(0)
    model = population(rng)
    n_train = N_TRACKS - N_TRACKS // FOLDS
    mu = truth(model, n_train, rng)
    mu_split = truth(model, N_TRACKS - N_TRACKS // 4, rng)
    covered = {"plain t over folds": 0, "corrected (tagbench)": 0, "one group split": 0}
    flags = {"equal recipes": 0, "a real gap": 0}
    gaps = []
    for r in range(replications):
        x, y = draw(model, N_TRACKS, rng)
        points = {"a": [], "same": [], "weaker": []}
        for train, test in folds_of(y, r):
            for name, noise, offset in (("a", 0.0, 0), ("same", 0.0, 100), ("weaker", 0.8, 0)):
                points[name].append([[fit_score(x[train], y[train], x[test], y[test],
                                                s + offset, noise)] * 4 for s in range(SEEDS)])
        runs = {k: FoldRuns(np.array(v), tuple(range(SEEDS)), (N_TRACKS / FOLDS) / n_train,
                            tuple(range(FOLDS))) for k, v in points.items()}
        est = cv_estimate(runs["a"], "roc_auc_macro")
        covered["corrected (tagbench)"] += est.low <= mu <= est.high
        folds = runs["a"].fold_figures("roc_auc_macro")
        from scipy.stats import t

        half = t.ppf(0.975, FOLDS - 1) * np.sqrt(folds.var(ddof=1) / FOLDS)
        covered["plain t over folds"] += folds.mean() - half <= mu <= folds.mean() + half
        covered["one group split"] += _group_split_covers(model, x, y, mu_split, r)
        flags["equal recipes"] += cv_difference(runs["a"], runs["same"], "roc_auc_macro").p_value < 0.05
        gap = cv_difference(runs["a"], runs["weaker"], "roc_auc_macro")
        gaps.append(gap.point)
        flags["a real gap"] += gap.p_value < 0.05
    print(f"{replications} datasets of {N_TRACKS} tracks, {FOLDS} folds x {SEEDS} seeds; "
          f"true ROC-AUC macro at {n_train} training tracks: {mu:.4f}")
    print("| interval | covers the true figure |\n|---|---|")
    for name, n in covered.items():
        print(f"| {name} | {n / replications:.1%} |")
    print(f"flags (p < 0.05, paired over folds): equal recipes {flags['equal recipes'] / replications:.1%}; "
          f"a weaker recipe (mean gap {np.mean(gaps):+.3f}) {flags['a real gap'] / replications:.1%}")


def _group_split_covers(model, x, y, mu_split, r) -> bool:
    """One seeded 3/4-1/4 split, 3 seeds, tagbench's seeds-and-clips interval on its test tracks
    (each track its own unit): does it cover the recipe's expected figure?"""
    from sklearn.linear_model import SGDClassifier

    from tagbench.evaluation.stats import (
        KEYS,
        RankingFigures,
        Runs,
        estimate,
        ranking_metrics,
        resample_weights,
    )

    order = np.random.default_rng(r + 50_000).permutation(len(y))
    test, train = order[: len(y) // 4], order[len(y) // 4:]
    weights = resample_weights(len(test), 200, r)
    points, resamples = [], []
    for s in range(SEEDS):
        scores = np.column_stack([
            SGDClassifier(loss="log_loss", alpha=0.01, max_iter=5, tol=None, random_state=s)
            .fit(x[train], y[train, t]).decision_function(x[test]) for t in range(N_TAGS)])
        figures = ranking_metrics(y[test], scores)
        points.append([figures[k] for k in KEYS])
        resamples.append(RankingFigures(y[test], scores).figures(weights))
    runs = Runs(np.array(points), np.stack(resamples, axis=1), tuple(range(SEEDS)), len(test))
    est = estimate(runs, "roc_auc_macro")
    return est.low <= mu_split <= est.high


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
