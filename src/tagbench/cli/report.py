"""Report verbs: training curves, the comparison across variants, and across experiments (the
leaderboard, two runs compared)."""

from __future__ import annotations

from ..settings.config import BootstrapSettings
from .spec import settings_from, settings_parent


def cmd_curves(args) -> None:
    from ..core.errors import DataError
    from ..reporting.report import plot_curves

    if len(args.variants) != len(args.histories):
        raise DataError(f"{len(args.histories)} histories for {len(args.variants)} variant names "
                        "(give one name per history)")
    plot_curves(list(zip(args.variants, args.histories, strict=True)), args.out)


def cmd_report(args) -> None:
    from pathlib import Path

    from ..reporting.report import write_comparison, write_overview

    table, differences = write_comparison(args.variants, args.eval_dirs, args.model_metadata,
                                          args.out_dir, args.baseline_dir,
                                          settings_from(args, BootstrapSettings))
    if args.split_dir:
        write_overview(args.dataset, args.split_dir, table, differences,
                       Path(args.out_dir) / "overview.rst", experiment=args.experiment)


def cmd_cross_validate(args) -> None:
    import json

    from ..reporting.report import write_cross_validation

    table, _ = write_cross_validation(args.variants, json.loads(args.seeds), args.folds,
                                      args.out_dir, settings_from(args, BootstrapSettings),
                                      args.dataset, args.experiment)
    for row in table.itertuples(index=False):
        print(f"{row.variant}: ROC-AUC macro {row.roc_auc_macro:.3f} "
              f"[{row.roc_auc_macro_ci95_low:.3f}, {row.roc_auc_macro_ci95_high:.3f}]")


def cmd_robustness(args) -> None:
    from ..reporting.robustness import summary, write_robustness

    table = write_robustness(args.variants, args.deformations, args.eval_root, args.out_dir,
                             settings_from(args, BootstrapSettings))
    for row in summary(table).itertuples(index=False):
        print(f"{row.variant}: mean relative drop of ROC-AUC macro {row.mean_relative_drop:+.1%}, "
              f"worst {row.worst_deformation}")


def cmd_leaderboard(args) -> None:
    from ..reporting.leaderboard import PUBLISHED, leaderboard

    table = leaderboard(args.results, args.out, args.published or PUBLISHED)
    ours = table[table["kind"] == "experiment"]
    print(f"{len(ours)} variants of {ours['experiment'].nunique()} experiments, "
          f"{(table['kind'] == 'published').sum()} published rows -> {args.out}.{{csv,md,png}}")


def cmd_compare(args) -> None:
    from ..reporting.leaderboard import compare_runs, format_comparison

    print(format_comparison(compare_runs(args.results, args.a, args.b, args.correction,
                                         args.deformation)))


def add_verbs(sub) -> None:
    p = sub.add_parser("curves", help="plot training curves of the variants")
    p.add_argument("--variants", nargs="+", required=True,
                   help="the variant of each history (repeated for its seeds)")
    p.add_argument("--histories", nargs="+", required=True, help="history.csv files")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_curves)

    p = sub.add_parser("report", parents=[settings_parent()],
                       help="comparison table, differences (intervals over seeds and clips, "
                            "flags corrected per family) and charts across variants and the "
                            "baseline floor")
    p.add_argument("--variants", nargs="+", required=True)
    p.add_argument("--eval-dirs", nargs="+", required=True,
                   help="each variant's summary folder (eval/{variant})")
    p.add_argument("--baseline-dir", help="the baseline's folder (results/{experiment}/baseline)")
    p.add_argument("--model-metadata", nargs="*", default=[],
                   help="a model.keras per variant (pooling, head)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--split-dir",
                   help="results/{experiment}/split: also write overview.rst for the HTML report")
    p.add_argument("--dataset", default="", help="dataset name shown in the overview")
    p.add_argument("--experiment", default="", help="experiment name shown in the overview")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("cross-validate", parents=[settings_parent()],
                       help="split.method kfold: every variant and the floor summarized over the "
                            "folds (corrected resampled t), and the comparison")
    p.add_argument("--variants", nargs="+", required=True)
    p.add_argument("--seeds", required=True, help='each variant\'s seeds, JSON: {"v": [0, 1]}')
    p.add_argument("--folds", nargs="+", required=True,
                   help="each fold's folder (results/{experiment}/folds/r0f0 ...)")
    p.add_argument("--out-dir", required=True, help="the experiment's folder")
    p.add_argument("--dataset", default="", help="dataset name shown in the overview")
    p.add_argument("--experiment", default="", help="experiment name shown in the overview")
    p.set_defaults(func=cmd_cross_validate)

    p = sub.add_parser("robustness", parents=[settings_parent()],
                       help="each variant on the deformed test parts, its drop from clean (paired "
                            "over seeds and test resamples) and which variant degrades less")
    p.add_argument("--variants", nargs="+", required=True)
    p.add_argument("--deformations", nargs="+", required=True,
                   help="kind=severity names (config robustness)")
    p.add_argument("--eval-root", required=True, help="results/{experiment}/eval")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_robustness)

    p = sub.add_parser("leaderboard", help="every experiment under results/ beside published "
                                           "numbers on the same split and tag set")
    p.add_argument("--results", default="results", help="folder of experiments (default: results)")
    p.add_argument("--out", default="results/leaderboard",
                   help="output prefix: gets .csv, .md and .png (default: results/leaderboard)")
    p.add_argument("--published", help="published rows (default: the CSV shipped with tagbench)")
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("compare", help="two experiments (variant by variant) or two "
                                       "EXPERIMENT/VARIANT runs: each figure's change, with its "
                                       "interval over seeds and clips when both saw the same "
                                       "test clips")
    p.add_argument("a", help="EXPERIMENT or EXPERIMENT/VARIANT (VARIANT may be baseline)")
    p.add_argument("b", help="the same, for the other side")
    p.add_argument("--results", default="results", help="folder of experiments (default: results)")
    p.add_argument("--correction", choices=("holm", "none"), default="holm",
                   help="multiplicity correction of the flags within their family (default: holm)")
    p.add_argument("--deformation", help="compare the runs on this deformed test part (kind="
                   "severity, config robustness) instead of the clean one")
    p.set_defaults(func=cmd_compare)
