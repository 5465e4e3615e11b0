"""The training verb."""

from __future__ import annotations

from ..settings.config import TrainSettings
from .spec import settings_from, settings_parent


def cmd_train(args) -> None:
    from ..core.runtime import configure_tensorflow

    settings = settings_from(args, TrainSettings)
    configure_tensorflow(args.threads or settings.threads, settings.mixed_precision)
    from ..models.train import train_variant  # imports Keras: after TensorFlow is configured

    meta = train_variant(settings, args.variant or "variant", args.train_shards, args.valid_shards,
                         out_dir=args.out_dir, state_dir=args.state_dir, weights_path=args.weights,
                         threads=args.threads or settings.threads, train_cache=args.train_cache,
                         valid_cache=args.valid_cache)
    print(f"{meta['variant']}: best epoch {meta['best_epoch']} of {meta['epochs_trained']}, "
          f"valid ROC-AUC {meta['best_valid_roc_auc']:.4f}, {meta['train_seconds']:.0f}s")


def add_verbs(sub) -> None:
    p = sub.add_parser("train", parents=[settings_parent(variant=True)],
                       help="train one variant (resumes after an interruption)")
    p.add_argument("--train-shards", nargs="+", required=True)
    p.add_argument("--valid-shards", nargs="+", required=True)
    p.add_argument("--train-cache", nargs="+",
                   help="backbone cache of the train shards (a frozen variant trains its head on it)")
    p.add_argument("--valid-cache", nargs="+", help="backbone cache of the valid shards")
    p.add_argument("--out-dir", required=True, help="gets model.keras and history.csv")
    p.add_argument("--state-dir", required=True, help="per-epoch checkpoints kept across kills")
    p.add_argument("--weights", help="the backbone's checkpoint for its train.weights "
                   "(`Backbone.weights_file`)")
    p.add_argument("--threads", type=int, help="CPU threads (default: the settings')")
    p.set_defaults(func=cmd_train)
