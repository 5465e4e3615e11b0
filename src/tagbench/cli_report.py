"""The output half of the CLI: the report verbs and tagging new audio."""

from __future__ import annotations


def cmd_predict(args) -> int:
    import csv
    import sys

    from .errors import ConfigError
    from .predict import as_json, as_rows, as_table, tag_files
    from .train import configure_tensorflow

    if args.taggram and len(args.audio) != 1:
        raise ConfigError("--taggram draws one file: give exactly one AUDIO file")
    configure_tensorflow(args.threads, mixed_precision=False)
    tags, results = tag_files(args.model, args.audio, args.batch_size)
    for item in results:
        if item.error:
            print(f"tagbench: error: {item.error}", file=sys.stderr)
    out = open(args.out, "w", newline="") if args.out else sys.stdout  # noqa: SIM115
    try:
        if args.json:
            print(as_json(tags, results, args.top_k), file=out)
        elif args.csv:
            writer = csv.DictWriter(out, ["path", "rank", "tag", "score", "error"])
            writer.writeheader()
            writer.writerows(as_rows(tags, results, args.top_k))
        elif any(r.error is None for r in results):
            print(as_table(tags, results, args.top_k), file=out)
    finally:
        if args.out:
            out.close()
    if args.taggram and results[0].error is None:
        from .report import plot_taggram

        plot_taggram(tags, results[0].patch_scores, results[0].path, args.taggram)
    return 1 if any(r.error for r in results) else 0




def cmd_curves(args) -> None:
    from .report import plot_curves

    plot_curves(dict(zip(args.variants, args.histories, strict=True)), args.out)




def cmd_compare(args) -> None:
    from pathlib import Path

    from .report import compare, write_overview

    table = compare(args.variants, args.eval_dirs, args.model_metadata, args.out_dir)
    if args.split_dir:
        write_overview(args.dataset, args.split_dir, table, Path(args.out_dir) / "overview.rst")




def add_verbs(sub, add_spec) -> None:
    p = sub.add_parser("predict", help="tag audio files with a trained model (top-k tags)")
    p.add_argument("--model", required=True, help="results/{dataset}/models/{variant}/model.keras")
    p.add_argument("audio", nargs="+", help="audio files or folders (walked recursively)")
    p.add_argument("--top-k", type=int, default=5, help="tags per file (default 5)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON instead of a table")
    fmt.add_argument("--csv", action="store_true", help="CSV: path, rank, tag, score, error")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.add_argument("--taggram", help="PNG of tags x time (per 0.96 s patch) for one file")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(func=cmd_predict)

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
