"""Robustness: every variant's figures on the deformed test parts (config `robustness`), each
paired with the variant's clean figures, and which variant degrades less.

A drop is deformed - clean for one variant: its seeds are paired (the same trained models
scored twice) and so are the test resamples (the same clips, weights and resample seed), so it
is `stats.difference` of the deformed summary and the clean one. Its flags are Holm-corrected
in one family per figure: every variant x deformation drop ("drops"). Which variant degrades
less is the difference of two variants' drops, resample by resample and seed by seed where
their seeds match, in one family per figure and deformation ("drop differences under D").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core.atomic import atomic_path, write_text
from ..core.deformations import KINDS, parse
from ..core.errors import DataError
from ..evaluation.replicates import RESAMPLED_ON, read_summary
from ..evaluation.stats import KEYS, NO_VERDICT, Runs, difference, estimate, flag_families
from ..settings.config import BootstrapSettings

KEY = "roc_auc_macro"  # the figure the table's overview and the figure show
COLUMNS = ["variant", "deformation", "kind", "severity", "metric", "clean", "deformed",
           "deformed_low", "deformed_high", "drop", "drop_low", "drop_high", "relative_drop",
           "p_value", "family", "family_size", "correction", "p_adjusted", "significant",
           "interval"]


def _drop_runs(deformed: Runs, clean: Runs) -> Runs:
    """A variant's per-seed drop and its per-resample drop, as a row of its own (for the
    difference of two variants' drops)."""
    return Runs(deformed.points - clean.points, deformed.resamples - clean.resamples,
                deformed.seeds, max(deformed.n_units, clean.n_units))


def _check_paired(clean: dict, deformed: dict, folder: Path) -> None:
    """A drop pairs seeds and resamples: both summaries must have the same seeds, test clips
    and resample weights (a summary left from other settings would give a wrong drop)."""
    differ = [k for k in ("seeds", *RESAMPLED_ON) if clean.get(k) != deformed.get(k)]
    if differ:
        raise DataError(f"{folder}: summarized with other {', '.join(differ)} than the clean "
                        "summary beside it: delete it and rerun snakemake (it is rebuilt)")


