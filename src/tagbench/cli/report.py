"""Report verbs: training curves and the comparison across variants."""

from __future__ import annotations


def cmd_curves(args) -> None:
    from ..errors import DataError
    from ..report import plot_curves

    if len(args.variants) != len(args.histories):
        raise DataError(f"{len(args.histories)} histories for {len(args.variants)} variant names "
                        "(give one name per history)")
    plot_curves(list(zip(args.variants, args.histories, strict=True)), args.out)


def cmd_report(args) -> None:
    from pathlib import Path

    from ..report import compare, write_overview

    table, differences = compare(args.variants, args.eval_dirs, args.model_metadata,
                                 args.out_dir, args.baseline_dir)
    if args.split_dir:
        write_overview(args.dataset, args.split_dir, table, differences,
                       Path(args.out_dir) / "overview.rst")


def add_verbs(sub) -> None:
    p = sub.add_parser("curves", help="plot training curves of the variants")
    p.add_argument("--variants", nargs="+", required=True,
                   help="the variant of each history (repeated for its seeds)")
    p.add_argument("--histories", nargs="+", required=True, help="history.csv files")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_curves)

    p = sub.add_parser("report", help="comparison table, paired differences and charts across "
                                      "variants and the baseline floor")
    p.add_argument("--variants", nargs="+", required=True)
    p.add_argument("--eval-dirs", nargs="+", required=True,
                   help="each variant's summary folder (eval/{variant})")
    p.add_argument("--baseline-dir", help="the baseline's folder (results/{dataset}/baseline)")
    p.add_argument("--model-metadata", nargs="*", default=[],
                   help="a model.keras per variant (pooling, head)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--split-dir", help="results/{dataset}/split: also write overview.rst for the HTML report")
    p.add_argument("--dataset", default="", help="dataset name shown in the overview")
    p.set_defaults(func=cmd_report)
