"""The backbone seam: the registry agrees with the schema and the networks, musicnn variants
train, cache, evaluate and tag like VGGish ones, and a shipped tagger re-scores its own outputs."""

import json

import numpy as np
import pytest
import yaml

from tagbench import backbones
from tagbench.config import TrainSettings

from .conftest import MUSICNN_REFERENCE, ROOT, run_cli

CLIP = MUSICNN_REFERENCE / "joram-moments_of_clarity-08-solipsism-59-88.mp3"
PUBLISHED_TOP10 = ["techno", "electronic", "synth", "fast", "beat", "drums", "no vocals",
                   "no vocal", "dance", "ambient"]


def test_the_registry_is_what_the_schema_and_the_networks_say():
    from tagbench.audio import SAMPLE_RATE
    from tagbench.backbones import musicnn
    from tagbench.tag_lists import read_tag_list

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    keys = schema["$defs"]["train_keys"]
    assert keys["backbone"]["enum"] == list(backbones.BACKBONES)
    assert set(keys["pooling"]["enum"]) == {p for b in backbones.BACKBONES.values() for p in b.poolings}
    assert all(fe.sample_rate == SAMPLE_RATE for fe in backbones.FRONT_ENDS.values())
    assert list(backbones.MTT_TAGS) == read_tag_list("mtt_top50")  # the shipped top-50 list
    for name in backbones.MUSICNN_MODELS:
        assert musicnn.MODELS[name].tags == backbones.BACKBONES[name].tags
        net = musicnn.build(name)
        for output, shape in backbones.BACKBONES[name].outputs.items():
            assert tuple(net.output[output].shape[1:]) == shape, (name, output)


def test_fine_tuning_keeps_batch_norm_as_trained_unless_asked():
    from keras import layers

    from tagbench.models import build_model

    def trainable(spec):
        model = build_model(spec, 3)
        bn = [la.trainable for la in model.layers if isinstance(la, layers.BatchNormalization)
              and not la.name.startswith(("head", "out"))]
        conv = [la.trainable for la in model.layers if isinstance(la, layers.Conv2D)]
        return set(bn), set(conv)

    base = dict(backbone="MSD_musicnn", pooling="penultimate", head=(4,))
    assert trainable(TrainSettings(**base, finetune=True)) == ({False}, {True})
    assert trainable(TrainSettings(**base, finetune=True, finetune_batchnorm=True)) == ({True}, {True})
    assert trainable(TrainSettings(**base, finetune=False)) == ({False}, {False})


@pytest.fixture(scope="module")
def musicnn_shards(tiny_demo, tmp_path_factory):
    """The tiny demo's parts in the musicnn front end (float32: no storage rounding)."""
    from .conftest import split_and_extract

    root, _ = tiny_demo
    return split_and_extract(root, tmp_path_factory.mktemp("mfeat"),
                             {"train": 1, "valid": 1, "test": 1}, "float32", "musicnn")


@pytest.mark.parametrize("pooling", ["max_pool", "penultimate"])
def test_a_frozen_musicnn_variant_scored_from_the_cache_equals_its_model_file(
        musicnn_shards, musicnn_prefixes, tmp_path, pooling):
    """Train a head on cached MSD_musicnn outputs; evaluation from the cache and `predict`
    on the same audio through the saved whole model give the same clip scores."""
    from tagbench.backbone_cache import write_cache
    from tagbench.evaluate import evaluate_model
    from tagbench.features import FeatureStore
    from tagbench.inference import predict_store
    from tagbench.models import load_model
    from tagbench.train import train_variant

    weights = f"{musicnn_prefixes['MSD_musicnn']}.index"
    caches = {}
    for part, positions in (("train", 2), ("valid", 1), ("test", 1)):
        caches[part] = [tmp_path / "cache" / part / "000.h5"]
        write_cache(musicnn_shards[part][0], caches[part][0], "MSD_musicnn", positions, "float32",
                    weights_path=weights)
    spec = TrainSettings(backbone="MSD_musicnn", pooling=pooling, head=(8,), finetune=False,
                         epochs=1, batch_size=8, n_active=2, threads=1)
    meta = train_variant(spec, "m", musicnn_shards["train"], musicnn_shards["valid"],
                         out_dir=tmp_path / "m", state_dir=tmp_path / "s", weights_path=weights,
                         threads=1, log=lambda *_: None, train_cache=caches["train"],
                         valid_cache=caches["valid"])
    assert meta["backbone"] == "MSD_musicnn" and meta["feature_params"]["front_end"] == "musicnn"
    metrics = evaluate_model(tmp_path / "m" / "model.keras", musicnn_shards["test"], tmp_path / "e",
                             cache_paths=caches["test"])
    assert metrics["model"]["backbone"] == "MSD_musicnn"
    model, _ = load_model(tmp_path / "m" / "model.keras")
    with FeatureStore(musicnn_shards["test"]) as store:
        live, _ = predict_store(model, store)
    assert metrics["n_clips"] == len(live)
    import h5py

    with h5py.File(tmp_path / "e" / "predictions.h5") as h5:
        scored = h5["scores"][()]
    np.testing.assert_allclose(scored, live, atol=1e-4)


