"""`tagbench <verb>`: the commands the Snakemake rules call, and that users can run by hand.

Stage parameters come either from `--spec JSON` (what the rules pass: exactly that stage's
dataclass) or from `--config FILE` (a config.yaml, validated the same way). Errors a user can
fix are printed as one line, `tagbench: error: ...`, with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__
from .config import (
    DemoSettings,
    EvalSettings,
    FeatureSettings,
    MttSettings,
    SplitSettings,
    TrainSettings,
    VggishSettings,
    from_json,
    load_settings,
    read_config_file,
)
from .errors import ConfigError, DataError, TagbenchError


def _spec(args, cls):
    """The stage dataclass from --spec, or from --config (and --variant) when given."""
    if args.spec is not None:
        return from_json(cls, args.spec)
    settings = load_settings(read_config_file(args.config))
    if cls is TrainSettings:
        variant = getattr(args, "variant", None)
        if variant not in settings.variants:
            known = ", ".join(settings.variants)
            raise ConfigError(f"{args.config}: no variant {variant!r} (variants: {known})")
        return settings.variants[variant]
    return {DemoSettings: settings.demo, SplitSettings: settings.split,
            FeatureSettings: settings.features, EvalSettings: settings.evaluate,
            MttSettings: settings.mtt, VggishSettings: settings.vggish}[cls]


def _add_spec(p: argparse.ArgumentParser, variant: bool = False) -> None:
    g = p.add_argument_group("parameters (one of)")
    g.add_argument("--spec", help="this stage's settings as JSON (what the workflow passes)")
    g.add_argument("--config", default="config.yaml",
                   help="read settings from this config file instead (default: config.yaml)")
    if variant:
        p.add_argument("--variant", help="variant name in the config (with --config)")


def cmd_make_demo(args) -> None:
    from .demo import make_demo

    ann = make_demo(args.out, _spec(args, DemoSettings))
    print(f"demo dataset: {len(ann)} clips, {len(ann.tags)} tags -> {args.out}")


def cmd_import_custom(args) -> None:
    from .annotations import read_annotations, write_annotations

    audio = Path(args.audio_dir).resolve()
    if not audio.is_dir():
        raise DataError(f"{args.audio_dir}: audio folder not found (config key custom.audio_dir)")
    ann = read_annotations(args.annotations)
    missing = [p for p in ann.paths if not (audio / p).is_file()]
    if len(missing) == len(ann.paths):
        raise DataError(f"{args.annotations}: none of the mp3_path entries exist under {audio} "
                        f"(first: {missing[0]}); check custom.audio_dir")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    link = out / "audio"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(audio, target_is_directory=True)
    write_annotations(out / "annotations_final.csv", ann)
    note = f", {len(missing)} listed files missing (they will be recorded as failed)" if missing else ""
    print(f"custom dataset: {len(ann)} clips, {len(ann.tags)} tags{note}")


def cmd_split(args) -> None:
    from .annotations import read_annotations
    from .split import make_split, write_split

    ann = read_annotations(args.annotations)
    split = make_split(ann, _spec(args, SplitSettings), str(args.annotations))
    write_split(split, ann, args.out_dir)
    sizes = ", ".join(f"{k} {len(v)}" for k, v in split.parts.items())
    print(f"split: {sizes} clips; {len(split.tags)} tags -> {args.out_dir}")


def cmd_extract(args) -> None:
    from .features import extract_shard

    if not 0 <= args.shard < args.n_shards:
        raise ConfigError(f"--shard {args.shard} is outside 0..{args.n_shards - 1}")
    counts = extract_shard(args.split_tsv, args.audio_root, args.shard, args.n_shards, args.out,
                           _spec(args, FeatureSettings), progress=sys.stderr.isatty())
    print(json.dumps({"shard": args.out, **counts}))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tagbench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tagbench {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = sub.add_parser("make-demo", help="synthesize the demo dataset in MTT layout")
    p.add_argument("--out", required=True, help="dataset folder (gets audio/ + annotations_final.csv)")
    _add_spec(p)
    p.set_defaults(func=cmd_make_demo)

    p = sub.add_parser("import-custom", help="validate a custom MTT-layout dataset and link it in")
    p.add_argument("--annotations", required=True)
    p.add_argument("--audio-dir", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_import_custom)

    p = sub.add_parser("split", help="3/4-1/4 train/test split, validation part, tag set")
    p.add_argument("annotations", help="annotations_final.csv")
    p.add_argument("--out-dir", required=True)
    _add_spec(p)
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("extract", help="VGGish log-mel of one shard of a split part -> HDF5")
    p.add_argument("split_tsv")
    p.add_argument("--audio-root", required=True, help="folder the mp3_path entries are relative to")
    p.add_argument("--shard", type=int, required=True)
    p.add_argument("--n-shards", type=int, required=True)
    p.add_argument("--out", required=True)
    _add_spec(p)
    p.set_defaults(func=cmd_extract)

    from . import cli_acquire, cli_models, cli_report

    cli_acquire.add_verbs(sub, _add_spec)
    cli_models.add_verbs(sub, _add_spec)
    cli_report.add_verbs(sub, _add_spec)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    args.spec_of = lambda cls: _spec(args, cls)
    try:
        status = args.func(args)
    except TagbenchError as err:
        print(f"tagbench: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tagbench: interrupted", file=sys.stderr)
        return 130
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
