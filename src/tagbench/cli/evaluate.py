"""The evaluation verb."""

from __future__ import annotations

import json

from ..settings.config import BootstrapSettings, EvalSettings
from .spec import settings_from, settings_parent


def cmd_evaluate(args) -> None:
    from ..evaluation.evaluate import evaluate_model

    settings = settings_from(args, EvalSettings)
    metrics = evaluate_model(args.model, args.shards, args.out_dir, settings.batch_size,
                             cache_paths=args.cache, threads=args.threads)
    print(json.dumps({k: metrics[k] for k in ("roc_auc_macro", "pr_auc_macro", "accuracy",
                                              "all_negative_accuracy", "n_clips")}))


def cmd_summarize(args) -> None:
    from ..evaluation.replicates import split_test_tracks, summarize_seeds

    settings = settings_from(args, BootstrapSettings).for_summary()
    metrics = summarize_seeds(args.runs, args.seeds, settings, args.out_dir,
                              split_test_tracks(args.split_test, settings))
    print(json.dumps({k: metrics[k] for k in ("roc_auc_macro", "roc_auc_macro_std",
                                              "roc_auc_macro_ci95", "interval", "seeds")}))


def cmd_baseline(args) -> None:
    from ..evaluation.baseline import run_baseline
    from ..evaluation.replicates import split_test_tracks

    settings = settings_from(args, BootstrapSettings).for_summary()
    metrics = run_baseline(args.train_shards, args.valid_shards, args.test_shards, args.out_dir,
                           settings, split_test_tracks(args.split_test, settings))
    print(json.dumps({k: metrics[k] for k in ("roc_auc_macro", "roc_auc_macro_ci95", "interval",
                                              "pr_auc_macro", "C")}))


SPLIT_TEST = "the split's test.tsv: its tracks are what a resample weights (resample_by: track)"


def add_verbs(sub) -> None:
    p = sub.add_parser("evaluate", parents=[settings_parent()],
                       help="clip-level test metrics of a trained model")
    p.add_argument("--model", required=True)
    p.add_argument("--shards", nargs="+", required=True, help="test shards")
    p.add_argument("--cache", nargs="+", help="the test shards' backbone cache (frozen variants)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("summarize", parents=[settings_parent()],
                       help="a variant's figures over its seeds, with 95 %% intervals over seeds and "
                            "test clips")
    p.add_argument("--runs", nargs="+", required=True, help="evaluation folders, one per seed")
    p.add_argument("--seeds", nargs="+", type=int, required=True)
    p.add_argument("--split-test", help=SPLIT_TEST)
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_summarize)

    p = sub.add_parser("baseline", parents=[settings_parent()],
                       help="the floor: log-mel statistics + logistic regression, scored on test")
    p.add_argument("--train-shards", nargs="+", required=True)
    p.add_argument("--valid-shards", nargs="+", required=True)
    p.add_argument("--test-shards", nargs="+", required=True)
    p.add_argument("--split-test", help=SPLIT_TEST)
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_baseline)
