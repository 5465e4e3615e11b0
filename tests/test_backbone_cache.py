"""The frozen backbone's cache: exactly what the live model computes per patch, shared, checked."""

import h5py
import numpy as np
import pytest

from tagbench.core.errors import DataError
from tagbench.settings.config import FeatureSettings, TrainSettings

POOLINGS = ["avg", "max", "autopool", "embedding"]


@pytest.fixture(scope="module")
def shards32(tiny_demo, tmp_path_factory):
    """The tiny demo's parts as float32 shards (no storage rounding between the two paths)."""
    from .conftest import split_and_extract

    root, _ = tiny_demo
    return split_and_extract(root, tmp_path_factory.mktemp("f32"),
                             {"train": 1, "valid": 1, "test": 1}, dtype="float32")


@pytest.fixture(scope="module")
def cache32(shards32, tmp_path_factory):
    """random0 caches of every part: train at hop 48, valid and test at 96."""
    from .conftest import cache_parts

    return cache_parts(shards32, tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize("pooling", POOLINGS)
def test_cached_patches_equal_the_live_model_on_each_patch(shards32, cache32, pooling):
    """Every cached patch (hop 48: overlapping ones too) gives the whole model's score for that
    very patch, for every pooling."""
    from tagbench.features.shards import FeatureStore
    from tagbench.models.backbone_cache import open_cache
    from tagbench.models.networks import build_head, build_model, copy_weights

    spec = TrainSettings(pooling=pooling, head=(8,), finetune=False, seeds=(3,))
    features = FeatureStore(shards32["train"])
    model = build_model(spec, len(features.tags))
    rng = np.random.default_rng(0)
    for layer in model.layers:  # a "trained" head: weights unlike the initial ones
        if layer.name.startswith(("head", "out", "tags", "autopool")):
            layer.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5
                               for w in layer.get_weights()])
    head = build_head(spec, len(features.tags))
    copy_weights(model, head)
    with open_cache(shards32["train"], cache32["train"], spec) as cache:
        for clip in range(len(features)):
            rows, starts = cache.rows(clip)
            mel = features.logmel(clip)
            assert list(starts) == list(range(0, len(mel) - 96 + 1, 48))
            live = model.predict_on_batch(np.stack([mel[s:s + 96] for s in starts]))
            np.testing.assert_allclose(head.predict_on_batch(rows), live, rtol=1e-4, atol=1e-5)


def test_evaluation_patches_are_the_non_overlapping_ones(shards32, cache32):
    from tagbench.features.shards import FeatureStore
    from tagbench.models.backbone_cache import open_cache

    spec = TrainSettings(pooling="max", finetune=False)
    features = FeatureStore(shards32["train"])
    with open_cache(shards32["train"], cache32["train"], spec) as cache:
        for clip in range(len(features)):
            assert len(cache.eval_patches(clip)) == len(features.eval_patches(clip))


def test_a_cache_is_refused_for_another_backbone_or_other_features(shards32, cache32, tiny_features):
    from tagbench.models.backbone_cache import open_cache

    with pytest.raises(DataError, match="cached for backbone random0, the variant uses random1"):
        open_cache(shards32["test"], cache32["test"], TrainSettings(backbone_seed=1, finetune=False))
    with pytest.raises(DataError, match="cached for backbone random0, the variant uses vggish"):
        open_cache(shards32["test"], cache32["test"], TrainSettings(weights="vggish", finetune=False))
    # the float16 shard of the same clips: other features than the cache was computed from
    with pytest.raises(DataError, match="computed from other features than"):
        open_cache(tiny_features["test"], cache32["test"], TrainSettings(finetune=False))
    with pytest.raises(DataError, match="not a readable backbone cache"):
        bad = cache32["test"][0].with_name("bad.h5")
        bad.write_bytes(b"not hdf5")
        open_cache(shards32["test"], [bad], TrainSettings(finetune=False))


