"""Report verbs: training curves and the comparison across variants."""

from __future__ import annotations


def cmd_curves(args) -> None:
    from ..report import plot_curves

    plot_curves(dict(zip(args.variants, args.histories, strict=True)), args.out)


def cmd_compare(args) -> None:
    from pathlib import Path

    from ..report import compare, write_overview

    table = compare(args.variants, args.eval_dirs, args.model_metadata, args.out_dir)
    if args.split_dir:
        write_overview(args.dataset, args.split_dir, table, Path(args.out_dir) / "overview.rst")


def add_verbs(sub) -> None:
    p = sub.add_parser("curves", help="plot training curves of the variants")
    p.add_argument("--variants", nargs="+", required=True)
    p.add_argument("--histories", nargs="+", required=True, help="history.csv, one per variant")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_curves)

    p = sub.add_parser("compare", help="comparison table and charts across variants")
    p.add_argument("--variants", nargs="+", required=True)
    p.add_argument("--eval-dirs", nargs="+", required=True)
    p.add_argument("--model-metadata", nargs="*", default=[], help="model.keras files, one per variant")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--split-dir", help="results/{dataset}/split: also write overview.rst for the HTML report")
    p.add_argument("--dataset", default="", help="dataset name shown in the overview")
    p.set_defaults(func=cmd_compare)
