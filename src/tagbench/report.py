"""Report figures and tables. The only module that imports matplotlib."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .atomic import atomic_path, write_text  # noqa: E402
from .errors import DataError  # noqa: E402

COLUMNS = ("variant", "pooling", "head", "finetune", "epochs", "best_epoch", "roc_auc_macro",
           "roc_auc_micro", "pr_auc_macro", "pr_auc_micro", "accuracy", "all_negative_accuracy",
           "n_clips", "n_tags_scored", "n_params", "n_trainable_params", "train_seconds")
PANELS = (("loss", "Binary cross-entropy"), ("accuracy", "Element-wise accuracy"),
          ("roc_auc", "ROC-AUC (macro)"), ("pr_auc", "PR-AUC (macro)"))


def _read_csv(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"{path}: not found (train or evaluate that variant first)") from None


def plot_curves(histories: dict[str, str], out: str | Path) -> None:
    """Loss, accuracy, ROC-AUC and PR-AUC by epoch: train solid, valid dashed, a colour each."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (variant, path) in enumerate(histories.items()):
        h = _read_csv(path)
        c = colours[i % len(colours)]
        for ax, (key, title) in zip(axes.flat, PANELS, strict=True):
            ax.plot(h["epoch"], h[key], "-o", color=c, ms=3, label=f"{variant} train")
            ax.plot(h["epoch"], h[f"valid_{key}"], "--s", color=c, ms=3, label=f"{variant} valid")
            ax.set_title(title)
            ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    axes[0, 0].legend(fontsize=8, ncol=1 if len(histories) < 3 else 2)
    fig.suptitle("Training curves (train: streamed patches; valid: clip level, every patch)")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def _markdown(frame: pd.DataFrame) -> str:
    def cell(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def compare(variants, eval_dirs, model_files, out_dir) -> pd.DataFrame:
    """comparison.csv/.md (one row per variant), comparison.png and per_tag_auc.png."""
    from .models import read_metadata

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, per_tag = [], {}
    for i, (variant, edir) in enumerate(zip(variants, eval_dirs, strict=True)):
        path = Path(edir) / "metrics.json"
        if not path.is_file():
            raise DataError(f"{path}: not found (evaluate variant {variant} first)")
        m = json.loads(path.read_text())
        spec = read_metadata(model_files[i])["spec"] if i < len(model_files) else {}
        rows.append({**m, "variant": variant, "pooling": spec.get("pooling"),
                     "head": "-".join(map(str, spec.get("head", []))) or "-",
                     "finetune": spec.get("finetune"), "epochs": m.get("epochs_trained")})
        per_tag[variant] = _read_csv(Path(edir) / "per_tag.csv")
    table = pd.DataFrame(rows)[list(COLUMNS)]
    with atomic_path(out / "comparison.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    write_text(out / "comparison.md", _markdown(table))

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, key, title in ((axes[0], "roc_auc", "ROC-AUC"), (axes[1], "pr_auc", "PR-AUC")):
        data = [per_tag[v][key].dropna().to_numpy() for v in variants]
        ax.boxplot(data, showfliers=False)
        for j, d in enumerate(data, start=1):
            ax.scatter(np.full(len(d), j) + np.linspace(-0.15, 0.15, len(d)), d, s=8, alpha=0.5)
        ax.plot(range(1, len(variants) + 1), table[f"{key}_macro"], "D", color="black",
                label="macro average")
        ax.set_xticks(range(1, len(variants) + 1), variants, rotation=15)
        ax.set_title(f"{title} per tag (box: spread over tags)")
        ax.set_ylabel(title)
        ax.set_ylim(min(0.4, *(d.min() for d in data if len(d))) - 0.02, 1.01)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_path(out / "comparison.png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)

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
    fig.colorbar(im, ax=ax, label="test ROC-AUC")
    ax.set_title("Per-tag test ROC-AUC (tags by frequency)")
    fig.tight_layout()
    with atomic_path(out / "per_tag_auc.png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return table


def plot_taggram(tags: list[str], patch_scores: np.ndarray, title: str, out: str | Path,
                 max_tags: int = 30) -> None:
    """Tags x time (one column per 0.96 s patch); with many tags, the top ones by peak score."""
    order = np.argsort(-patch_scores.max(axis=0), kind="stable")[:max_tags]
    grid = patch_scores[:, order].T
    seconds = 0.96 * len(patch_scores)
    fig, ax = plt.subplots(figsize=(min(16, 7 + 0.1 * len(patch_scores)), 1.6 + 0.28 * len(order)))
    im = ax.imshow(grid, aspect="auto", cmap="magma", vmin=0, vmax=1, interpolation="nearest",
                   extent=(0, seconds, len(order) - 0.5, -0.5))
    ax.set_yticks(range(len(order)), [tags[i] for i in order], fontsize=9)
    ax.set_xlabel("time (s), one column per 0.96 s patch")
    shown = "" if len(order) == len(tags) else f" (top {len(order)} of {len(tags)} tags by peak)"
    ax.set_title(f"Taggram of {textwrap.shorten(Path(title).name, 70)}{shown}", fontsize=10)
    fig.colorbar(im, ax=ax, label="tag score", pad=0.01)
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


def write_overview(dataset: str, split_dir, table: pd.DataFrame, out: str | Path) -> None:
    """The HTML report's landing text (reStructuredText): dataset, split, tags, headline metrics."""
    from .split import read_part, track_of

    parts = {p: read_part(Path(split_dir) / f"{p}.tsv") for p in ("train", "valid", "test")}
    tags = parts["train"].tags
    sizes = ", ".join(f"{p} {len(t.clip_ids):,} clips / {len({track_of(x) for x in t.paths}):,} "
                      f"tracks" for p, t in parts.items())
    shown = ", ".join(tags[:30]) + (f", ... ({len(tags) - 30} more)" if len(tags) > 30 else "")
    best = table.loc[table["roc_auc_macro"].idxmax()]
    rows = [[f"{r.variant} ({r.pooling}, {r.head})", f"{r.roc_auc_macro:.3f}",
             f"{r.pr_auc_macro:.3f}", f"{r.accuracy:.3f} / {r.all_negative_accuracy:.3f}",
             f"{r.train_seconds / 60:.1f}" if pd.notna(r.train_seconds) else "n/a"]
            for r in table.itertuples(index=False)]
    text = f"""**tagbench**: VGGish transfer learning for music auto-tagging on ``{dataset}``.

**Data.** {sizes}. Clips of one track never straddle train and test.

**{len(tags)} tags**: {shown}.

**Test results** (clip level: every 0.96 s patch scored, scores averaged per clip). ROC-AUC and
PR-AUC are macro averages over tags with positives and negatives in the test part; accuracy is
element-wise at 0.5 and only means something next to the accuracy of predicting no tag at all.

{_rst_table(["variant (pooling, head)", "ROC-AUC", "PR-AUC", "accuracy / all-negative",
             "train min"], rows)}
Best by ROC-AUC: **{best['variant']}** ({best['roc_auc_macro']:.3f}).

**Figures** (left menu): *Training* holds the loss and metric curves of every variant by epoch
(train stream solid, validation dashed); *Comparison* holds the table above as CSV, the spread of
per-tag ROC-AUC / PR-AUC across variants, and the per-tag ROC-AUC of every variant.
"""
    write_text(out, text)
