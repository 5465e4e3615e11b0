"""The evaluation verb."""

from __future__ import annotations

import json

from ..config import EvalSettings
from .settings import settings_from, settings_parent


def cmd_evaluate(args) -> None:
    from ..evaluate import evaluate_model
    from ..runtime import configure_tensorflow

    configure_tensorflow(args.threads)
    settings = settings_from(args, EvalSettings)
    metrics = evaluate_model(args.model, args.shards, args.out_dir, settings.batch_size,
                             cache_paths=args.cache)
    print(json.dumps({k: metrics[k] for k in ("roc_auc_macro", "pr_auc_macro", "accuracy",
                                              "all_negative_accuracy", "n_clips")}))


def add_verbs(sub) -> None:
    p = sub.add_parser("evaluate", parents=[settings_parent()],
                       help="clip-level test metrics of a trained model")
    p.add_argument("--model", required=True)
    p.add_argument("--shards", nargs="+", required=True, help="test shards")
    p.add_argument("--cache", nargs="+", help="the test shards' backbone cache (frozen variants)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_evaluate)
