"""Backbone verbs: list every backbone tagbench can run, and check one as the DAG would."""

from __future__ import annotations

from pathlib import Path


def configured(config_path) -> list[str]:
    """The backbones a config file names (train.backbone and every variant's)."""
    import yaml

    path = Path(config_path)
    if not path.is_file():
        return []
    config = yaml.safe_load(path.read_text()) or {}
    refs = [(config.get("train") or {}).get("backbone")]
    refs += [(v or {}).get("backbone") for v in (config.get("variants") or {}).values()]
    return [r for r in refs if isinstance(r, str)]


def cmd_backbones(args) -> int:
    import sys

    from ..backbones import BACKBONES
    from ..backbones.plugins import entry_points
    from ..core.errors import TagbenchError
    from ..models.check_backbone import describe

    refs = list(dict.fromkeys([*BACKBONES, *entry_points(), *configured(args.config)]))
    rows, failed = [], 0
    for ref in refs:
        try:
            rows.append(describe(ref))
        except TagbenchError as err:
            print(f"tagbench: error: {err}", file=sys.stderr)
            failed += 1
    columns = list(rows[0]) if rows else []
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())
    return 1 if failed else 0


def cmd_check_backbone(args) -> int:
    from ..backbones import parse_cache_name
    from ..core.errors import TagbenchError
    from ..core.runtime import configure_tensorflow
    from ..models.check_backbone import check_backbone

    try:
        from ..backbones import backbone

        keras_graph = not backbone(parse_cache_name(args.backbone)[0]).frozen_only
    except TagbenchError:
        keras_graph = False  # the check reports why it does not load
    if keras_graph:  # a user's backbone runs without TensorFlow
        configure_tensorflow(args.threads)

    lines, ok = check_backbone(args.backbone, args.clip, args.weights)
    print("\n".join(lines))
    return 0 if ok else 1


def cmd_weights(args) -> None:
    """One of the built-ins' weights jobs (`backbones.WeightStep`), as its rule runs it."""
    import json
    from dataclasses import asdict

    from ..backbones import run_weight_step, weight_steps
    from ..core.errors import ConfigError
    from ..settings.config import load_settings, read_config_file

    if args.spec is not None:
        try:
            spec = json.loads(args.spec)
            section, settings, download = spec["section"], spec["settings"], spec["download"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ConfigError("--spec must be JSON with section, settings and download "
                              "(what the workflow passes)") from None
    else:
        config = load_settings(read_config_file(args.config))
        sections = {s: settings for s, settings in config.weights.items()
                    if args.step in weight_steps({s: settings})}
        if not sections:
            raise ConfigError(f"no weights step {args.step!r} (the steps: "
                              f"{', '.join(weight_steps(config.weights))})")
        (section, settings), download = next(iter(sections.items())), asdict(config.download)
    print(run_weight_step(args.step, section, settings, download))


def add_verbs(sub) -> None:
    p = sub.add_parser("weights", help="put a built-in backbone's trained weights in place "
                       "(download or unpack, then verify): the job of one weights rule")
    p.add_argument("step", help="the rule's name (snakemake --list-rules)")
    group = p.add_argument_group("settings (one of)")
    group.add_argument("--spec", help="the step's config section as JSON (what the rule passes)")
    group.add_argument("--config", default="config.yaml", help="read it from this config file")
    p.set_defaults(func=cmd_weights)

    p = sub.add_parser("backbones", help="every backbone: built in, installed (entry points) "
                       "and named in the config, with rate, input, outputs and weights")
    p.add_argument("--config", default="config.yaml", help="also list the backbones it names")
    p.set_defaults(func=cmd_backbones)

    p = sub.add_parser("check-backbone", help="run a backbone on white noise and a clip: "
                       "outputs as declared, finite, deterministic, patch timing, speed")
    p.add_argument("backbone", help="a built-in or its random weights' cache name (`tagbench "
                   "backbones` lists them), an installed entry point, or a module path "
                   "package.module:Class")
    p.add_argument("--clip", help="a real audio clip to check on (default: a synthetic one)")
    p.add_argument("--weights", help="a built-in's checkpoint (default: where the workflow puts it)")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(func=cmd_check_backbone)
