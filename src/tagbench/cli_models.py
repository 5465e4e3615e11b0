"""The model half of the CLI: train and evaluate."""

from __future__ import annotations

import json

from .config import EvalSettings, TrainSettings


def cmd_train(args) -> None:
    from .train import train_variant

    spec = args.spec_of(TrainSettings)
    meta = train_variant(spec, args.variant or "variant", args.train_shards, args.valid_shards,
                         args.out_dir, args.state_dir, weights_path=args.weights,
                         threads=args.threads or spec.threads)
    print(f"{meta['variant']}: best epoch {meta['best_epoch']} of {meta['epochs_trained']}, "
          f"valid ROC-AUC {meta['best_valid_roc_auc']:.4f}, {meta['train_seconds']:.0f}s")


def cmd_evaluate(args) -> None:
    from .evaluate import evaluate_model
    from .train import configure_tensorflow

    configure_tensorflow(args.threads, mixed_precision=False)
    spec = args.spec_of(EvalSettings)
    metrics = evaluate_model(args.model, args.shards, args.out_dir, spec.batch_size)
    print(json.dumps({k: metrics[k] for k in ("roc_auc_macro", "pr_auc_macro", "accuracy",
                                              "all_negative_accuracy", "n_clips")}))


def add_verbs(sub, add_spec) -> None:
    p = sub.add_parser("train", help="train one variant (resumes after an interruption)")
    p.add_argument("--train-shards", nargs="+", required=True)
    p.add_argument("--valid-shards", nargs="+", required=True)
    p.add_argument("--out-dir", required=True, help="gets model.keras and history.csv")
    p.add_argument("--state-dir", required=True, help="per-epoch checkpoints kept across kills")
    p.add_argument("--weights", help="VGGish checkpoint (when the spec says weights: vggish)")
    p.add_argument("--threads", type=int, help="CPU threads (default: the spec's)")
    add_spec(p, variant=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="clip-level test metrics of a trained model")
    p.add_argument("--model", required=True)
    p.add_argument("--shards", nargs="+", required=True, help="test shards")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--threads", type=int, default=None)
    add_spec(p)
    p.set_defaults(func=cmd_evaluate)