def test_cache_rows_are_stored_in_the_features_type_with_their_provenance(shards32, tmp_path):
    from tagbench.backbones import BACKBONES
    from tagbench.models.backbone_cache import write_cache

    counts = write_cache(shards32["valid"][0], tmp_path / "c.h5", "random2", 1, "float16")
    with h5py.File(tmp_path / "c.h5") as h5:
        assert h5.attrs["backbone"] == "random2" and h5.attrs["patch_step"] == 96
        assert h5.attrs["source"] == "000.h5"
        for name, shape in BACKBONES["vggish"].outputs.items():
            assert h5[name].dtype == np.float16 and h5[name].shape == (counts["patches"], *shape)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


@pytest.mark.parametrize("pooling", ["autopool", "embedding"])
def test_frozen_variant_trained_on_the_cache_tags_audio_as_it_was_scored(
        shards32, cache32, tiny_demo, tmp_path, pooling):
    """Train and evaluate from the cache; the saved whole model, run on each test clip's audio
    by `tagbench predict`, gives the evaluation's scores."""
    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.features.shards import FeatureStore
    from tagbench.models.predict import tag_files
    from tagbench.models.train import train_variant

    spec = TrainSettings(epochs=2, batch_size=8, n_active=4, head=(8,), finetune=False,
                         pooling=pooling, patches_per_clip=3, threads=1)
    meta = train_variant(spec, "c", shards32["train"], shards32["valid"], out_dir=tmp_path / "m",
                         state_dir=tmp_path / "s", threads=1, log=lambda *_: None,
                         train_cache=cache32["train"], valid_cache=cache32["valid"])
    assert meta["trained_on"] == "backbone cache"
    model_path = tmp_path / "m" / "model.keras"
    metrics = evaluate_model(model_path, shards32["test"], tmp_path / "e",
                             cache_paths=cache32["test"])
    assert metrics["scored_from"] == "backbone cache"
    with h5py.File(tmp_path / "e" / "predictions.h5") as h5:
        cached_scores = h5["scores"][()]
    store = FeatureStore(shards32["test"])
    root, _ = tiny_demo
    paths = [root / "audio" / p for p in store.shards[0].paths]
    _, results = tag_files(model_path, paths)
    np.testing.assert_allclose(np.stack([r.scores for r in results]), cached_scores, atol=1e-4)
    # and the same model scored through its backbone gives the same metrics
    live = evaluate_model(model_path, shards32["test"], tmp_path / "e2")
    assert live["roc_auc_macro"] == pytest.approx(metrics["roc_auc_macro"], abs=1e-6)


def test_a_finetuned_variant_never_reads_a_cache(shards32, cache32, tmp_path):
    from tagbench.models.train import train_variant

    spec = TrainSettings(epochs=1, batch_size=8, n_active=4, head=(8,), finetune=True)
    with pytest.raises(DataError, match="fine-tuned variant .* cannot use a backbone cache"):
        train_variant(spec, "f", shards32["train"], shards32["valid"], out_dir=tmp_path / "m",
                      state_dir=tmp_path / "s", log=lambda *_: None,
                      train_cache=cache32["train"], valid_cache=cache32["valid"])


def test_an_empty_shard_gets_an_empty_cache(tmp_path):
    from tagbench.features.shards import ShardWriter
    from tagbench.models.backbone_cache import write_cache

    shard = tmp_path / "000.h5"
    with ShardWriter(shard, ["a"], FeatureSettings()) as w:
        w.add_failed("1", "1.mp3", "empty file (0 bytes)")
    assert write_cache(shard, tmp_path / "c.h5", "random0", 1, "float16") == {"clips": 0,
                                                                              "patches": 0}


