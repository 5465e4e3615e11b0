"""Across experiments: the leaderboard of everything under results/, and two runs compared.

An experiment is a folder `results/{experiment}/` with variant summaries
(`eval/{variant}/metrics.json`, written by the summarize rule) and a baseline. Its metrics files
say which split, tag set and model made them, so every row carries them. Published rows come
from `published.csv` (beside this module) and are shown only beside experiments on the same
dataset, split method and tag set (the split's `tags_sha256`: the same tags, not merely as
many), marked as published.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..backbones import DEFAULT, backbone
from ..core.atomic import atomic_path, write_text
from ..core.errors import DataError
from ..core.tag_lists import read_tag_list, shipped, tag_set_digest, tag_set_name
from ..evaluation.replicates import read_summary, refuse_folds, resampling
from ..evaluation.scoring import read_metrics, read_scored
from ..evaluation.stats import KEYS, NO_VERDICT, difference, flag_families, pairwise, resampled

PUBLISHED = Path(__file__).with_name("published.csv")
BASELINE_RUN = "baseline"  # the baseline's name in `compare` (EXPERIMENT/baseline)
COLUMNS = ["kind", "experiment", "dataset", "split", "n_tags", "tags", "tag_set", "variant",
           "backbone", "provenance", "model", "weights",
           "finetune", "seeds", "roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc", "pr_auc_low",
           "pr_auc_high", "baseline_roc_auc", "baseline_pr_auc", "train_minutes", "source",
           "interval", "summarized_by", "robust_mean_drop", "robust_worst"]


def experiments(results_dir) -> list[str]:
    """Experiment names under results_dir: folders with at least one variant summary."""
    root = Path(results_dir)
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and any((p / "eval").glob("*/metrics.json"))) \
        if root.is_dir() else []


def _row(experiment: str, variant: str, m: dict, baseline: dict | None) -> dict:
    model, split = m.get("model", {}), m.get("split", {})
    head = model.get("head", [])
    described = model.get("description") or (
        f"{model.get('backbone', DEFAULT)} {model.get('pooling', '?')}, shipped model, scored "
        "here, not trained here" if head == "shipped" else
        f"{model.get('pooling', '?')} + {'-'.join(map(str, head)) or 'linear'} head")
    return {
        "kind": "experiment", "experiment": experiment, "dataset": split.get("dataset", ""),
        "split": split.get("method", "?"), "n_tags": m.get("n_tags"),
        "tags": _tags_label(split), "tag_set": split.get("tags_sha256", ""), "variant": variant,
        "backbone": model.get("backbone", DEFAULT if "pooling" in model else "-"),
        "provenance": model.get("provenance", "-"),
        "model": described,
        "weights": _weights_label(model),
        "finetune": model.get("finetune", "-"),
        "seeds": " ".join(map(str, m["seeds"])) if m.get("seeds") else "-",
        "roc_auc": m["roc_auc_macro"], "roc_auc_low": m["roc_auc_macro_ci95"][0],
        "roc_auc_high": m["roc_auc_macro_ci95"][1], "pr_auc": m["pr_auc_macro"],
        "pr_auc_low": m["pr_auc_macro_ci95"][0], "pr_auc_high": m["pr_auc_macro_ci95"][1],
        "baseline_roc_auc": baseline["roc_auc_macro"] if baseline else np.nan,
        "baseline_pr_auc": baseline["pr_auc_macro"] if baseline else np.nan,
        "train_minutes": (m["train_seconds"] / 60) if m.get("train_seconds") else np.nan,
        "source": f"results/{experiment}",
        "interval": m.get("interval", "-"),
        "summarized_by": m.get("summarized_by", "an older tagbench (not recorded)"),
    }


def _tags_label(split: dict) -> str:
    """How a tag set reads in the leaderboard: a shipped list's name, or what chose the tags."""
    digest = split.get("tags_sha256")
    named = tag_set_name(digest) if digest else None
    if named:
        return named
    if split.get("tag_list"):
        return f"list {Path(split['tag_list']).name}"
    return f"top {split['top_n']} in train" if split.get("top_n") else "all with a train positive"


