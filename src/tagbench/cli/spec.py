"""Where a verb's settings come from: `--spec JSON` (what the rules pass: exactly that stage's
dataclass) or `--config FILE` (a config.yaml, validated the same way), as an argparse parent."""

from __future__ import annotations

import argparse

from ..core.errors import ConfigError
from ..settings.config import (
    BootstrapSettings,
    CacheSettings,
    DemoSettings,
    EvalSettings,
    FeatureSettings,
    MttSettings,
    SplitSettings,
    TrainSettings,
    from_json,
    load_settings,
    read_config_file,
)


def settings_parent(variant: bool = False) -> argparse.ArgumentParser:
    """The `--spec` / `--config` options (and `--variant` for training) every stage verb takes."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("settings (one of)")
    group.add_argument("--spec", help="this stage's settings as JSON (what the workflow passes)")
    group.add_argument("--config", default="config.yaml",
                       help="read settings from this config file instead (default: config.yaml)")
    if variant:
        parent.add_argument("--variant", help="variant name in the config (with --config)")
        parent.add_argument("--seed", type=int,
                            help="which of the variant's seeds (with --config; default: its first)")
    return parent


def settings_from(args, cls):
    """The stage dataclass from --spec, or from --config (and --variant) when no spec is given."""
    if args.spec is not None:
        return from_json(cls, args.spec)
    settings = load_settings(read_config_file(args.config))
    if cls is TrainSettings:
        variant = getattr(args, "variant", None)
        if variant not in settings.variants:
            known = ", ".join(settings.variants)
            raise ConfigError(f"{args.config}: no variant {variant!r} (variants: {known})")
        spec = settings.variants[variant]
        seed = spec.seeds[0] if args.seed is None else args.seed
        if seed not in spec.seeds:
            raise ConfigError(f"{args.config}: variant {variant} has no seed {seed} "
                              f"(seeds: {', '.join(map(str, spec.seeds))})")
        return spec.for_seed(seed)
    return {DemoSettings: settings.demo, SplitSettings: settings.split,
            FeatureSettings: settings.features, EvalSettings: settings.evaluate,
            MttSettings: settings.mtt,
            CacheSettings: settings.cache, BootstrapSettings: settings.bootstrap}[cls]