def test_float16_cache_scores_within_storage_rounding_of_the_live_model(tiny_features, tmp_path):
    """The default storage: the cached route and the whole model agree to float16 rounding."""
    from tagbench.features.shards import FeatureStore
    from tagbench.models.backbone_cache import open_cache, write_cache
    from tagbench.models.inference import predict_store
    from tagbench.models.networks import build_head, build_model, copy_weights

    spec = TrainSettings(pooling="autopool", head=(8,), finetune=False)
    cache = [tmp_path / "test.h5"]
    write_cache(tiny_features["test"][0], cache[0], "random0", 1, "float16")
    with FeatureStore(tiny_features["test"]) as store, \
            open_cache(tiny_features["test"], cache, spec) as cached:
        model = build_model(spec, len(store.tags))
        head = build_head(spec, len(store.tags))
        copy_weights(model, head)
        live, _ = predict_store(model, store)
        fast, _ = predict_store(head, cached)
    np.testing.assert_allclose(fast, live, atol=5e-3)


def test_a_model_whose_backbone_differs_from_the_cache_is_refused(shards32, cache32, tmp_path):
    """A frozen variant's figures come from the cache; the model file gets a backbone rebuilt
    from the seed. If the two differ (a library update between the jobs, another checkpoint),
    saving the model is refused with one line, and a matching cache passes."""
    import json
    import shutil

    from tagbench.models.train import train_variant

    spec = TrainSettings(epochs=1, batch_size=8, n_active=2, head=(4,), finetune=False,
                         pooling="max", threads=1)
    kwargs = dict(threads=1, log=lambda *_: None)
    train_variant(spec, "ok", shards32["train"], shards32["valid"], out_dir=tmp_path / "ok",
                  state_dir=tmp_path / "s1", train_cache=cache32["train"],
                  valid_cache=cache32["valid"], **kwargs)
    assert (tmp_path / "ok" / "model.keras").is_file()
    altered = {}
    for part in ("train", "valid"):
        altered[part] = [tmp_path / "altered" / part / "000.h5"]
        altered[part][0].parent.mkdir(parents=True)
        shutil.copy(cache32[part][0], altered[part][0])
        with h5py.File(altered[part][0], "a") as h5:
            weights = json.loads(h5.attrs["weights"])
            weights["conv4_2"] = "0" * 16  # the cache job's backbone had other conv4_2 weights
            h5.attrs["weights"] = json.dumps(weights)
    with pytest.raises(DataError, match="backbone layer conv4_2 has other weights"):
        train_variant(spec, "bad", shards32["train"], shards32["valid"], out_dir=tmp_path / "bad",
                      state_dir=tmp_path / "s2", train_cache=altered["train"],
                      valid_cache=altered["valid"], **kwargs)
    assert not (tmp_path / "bad" / "model.keras").exists()


def _trained_looking(model, seed=0):
    """Set a model's head weights to values unlike the initial ones (variances kept positive)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name.startswith(("head", "out", "tags", "autopool")):
            layer.set_weights([np.abs(rng.normal(size=w.shape)).astype("float32") * 0.5 + 0.1
                               for w in layer.get_weights()])


@pytest.mark.parametrize("pooling, head, output", [
    ("avg", (8,), "sigmoid"), ("autopool", (8, 4), "sigmoid"), ("max", (), "sigmoid"),
    ("embedding", (8,), "softmax")])
def test_the_numpy_head_scores_as_the_keras_head(shards32, cache32, tmp_path, pooling, head,
                                                 output):
    """Evaluation scores a frozen variant's head in NumPy from the model file: the Keras head's
    scores to 1e-6 on the same cache, and the whole model's parameter counts."""
    from tagbench.models.backbone_cache import open_cache
    from tagbench.models.head import head_plan_of, read_numpy_head
    from tagbench.models.model_file import save_with_metadata
    from tagbench.models.networks import build_head, build_model, copy_weights

    spec = TrainSettings(pooling=pooling, head=head, output=output, finetune=False, seeds=(1,))
    with open_cache(shards32["test"], cache32["test"], spec) as cache:
        tags = list(cache.tags)
        rows = np.concatenate([cache.eval_patches(i) for i in range(len(cache))])
    model = build_model(spec, len(tags))
    _trained_looking(model)
    save_with_metadata(model, tmp_path / "model.keras", {"tags": tags})
    numpy_head = read_numpy_head(tmp_path / "model.keras", head_plan_of(spec, len(tags)))
    keras_head = build_head(spec, len(tags))
    copy_weights(model, keras_head)
    expected = keras_head.predict_on_batch(rows)
    np.testing.assert_allclose(numpy_head.predict_on_batch(rows), expected, rtol=0, atol=1e-6)
    assert numpy_head.n_params == model.count_params()
    assert numpy_head.n_trainable_params == sum(np.prod(w.shape) for w in model.trainable_weights)