def collect(results_dir) -> pd.DataFrame:
    """One row per variant of every experiment (and its baseline floor as a row of its own)."""
    root = Path(results_dir)
    rows = []
    for name in experiments(root):
        exp = root / name
        base_file = exp / "baseline" / "metrics.json"
        baseline = read_metrics(base_file) if base_file.is_file() else None
        robust = _robustness(exp)
        for path in _variant_summaries(exp):
            m = read_metrics(path)
            if "roc_auc_macro_ci95" in m:  # a variant summary (not an older single-run file)
                rows.append({**_row(name, path.parent.name, m, baseline),
                             **robust.get(path.parent.name, {})})
        if baseline:
            rows.append({**_row(name, BASELINE_RUN, baseline, None), "kind": "baseline"})
    if not rows:
        raise DataError(f"{root}: no experiment found (no {root}/*/eval/*/metrics.json with "
                        "intervals): run snakemake first")
    return pd.DataFrame(rows, columns=COLUMNS)


def _robustness(exp: Path) -> dict[str, dict]:
    """Per variant, its robustness columns from the experiment's `report/robustness.csv` (none
    when the experiment scores no deformation)."""
    from .robustness import summary

    table = exp / "report" / "robustness.csv"
    if not table.is_file():
        return {}
    rows = _read_report_table(table, "robustness", summary)
    return {r.variant: {"robust_mean_drop": r.mean_relative_drop,
                        "robust_worst": r.worst_deformation} for r in rows.itertuples()}


def _read_report_table(path: Path, what: str, use):
    """`use(the CSV at path)`; a file it cannot read is one line naming it and the fix."""
    try:
        return use(pd.read_csv(path))
    except (OSError, KeyError, ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{path}: unreadable {what} table ({type(err).__name__}): delete it and "
                        "rerun snakemake") from None


def _variant_summaries(exp: Path) -> list[Path]:
    """An experiment's variant summaries: those its comparison table lists (a variant since
    renamed or removed from the config is not a row); every one on disk before its first
    report."""
    table = exp / "report" / "comparison.csv"
    if not table.is_file():
        return sorted((exp / "eval").glob("*/metrics.json"))
    listed = _read_report_table(table, "comparison", lambda t: t["variant"].astype(str))
    return [exp / "eval" / v / "metrics.json" for v in listed
            if (exp / "eval" / v / "metrics.json").is_file()]


def published(path=PUBLISHED) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, comment="#")
    except FileNotFoundError:
        raise DataError(f"{path}: published results file not found") from None
    need = {"model", "roc_auc", "pr_auc", "dataset", "split", "n_tags", "tags", "frozen", "source",
            "year"}
    if need - set(table.columns):
        raise DataError(f"{path}: missing columns {', '.join(sorted(need - set(table.columns)))}")
    lists = {name: read_tag_list(_beside(path, name)) for name in set(table["tags"])}
    return pd.DataFrame({
        "kind": "published", "experiment": "", "dataset": table["dataset"], "split": table["split"],
        "n_tags": [len(lists[t]) for t in table["tags"]], "tags": table["tags"],
        "tag_set": [tag_set_digest(lists[t]) for t in table["tags"]], "variant": "",
        "backbone": table["backbone"] if "backbone" in table else "-",
        "model": table["model"], "weights": "-",
        "finetune": np.where(table["frozen"].astype(str).str.lower() == "true", False, True),
        "seeds": "-", "roc_auc": table["roc_auc"], "roc_auc_low": np.nan, "roc_auc_high": np.nan,
        "pr_auc": table["pr_auc"], "pr_auc_low": np.nan, "pr_auc_high": np.nan,
        "baseline_roc_auc": np.nan, "baseline_pr_auc": np.nan, "train_minutes": np.nan,
        "source": table["source"] + " (" + table["year"].astype(str) + ")"}, columns=COLUMNS)


def _beside(path, name: str) -> str:
    """A published file's tag list: a shipped list's name, or a file beside it."""
    return name if name in shipped() else str(Path(path).parent / name)


def leaderboard(results_dir, out_prefix, published_path=PUBLISHED) -> pd.DataFrame:
    """Write the leaderboard of every experiment under `results_dir`, with matching published rows.

    Rows are grouped by split method and tag set, best ROC-AUC first; a published row is kept
    only beside experiments of the same dataset, split method and tag set.

    Parameters
    ----------
    results_dir : str or Path
        The results folder (`{experiment}/eval/{variant}/metrics.json`, `{experiment}/baseline`).
    out_prefix : str or Path
        Path without suffix: `.csv`, `.md` and `.png` are written beside it, atomically.
    published_path : str or Path, optional
        The published results table (default: the shipped `published.csv`).

    Returns
    -------
    DataFrame
        The leaderboard, columns `COLUMNS`.

    Raises
    ------
    DataError
        If no experiment has a variant summary, or the published file is missing or lacks
        columns.
    """
    ours = collect(results_dir)
    theirs = published(published_path)
    groups = set(zip(ours["dataset"], ours["split"], ours["tag_set"], strict=True))
    theirs = theirs[[key in groups for key in zip(theirs["dataset"], theirs["split"],
                                                   theirs["tag_set"], strict=True)]]
    table = pd.concat([ours, theirs], ignore_index=True)
    numeric = [c for c in COLUMNS if c.startswith(("roc_auc", "pr_auc", "baseline_"))]
    table[numeric + ["train_minutes"]] = table[numeric + ["train_minutes"]].astype(float)
    table = table.sort_values(["split", "n_tags", "tag_set", "roc_auc"],
                              ascending=[True, True, True, False], kind="stable").reset_index(drop=True)
    out = Path(out_prefix)
    with atomic_path(out.with_suffix(".csv")) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    write_text(out.with_suffix(".md"), _markdown(table))
    _plot(table, out.with_suffix(".png"))
    return table


