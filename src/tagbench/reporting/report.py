"""Report figures and tables: the curves, the comparison across variants and the overview."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..backbones import DEFAULT  # noqa: E402
from ..core.atomic import atomic_path, write_text  # noqa: E402
from ..core.errors import DataError  # noqa: E402
from ..evaluation.replicates import read_summary, resampling  # noqa: E402
from ..evaluation.scoring import read_csv_beside  # noqa: E402
from ..evaluation.stats import KEYS, NO_VERDICT, Runs, estimate, pairwise, resampled  # noqa: E402
from ..settings.config import BootstrapSettings  # noqa: E402
from .verdict import BASELINE, CLAIM_COLUMNS, resolution, verdict  # noqa: E402

COLUMNS = ("variant", "backbone", "provenance", "pooling", "head", "finetune", "epochs", "best_epoch",
           "seeds",
           "roc_auc_macro", "roc_auc_macro_std", "roc_auc_macro_ci95_low", "roc_auc_macro_ci95_high",
           "pr_auc_macro", "pr_auc_macro_std", "pr_auc_macro_ci95_low", "pr_auc_macro_ci95_high",
           "roc_auc_micro", "roc_auc_micro_std", "roc_auc_micro_ci95_low", "roc_auc_micro_ci95_high",
           "pr_auc_micro", "pr_auc_micro_std", "pr_auc_micro_ci95_low", "pr_auc_micro_ci95_high",
           "accuracy", "all_negative_accuracy", "n_clips", "n_tags_scored", "n_params",
           "n_trainable_params", "train_seconds", "bootstrap", "resample_by", "n_resampled", "interval")
PANELS = (("loss", "Binary cross-entropy"), ("accuracy", "Element-wise accuracy"),
          ("roc_auc", "ROC-AUC (macro)"), ("pr_auc", "PR-AUC (macro)"))


def _read_csv(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"{path}: not found (train or evaluate that variant first)") from None


def plot_curves(histories: list[tuple[str, str]], out: str | Path) -> None:
    """Plot loss, accuracy, ROC-AUC and PR-AUC by epoch, one colour per variant.

    Each variant's curves are the mean over its seeds (train solid, valid dashed), with each
    seed's valid curve faint behind them when there are several.

    Parameters
    ----------
    histories : list of (str, str)
        (variant, path of one seed's `history.csv`); a variant's seeds share its name.
    out : str or Path
        The PNG, written atomically.

    Raises
    ------
    DataError
        If a history file is missing.
    """
    by_variant: dict[str, list[pd.DataFrame]] = {}
    for variant, path in histories:
        by_variant.setdefault(variant, []).append(_read_csv(path))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (variant, runs) in enumerate(by_variant.items()):
        c = colours[i % len(colours)]
        mean = pd.concat(runs).groupby("epoch").mean(numeric_only=True).reset_index()
        n = f" ({len(runs)} seeds)" if len(runs) > 1 else ""
        for ax, (key, title) in zip(axes.flat, PANELS, strict=True):
            if len(runs) > 1:
                for h in runs:
                    ax.plot(h["epoch"], h[f"valid_{key}"], "--", color=c, lw=0.7, alpha=0.35)
            ax.plot(mean["epoch"], mean[key], "-o", color=c, ms=3, label=f"{variant} train{n}")
            ax.plot(mean["epoch"], mean[f"valid_{key}"], "--s", color=c, ms=3,
                    label=f"{variant} valid{n}")
            ax.set_title(title)
            ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    axes[0, 0].legend(fontsize=8, ncol=1 if len(by_variant) < 3 else 2)
    fig.suptitle("Training curves (train: streamed patches; valid: clip level, every patch); "
                 "mean over seeds")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def _n_seeds(seeds: str) -> int:
    """Seeds of a table row ("0 1 2"; "-" for the baseline): a std needs two or more."""
    return 0 if seeds == "-" else len(str(seeds).split())


def _markdown(frame: pd.DataFrame) -> str:
    """The comparison for people: each ranking figure as mean +- std [95 % interval], and the
    interval's method per row."""
    def figure(row, key):
        if pd.isna(row[key]):
            return "n/a"
        std = f" ± {row[f'{key}_std']:.3f}" if _n_seeds(row["seeds"]) > 1 else ""
        return (f"{row[key]:.3f}{std} [{row[f'{key}_ci95_low']:.3f}, "
                f"{row[f'{key}_ci95_high']:.3f}]")

    header = ["variant", "backbone", "pooling", "head", "finetune", "seeds", "ROC-AUC macro",
              "PR-AUC macro",
              "ROC-AUC micro", "PR-AUC micro", "accuracy", "all-negative accuracy",
              "train s (mean)", "interval"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for _, row in frame.iterrows():
        cells = [row["variant"], row["backbone"], row["pooling"], row["head"], str(row["finetune"]),
                 row["seeds"],
                 *(figure(row, k) for k in KEYS), f"{row['accuracy']:.3f}",
                 f"{row['all_negative_accuracy']:.3f}",
                 "-" if pd.isna(row["train_seconds"]) else f"{row['train_seconds']:.0f}",
                 f"{row['interval']}; resampled: {row['n_resampled']} {row['resample_by']}s"]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    if (frame["resample_by"] == "fold").all():
        return ("\n".join(lines) + "\n\nmean ± std over the folds' figures (each its mean over "
                "seeds) [95 % interval over folds, seeds and test tracks: the corrected resampled "
                "t, docs/datasets.md, \"Cross-validation\"].\n")
    return ("\n".join(lines) + "\n\nmean ± std over seeds [95 % interval]; seeds+clips t: mean ± t x "
            "SE over training seeds and the test part (docs/statistics.md, Intervals); clips only: the test "
            "part's variation alone, for a row without a seed spread; resampled: what each test "
            "resample weights (tracks: one weight per track, shared by its clips).\n")


def _row(name: str, metrics: dict, spec: dict, runs: Runs, method: str) -> dict:
    head = spec.get("head", [])
    row = {**metrics, "variant": name, "backbone": spec.get("backbone", DEFAULT),
           "provenance": metrics.get("model", {}).get("provenance", "-"),
           "pooling": spec.get("pooling", "-"),
           "head": head if isinstance(head, str) else "-".join(map(str, head)) or "-",
           "finetune": spec.get("finetune", "-"), "epochs": metrics.get("epochs_trained"),
           "seeds": " ".join(map(str, metrics["seeds"])) if metrics.get("seeds") else "-"}
    row["resample_by"], row["n_resampled"] = resampled(metrics)
    for key in KEYS:
        est = estimate(runs, key, method)
        row[f"{key}_ci95_low"], row[f"{key}_ci95_high"] = est.low, est.high
        row["interval"] = est.label
    return row


def write_comparison(variants, eval_dirs, model_files, out_dir, baseline_dir=None,
                     settings: BootstrapSettings | None = None):
    """Write the comparison of variants (and the baseline floor) into `out_dir`.

    Writes `comparison.csv`/`.md` (a row per variant, the baseline last), `differences.csv`
    (every pair, intervals over seeds and clips, flags corrected per family), `comparison.png`,
    `per_tag_auc.png` and `roc_pr.png`. A figure that cannot be drawn costs one warning line
    and a placeholder image, never the rest of the report.

    Parameters
    ----------
    variants : sequence of str
        The variants' names, in table order.
    eval_dirs : sequence of str or Path
        Each variant's summary folder (`metrics.json`, `bootstrap.csv`, `per_tag.csv`, ...).
    model_files : sequence of str or Path
        Each variant's model file, for its settings; a variant without one gets empty settings.
    out_dir : str or Path
        The report folder.
    baseline_dir : str or Path, optional
        The baseline's summary folder.
    settings : BootstrapSettings, optional
        Interval method and correction (defaults if None).

    Returns
    -------
    table : DataFrame
        The comparison, columns `COLUMNS`.
    differences : DataFrame
        Every pair's differences (`stats.pairwise`).

    Raises
    ------
    DataError
        If a summary is missing or is one seed's file, or the summaries were bootstrapped on
        different test clips or resamples.
    """
    from ..models.model_file import read_metadata

    settings = settings or BootstrapSettings()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, per_tag, runs, point, folders = [], {}, {}, {}, {}
    for i, (variant, edir) in enumerate(zip(variants, eval_dirs, strict=True)):
        metrics, runs[variant] = read_summary(Path(edir), f"variant {variant}")
        spec = read_metadata(model_files[i])["spec"] if i < len(model_files) else {}
        rows.append(_row(variant, metrics, spec, runs[variant], settings.interval))
        per_tag[variant], point[variant], folders[variant] = (
            read_csv_beside(Path(edir) / "per_tag.csv"), metrics, Path(edir))
    if baseline_dir:
        metrics, runs[BASELINE] = read_summary(Path(baseline_dir), "the baseline")
        rows.append(_row(BASELINE, metrics, {"backbone": "none", "pooling": "log-mel mean+std",
                                             "head": "logistic regression"}, runs[BASELINE],
                         settings.interval))
        point[BASELINE], folders[BASELINE] = metrics, Path(baseline_dir)
    same = {resampling(m) for m in point.values()}
    if len(same) != 1:
        raise DataError("the summaries were bootstrapped on different test clips or resamples: "
                        "rerun snakemake so that they share one test part and evaluate settings")
    table, differences = _write_tables(out, rows, runs, settings,
                                       BASELINE if baseline_dir else None)
    _draw(out / "comparison.png", _plot_comparison, table, variants, per_tag, runs)
    _draw(out / "forest.png", _plot_forest, differences)
    _draw(out / "per_tag_auc.png", _plot_per_tag, variants, per_tag)
    _draw(out / "roc_pr.png", _plot_roc_pr, folders)
    return table, differences


def _write_tables(out: Path, rows: list[dict], runs: dict, settings: BootstrapSettings,
                  floor: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`comparison.csv`/`.md` from the rows and `differences.csv` from every pair of the runs
    (`stats.pairwise`, which dispatches on seed-and-clip `Runs` or cross-validated `FoldRuns`)."""
    table = pd.DataFrame(rows)[list(COLUMNS)]
    with atomic_path(out / "comparison.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    write_text(out / "comparison.md", _markdown(table))
    differences = pairwise(runs, settings.interval, settings.correction, floor=floor)
    with atomic_path(out / "differences.csv") as tmp:
        differences.to_csv(tmp, index=False, float_format="%.4f")
    return table, differences


def write_cross_validation(variants, seeds: dict, fold_dirs, out_dir, settings=None,
                           dataset: str = "", experiment: str = ""):
    """split.method kfold: summarize every row over its folds and write the comparison.

    Writes each variant's and the floor's cross-validated summary (`eval/{variant}/metrics.json`,
    `baseline/metrics.json` under `out_dir`: what the leaderboard reads) and `report/` as
    `write_comparison` does (`comparison.csv`/`.md`, `differences.csv`, `forest.png`,
    `comparison.png`: each fold's figure, and `overview.rst`), with the corrected
    cross-validation t (`stats.cv_estimate`) in place of the seed-and-clip intervals.

    Parameters
    ----------
    variants : sequence of str
        The variants, in table order.
    seeds : dict of str to list of int
        Each variant's seeds (every fold trains them all).
    fold_dirs : sequence of str or Path
        Each fold's sub-experiment folder (`results/{experiment}/folds/r0f0`, ...).
    out_dir : str or Path
        The experiment's folder (`results/{experiment}`).

    Raises
    ------
    DataError
        If a fold's file is missing or changed on disk, or the folds score other tag sets.
    """
    from ..evaluation.folds import fold_runs, write_fold_summary
    from ..models.model_file import read_metadata

    settings = settings or BootstrapSettings()
    root, folds = Path(out_dir), [Path(f) for f in fold_dirs]
    rows, runs = [], {}
    for variant in variants:
        runs[variant], seed_metrics, n_clips = fold_runs(
            folds, lambda f, v=variant: [f / "eval" / v / f"seed{s}" / "metrics.json"
                                         for s in seeds[v]], seeds[variant])
        summary = write_fold_summary(root / "eval" / variant, runs[variant], seed_metrics, n_clips)
        spec = read_metadata(folds[0] / "models" / variant / f"seed{seeds[variant][0]}" /
                             "model.keras")["spec"]
        rows.append(_row(variant, summary, spec, runs[variant], settings.interval))
    runs[BASELINE], base_metrics, n_clips = fold_runs(
        folds, lambda f: [f / "baseline" / "metrics.json"])
    summary = write_fold_summary(root / "baseline", runs[BASELINE], base_metrics, n_clips)
    rows.append(_row(BASELINE, summary, {"backbone": "none", "pooling": "log-mel mean+std",
                                         "head": "logistic regression"}, runs[BASELINE],
                     settings.interval))
    out = root / "report"
    out.mkdir(parents=True, exist_ok=True)
    table, differences = _write_tables(out, rows, runs, settings, BASELINE)
    _draw(out / "comparison.png", _plot_folds, table, runs)
    _draw(out / "forest.png", _plot_forest, differences)
    write_overview(dataset, folds[0] / "split", table, differences, out / "overview.rst",
                   experiment=experiment, folds=[f.name for f in folds])
    return table, differences


def _plot_folds(table: pd.DataFrame, runs: dict, out: Path) -> None:
    """Each row's figure on every fold (dots) and its cross-validated mean with the corrected
    95 % interval (diamond and bar)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    names = list(table["variant"])
    x = np.arange(1, len(names) + 1)
    for ax, key, title in ((axes[0], "roc_auc_macro", "ROC-AUC macro"),
                           (axes[1], "pr_auc_macro", "PR-AUC macro")):
        for xi, name in zip(x, names, strict=True):
            folds = runs[name].fold_figures(key)
            ax.scatter(xi + np.linspace(-0.2, 0.2, len(folds)), folds, s=14, alpha=0.6,
                       label="each fold (mean over seeds)" if xi == 1 else None)
        mean, low, high = (table[f"{key}{s}"].to_numpy(np.float64)
                           for s in ("", "_ci95_low", "_ci95_high"))
        ax.errorbar(x, mean, yerr=_error_bars(mean, low, high), fmt="D", color="black",
                    capsize=4, label="mean over folds, 95 % interval")
        ax.set_xticks(x, names, rotation=15)
        ax.set_title(f"{title} by fold")
        ax.grid(alpha=0.3, axis="y")
    _save_with_legend_below(fig, *axes[0].get_legend_handles_labels(), out)


def _draw(out: Path, plot, *args) -> None:
    """Draw one figure; if it fails, one warning line and a placeholder image saying why, so
    the tables and the other figures are still written and the rule still ends."""
    import sys

    try:
        plot(*args, out)
    except Exception as err:  # a figure must never cost the report
        plt.close("all")
        reason = f"{type(err).__name__}: {err}".splitlines()[0]
        print(f"tagbench: warning: {out.name}: not drawn ({reason})", file=sys.stderr)
        fig = plt.figure(figsize=(6, 1.5))
        fig.text(0.5, 0.5, textwrap.fill(f"{out.name} could not be drawn: {reason}", 70),
                 ha="center", va="center", fontsize=9)
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=110)
        plt.close(fig)


def _error_bars(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[np.ndarray]:
    """Bar lengths below and above each point: never negative (a point outside its interval,
    or a missing interval, draws no bar on that side instead of failing the plot)."""
    below = np.nan_to_num(mean - low, nan=0.0)
    above = np.nan_to_num(high - mean, nan=0.0)
    return [np.clip(below, 0, None), np.clip(above, 0, None)]


def _plot_comparison(table: pd.DataFrame, variants, per_tag, runs: dict[str, Runs],
                     out: Path) -> None:
    """Per tag (box and dots), the macro mean over seeds with its interval (diamond and bar),
    and each seed's macro figure beside it (circles): how far apart the seeds land."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    names = list(table["variant"])
    for ax, key, title in ((axes[0], "roc_auc", "ROC-AUC"), (axes[1], "pr_auc", "PR-AUC")):
        data = [per_tag[v][key].dropna().to_numpy() for v in variants]
        ax.boxplot(data, positions=range(1, len(variants) + 1), showfliers=False)
        for j, d in enumerate(data, start=1):
            ax.scatter(np.full(len(d), j) + np.linspace(-0.15, 0.15, len(d)), d, s=8, alpha=0.4)
        mean, low, high = (table[f"{key}_macro{s}"].to_numpy(np.float64)
                           for s in ("", "_ci95_low", "_ci95_high"))
        x = np.arange(1, len(names) + 1)
        ax.errorbar(x, mean, yerr=_error_bars(mean, low, high), fmt="D", color="black",
                    capsize=4, label="macro: mean over seeds, 95 % interval")
        j = KEYS.index(f"{key}_macro")
        seeds = [(xi + 0.25, v) for xi, name in zip(x, names, strict=True)
                 for v in runs[name].points[:, j] if runs[name].seeds is not None]
        if seeds:
            ax.scatter(*zip(*seeds, strict=True), s=16, facecolors="none", edgecolors="black",
                       lw=0.8, label="macro: each seed")
        if BASELINE in names:
            ax.axhline(mean[-1], color="grey", ls=":", lw=1, label="baseline floor")
        ax.set_xticks(x, names, rotation=15)
        ax.set_title(f"{title} per tag (box: spread over tags)")
        ax.set_ylabel(title)
        shown = [d.min() for d in data if len(d)] + [v for v in low if np.isfinite(v)]
        ax.set_ylim(min(0.4, *shown) - 0.02, 1.01)
        ax.grid(alpha=0.3, axis="y")
    # one legend for both panels, below them: on the axes it hid the lowest points and ticks
    _save_with_legend_below(fig, *axes[0].get_legend_handles_labels(), out)


def _plot_forest(differences: pd.DataFrame, out: Path) -> None:
    """Every comparison's difference with its 95 % interval, one panel per macro metric: the
    variant pairs, then each variant against the floor, each family sorted by its difference.
    Filled: flagged by the corrected test within its family; hollow: not; grey: no verdict."""
    metrics = [m for m in ("roc_auc_macro", "pr_auc_macro") if m in set(differences["metric"])]
    first = differences[differences["metric"] == metrics[0]]
    order = (first.assign(floor=first["b"] == BASELINE)
             .sort_values(["floor", "difference"], ascending=[True, False]))
    pairs = list(zip(order["a"], order["b"], strict=True))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 + 3.2 * len(metrics),
                                                       1.4 + 0.36 * len(pairs)),
                             sharey=True, squeeze=False)
    y = np.arange(len(pairs))[::-1]
    for ax, metric in zip(axes[0], metrics, strict=True):
        rows = differences[differences["metric"] == metric].set_index(["a", "b"]).loc[pairs]
        for yi, r in zip(y, rows.itertuples(), strict=True):
            none = r.family == NO_VERDICT
            color = "grey" if none else "black"
            ax.plot([r.ci95_low, r.ci95_high], [yi, yi], color=color, lw=1.6)
            ax.plot(r.difference, yi, "o", ms=6, color=color,
                    mfc=color if (r.significant and not none) else "white")
        ax.axvline(0, color="grey", lw=0.8, ls=":")
        floors = [i for i, (_, b) in enumerate(pairs) if b == BASELINE]
        if floors and len(floors) < len(pairs):  # a line between the two families
            ax.axhline(y[floors[0]] + 0.5, color="grey", lw=0.6)
        ax.set_title(f"{metric.replace('_', ' ').replace('roc auc', 'ROC-AUC').replace('pr auc', 'PR-AUC')}"
                     ": difference, 95 % interval", fontsize=10)
        ax.grid(alpha=0.3, axis="x")
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
    axes[0][0].set_yticks(y, [f"{a} - {b}" for a, b in pairs], fontsize=8)
    handles = [plt.Line2D([], [], marker="o", color="black", ls="-", label="flagged (corrected "
                          "within its family)"),
               plt.Line2D([], [], marker="o", color="black", mfc="white", ls="-",
                          label="not flagged"),
               plt.Line2D([], [], marker="o", color="grey", mfc="white", ls="-",
                          label="no verdict (too few seeds, test tracks or folds)")]
    if not (differences["family"] == NO_VERDICT).any():
        handles.pop()
    _save_with_legend_below(fig, handles, [h.get_label() for h in handles], out)


def _save_with_legend_below(fig, handles, labels, out: Path) -> None:
    """One legend for every panel, in a strip 0.4 inch high below them (on the axes it hid the
    lowest points and tick labels), and the figure written atomically."""
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0.4 / fig.get_figheight(), 1, 1))
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def _plot_per_tag(variants, per_tag, out: Path) -> None:
    tags = per_tag[variants[0]].sort_values("positives", ascending=False)["tag"].tolist()
    grid = np.array([[per_tag[v].set_index("tag").loc[t, "roc_auc"] for v in variants] for t in tags])
    fig, ax = plt.subplots(figsize=(2.2 + 1.3 * len(variants), 1.2 + 0.22 * len(tags)))
    im = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0.5, vmax=1.0)
    ax.set_xticks(range(len(variants)), variants, rotation=20, ha="right")
    ax.set_yticks(range(len(tags)), tags, fontsize=8 if len(tags) < 60 else 5)
    if len(tags) <= 40:
        for (r, c), v in np.ndenumerate(grid):
            ax.text(c, r, "n/a" if np.isnan(v) else f"{v:.2f}", ha="center", va="center",
                    fontsize=7, color="white" if v < 0.8 else "black")
    fig.colorbar(im, ax=ax, label="test ROC-AUC (mean over seeds)")
    ax.set_title("Per-tag test ROC-AUC (tags by frequency)")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def _plot_roc_pr(folders: dict[str, Path], out: Path) -> None:
    """Micro-averaged ROC and PR curves (every clip x tag pair), seed-averaged scores."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    from ..evaluation.scoring import read_scored

    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(11, 4.8))
    for name, folder in folders.items():
        run = read_scored(folder)
        y, s = run.labels.ravel(), run.scores.ravel()
        style = {"ls": ":", "color": "grey"} if name == BASELINE else {}
        fpr, tpr, _ = roc_curve(y, s)
        precision, recall, _ = precision_recall_curve(y, s)
        roc_ax.plot(fpr, tpr, label=name, **style)
        pr_ax.step(recall, precision, where="post", label=name, **style)
    roc_ax.plot([0, 1], [0, 1], color="black", lw=0.5)
    pr_ax.axhline(float(y.mean()), color="black", lw=0.5, label="chance (positive rate)")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate",
               title="ROC, micro-averaged over clip x tag pairs")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, micro-averaged")
    for ax in (roc_ax, pr_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if ax is roc_ax else "upper right")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def _rst_table(header: list[str], rows: list[list[str]]) -> str:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + row[0])
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def _backbone_note(table: pd.DataFrame) -> str:
    """What each backbone's figures measure: transfer (and from what), in-domain supervised
    tagging, or random features."""
    seen = {}
    for backbone, provenance in zip(table["backbone"], table["provenance"], strict=True):
        if provenance != "-":
            seen.setdefault(backbone, provenance)
    if not seen:
        return ""
    return "**Backbones**: " + "; ".join(f"``{b}``: {p}" for b, p in seen.items()) + "."


def _track_note(provenance: dict) -> str:
    """What the split guarantees about tracks and twins: the leak guarantee only where tracks
    group clips (a split of one-clip tracks keeps nothing together)."""
    tracks = provenance.get("tracks", {})
    if tracks.get("grouped", True):
        note = (f"Clips of one track (tracks from {tracks.get('from', 'file names')}) never "
                "straddle the parts.")
    else:
        note = ("**No track grouping was found**: every clip is its own track (no 'track' column "
                "in the annotations, and the file names do not group clips), so excerpts of one "
                "recording may be in train and test.")
    twins = provenance.get("twins", {})
    n = twins.get("test_clips_with_a_twin", 0)
    if n:
        note += (f" {n:,} test clips have a twin ({twins['rule']}): "
                 + ("left out of the test part (split.drop_twins)." if twins.get("dropped") else
                    "kept (split.drop_twins: true leaves them out)."))
    return note


_SEED_INTERVALS = """shown as
mean ± std over the training seeds, and the 95 % interval over training seeds and test clips:
mean ± t x SE, where SE² is the seeds' variance over their number plus what the seeds share over
{resamples:,} Bayesian-bootstrap resamples of the test part ({unit}; every clip weighted, so a
macro average keeps the same tags in every resample): the mean covariance of two seeds' resampled
figures, scaled to the classical variance, with Satterthwaite's degrees of freedom
(docs/statistics.md, "Intervals"). A row with one seed and a deterministic row (the baseline's
one fit, a shipped head) have clip-only intervals, labelled so; no verdict rests on a row of
fewer than 3 seeds or a test part of fewer than 10 tracks."""
_FOLD_INTERVALS = """averaged
over every fold's test part and the seeds, shown as mean ± std over the J = {n} folds'{repeats}
figures (each its mean over seeds), and the 95 % interval over folds, seeds and test tracks: the
corrected resampled t (Nadeau & Bengio 2003), mean ± t(J - 1) x SE with SE² = (1/J + n_test /
n_train) x the folds' variance, which counts that the folds' training sets overlap
(docs/datasets.md, "Cross-validation"). Differences pair the folds. No verdict rests on fewer than 3 folds."""


def write_overview(dataset: str, split_dir, table: pd.DataFrame, differences: pd.DataFrame,
                   out: str | Path, experiment: str = "", folds=None) -> None:
    """Write the HTML report's landing text (reStructuredText).

    Covers the dataset, split and tags, the headline metrics with their intervals, the verdict
    (`verdict.verdict`) and what the seeds can claim per comparison.

    Parameters
    ----------
    dataset : str
        The dataset's name.
    split_dir : str or Path
        The split folder (the parts' TSVs and `split.json`).
    table, differences : DataFrame
        From `write_comparison`.
    out : str or Path
        The `.rst` file, written atomically.
    experiment : str, optional
        The experiment's name, shown when it differs from the dataset's.
    folds : list of str, optional
        A cross-validated experiment's folds (`split_dir` is the first one's split).
    """
    from ..data.split_files import read_part, read_provenance

    parts = {p: read_part(Path(split_dir) / f"{p}.tsv") for p in ("train", "valid", "test")}
    provenance = read_provenance(split_dir)
    method = provenance.get("method", "?")
    named = f" (experiment ``{experiment}``)" if experiment and experiment != dataset else ""
    tags = parts["train"].tags
    sizes = ", ".join(f"{p} {len(t.clip_ids):,} clips / {len(set(t.tracks)):,} tracks"
                      for p, t in parts.items())
    shown = ", ".join(tags[:30]) + (f", ... ({len(tags) - 30} more)" if len(tags) > 30 else "")

    def figure(r, key):
        if pd.isna(getattr(r, key)):
            return ["n/a", "n/a"]
        std = f" ± {getattr(r, key + '_std'):.3f}" if _n_seeds(r.seeds) > 1 else ""
        # the interval in its own column: a cell stays on one line
        return [f"{getattr(r, key):.3f}{std}",
                f"[{getattr(r, key + '_ci95_low'):.3f}, {getattr(r, key + '_ci95_high'):.3f}]"]

    def seeds(r):
        # ("-" alone in a list-table cell would be read as an empty bullet list)
        if r.seeds == "-":
            return "none (deterministic" + ("" if folds else ": clip-only interval") + ")"
        return r.seeds + (" (one seed: clip-only interval, no verdict)"
                          if _n_seeds(r.seeds) < 2 and not folds else "")

    rows = [[f"{r.variant} ({r.backbone}, {r.pooling}, {r.head})", seeds(r),
             *figure(r, "roc_auc_macro"), *figure(r, "pr_auc_macro"),
             f"{r.accuracy:.3f} / {r.all_negative_accuracy:.3f}",
             f"{r.train_seconds / 60:.1f}" if pd.notna(r.train_seconds) else "n/a"]
            for r in table.itertuples(index=False)]
    if folds:
        from ..settings.config import parse_fold

        repeats = len({parse_fold(f)[0] for f in folds})
        data = (f"**Data.** Split ``kfold``: {len(folds) // repeats} folds by track, stratified "
                f"over tags{f', {repeats} repeats' if repeats > 1 else ''}; every fold is the "
                f"test part once (its own sub-experiment, ``folds/{folds[0]}`` ...). The first "
                f"fold: {sizes}. {_track_note(provenance)}")
        intervals = _FOLD_INTERVALS.format(n=len(folds), repeats=(
            f" ({len(folds) // repeats} folds x {repeats} repeats)" if repeats > 1 else ""))
    else:
        resamples = int(table["bootstrap"].iloc[0])
        n = int(table["n_resampled"].iloc[0])
        unit = (f"a weight per test track, shared by its clips: {n} tracks"
                if table["resample_by"].iloc[0] == "track" else
                f"a weight per test clip: {n} clips")
        data = (f"**Data.** Split ``{method}`` (docs/datasets.md, \"Split\"): {sizes}. "
                f"{_track_note(provenance)}")
        intervals = _SEED_INTERVALS.format(resamples=resamples, unit=unit)
    key = "roc_auc_macro"
    unit_word = "folds" if folds else "seeds"
    claims = _rst_table(list(CLAIM_COLUMNS), resolution(differences, key))
    families = differences.loc[~differences["family"].str.startswith("none"), "correction"]
    correction = families.iloc[0] if len(families) else "holm"
    text = f"""**tagbench**: transfer learning for music auto-tagging on ``{dataset}``{named}.

{data}

**{len(tags)} tags**: {shown}.

**Test results** (clip level: every patch of the backbone scored, its own patch length as
``tagbench backbones`` lists it, scores averaged per clip). ROC-AUC and
PR-AUC are macro averages over tags with positives and negatives in the test part, {intervals}
Accuracy is element-wise at 0.5 and only means
something next to the accuracy of predicting no tag at all. The baseline floor is log-mel
statistics per clip with logistic regression: a variant should clear it.

{_rst_table(["model (backbone, pooling, head)", "seeds", "ROC-AUC", "95 % interval", "PR-AUC",
             "95 % interval", "accuracy / all-negative", "train min (mean)"], rows)}
{_backbone_note(table)}

{verdict(table, differences, key)} Every pair's difference is in ``differences.csv``, {unit_word} paired
across variants; its flags are corrected ({correction}) within their family (the variant pairs;
the variants against the floor), and a best variant must beat every other row.

**What these {unit_word} can claim** ({key.replace("_", " ").replace("roc auc", "ROC-AUC")}, per
comparison; ``forest.png`` draws every interval):

{claims}

**Figures** (left menu): *Training* holds the loss and metric curves of every variant by epoch
(mean over seeds; train stream solid, validation dashed); *Comparison* holds the table above as
CSV, the differences, the spread of per-tag ROC-AUC / PR-AUC with each seed's macro figure, the
per-tag ROC-AUC of every variant, and micro-averaged ROC and PR curves beside the baseline's.
"""
    write_text(out, text)