def robustness_tables(variants, deformations, eval_root, settings: BootstrapSettings
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(drops, drop differences): one row per variant x deformation x figure, and one per
    deformation x pair of variants x figure (a - b: a degrades less where it is > 0)."""
    eval_root = Path(eval_root)
    rows, pairs, drops = [], [], {}
    for variant in variants:
        clean_metrics, clean = read_summary(eval_root / variant, f"variant {variant}")
        for deformation in deformations:
            kind, severity = parse(deformation)
            folder = eval_root / variant / "robustness" / deformation
            metrics, deformed = read_summary(folder, f"variant {variant} under {deformation}")
            _check_paired(clean_metrics, metrics, folder)
            drops[variant, deformation] = _drop_runs(deformed, clean)
            for key in KEYS:
                est, drop = estimate(deformed, key, settings.interval), difference(
                    deformed, clean, key, settings.interval)
                rows.append({"variant": variant, "deformation": deformation, "kind": kind,
                             "severity": severity, "metric": key, "clean": clean_metrics[key],
                             "deformed": est.point, "deformed_low": est.low,
                             "deformed_high": est.high, "drop": drop.point,
                             "drop_low": drop.low, "drop_high": drop.high,
                             "relative_drop": drop.point / clean_metrics[key]
                             if clean_metrics[key] else np.nan,
                             "p_value": drop.p_value, "interval": drop.label,
                             "family": f"drops, {key}" if drop.verdict else NO_VERDICT})
    for deformation in deformations:
        for i, a in enumerate(variants):
            for b in variants[i + 1:]:
                for key in KEYS:
                    d = difference(drops[a, deformation], drops[b, deformation], key,
                                   settings.interval)
                    pairs.append({"a": a, "b": b, "deformation": deformation, "metric": key,
                                  "difference": d.point, "ci95_low": d.low, "ci95_high": d.high,
                                  "p_value": d.p_value, "interval": d.label,
                                  "family": f"drop differences under {deformation}, {key}"
                                  if d.verdict else NO_VERDICT})
    table = flag_families(pd.DataFrame(rows), settings.correction)[COLUMNS] if rows else \
        pd.DataFrame(columns=COLUMNS)
    pair_table = flag_families(pd.DataFrame(pairs), settings.correction) if pairs else \
        pd.DataFrame()
    return table, pair_table


def write_robustness(variants, deformations, eval_root, out_dir, settings: BootstrapSettings
                     ) -> pd.DataFrame:
    """Write `robustness.csv`, `robustness_pairs.csv`, `robustness.md` and `robustness.png`.

    Raises
    ------
    DataError
        If a clean or deformed summary is missing or unreadable.
    """
    table, pairs = robustness_tables(list(variants), list(deformations), eval_root, settings)
    out = Path(out_dir)
    with atomic_path(out / "robustness.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    with atomic_path(out / "robustness_pairs.csv") as tmp:
        pairs.to_csv(tmp, index=False, float_format="%.6f")
    write_text(out / "robustness.md", markdown(table, pairs))
    plot(table, out / "robustness.png")
    return table


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per variant, the leaderboard's columns: the mean relative drop of ROC-AUC macro over the
    deformations and the worst deformation (its relative drop)."""
    rows = table[table["metric"] == KEY]
    out = []
    for variant, group in rows.groupby("variant", sort=False):
        scored = group.dropna(subset=["relative_drop"])  # (no tag scorable: no figure)
        worst = scored.loc[scored["relative_drop"].idxmin()] if len(scored) else None
        out.append({"variant": variant, "mean_relative_drop": scored["relative_drop"].mean(),
                    "worst_deformation": "n/a" if worst is None else
                    f"{worst['deformation']} ({worst['relative_drop']:+.1%})"})
    return pd.DataFrame(out, columns=["variant", "mean_relative_drop", "worst_deformation"])


def markdown(table: pd.DataFrame, pairs: pd.DataFrame) -> str:
    """ROC-AUC macro per variant (rows) and deformation (columns): the figure and its drop
    [95 % interval], * where the drop is significant after Holm over every drop."""
    rows = table[table["metric"] == KEY]
    deformations = list(dict.fromkeys(rows["deformation"]))
    lines = ["# Robustness: ROC-AUC macro on deformed test audio", "",
             "Each cell: the figure under the deformation, and its drop from the variant's clean "
             "figure [95 % interval over seeds and test tracks, seed- and resample-paired]; "
             f"`*`: the drop is significant ({rows['correction'].iloc[0] if len(rows) else 'holm'}"
             " correction over every variant x deformation drop).", "",
             "| variant | clean | " + " | ".join(f"`{d}`" for d in deformations) + " |",
             "|---|---|" + "---|" * len(deformations)]
    for variant, group in rows.groupby("variant", sort=False):
        cells = []
        for d in deformations:
            r = group[group["deformation"] == d].iloc[0]
            flag = "*" if r["significant"] else ""
            cells.append(f"{r['deformed']:.3f} ({r['drop']:+.3f} [{r['drop_low']:+.3f}, "
                         f"{r['drop_high']:+.3f}]{flag})")
        lines.append(f"| {variant} | {group['clean'].iloc[0]:.3f} | " + " | ".join(cells) + " |")
    key_pairs = pairs[pairs["metric"] == KEY] if len(pairs) else pairs
    flagged = key_pairs[key_pairs["significant"]] if len(key_pairs) else key_pairs
    correction = rows["correction"].iloc[0] if len(rows) else "holm"
    lines += ["", "Which variant degrades less (difference of drops, a - b > 0: a loses less; "
              f"{correction} correction within each deformation): " + ("; ".join(
                  f"{r.a} vs {r.b} under `{r.deformation}` {r.difference:+.3f} "
                  f"[{r.ci95_low:+.3f}, {r.ci95_high:+.3f}]" for r in flagged.itertuples())
                  if len(flagged) else "no pair differs significantly") + ".", ""]
    return "\n".join(lines)


def plot(table: pd.DataFrame, out: Path) -> None:
    """One panel per kind of deformation: ROC-AUC macro against severity, per variant, with
    95 % intervals; the clean figure first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table[table["metric"] == KEY]
    kinds = [k for k in KINDS if k in set(rows["kind"])]
    fig, axes = plt.subplots(1, max(1, len(kinds)), figsize=(4.2 * max(1, len(kinds)), 4.2),
                             sharey=True, squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=False):
        for i, (variant, group) in enumerate(rows[rows["kind"] == kind].groupby("variant",
                                                                                  sort=False)):
            x = np.arange(len(group) + 1) + (i - 1) * 0.06
            y = np.concatenate([[group["clean"].iloc[0]], group["deformed"]])
            low = np.concatenate([[np.nan], group["deformed_low"]])
            high = np.concatenate([[np.nan], group["deformed_high"]])
            ax.errorbar(x, y, yerr=np.abs(np.vstack([y - low, high - y])), marker="o",
                        capsize=3, label=variant)
        labels = ["clean", *(f"{s:g}" for s in rows[rows["kind"] == kind]
                             .drop_duplicates("deformation")["severity"])]
        ax.set_xticks(range(len(labels)), labels)
        ax.set_title(kind)
        ax.set_xlabel(KINDS[kind][2])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("ROC-AUC macro (95 % interval)")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(4, max(1, len(names))),
               bbox_to_anchor=(0.5, 0))
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
