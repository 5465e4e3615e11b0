"""Tagging new audio with a trained model."""

from __future__ import annotations

# The exit status when some files could not be tagged (the others were): the predict rule
# accepts it, and nothing else, so a crash (Python's status 1) still fails the job.
SOME_FILES_FAILED = 3


def cmd_predict(args) -> int:
    import sys

    from ..core.errors import ConfigError
    from ..core.runtime import configure_tensorflow
    from ..models.predict import tag_files, tag_with_backbone, write_predictions

    if args.taggram and len(args.audio) != 1:
        raise ConfigError("--taggram draws one file: give exactly one AUDIO file")
    if bool(args.model) == bool(args.backbone):
        raise ConfigError("give either --model (a trained model file) or --backbone (a tagger "
                          "backbone's own tags: `tagbench backbones` lists the taggers)")
    configure_tensorflow(args.threads)
    if args.backbone:
        tags, results = tag_with_backbone(args.backbone, args.audio, args.batch_size, args.weights)
    else:
        tags, results = tag_files(args.model, args.audio, args.batch_size)
    for item in results:
        if item.error:
            print(f"tagbench: error: {item.error}", file=sys.stderr)
    fmt = "json" if args.json else "csv" if args.csv else "table"
    write_predictions(tags, results, args.top_k, fmt, args.out)
    if args.taggram and results[0].error is None:
        from ..models.predict import plot_taggram

        plot_taggram(tags, results[0], args.taggram)
    return SOME_FILES_FAILED if any(r.error for r in results) else 0


def add_verbs(sub) -> None:
    p = sub.add_parser("predict", help="tag audio files with a trained model (top-k tags)")
    p.add_argument("--model", help="results/{experiment}/models/{variant}/seed{N}/model.keras")
    p.add_argument("--backbone", help="tag with a tagger backbone's own tags instead (one with "
                   "own_tags in `tagbench backbones`, or a user's tagger), no experiment needed")
    p.add_argument("--weights", help="with --backbone: its checkpoint (default: where `make setup` "
                   "or the workflow puts it)")
    p.add_argument("audio", nargs="+", help="audio files or folders (walked recursively)")
    p.add_argument("--top-k", type=int, default=5, help="tags per file (default 5)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON instead of a table")
    fmt.add_argument("--csv", action="store_true", help="CSV: path, rank, tag, score, error")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.add_argument("--taggram", help="PNG of tags x time (one column per patch of the model's "
                   "backbone) for one file")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(func=cmd_predict)
