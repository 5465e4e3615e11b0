"""The backbone seam: the registry agrees with the schema and the networks, musicnn variants
train, cache, evaluate and tag like VGGish ones, and a shipped tagger re-scores its own outputs."""

import json

import numpy as np
import pytest
import yaml

from tagbench import backbones
from tagbench.settings.config import TrainSettings

from .conftest import MUSICNN_REFERENCE, ROOT, run_cli

CLIP = MUSICNN_REFERENCE / "joram-moments_of_clarity-08-solipsism-59-88.mp3"
PUBLISHED_TOP10 = ["techno", "electronic", "synth", "fast", "beat", "drums", "no vocals",
                   "no vocal", "dance", "ambient"]


def test_the_registry_is_what_the_schema_and_the_networks_say():
    from tagbench.backbones import musicnn
    from tagbench.core.tag_lists import read_tag_list
    from tagbench.features.audio import SAMPLE_RATE

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    keys = schema["$defs"]["train_keys"]
    # the schema does not enumerate backbones (a user's resolves at load time); it names each
    # built-in and its poolings for the reader
    assert keys["backbone"]["type"] == keys["pooling"]["type"] == "string"
    assert all(name in keys["backbone"]["description"] for name in backbones.BACKBONES)
    assert all(p in keys["pooling"]["description"] for b in backbones.BACKBONES.values()
               for p in b.poolings)
    assert all(fe.sample_rate == SAMPLE_RATE for fe in backbones.FRONT_ENDS.values())
    assert list(backbones.MTT_TAGS) == read_tag_list("mtt_top50")  # the shipped top-50 list
    for name in backbones.MUSICNN_MODELS:
        assert musicnn.MODELS[name].tags == backbones.BACKBONES[name].tags
        net = musicnn.build(name)
        for output, shape in backbones.BACKBONES[name].outputs.items():
            assert tuple(net.output[output].shape[1:]) == shape, (name, output)


def test_fine_tuning_keeps_batch_norm_as_trained_unless_asked():
    from keras import layers

    from tagbench.models.networks import build_model

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
    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.features.shards import FeatureStore
    from tagbench.models.backbone_cache import write_cache
    from tagbench.models.inference import predict_store
    from tagbench.models.networks import load_model
    from tagbench.models.train import train_variant

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


@pytest.fixture(scope="module", params=["cache", "features"])
def shipped_run(request, tiny_demo, musicnn_prefixes, tmp_path_factory):
    """`head: shipped` through `train_variant`, as configs/mtt-shipped.yaml runs it: the tiny
    demo's audio tagged with MTT_musicnn's own 50 tags (a file of them in an order of its own,
    as `tags.list`, so the head must pick outputs by name; an extra column the list leaves out),
    the standard split, the job reading the valid part for both parts. `cache`: the workflow's
    route for a frozen variant (backbone caches); `features`: `tagbench train` without them."""
    from tagbench.data.annotations import Annotations, read_annotations, write_annotations
    from tagbench.data.split import make_split, write_split
    from tagbench.features.shards import extract_shard
    from tagbench.models.backbone_cache import write_cache
    from tagbench.models.train import train_variant
    from tagbench.settings.config import FeatureSettings, SplitSettings

    root, demo = tiny_demo
    out = tmp_path_factory.mktemp(f"shipped-{request.param}")
    rng = np.random.default_rng(0)
    columns = sorted([*backbones.MTT_TAGS, "kazoo"])
    labels = np.array([[demo.labels[i, demo.tags.index(t)] if t in demo.tags else rng.random() < 0.3
                        for t in columns] for i in range(len(demo))], dtype=np.uint8)
    write_annotations(out / "annotations_final.csv",
                      Annotations(demo.clip_ids, demo.paths, tuple(columns), labels))
    (out / "tags.txt").write_text("".join(f"{t}\n" for t in reversed(backbones.MTT_TAGS)))
    ann = read_annotations(out / "annotations_final.csv")
    write_split(make_split(ann, SplitSettings(method="standard", tag_list=str(out / "tags.txt")),
                           str(out / "annotations_final.csv")), ann, out / "split")
    weights = f"{musicnn_prefixes['MTT_musicnn']}.index"
    shards, caches = {}, {}
    for part in ("valid", "test"):  # a shipped head's job reads no train part
        shards[part] = [out / part / "000.h5"]
        extract_shard(out / "split" / f"{part}.tsv", root / "audio", 0, 1, shards[part][0],
                      FeatureSettings(dtype="float32", front_end="musicnn"))
        if request.param == "cache":
            caches[part] = [out / "cache" / part / "000.h5"]
            write_cache(shards[part][0], caches[part][0], "MTT_musicnn", 1, "float32",
                        weights_path=weights)
    spec = TrainSettings(backbone="MTT_musicnn", pooling="taggram", head="shipped", finetune=False,
                         epochs=2, batch_size=8, n_active=2, threads=1)
    train_variant(spec, "shipped", shards["valid"], shards["valid"], out_dir=out / "m",
                  state_dir=out / "state", weights_path=weights, threads=1, log=lambda *_: None,
                  train_cache=caches.get("valid"), valid_cache=caches.get("valid"))
    return {"model": out / "m" / "model.keras", "history": out / "m" / "history.csv",
            "shards": shards, "caches": caches, "out": out}


