"""Clip-level test metrics of a trained model: scores every patch of every test clip
(`inference`), pools them per clip, and writes metrics.json, per_tag.csv and predictions.h5
(`scoring`) for one training seed.

A frozen variant is scored from the test part's backbone cache when one is given: its head
alone runs, in NumPy, on the cached outputs, which equal what the whole model computes per
patch."""

from __future__ import annotations

import numpy as np

from ..backbones import DEFAULT, leaked_test_folders, provenance
from ..backbones import backbone as backbone_spec
from ..core.errors import DataError
from ..features.shards import FeatureStore
from ..models.inference import predict_store
from .scoring import score, write_scored


def _scored_store(meta: dict, shard_paths, cache_paths, model_path, threads):
    """(what scores patches, the store it reads, the model's (all, trainable) parameter counts).

    A frozen variant given its backbone cache is scored by its head alone on the cached outputs,
    in NumPy (`models.head`: no TensorFlow is started); a head-only model's backbone is a user's,
    checked to be the cache's. Any other model runs whole in Keras on the log-mel features."""
    from ..models.backbone_cache import open_cache
    from ..models.head import head_plan_of, read_numpy_head
    from ..settings.config import TrainSettings

    if not cache_paths:
        if meta.get("head_only"):
            raise DataError(f"{model_path}: a head-only model (backbone {meta.get('backbone')}) "
                            "is scored on its backbone's cache: give the test part's cache")
        model = _keras_model(model_path, threads)
        return model, FeatureStore(shard_paths), _counts(model)
    spec = TrainSettings(**meta["spec"])
    if spec.finetune:
        raise DataError(f"{model_path}: a fine-tuned model is scored through its backbone; "
                        "give no backbone cache")
    store = open_cache(shard_paths, cache_paths, spec)
    if meta.get("head_only") and store.weights != meta.get("backbone_weights"):
        store.close()
        raise DataError(f"{model_path}: trained on backbone outputs of other weights or "
                        f"code than the test cache {store.paths[0]}: rerun snakemake")
    try:
        head = read_numpy_head(model_path, head_plan_of(spec, len(meta["tags"]), meta["tags"]))
        if head is not None:
            return head, store, (head.n_params, head.n_trainable_params)
        # a model file of other code (or mixed precision): its head in Keras
        model = _keras_model(model_path, threads)
        if meta.get("head_only"):
            return model, store, _counts(model)
        from ..models.networks import build_head, copy_weights

        head = build_head(spec, len(meta["tags"]), meta["tags"])
        copy_weights(model, head)
        return head, store, _counts(model)
    except BaseException:
        store.close()
        raise


def _keras_model(model_path, threads):
    from ..core.runtime import configure_tensorflow
    from ..models.networks import load_model

    configure_tensorflow(threads)
    return load_model(model_path)[0]


def _counts(model) -> tuple[int, int]:
    return (int(model.count_params()),
            int(sum(np.prod(w.shape) for w in model.trainable_weights)))


def refuse_leak(backbone: str, store, where) -> None:
    """Refuse to score a backbone on test clips from the folders it was trained or selected on.

    The config already refuses such folder and group splits; this catches a lists split. It
    fails closed: a backbone trained on some dataset's folders is not scored on shards that do
    not say (in their split provenance) which dataset they hold.

    Parameters
    ----------
    backbone : str
        The model's backbone.
    store : FeatureStore or CacheStore
        The test part (its `clip_paths` and `split`).
    where : str or Path
        Named in the error.

    Raises
    ------
    DataError
        If the test part holds such clips, or the backbone has trained-on folders and the
        shards carry no split provenance.
    """
    trained = backbone_spec(backbone).trained_on or {}
    if "folders" in trained and not store.split.get("dataset"):
        raise DataError(f"{where}: the test shards do not name their dataset (split.json), so "
                        f"nothing shows that {backbone} is not scored on clips it was trained on: "
                        "rerun the split and the extraction (snakemake --forcerun split)")
    folders = {p.split("/")[0] for p in store.clip_paths if "/" in p}
    leaked = leaked_test_folders(backbone, store.split.get("dataset", ""), folders)
    if leaked:
        raise DataError(f"{where}: the test part holds clips of MTT folder(s) {', '.join(leaked)}, which "
                        f"{backbone} was trained or selected on: it would be scored on clips it "
                        "learned from (use split.method: standard)")


def evaluate_model(model_path, shard_paths, out_dir, batch_size: int = 256,
                   cache_paths=None, threads: int | None = None) -> dict:
    """Score a model file on a test part and write `metrics.json`, `per_tag.csv`, `predictions.h5`.

    Every non-overlapping patch of every test clip is scored and pooled per clip as the model
    says (`aggregate`). A frozen variant given `cache_paths` is scored by its head alone on the
    cached backbone outputs, which equal what the whole model computes per patch.

    Parameters
    ----------
    model_path : str or Path
        A tagbench `.keras` model file.
    shard_paths : sequence of str or Path
        The test part's feature shards.
    out_dir : str or Path
        Where the three files are written (see `scoring.write_scored`).
    batch_size : int, optional
        Patches per model call.
    cache_paths : iterable of str or Path, optional
        The test part's backbone cache shards (frozen variants only).
    threads : int, optional
        TensorFlow's threads, where the model runs in Keras.

    Returns
    -------
    dict
        The metrics written to `metrics.json`.

    Raises
    ------
    DataError
        If the model cannot be loaded, its tags differ from the shards', a fine-tuned model is
        given a cache, or the test part leaks the backbone's training clips (`refuse_leak`).
    """
    from ..models.model_file import model_description, read_metadata

    meta = read_metadata(model_path)
    scorer, store, (n_params, n_trainable) = _scored_store(meta, shard_paths, cache_paths,
                                                           model_path, threads)
    spec = meta.get("spec", {})
    backbone, dataset = spec.get("backbone", DEFAULT), store.split.get("dataset", "")
    with store:
        if store.tags != meta["tags"]:
            raise DataError(f"{model_path}: the model's tags differ from the test shards' "
                            "(retrain the variant after a new split)")
        refuse_leak(backbone, store, shard_paths[0])
        aggregate = meta.get("aggregate", "mean")
        clip_scores, _ = predict_store(scorer, store, batch_size, aggregate)
    extra = {
        "n_failed_clips": len(store.failed),
        "n_params": n_params,
        "n_trainable_params": n_trainable,
        "train_seconds": meta.get("train_seconds"),
        "epochs_trained": meta.get("epochs_trained"),
        "best_epoch": meta.get("best_epoch"),
        "aggregate": aggregate,
        "scored_from": "backbone cache" if cache_paths else "log-mel features",
        "split": store.split,
        "deformation": store.deformation,  # "" for the clean test part
        "model": {**model_description(spec),
                  "provenance": provenance(backbone, spec.get("weights", "none"), dataset)},
        "trained_with": meta.get("libraries"),  # the libraries' versions when it was trained
    }
    metrics = write_scored(out_dir, score(store.clip_ids, store.labels, clip_scores, store.tags,
                                             extra))
    return metrics