def test_a_frozen_variant_is_evaluated_without_tensorflow(shards32, cache32, tmp_path):
    """The evaluation job of a frozen variant never starts TensorFlow (its start-up was ~90 % of
    the job), and writes what the Keras head scores."""
    import json
    import subprocess
    import sys
    from dataclasses import asdict

    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.features.shards import FeatureStore
    from tagbench.models.model_file import save_with_metadata
    from tagbench.models.networks import build_model

    spec = TrainSettings(pooling="autopool", head=(8,), finetune=False, seeds=(0,))
    tags = list(FeatureStore(shards32["test"]).tags)
    model = build_model(spec, len(tags))
    _trained_looking(model, seed=2)
    save_with_metadata(model, tmp_path / "model.keras",
                       {"tags": tags, "spec": asdict(spec), "aggregate": "mean"})
    code = ("import sys, json; from tagbench.evaluation.evaluate import evaluate_model; "
            f"m = evaluate_model({str(tmp_path / 'model.keras')!r}, {list(map(str, shards32['test']))!r}, "
            f"{str(tmp_path / 'numpy')!r}, cache_paths={list(map(str, cache32['test']))!r}); "
            "print(json.dumps(['tensorflow' in sys.modules, 'keras' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, False]
    # the same file scored whole by Keras through its backbone
    live = evaluate_model(tmp_path / "model.keras", shards32["test"], tmp_path / "keras")
    with h5py.File(tmp_path / "numpy" / "predictions.h5") as a, \
            h5py.File(tmp_path / "keras" / "predictions.h5") as b:
        np.testing.assert_allclose(a["scores"][()], b["scores"][()], atol=1e-5)
    numpy_metrics = json.loads((tmp_path / "numpy" / "metrics.json").read_text())
    assert numpy_metrics["n_params"] == live["n_params"]
    assert numpy_metrics["roc_auc_macro"] == pytest.approx(live["roc_auc_macro"], abs=1e-6)


def test_a_model_file_the_numpy_head_does_not_fit_is_left_to_keras(shards32, tmp_path):
    """Another head than planned (other code), or a head computing in float16 (mixed
    precision), is not read into NumPy: evaluation scores such a file with Keras instead."""
    import json
    import zipfile

    from tagbench.models.head import head_plan_of, read_numpy_head
    from tagbench.models.model_file import save_with_metadata
    from tagbench.models.networks import build_model

    spec = TrainSettings(pooling="avg", head=(8,), finetune=False)
    model = build_model(spec, 5)
    save_with_metadata(model, tmp_path / "m.keras", {"tags": list("abcde")})
    assert read_numpy_head(tmp_path / "m.keras", head_plan_of(spec, 5)) is not None
    wider = TrainSettings(pooling="avg", head=(16,), finetune=False)
    assert read_numpy_head(tmp_path / "m.keras", head_plan_of(wider, 5)) is None
    deeper = TrainSettings(pooling="avg", head=(8, 8), finetune=False)
    assert read_numpy_head(tmp_path / "m.keras", head_plan_of(deeper, 5)) is None
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    for layer in config["config"]["layers"]:
        if layer["config"]["name"] == "head1_dense":
            layer["config"]["dtype"]["config"]["name"] = "mixed_float16"
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "mixed.keras", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert read_numpy_head(tmp_path / "mixed.keras", head_plan_of(spec, 5)) is None