def test_a_shipped_head_is_scored_as_shipped_not_trained(shipped_run, musicnn_prefixes):
    """What a user of `head: shipped` relies on: one epoch-0 history row (its validation
    figures), metadata that says nothing was trained, and a model file, and its evaluation,
    that score exactly what the published network outputs for those tag names."""
    import h5py
    import pandas as pd

    from tagbench.backbones import musicnn
    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.features.shards import FeatureStore
    from tagbench.models.networks import load_model

    history = pd.read_csv(shipped_run["history"])
    assert history["epoch"].tolist() == [0], f"a shipped head was trained:\n{history}"
    assert np.isfinite(history["valid_roc_auc"][0]), "no validation figure in history row 0"
    model, meta = load_model(shipped_run["model"])
    assert meta["trained_on"] == "not trained (shipped head)", meta["trained_on"]
    assert (meta["epochs_trained"], meta["best_epoch"]) == (0, 0)
    assert meta["tags"] == list(reversed(backbones.MTT_TAGS)), "tags.list's tags, in its order"

    net = musicnn.pretrained("MTT_musicnn", musicnn_prefixes["MTT_musicnn"])
    for layer in (la for la in model.layers if la.weights):
        for got, want in zip(layer.get_weights(), net.get_layer(layer.name).get_weights(),
                             strict=True):
            np.testing.assert_array_equal(got, want, err_msg=f"layer {layer.name} is not the "
                                          "checkpoint's")
    columns = [backbones.MTT_TAGS.index(t) for t in meta["tags"]]
    with FeatureStore(shipped_run["shards"]["test"]) as store:
        patches = [store.eval_patches(i) for i in range(len(store))]
    flat = np.concatenate(patches)
    taggram = np.asarray(net.predict_on_batch(flat)["taggram"])[:, columns]
    np.testing.assert_allclose(model.predict_on_batch(flat), taggram, atol=1e-6,
                               err_msg="the model file is not the backbone's own taggram")

    out = shipped_run["out"] / "eval"
    metrics = evaluate_model(shipped_run["model"], shipped_run["shards"]["test"], out,
                             cache_paths=shipped_run["caches"].get("test"))
    assert metrics["model"]["head"] == "shipped" and metrics["epochs_trained"] == 0
    bounds = np.cumsum([0, *map(len, patches)])
    clip_means = [taggram[lo:hi].mean(axis=0) for lo, hi in zip(bounds[:-1], bounds[1:],
                                                                 strict=True)]
    with h5py.File(out / "predictions.h5") as h5:
        np.testing.assert_allclose(h5["scores"][()], clip_means, atol=1e-5,
                                   err_msg="evaluation does not score the backbone's taggram")


@pytest.mark.parametrize("shipped_run", ["cache"], indirect=True)  # the workflow's model file
def test_mtt_musicnn_as_shipped_gives_the_published_top10_through_predict(shipped_run, tmp_path):
    """musicnn's README: top_tags(joram, model='MTT_musicnn', topN=10), in that order, from the
    model file `head: shipped` trains."""
    if not CLIP.is_file():
        pytest.fail(f"{CLIP} missing: the reference folder shared/ belongs beside the repository")
    proc = run_cli("predict", "--model", shipped_run["model"], CLIP, "--top-k", "10", "--json",
                   "--taggram", tmp_path / "taggram.png")
    [tagged] = json.loads(proc.stdout)
    assert list(tagged["tags"]) == PUBLISHED_TOP10
    assert tagged["tags"]["techno"] == pytest.approx(0.5855, abs=2e-3)
    assert tagged["seconds"] == pytest.approx(9 * 187 * 256 / 16000, abs=0.01)  # 9 patches of 2.99 s
    assert (tmp_path / "taggram.png").stat().st_size > 0


def test_predict_with_a_backbone_tags_with_its_own_tags_without_an_experiment(musicnn_prefixes):
    """`tagbench predict --backbone MTT_musicnn`, as musicnn's own tagger: the published top-10
    with no variant trained first; a backbone without tags is one line."""
    if not CLIP.is_file():
        pytest.fail(f"{CLIP} missing: the reference folder shared/ belongs beside the repository")
    proc = run_cli("predict", "--backbone", "MTT_musicnn", "--weights",
                   musicnn_prefixes["MTT_musicnn"], CLIP, "--top-k", "10", "--json")
    [tagged] = json.loads(proc.stdout)
    assert list(tagged["tags"]) == PUBLISHED_TOP10
    assert tagged["tags"]["techno"] == pytest.approx(0.5855, abs=2e-3)
    proc = run_cli("predict", "--backbone", "vggish", CLIP, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("tagbench: error: backbone vggish has no tags of its own to "
                                   "tag with (taggers: MSD_musicnn, MTT_musicnn, MSD_vgg, "
                                   "MTT_vgg); train a head on it instead")


def test_a_shipped_head_on_tags_the_backbone_lacks_is_one_line():
    from tagbench.core.errors import DataError
    from tagbench.models.networks import build_model

    spec = TrainSettings(backbone="MSD_musicnn", pooling="taggram", head="shipped", finetune=False)
    with pytest.raises(DataError, match="no output for tag\\(s\\) techno"):
        build_model(spec, 2, ["rock", "techno"])


def test_fine_tuning_a_musicnn_backbone_trains_its_convolutions_not_its_batch_norm(
        musicnn_shards, musicnn_prefixes, tmp_path):
    """finetune: true through the network (no cache): the convolutions move, the batch-norm
    statistics stay as trained, and the model file scores like the evaluation."""
    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.models.networks import build_backbone, load_backbone_weights, load_model
    from tagbench.models.train import train_variant

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
