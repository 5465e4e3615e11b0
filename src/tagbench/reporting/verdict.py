"""The comparison's verdict, in sentences: which variant is best, which are below the floor,
and what the current seeds can resolve. Statistics, not rendering: the report prints these.

- Best: the variant with the highest mean is named only when its 95 % interval against every
  other row (the baseline included) excludes 0. That is an intersection-union test: the claim
  needs every one of those comparisons, so each at 5 % keeps the claim's error at 5 % with no
  multiplicity correction.
- Below the floor: variants whose difference to the baseline is significantly negative after
  the correction within the family "against the floor" (one family per figure, `stats.pairwise`).
- A row with fewer than `MIN_SEEDS` seeds (one seed: a clip-only interval), or a test part of
  fewer than `MIN_TRACKS` tracks: no verdict rests on it.
- Per comparison, the gap the current seeds and clips can resolve (the interval's half-width)
  and, when the seeds carry most of the variance, that more seeds are the cure (with the
  half-width at twice the seeds).
"""

from __future__ import annotations

import pandas as pd

from ..evaluation.stats import (
    MIN_FOLDS,
    MIN_SEEDS,
    MIN_TRACKS,
    NO_VERDICT,
    cross_validated,
    projected_half_width,
)

BASELINE = "baseline (floor)"


def label(key: str) -> str:
    return key.replace("_", " ").replace("roc auc", "ROC-AUC").replace("pr auc", "PR-AUC")


def pair(rows: pd.DataFrame, a: str, b: str) -> dict:
    """The row of a - b (stored as a - b or as b - a, then flipped)."""
    r = rows[(rows["a"] == a) & (rows["b"] == b)]
    if len(r):
        return r.iloc[0].to_dict()
    r = rows[(rows["a"] == b) & (rows["b"] == a)].iloc[0].to_dict()
    return {**r, "a": a, "b": b, "difference": -r["difference"], "ci95_low": -r["ci95_high"],
            "ci95_high": -r["ci95_low"]}


def _gap(r: dict) -> str:
    return f"{r['difference']:+.3f} [{r['ci95_low']:+.3f}, {r['ci95_high']:+.3f}]"


def below_floor(differences: pd.DataFrame, variants, key: str = "roc_auc_macro") -> list[str]:
    """Variants significantly below the baseline (corrected within the floor family)."""
    rows = differences[differences["metric"] == key]
    out = []
    for v in variants:
        r = pair(rows, v, BASELINE)
        if r["significant"] and r["difference"] < 0:
            out.append(v)
    return out


def verdict(table: pd.DataFrame, differences: pd.DataFrame, key: str = "roc_auc_macro") -> str:
    """State the comparison's verdict: the best variant (or why there is none), those below the floor.

    A few sentences a reviewer can accept. A best variant is named only when its 95 % interval
    against every other row excludes 0 (an intersection-union test: no multiplicity correction).

    Parameters
    ----------
    table : DataFrame
        The comparison (`report.write_comparison`): `variant` and the figure `key`, baseline
        row named `BASELINE`.
    differences : DataFrame
        Every pair's differences (`stats.pairwise`).
    key : str, optional
        The figure judged, macro ROC-AUC by default.

    Returns
    -------
    str
        The sentences, the best variant in bold (`**name**`).
    """
    variants = table[table["variant"] != BASELINE]
    rows = differences[differences["metric"] == key]
    name = label(key)
    if variants[key].isna().all():
        return (f"No {name} could be computed: no tag has both a positive and a negative clip "
                "in the test part.")
    best = variants.loc[variants[key].idxmax(), "variant"]
    others = [v for v in table["variant"] if v != best]
    gaps = {o: pair(rows, best, o) for o in others}
    one_seed = [o for o, r in gaps.items() if r["family"] == NO_VERDICT]
    folds = "resample_by" in table and bool((table["resample_by"] == "fold").all())
    over = "folds, training seeds and test tracks" if folds else "training seeds and test clips"
    if others and not one_seed and all(r["ci95_low"] > 0 for r in gaps.values()):
        text = (f"Best by {name}: **{best}**; its 95 % interval ({over}) "
                "excludes 0 against every other row: "
                + ", ".join(f"{o} {_gap(r)}" for o, r in gaps.items()) + ".")
    else:
        text = f"No variant is significantly better than all others by {name}."
        close = [o for o, r in gaps.items()
                 if o not in one_seed and r["ci95_low"] <= 0 <= r["ci95_high"]]
        if close:
            text += (f" The highest mean among the variants, {best}, is not separable (95 % "
                     f"interval of the difference, over {over}, includes 0) from "
                     + ", ".join(f"{o} ({_gap(gaps[o])})" for o in close) + ".")
        if one_seed:
            text += (f" No verdict between {best} and {', '.join(one_seed)}: " + (
                f"fewer than {MIN_FOLDS} folds get none." if folds else
                f"a row with fewer than {MIN_SEEDS} seeds (train more seeds) or a test part of "
                f"fewer than {MIN_TRACKS} tracks gets none."))
    if BASELINE in set(table["variant"]):
        below = below_floor(differences, list(variants["variant"]), key)
        if below:
            r = pair(rows, below[0], BASELINE)
            text += (f" Significantly below the baseline floor ({r['correction']} correction over "
                     f"the {int(r['family_size'])} variants against the floor): "
                     f"{', '.join(below)}.")
    return text


CLAIM_COLUMNS = ("comparison", "difference", "95 % interval", "flagged", "resolves gaps beyond",
                 "to narrow it")


def resolution(differences: pd.DataFrame, key: str = "roc_auc_macro") -> list[list[str]]:
    """Per comparison, one row of `CLAIM_COLUMNS`: the difference, its interval, whether the
    corrected test flags it, the gap its seeds and clips can resolve, and what would shrink it."""
    rows = []
    for r in differences[differences["metric"] == key].to_dict("records"):
        known = pd.notna(r["difference"])
        row = [f"{r['a']} - {r['b']}", f"{r['difference']:+.3f}" if known else "n/a",
               f"[{r['ci95_low']:+.3f}, {r['ci95_high']:+.3f}]" if known else "n/a"]
        folds = cross_validated(r.get("interval", ""))
        if r["family"] == NO_VERDICT:
            rows.append(row + ["no verdict", "n/a", (
                f"{MIN_FOLDS} folds or more" if folds else
                f"{MIN_SEEDS} seeds and {MIN_TRACKS} test tracks or more")])
            continue
        row.append("yes" if r["significant"] else "no")
        if pd.isna(r["half_width"]):
            rows.append(row + ["n/a", "n/a"])
            continue
        if folds:  # the folds hold every source of variation
            rows.append(row + [f"±{r['half_width']:.3f} ({int(r['df']) + 1} folds)",
                               "more tracks or repeats"])
            continue
        var = r["se"] ** 2
        seeds = r["se_seeds"] ** 2 / var if var > 0 else 0.0
        n = int(r["n_seeds"])
        row.append(f"±{r['half_width']:.3f} ({n} seeds)" if n else f"±{r['half_width']:.3f}")
        if n and seeds >= 0.5:
            more = projected_half_width(r["se_seeds"], r["se_clips"], n,
                                        n_units=int(r.get("n_units", 0) or 0))
            row.append(f"more seeds ({seeds * 100:.0f} % of the variance; {2 * n}: "
                       f"±{more:.3f})")
        elif n:
            row.append(f"a larger test part ({(1 - seeds) * 100:.0f} % of the variance)")
        else:
            row.append("a larger test part")
        rows.append(row)
    return rows