def shipped_model(path, prefixes):
    """MTT_musicnn with its own output layer as the head, for its 50 tags, as a model file."""
    from tagbench.model_file import save_with_metadata
    from tagbench.models import build_model, load_backbone_weights

    spec = TrainSettings(backbone="MTT_musicnn", pooling="taggram", head="shipped", finetune=False)
    tags = list(backbones.MTT_TAGS)
    model = build_model(spec, len(tags), tags)
    load_backbone_weights(model, "MTT_musicnn", "none", f"{prefixes['MTT_musicnn']}.index")
    params = {**backbones.front_end_params("musicnn"), "dtype": "float16", "resample": "soxr_hq"}
    save_with_metadata(model, path, {"tags": tags, "feature_params": params, "aggregate": "mean",
                                     "spec": {"backbone": "MTT_musicnn", "head": "shipped"}})
    return path


def test_mtt_musicnn_as_shipped_gives_the_published_top10_through_predict(musicnn_prefixes,
                                                                           tmp_path):
    """musicnn's README: top_tags(joram, model='MTT_musicnn', topN=10), in that order."""
    if not CLIP.is_file():
        pytest.fail(f"{CLIP} missing: the reference folder shared/ belongs beside the repository")
    model = shipped_model(tmp_path / "mtt_musicnn.keras", musicnn_prefixes)
    proc = run_cli("predict", "--model", model, CLIP, "--top-k", "10", "--json",
                   "--taggram", tmp_path / "taggram.png")
    [tagged] = json.loads(proc.stdout)
    assert list(tagged["tags"]) == PUBLISHED_TOP10
    assert tagged["tags"]["techno"] == pytest.approx(0.5855, abs=2e-3)
    assert tagged["seconds"] == pytest.approx(9 * 187 * 256 / 16000, abs=0.01)  # 9 patches of 2.99 s
    assert (tmp_path / "taggram.png").stat().st_size > 0


def test_a_shipped_head_on_tags_the_backbone_lacks_is_one_line():
    from tagbench.errors import DataError
    from tagbench.models import build_model

    spec = TrainSettings(backbone="MSD_musicnn", pooling="taggram", head="shipped", finetune=False)
    with pytest.raises(DataError, match="no output for tag\\(s\\) techno"):
        build_model(spec, 2, ["rock", "techno"])


def test_fine_tuning_a_musicnn_backbone_trains_its_convolutions_not_its_batch_norm(
        musicnn_shards, musicnn_prefixes, tmp_path):
    """finetune: true through the network (no cache): the convolutions move, the batch-norm
    statistics stay as trained, and the model file scores like the evaluation."""
    from tagbench.evaluate import evaluate_model
    from tagbench.models import build_backbone, load_backbone_weights, load_model
    from tagbench.train import train_variant

    weights = f"{musicnn_prefixes['MSD_vgg']}.index"
    spec = TrainSettings(backbone="MSD_vgg", pooling="pool5", head=(4,), finetune=True,
                         epochs=1, batch_size=8, n_active=2, threads=1, learning_rate=0.01)
    train_variant(spec, "ft", musicnn_shards["train"], musicnn_shards["valid"],
                  out_dir=tmp_path / "m", state_dir=tmp_path / "s", weights_path=weights,
                  threads=1, log=lambda *_: None)
    tuned, meta = load_model(tmp_path / "m" / "model.keras")
    trained = build_backbone(backbone="MSD_vgg")
    load_backbone_weights(trained, "MSD_vgg", "none", weights)
    bn, conv = tuned.get_layer("conv2_bn"), tuned.get_layer("conv2")
    for got, want in zip(bn.get_weights(), trained.get_layer("conv2_bn").get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.allclose(conv.get_weights()[0], trained.get_layer("conv2").get_weights()[0])
    metrics = evaluate_model(tmp_path / "m" / "model.keras", musicnn_shards["test"], tmp_path / "e")
    assert metrics["model"]["finetune"] is True and metrics["scored_from"] == "log-mel features"
    assert meta["trained_on"] == "log-mel features"
