"""Uncertainty of the test figures over both sources of variation: training seeds and test clips.

A variant's figure is the mean over its seeds of the figure on the whole test part. It
estimates what the recipe scores on clips like these, averaged over training seeds, so its
standard error has two parts:

Write seed i's figure on test set T as mu + a_i + b(T) + g_i(T): a_i what the seed alone gets
right or wrong everywhere, b(T) what every seed shares about T, g_i(T) what seed i alone gets
wrong on T. The variance of the mean over n seeds is s_a^2 / n + s_b^2 + s_g^2 / n, estimated in
two parts that count each term once:

- seeds: the spread of the per-seed figures on the test part, s^2 / n, which estimates
  (s_a^2 + s_g^2) / n. For a difference between two variants trained on the same seeds
  (matched by label: same stream, same head initialisation) it is the spread of the per-seed
  differences; with other seeds, the two spreads add (Welch);
- clips: what the seeds share, s_b^2: the mean over seed pairs i != k of the covariance of
  their figures over a bootstrap of the test tracks (for a difference, of their differences,
  resample by resample: paired over clips, so the clips that are hard for both cancel out).
  The variance of the mean over seeds would count s_g^2 / n a second time (on the demo it made
  the intervals up to 1.5x too wide). One seed, or a deterministic row, has no pairs: its
  resampled variance is the clip term (all of it is "shared"). The Bayesian bootstrap's
  variance over T tracks is (T - 1) / (T + 1) of the classical one: the clip term is scaled up
  by (T + 1) / (T - 1) and carries T - 1 degrees of freedom.

The 95 % interval is the point +- t x SE, with Satterthwaite's degrees of freedom for the sum
(n - 1 for the seed term, T - 1 for the clip term; `estimate`); the p-value is that t's. A
verdict needs at least `MIN_SEEDS` seeds per trained row and `MIN_TRACKS` test tracks: below
them the t of an s^2 with one or two df, or of a handful of tracks, covers too little
(`benchmarks/intervals.py`). Why not clips alone (`interval: clips`, what tagbench did before): a clip-only
interval says how far these trained weights would move on other test clips, not whether one
recipe trains better; on synthetic scores with the demo's seed spread it flagged 69 % of pairs
of equal variants at 3 seeds (this method: 6 %). Why not a two-level bootstrap (seeds resampled
too): n values resampled with replacement understate their spread by (n - 1) / n and, at 3
seeds, take only 10 distinct draws; it flagged 24 % at 3 seeds and 14 % at 5
(`benchmarks/intervals.py`; tests/test_calibration.py; docs/statistics.md, "Intervals").

A run with one seed has no seed spread to estimate: its interval is clip-only, labelled so, and
it never gets a verdict. The baseline and a shipped head are deterministic (one fit or none, no
seed): a fixed-seed row, clip-only on its own, whose side of a difference adds no seed term.

Clip resamples are Bayesian-bootstrap weights (Rubin 1981, `resample_weights`): each test track
gets a weight from Dirichlet(1, ..., 1), shared by its clips (`evaluate.resample_by: track`; each
clip its own with `clip`), the same for every seed, variant and the baseline.
No clip gets weight 0, so every tag scorable on the whole test part (a positive and a negative
clip) stays scorable in every resample and a macro figure is always the mean over that one
fixed tag set. (Resampling counts drops a rare tag whenever a resample draws none of its
positives; the tags it drops are the hard ones, which biased the resampled macro up: on a
30-clip test part every variant's PR-AUC macro lay below its own percentile interval.) The
interval is centred on the point estimate (the bootstrap gives only the variance), so no skew of
the resampled figures can put a point outside its interval.

Multiplicity: a family's p-values are adjusted by Holm's step-down (`holm`); `pairwise` puts
variant pairs in one family per figure and each variant against the floor in another.

The four ranking metrics are computed here vectorised over tags and resamples, from scores
sorted once per model: a resample only reweights clips (`SortedScores`). On MTT's test part
(6,466 clips x 188 tags) that is ~0.09 s per resample and seed (`benchmarks/intervals.py`), where
scikit-learn takes ~1 s; `tests/test_stats.py` checks the figures against scikit-learn's with
the same sample weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.errors import DataError

KEYS = ("roc_auc_macro", "pr_auc_macro", "roc_auc_micro", "pr_auc_micro")
LEVEL = 0.95
FIXED = "-"                               # the seed label of a deterministic run (the baseline)
MIN_SEEDS = 3     # a trained row's seeds a verdict needs: 2 seeds' s^2 has 1 df (89 % coverage)
MIN_TRACKS = 10   # test tracks (resampled units) a verdict needs
BATCH_CELLS = 2 ** 14                     # resamples x clips x tags at once: stays in cache


def resample_weights(n_clips: int, n_resamples: int, seed: int,
                     groups: np.ndarray | None = None) -> np.ndarray:
    """Draw Bayesian-bootstrap clip weights (Dirichlet(1, ..., 1)), scaled to sum to `n_clips`.

    The weights depend on the clips (and their tracks), the resample count and the seed only:
    the same for every model, which is what pairs differences. Every weight is positive, so no
    tag loses its positives in a resample.

    Parameters
    ----------
    n_clips : int
        Test clips.
    n_resamples : int
        Resamples to draw.
    seed : int
        The bootstrap seed.
    groups : array_like, optional
        Each clip's track (any labels, one per clip): each track then draws one weight, shared
        by its clips. Clips of one recording are not independent evidence; resampling them one
        by one shrinks the interval by up to the square root of the clips per track.

    Returns
    -------
    ndarray
        (n_resamples, n_clips) float64 weights.

    Raises
    ------
    ValueError
        If `groups` does not hold one label per clip.
    """
    if groups is None:
        g = np.random.default_rng([seed, n_clips]).standard_exponential((n_resamples, n_clips))
    else:
        groups = np.asarray(groups)
        if groups.shape != (n_clips,):
            raise ValueError(f"{groups.shape[0]} track labels given for {n_clips} clips")
        _, index = np.unique(groups, return_inverse=True)
        n_groups = int(index.max()) + 1
        g = np.random.default_rng([seed, n_clips, n_groups]).standard_exponential(
            (n_resamples, n_groups))[:, index]
    return g * (n_clips / g.sum(axis=1, keepdims=True))


def resampled(metrics: dict) -> tuple[str, int]:
    """What a summary's test resamples weighted, and how many: ("track", 44) or ("clip", 134)
    (a summary from before tracks were resampled weighted clips)."""
    unit = metrics.get("resample_by", "clip")
    return unit, int(metrics.get("n_resampled", metrics.get("n_clips") or 0))


def _previous_step(cum: np.ndarray, step: np.ndarray) -> np.ndarray:
    """At each rank, the cumulative count at the end of the previous tie (0 before the first)."""
    last = np.maximum.accumulate(np.where(step, cum, 0), axis=-1)
    out = np.zeros_like(cum)
    out[..., 1:] = last[..., :-1]
    return out


class SortedScores:
    """One model's scores sorted once (descending, per tag), so that each resample costs a
    weighted cumulative sum instead of a sort. Ties enter together (one ROC point or PR step
    per distinct score), as in scikit-learn; ROC-AUC is the trapezoid area, PR-AUC the average
    precision, both with the clips' weights as sample weights. Columns without ties (most, with
    continuous scores) take a shorter path with the same result."""

    def __init__(self, y_true: np.ndarray, y_score: np.ndarray):
        # (columns, clips): rank along the last axis, where cumulative sums are fastest
        y = np.asarray(y_true, dtype=np.float64).T
        s = np.asarray(y_score, dtype=np.float64).T
        self.order = np.argsort(-s, axis=1, kind="stable")
        self.y = np.take_along_axis(y, self.order, axis=1)
        ranked = np.take_along_axis(s, self.order, axis=1)
        self.last_of_tie = np.ones_like(ranked, dtype=bool)
        self.last_of_tie[:, :-1] = ranked[:, :-1] != ranked[:, 1:]
        self.tied = ~self.last_of_tie.all(axis=1)

    def metrics(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ROC-AUC, PR-AUC) per column for per-clip weights, (clips,) or (resamples, clips);
        nan where a column lacks a class."""
        w = np.asarray(weights, dtype=np.float64)
        flat = w.ndim == 1
        w = np.atleast_2d(w)
        roc = np.empty((len(w), self.y.shape[0]))
        ap = np.empty_like(roc)
        with np.errstate(invalid="ignore", divide="ignore"):
            for cols, fn in ((~self.tied, self._distinct), (self.tied, self._with_ties)):
                if cols.any():
                    roc[:, cols], ap[:, cols] = fn(w[:, self.order[cols]], cols)
        return (roc[0], ap[0]) if flat else (roc, ap)

    def _distinct(self, w: np.ndarray, cols) -> tuple[np.ndarray, np.ndarray]:
        """Every score distinct: each clip is its own ROC point and PR step."""
        wy = w * self.y[cols]
        tp, seen = np.cumsum(wy, axis=-1), np.cumsum(w, axis=-1)
        pos = tp[..., -1]
        neg = seen[..., -1] - pos
        precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
        roc = ((w - wy) * tp).sum(axis=-1) / (pos * neg)
        ap = (wy * precision).sum(axis=-1) / pos
        ok = (pos > 0) & (neg > 0)
        return np.where(ok, roc, np.nan), np.where(ok, ap, np.nan)

    def _with_ties(self, w: np.ndarray, cols) -> tuple[np.ndarray, np.ndarray]:
        y, step = self.y[cols], self.last_of_tie[cols]
        tp = np.cumsum(w * y, axis=-1)
        fp = np.cumsum(w * (1 - y), axis=-1)
        prev_tp, prev_fp = _previous_step(tp, step), _previous_step(fp, step)
        pos, neg = tp[..., -1], fp[..., -1]
        roc = (step * (fp - prev_fp) * (tp + prev_tp)).sum(axis=-1) / (2 * pos * neg)
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        ap = (step * (tp - prev_tp) * precision).sum(axis=-1) / pos
        ok = (pos > 0) & (neg > 0)
        return np.where(ok, roc, np.nan), np.where(ok, ap, np.nan)