def _figure(value, low, high) -> str:
    if pd.isna(value):
        return "n/a"
    return f"{value:.3f}" if pd.isna(low) else f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _markdown(table: pd.DataFrame) -> str:
    lines = ["# tagbench leaderboard", "",
             "Test ROC-AUC and PR-AUC, macro over tags: mean over seeds [95 % interval over "
             "training seeds and test clips]. **published** rows are numbers from papers on the "
             "same dataset, split method and tag set, not rerun here; `lists` rows match only if "
             "the list files are the paper's. `interval` names how each row's interval was "
             "computed; `leaderboard.csv` also names the code that summarized it "
             "(`summarized_by`).", ""]
    for (split, n_tags, _), group in table.groupby(["split", "n_tags", "tag_set"], sort=True):
        lines += [f"## split `{split}`, {n_tags} tags ({group['tags'].iloc[0]})", "",
                  "| | experiment / source | variant / model | backbone | weights, finetune | seeds | "
                  "ROC-AUC | PR-AUC | floor ROC / PR | train min | interval | robustness |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in group.itertuples(index=False):
            kind = {"published": "**published**", "baseline": "floor"}.get(r.kind, "")
            who = r.source if r.kind == "published" else r.experiment
            what = r.model if r.kind == "published" else f"{r.variant}: {r.model}"
            floor = ("" if pd.isna(r.baseline_roc_auc)
                     else f"{r.baseline_roc_auc:.3f} / {r.baseline_pr_auc:.3f}")
            frozen = "frozen" if r.finetune is False or r.finetune == "False" else "trained"
            how = f"{r.weights}, {frozen}" if r.kind != "baseline" else "-"
            minutes = "" if pd.isna(r.train_minutes) else f"{r.train_minutes:.1f}"
            backbone = r.backbone if r.provenance in ("-", "") or pd.isna(r.provenance) \
                else f"{r.backbone} ({r.provenance})"
            lines.append(f"| {kind} | {who} | {what} | {backbone} | {how} | {r.seeds} | "
                         f"{_figure(r.roc_auc, r.roc_auc_low, r.roc_auc_high)} | "
                         f"{_figure(r.pr_auc, r.pr_auc_low, r.pr_auc_high)} | {floor} | {minutes} | "
                         f"{'' if r.kind == 'published' else r.interval} | {_robust_cell(r)} |")
        lines.append("")
    return "\n".join(lines)


def _robust_cell(r) -> str:
    """Mean relative drop of ROC-AUC macro over the experiment's deformations, and the worst."""
    if not isinstance(r.robust_worst, str):
        return ""
    return f"{r.robust_mean_drop:+.1%} mean; worst {r.robust_worst}"


def _plot(table: pd.DataFrame, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [(f"[published] {r.model}" if r.kind == "published" else
               f"{r.experiment} / {r.variant}") + f"  ({r.split}, {r.n_tags} tags)"
              for r in table.itertuples(index=False)]
    fig, axes = plt.subplots(1, 2, figsize=(13, 1.5 + 0.35 * len(table)), sharey=True)
    y = np.arange(len(table))[::-1]
    colours = {"experiment": "tab:blue", "baseline": "tab:grey", "published": "tab:orange"}
    for ax, key, title in ((axes[0], "roc_auc", "ROC-AUC (macro)"),
                           (axes[1], "pr_auc", "PR-AUC (macro)")):
        value = table[key].to_numpy(float)
        low = np.where(np.isnan(table[f"{key}_low"]), value, table[f"{key}_low"])
        high = np.where(np.isnan(table[f"{key}_high"]), value, table[f"{key}_high"])
        ax.barh(y, value, color=[colours[k] for k in table["kind"]],
                hatch=None, alpha=0.85)
        ax.errorbar(value, y, xerr=[value - low, high - value], fmt="none", color="black",
                    capsize=3)
        ax.set_title(title)
        ax.set_xlim(max(0.0, np.nanmin(low) - 0.05), min(1.0, np.nanmax(high) + 0.02))
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(y, labels, fontsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    axes[1].legend(handles, ["tagbench experiment", "baseline floor", "published (paper)"],
                   fontsize=8, loc="lower right")
    fig.suptitle("tagbench leaderboard: mean over seeds, 95 % interval over seeds and test clips")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def _resolve(results_dir: Path, spec: str) -> dict[str, Path]:
    """`EXPERIMENT` -> {variant: folder} of its summaries and baseline; `EXPERIMENT/VARIANT`
    (or `EXPERIMENT/baseline`) -> that one."""
    name, _, variant = spec.partition("/")
    exp = results_dir / name
    known = experiments(results_dir)
    if name not in known:
        raise DataError(f"no experiment {name!r} under {results_dir}/ (experiments: "
                        f"{', '.join(known) or 'none yet'})")
    folders = {p.parent.name: p.parent for p in sorted((exp / "eval").glob("*/metrics.json"))}
    if (exp / "baseline" / "metrics.json").is_file():
        folders[BASELINE_RUN] = exp / "baseline"
    if not variant:
        return folders
    if variant not in folders:
        raise DataError(f"experiment {name} has no variant {variant!r} (has: "
                        f"{', '.join(folders)})")
    return {variant: folders[variant]}


def _deformed(folders: dict[str, Path], deformation: str) -> dict[str, Path]:
    """The runs' summaries on a deformed test part (the baseline has none); one line naming
    the deformations there are when none has it."""
    found = {v: f / "robustness" / deformation for v, f in folders.items()
             if (f / "robustness" / deformation / "metrics.json").is_file()}
    if not found:
        there = sorted({p.name for f in folders.values() for p in (f / "robustness").glob("*")})
        raise DataError(f"no run there was scored on deformation {deformation!r} (deformations "
                        f"scored: {', '.join(there) or 'none: set robustness in the config'})")
    return found


def _weights_label(model: dict) -> str:
    """`train.weights` where the backbone offers a choice; "trained" where it always loads its
    own (a single choice with a checkpoint, a user's backbone)."""
    if "pooling" not in model:
        return "-"
    weights = model.get("weights", "none")
    try:
        spec = backbone(model.get("backbone", DEFAULT))
    except DataError:  # a user's backbone no longer installed: its row stays
        return weights
    return "trained" if len(spec.weight_choices) == 1 and spec.trained(weights) else weights


def _provenance(m: dict) -> str:
    """'backbone: what its figure measures' of a metrics file (the baseline has no backbone)."""
    model = m.get("model", {})
    if "provenance" not in model:
        return model.get("description", "?")
    return f"{model.get('backbone', DEFAULT)}: {model['provenance']}"


def compare_runs(results_dir, a: str, b: str, correction: str = "holm",
                 deformation: str | None = None) -> pd.DataFrame:
    """Compare two runs figure by figure: B - A, with its 95 % interval where one can be given.

    The interval (over training seeds and test clips; seeds paired when both have the same
    seeds) needs both runs scored on the same test clips with the same resamples. Flags are
    corrected within a family: for two runs of one experiment, the experiment's own (as in its
    report); otherwise the pairs this call compares, per figure.

    Parameters
    ----------
    results_dir : str or Path
        The results folder.
    a, b : str
        Two experiments (compared on the variants they share), or two `EXPERIMENT/VARIANT`
        names (`EXPERIMENT/baseline` for a baseline).
    correction : {"holm", "none"}, optional
        The multiplicity correction of the flags.
    deformation : str, optional
        Compare the runs' summaries on this deformed test part (`kind=severity`, config
        `robustness`) instead of the clean one; flags in the pairs this call compares.

    Returns
    -------
    DataFrame
        One row per compared pair and figure (the four `KEYS` and accuracy): values, `change`,
        interval, p-values, flag and the interval's method (see `format_comparison`).

    Raises
    ------
    DataError
        If an experiment or variant is unknown, the names mix the two forms, two experiments
        share no variant, or a run's files are missing.
    """
    root = Path(results_dir)
    left, right = _resolve(root, a), _resolve(root, b)
    if "/" in a or "/" in b:
        if len(left) != 1 or len(right) != 1:
            raise DataError("compare two experiments, or two EXPERIMENT/VARIANT names")
        pairs = [(next(iter(left)), next(iter(right)))]
    else:
        pairs = [(v, v) for v in left if v in right]
        if not pairs:
            raise DataError(f"experiments {a} and {b} share no variant name: compare "
                            "EXPERIMENT/VARIANT names instead")
    for va, vb in pairs:
        for folder in (left[va], right[vb]):
            refuse_folds(read_metrics(folder / "metrics.json"), folder / "metrics.json")
    if deformation:
        left, right = _deformed(left, deformation), _deformed(right, deformation)
        pairs = [(va, vb) for va, vb in pairs if va in left and vb in right]
        if not pairs:
            raise DataError(f"no pair of runs there was both scored on deformation "
                            f"{deformation!r} (a baseline never is)")
    rows, default = [], "seeds_and_clips"
    for va, vb in pairs:
        fa, fb = left[va], right[vb]
        sa, sb = read_scored(fa), read_scored(fb)
        ma, mb = sa.metrics, sb.metrics
        paired = (sa.clip_ids == sb.clip_ids and np.array_equal(sa.labels, sb.labels)
                  and sa.tags == sb.tags and resampling(ma) == resampling(mb))
        # both runs' own method; where they differ, the one over seeds and clips (each pair on
        # its own: a previous pair's method carries over to none)
        methods = {ma.get("interval_method", default), mb.get("interval_method", default)}
        method = methods.pop() if len(methods) == 1 else default
        runs = (read_summary(fa)[1], read_summary(fb)[1]) if paired else None
        unit, n = resampled(ma)
        for key in (*KEYS, "accuracy"):
            row = {"a": f"{a.split('/')[0]}/{va}", "b": f"{b.split('/')[0]}/{vb}", "metric": key,
                   "a_value": ma.get(key), "b_value": mb.get(key),
                   "change": mb.get(key) - ma.get(key), "ci95_low": np.nan, "ci95_high": np.nan,
                   "p_value": np.nan, "interval": "", "family": "none: no interval",
                   "paired": paired, "va": va, "vb": vb, "resampled": f"{n} {unit}s",
                   "a_provenance": _provenance(ma), "b_provenance": _provenance(mb)}
            if runs and key in KEYS:
                est = difference(runs[1], runs[0], key, method)  # B - A
                row.update(ci95_low=est.low, ci95_high=est.high, p_value=est.p_value,
                           interval=est.label,
                           family=f"this comparison, {key}" if est.verdict else NO_VERDICT)
            rows.append(row)
    table = flag_families(pd.DataFrame(rows), correction)
    name = a.split("/")[0]
    if "/" in a and "/" in b and name == b.split("/")[0] and not deformation:
        # one experiment: the pair's flag is the one its report gives, in the report's family
        family = pairwise({v: read_summary(f)[1] for v, f in _resolve(root, name).items()},
                          method, correction, floor=BASELINE_RUN)
        va, vb = pairs[0]
        for i in table.index[table["metric"].isin(KEYS)]:
            r = family[(family["metric"] == table.at[i, "metric"])
                       & (((family["a"] == va) & (family["b"] == vb))
                          | ((family["a"] == vb) & (family["b"] == va)))].iloc[0]
            for column in ("family", "family_size", "p_adjusted", "significant"):
                table.at[i, column] = r[column]
            if not r["family"].startswith("none"):
                table.at[i, "family"] = f"{r['family']} of experiment {name}"
    return table.drop(columns=["va", "vb"])


def format_comparison(table: pd.DataFrame) -> str:
    """The comparison as a text table: each figure's change with its interval and flag (and the
    flag's family), then the interval's method, or why there is no interval."""
    lines = []
    for (a, b), group in table.groupby(["a", "b"], sort=False):
        lines.append(f"{a}  ->  {b}")
        lines.append(f"  ({group['a_provenance'].iloc[0]}  ->  {group['b_provenance'].iloc[0]})")
        for r in group.itertuples(index=False):
            ci = ("" if pd.isna(r.ci95_low) else
                  f"  [{r.ci95_low:+.4f}, {r.ci95_high:+.4f}]"
                  + (f"  significant ({r.correction} over {r.family_size}: {r.family})"
                     if r.significant else ""))
            lines.append(f"  {r.metric:15s} {r.a_value:.4f} -> {r.b_value:.4f}  "
                         f"change {r.change:+.4f}{ci}")
        if not group["paired"].iloc[0]:
            lines.append("  (not scored on the same test clips and resamples: no interval; the "
                         "change alone says little)")
        else:
            lines.append(f"  interval: {group['interval'].iloc[0]} (95 %, over training seeds "
                         "and test clips unless it says clips only; resampled: "
                         f"{group['resampled'].iloc[0]})")
    return "\n".join(lines)