class RankingFigures:
    """The four ranking figures of one model's scores, for any reweighting of its test clips.
    A macro figure averages the tags scorable on the whole test part (`fixed`), in every
    resample."""

    def __init__(self, y_true: np.ndarray, y_score: np.ndarray):
        y, s = np.asarray(y_true), np.asarray(y_score)
        self.n_clips, self.n_tags = y.shape
        positives = y.sum(axis=0)
        self.fixed = (positives > 0) & (positives < self.n_clips)
        self.per_tag = SortedScores(y, s)
        self.pairs = SortedScores(y.reshape(-1, 1), s.reshape(-1, 1))  # micro: every clip x tag

    def _macro(self, values: np.ndarray) -> np.ndarray:
        if not self.fixed.any():
            return np.full(len(values), np.nan)
        return values[:, self.fixed].mean(axis=1)

    def figures(self, weights: np.ndarray) -> np.ndarray:
        """(resamples, 4): the figures in `KEYS` order for (resamples, clips) weights."""
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        out = np.empty((len(w), len(KEYS)))
        batch = max(1, BATCH_CELLS // max(1, self.n_clips * self.n_tags))  # (an empty part)
        for i in range(0, len(w), batch):
            chunk = w[i:i + batch]
            roc, ap = self.per_tag.metrics(chunk)
            micro_roc, micro_ap = self.pairs.metrics(np.repeat(chunk, self.n_tags, axis=1))
            out[i:i + batch] = np.column_stack([self._macro(roc), self._macro(ap),
                                                micro_roc[:, 0], micro_ap[:, 0]])
        return out

    def __call__(self, weights: np.ndarray) -> dict[str, float]:
        return dict(zip(KEYS, map(float, self.figures(weights)[0]), strict=True))


def ranking_metrics(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """The four ranking figures of `metrics.tagging_metrics` on the whole test part."""
    return RankingFigures(y_true, y_score)(np.ones(len(y_true)))


def bootstrap(labels: np.ndarray, seed_scores: list[np.ndarray], weights: np.ndarray,
              seeds=None) -> pd.DataFrame:
    """Compute each seed's four ranking figures on every clip resample.

    The seeds stay apart because the seed-level spread and the pairing of seeds across
    variants need them.

    Parameters
    ----------
    labels : ndarray
        (clips, tags) 0/1.
    seed_scores : list of ndarray
        One (clips, tags) score array per seed.
    weights : ndarray
        (resamples, clips) clip weights (`resample_weights`).
    seeds : sequence, optional
        Labels of the seeds, in `seed_scores` order; default `FIXED` (one deterministic run).

    Returns
    -------
    DataFrame
        Long form, one row per resample and seed (resample-major): columns `resample`, `seed`
        and the `KEYS` figures.

    Raises
    ------
    DataError
        If `seeds` and `seed_scores` differ in length.
    """
    seeds = [FIXED] if seeds is None else list(seeds)
    if len(seeds) != len(seed_scores):
        raise DataError(f"{len(seed_scores)} scored runs for {len(seeds)} seeds")
    figures = np.stack([RankingFigures(labels, s).figures(weights) for s in seed_scores], axis=1)
    n_resamples, n_seeds = figures.shape[:2]
    frame = pd.DataFrame(figures.reshape(-1, len(KEYS)), columns=list(KEYS))
    frame.insert(0, "seed", np.tile(np.array(seeds, dtype=object), n_resamples))
    frame.insert(0, "resample", np.repeat(np.arange(n_resamples), n_seeds))
    return frame


@dataclass(frozen=True)
class Runs:
    """One row of a comparison: its runs' figures on the whole test part, (seeds, 4), and on
    every clip resample, (resamples, seeds, 4). `seeds` is None for a deterministic run;
    `n_units` the test tracks (or clips) the resamples weighted (0: not known)."""

    points: np.ndarray
    resamples: np.ndarray
    seeds: tuple | None
    n_units: int = 0

    @property
    def n(self) -> int:
        return self.points.shape[0]

    @property
    def single(self) -> bool:
        """A variant trained with one seed: no seed spread to estimate."""
        return self.seeds is not None and self.n < 2

    @property
    def too_few(self) -> str:
        """Why no verdict may rest on this row ("" if one may)."""
        if self.seeds is not None and self.n < MIN_SEEDS:
            return f"fewer than {MIN_SEEDS} seeds"
        if 0 < self.n_units < MIN_TRACKS:
            return f"fewer than {MIN_TRACKS} test tracks"
        return ""

    def in_order(self, seeds) -> Runs:
        """The same runs with their seeds in `seeds`' order (pairing is by label)."""
        at = [self.seeds.index(s) for s in seeds]
        return Runs(self.points[at], self.resamples[:, at], tuple(seeds), self.n_units)

    @classmethod
    def from_summary(cls, metrics: dict, frame: pd.DataFrame, where: str = "summary") -> Runs:
        """From a summary's metrics.json (`<key>_seeds`, `seeds`) and its long bootstrap.csv."""
        seeds = metrics.get("seeds")
        if f"{KEYS[0]}_seeds" not in metrics or "seed" not in frame:
            raise DataError(f"{where}: written by an older tagbench (no per-seed figures): "
                            "rerun snakemake to summarize it again")
        labels = [FIXED] if seeds is None else [str(s) for s in seeds]
        points = np.array([metrics[f"{k}_seeds"] for k in KEYS], dtype=np.float64).T
        column = frame["seed"].astype(str)
        if sorted(set(column)) != sorted(labels) or points.shape[0] != len(labels) or \
                len(frame) % len(labels):
            raise DataError(f"{where}: bootstrap.csv and metrics.json disagree on the seeds "
                            f"({', '.join(labels)}): rerun snakemake")
        position = column.map({s: i for i, s in enumerate(labels)}).to_numpy()
        order = np.lexsort((position, frame["resample"].to_numpy()))
        values = frame[list(KEYS)].to_numpy(np.float64)[order]
        return cls(points, values.reshape(-1, len(labels), len(KEYS)),
                   None if seeds is None else tuple(seeds), resampled(metrics)[1])


@dataclass(frozen=True)
class Estimate:
    """A figure or a difference with its 95 % interval: point +- t(df) x se, where se^2 =
    se_seeds^2 + se_clips^2; `label` names the method (and why, where it is clip-only)."""

    point: float
    low: float
    high: float
    se: float
    df: float
    se_seeds: float
    se_clips: float
    label: str
    verdict: bool  # may a flag rest on it (enough seeds and test tracks)
    n_seeds: int = 0  # the seeds the seed term rests on (0: clip-only)
    n_units: int = 0  # the test tracks the clip term rests on (its df: n_units - 1; 0: normal)

    @property
    def p_value(self) -> float:
        """Two-sided p of point = 0 under the same t (what Holm adjusts)."""
        from scipy.stats import t

        if not np.isfinite(self.point):
            return float("nan")
        if self.se == 0:
            return 1.0 if self.point == 0 else 0.0
        return float(2 * t.sf(abs(self.point) / self.se, self.df))

    @property
    def half_width(self) -> float:
        """The smallest |gap| these seeds and clips can tell from 0 (at this level, uncorrected)."""
        return half_width(self.se_seeds ** 2, self.se_clips ** 2, self.df)


def half_width(var_seeds: float, var_clips: float, df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + LEVEL / 2, df) * math.sqrt(var_seeds + var_clips))


def projected_half_width(se_seeds: float, se_clips: float, n_seeds: int, factor: int = 2,
                         n_units: int = 0) -> float:
    """The half-width with `factor` times the seeds (the same spreads): what more seeds buy.
    The seed term shrinks as 1 / n; the clip term (what the seeds share) does not."""
    var_seeds, var_clips = se_seeds ** 2 / factor, se_clips ** 2
    df = _satterthwaite([(var_seeds, factor * n_seeds - 1), (var_clips, _clip_df(n_units))])
    return half_width(var_seeds, var_clips, df)


def _clip_df(n_units: int) -> float:
    """The clip term's degrees of freedom: T - 1 over T test tracks (the normal when unknown)."""
    return n_units - 1 if n_units > 1 else math.inf


def _satterthwaite(parts) -> float:
    """Satterthwaite's degrees of freedom of a sum of (variance, df) terms."""
    denominator = sum(v * v / df for v, df in parts if v > 0)
    return sum(v for v, _ in parts) ** 2 / denominator if denominator > 0 else math.inf


def _var(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(np.var(x, ddof=1)) if len(x) > 1 else 0.0


def _offdiagonal(x: np.ndarray, y: np.ndarray | None = None) -> float:
    """(resamples, n) figures: the mean covariance over resamples of two different seeds'
    figures (with `y`: of every seed of x with every seed of y); one seed: its variance."""
    y_given = y is not None
    y = x if y is None else y
    ok = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
    x, y = x[ok] - x[ok].mean(axis=0), y[ok] - y[ok].mean(axis=0)
    if len(x) < 2:
        return 0.0
    cov = x.T @ y / (len(x) - 1)
    if y_given or cov.shape[0] == 1:
        return float(cov.mean())
    n = cov.shape[0]
    return float((cov.sum() - np.trace(cov)) / (n * (n - 1)))


def _classical(var: float, n_units: int) -> float:
    """A clip term from the Bayesian bootstrap, not below 0, scaled to the classical variance:
    over T tracks the Bayesian one is (T - 1) / (T + 1) of it."""
    var = max(var, 0.0)
    return var * (n_units + 1) / (n_units - 1) if n_units > 1 else var


def _shared(resamples: np.ndarray, n_units: int) -> float:
    """The clip term of a mean over seeds: what the seeds share (`_offdiagonal`)."""
    return _classical(_offdiagonal(resamples), n_units)


def _shared_difference(ra: np.ndarray, rb: np.ndarray, n_units: int) -> float:
    """The clip term of a difference of two means over different seeds: shared(a) + shared(b)
    - 2 x their mean cross-covariance."""
    return _classical(_offdiagonal(ra) + _offdiagonal(rb) - 2 * _offdiagonal(ra, rb), n_units)


def _combine(point, seed_parts, var_clips, bounds, label, verdict=True, n_seeds=0,
             n_units=0) -> Estimate:
    """seed_parts: (variance of the mean, degrees of freedom) per seed term; the clip term has
    n_units - 1 (infinite when not known); Satterthwaite."""
    var_seeds = sum(v for v, _ in seed_parts)
    var = var_seeds + var_clips
    df = _satterthwaite([*seed_parts, (var_clips, _clip_df(n_units))])
    if not np.isfinite(point):
        return Estimate(float("nan"), float("nan"), float("nan"), float("nan"), df,
                        float("nan"), float("nan"), label, verdict, n_seeds, n_units)
    half = half_width(var_seeds, var_clips, df)
    return Estimate(float(point), max(point - half, bounds[0]), min(point + half, bounds[1]),
                    math.sqrt(var), float(df), math.sqrt(var_seeds), math.sqrt(var_clips), label,
                    verdict, n_seeds if seed_parts else 0, n_units)


def _column(runs: Runs, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(per-seed points, (resamples, seeds) figures) of one figure."""
    j = KEYS.index(key)
    return runs.points[:, j], runs.resamples[:, :, j]


def estimate(runs: Runs, key: str, method: str = "seeds_and_clips") -> Estimate:
    """Estimate a row's figure (the mean over its seeds) with its 95 % interval.

    The interval is point +- t x SE over seeds and clips (Satterthwaite's df), clipped to
    [0, 1]. It is clip-only for a deterministic row (no seeds), for a single seed and for
    `method="clips"`; a row with fewer than `MIN_SEEDS` seeds or `MIN_TRACKS` test tracks
    carries no verdict.

    Parameters
    ----------
    runs : Runs
        The row's per-seed figures and their resamples.
    key : str
        One of `KEYS`.
    method : {"seeds_and_clips", "clips"}, optional
        The config's `evaluate.interval`.

    Returns
    -------
    Estimate
        Point, interval, standard errors, df and a label naming the method.
    """
    if isinstance(runs, FoldRuns):
        return cv_estimate(runs, key)
    points, resamples = _column(runs, key)
    n = len(points)
    if runs.seeds is None:
        parts, label = [], "clips only: a deterministic row (fixed seed)"
    elif n < 2:
        parts, label = [], "clips only: one seed (no seed spread, no verdict)"
    elif method == "clips":
        parts, label = [], "clips only (evaluate.interval: clips)"
    else:
        parts, label = [(_var(points) / n, n - 1)], f"seeds+clips t, {n} seeds"
    if method == "clips":  # as tagbench did before: the spread of the mean, on the normal
        var_clips, units = _var(resamples.mean(axis=1)), 0
    else:
        var_clips, units = _shared(resamples, runs.n_units), runs.n_units
    too_few = runs.too_few
    return _combine(float(np.mean(points)), parts, var_clips, (0.0, 1.0),
                    label + (f" ({too_few}: no verdict)" if too_few and n > 1 else ""),
                    verdict=not too_few, n_seeds=n, n_units=units)


def difference(a: Runs, b: Runs, key: str, method: str = "seeds_and_clips") -> Estimate:
    """a - b (means over seeds) with its 95 % interval, paired over clips (shared resamples) and
    over seeds when both have the same seeds (matched by label, in any order); unpaired (Welch)
    when their seeds differ. No verdict when either row has too few seeds or test tracks.
    Cross-validated rows (`FoldRuns`): `cv_difference`."""
    if isinstance(a, FoldRuns):
        return cv_difference(a, b, key)
    if a.resamples.shape[0] != b.resamples.shape[0]:
        raise DataError("the two rows were bootstrapped with different resample counts")
    if a.seeds is not None and b.seeds is not None and a.seeds != b.seeds \
            and sorted(map(str, a.seeds)) == sorted(map(str, b.seeds)):
        b = b.in_order(a.seeds)
    (pa, ra), (pb, rb) = _column(a, key), _column(b, key)
    units = max(a.n_units, b.n_units)
    point = float(np.mean(pa) - np.mean(pb))
    too_few = a.too_few or b.too_few
    paired_seeds = a.seeds is not None and a.seeds == b.seeds
    if paired_seeds:
        var_clips = _shared(ra - rb, units)
    else:
        var_clips = _shared_difference(ra, rb, units)
    if a.single or b.single:
        return _combine(point, [], var_clips, (-1.0, 1.0),
                        "clips only: a row with one seed (no verdict)", verdict=False,
                        n_units=units)
    if method == "clips":  # as tagbench did before (see `estimate`)
        return _combine(point, [], _var(ra.mean(axis=1) - rb.mean(axis=1)), (-1.0, 1.0),
                        "clips only (evaluate.interval: clips)", verdict=not too_few)
    if a.seeds is None and b.seeds is None:
        parts, label = [], "clips only: two deterministic rows"
    elif a.seeds is None or b.seeds is None:
        p = pb if a.seeds is None else pa
        parts, label = [(_var(p) / len(p), len(p) - 1)], (
            f"seeds+clips t, {len(p)} seeds against a deterministic row")
    elif paired_seeds:
        parts, label = [(_var(pa - pb) / len(pa), len(pa) - 1)], (
            f"seeds+clips t, {len(pa)} paired seeds")
    else:
        parts = [(_var(pa) / len(pa), len(pa) - 1), (_var(pb) / len(pb), len(pb) - 1)]
        label = f"seeds+clips t, unpaired: seeds differ ({len(pa)} vs {len(pb)})"
    n = len(pb) if a.seeds is None else len(pa) if b.seeds is None else min(len(pa), len(pb))
    if too_few:
        label += f" ({too_few}: no verdict)"
    return _combine(point, parts, var_clips, (-1.0, 1.0), label, verdict=not too_few,
                    n_seeds=n, n_units=units)


MIN_FOLDS = 3  # folds x repeats a cross-validated verdict needs (the t has folds - 1 df)


@dataclass(frozen=True)
class FoldRuns:
    """One row of a cross-validated comparison (split.method kfold): each fold's per-seed
    figures on that fold's test part, (folds, seeds, 4); `seeds` None for a deterministic row
    (one column); `test_train` the folds' mean test size over training size.

    Every fold x seed is a replicate; the folds are the units. A fold's figure is its mean over
    seeds, and the interval is the corrected resampled t (Nadeau & Bengio 2003; Bouckaert &
    Frank 2004): over J = folds x repeats fold figures with variance s^2, the variance of their
    mean is (1/J + n_test/n_train) s^2 with J - 1 df. The plain s^2 / J would ignore that the
    folds' training sets overlap (each pair shares most of its tracks), which makes their
    figures correlated. The folds' test parts are disjoint tracks, so s^2 holds the test tracks'
    variation too, the split's (which tracks train) and the seeds'."""

    points: np.ndarray
    seeds: tuple | None
    test_train: float
    folds: tuple = ()

    @property
    def n(self) -> int:
        return 0 if self.seeds is None else self.points.shape[1]

    def fold_figures(self, key: str) -> np.ndarray:
        """Each fold's figure: its mean over seeds."""
        return self.points[:, :, KEYS.index(key)].mean(axis=1)

    @property
    def too_few(self) -> str:
        return f"fewer than {MIN_FOLDS} folds" if self.points.shape[0] < MIN_FOLDS else ""


def _corrected(values: np.ndarray, test_train: float, bounds, label: str, verdict: bool,
               n_seeds: int) -> Estimate:
    """The corrected resampled t over fold figures (`FoldRuns`)."""
    from scipy.stats import t

    j = len(values)
    point = float(np.mean(values))
    var = (1 / j + test_train) * _var(values) if j > 1 else float("nan")
    se, df = math.sqrt(var) if np.isfinite(var) else float("nan"), float(j - 1)
    if not (np.isfinite(point) and np.isfinite(se)):
        return Estimate(point, float("nan"), float("nan"), se, df, se, 0.0, label, False, n_seeds)
    half = float(t.ppf(0.5 + LEVEL / 2, df)) * se
    return Estimate(point, max(point - half, bounds[0]), min(point + half, bounds[1]), se, df,
                    se, 0.0, label, verdict, n_seeds)


CV_INTERVAL = "cross-validation t"  # how every cross-validated interval's label begins


def cross_validated(interval: str) -> bool:
    """Whether an interval label (a table's or a difference's `interval`) is over folds."""
    return str(interval).startswith(CV_INTERVAL)


def cv_label(runs: FoldRuns) -> str:
    seeds = "a deterministic row" if runs.seeds is None else f"{runs.n} seeds"
    return (f"{CV_INTERVAL}, {runs.points.shape[0]} folds x {seeds} "
            "(corrected: Nadeau & Bengio)")


def cv_estimate(runs: FoldRuns, key: str) -> Estimate:
    """A cross-validated row's figure (mean over folds and seeds) with its 95 % interval."""
    too_few = runs.too_few
    label = cv_label(runs) + (f" ({too_few}: no verdict)" if too_few else "")
    return _corrected(runs.fold_figures(key), runs.test_train, (0.0, 1.0), label, not too_few,
                      runs.n)


def cv_difference(a: FoldRuns, b: FoldRuns, key: str) -> Estimate:
    """a - b over the same folds: each fold's difference of its figures, paired over folds (the
    same test tracks and training tracks); seeds, matched by label or not, are averaged within
    a fold first."""
    if a.folds != b.folds:
        raise DataError(f"the two rows were cross-validated on other folds ({len(a.folds)} vs "
                        f"{len(b.folds)}): rerun snakemake")
    too_few = a.too_few or b.too_few
    label = f"{CV_INTERVAL}, paired over {a.points.shape[0]} folds (corrected: Nadeau & Bengio)"
    return _corrected(a.fold_figures(key) - b.fold_figures(key), max(a.test_train, b.test_train),
                      (-1.0, 1.0), label + (f" ({too_few}: no verdict)" if too_few else ""),
                      not too_few, min(a.n, b.n) if a.seeds and b.seeds else max(a.n, b.n))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error <= the level); nan stays nan and
    does not count in the family."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok):
        ranked = ok[np.argsort(p[ok], kind="stable")]
        m = len(ranked)
        out[ranked] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[ranked]))
    return out


DIFFERENCE_COLUMNS = ["a", "b", "metric", "difference", "ci95_low", "ci95_high", "se",
                      "se_seeds", "se_clips", "df", "n_seeds", "n_units", "half_width", "p_value", "family",
                      "family_size", "correction", "p_adjusted", "significant", "interval"]
NO_VERDICT = (f"none: a row with fewer than {MIN_SEEDS} seeds or {MIN_TRACKS} test tracks, or "
              f"cross-validated over fewer than {MIN_FOLDS} folds (no verdict)")


def flag_families(rows: pd.DataFrame, correction: str) -> pd.DataFrame:
    """Adjust p within each `family` (a 'none: ...' family is never flagged) and set
    `family_size`, `correction`, `p_adjusted` and `significant` (adjusted p < 1 - LEVEL)."""
    rows = rows.copy()
    rows["family_size"], rows["correction"] = 0, correction
    rows["p_adjusted"] = np.nan
    for family, group in rows.groupby("family", sort=False):
        if family.startswith("none"):
            continue
        p = group["p_value"].to_numpy(np.float64)
        rows.loc[group.index, "p_adjusted"] = holm(p) if correction == "holm" else p
        rows.loc[group.index, "family_size"] = int(np.isfinite(p).sum())
    rows["significant"] = (rows["p_adjusted"] < 1 - LEVEL).fillna(False).astype(bool)
    return rows


def pairwise(runs: dict[str, Runs], method: str = "seeds_and_clips", correction: str = "holm",
             floor: str | None = None) -> pd.DataFrame:
    """Compare every pair of rows on each figure: a - b with its 95 % interval, p-value and flag.

    p-values are adjusted within families, one per figure: the variant pairs, and each variant
    against `floor` (the "below the floor" flags). A pair with a single-seed row is in no family
    and never flagged (nor one with too few seeds or test tracks).

    Parameters
    ----------
    runs : dict of str to Runs
        The rows by name; pairs (a, b) keep this order, a before b.
    method : {"seeds_and_clips", "clips"}, optional
        The interval method (see `estimate`).
    correction : {"holm", "none"}, optional
        Holm's step-down within each family, or unadjusted p-values.
    floor : str, optional
        The row that is the floor (the baseline).

    Returns
    -------
    DataFrame
        One row per pair and figure, columns `DIFFERENCE_COLUMNS`; `significant` is adjusted
        p < 0.05.
    """
    names = list(runs)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for key in KEYS:
                est = difference(runs[a], runs[b], key, method)
                family = (NO_VERDICT if not est.verdict else
                          f"against the floor, {key}" if floor in (a, b) else
                          f"variant pairs, {key}")
                rows.append({"a": a, "b": b, "metric": key, "difference": est.point,
                             "ci95_low": est.low, "ci95_high": est.high, "se": est.se,
                             "se_seeds": est.se_seeds, "se_clips": est.se_clips, "df": est.df,
                             "n_seeds": est.n_seeds, "n_units": est.n_units,
                             "half_width": est.half_width, "p_value": est.p_value,
                             "family": family, "interval": est.label})
    frame = pd.DataFrame(rows, columns=[c for c in DIFFERENCE_COLUMNS if c not in
                                        ("family_size", "correction", "p_adjusted",
                                         "significant")])
    return flag_families(frame, correction)[DIFFERENCE_COLUMNS]
