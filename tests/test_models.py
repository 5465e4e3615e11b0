import numpy as np
import pytest

from tagbench.models.model_file import read_metadata, save_with_metadata
from tagbench.models.networks import AutoPool1D, build_model, load_model
from tagbench.settings.config import TrainSettings


def test_autopool_interpolates_between_mean_and_max():
    x = np.random.default_rng(0).normal(size=(4, 6, 5)).astype(np.float32)
    layer = AutoPool1D(axis=1)
    layer.build(x.shape)
    np.testing.assert_allclose(layer(x), x.mean(axis=1), atol=1e-6)  # alpha = 0
    layer.alpha.assign(np.full(5, 200.0, np.float32))
    np.testing.assert_allclose(layer(x), x.max(axis=1), atol=1e-3)
    layer.alpha.assign(np.full(5, -200.0, np.float32))
    np.testing.assert_allclose(layer(x), x.min(axis=1), atol=1e-3)


@pytest.mark.parametrize("pooling, head, trainable_extra", [
    ("avg", (256,), 0), ("max", (256,), 0), ("autopool", (256,), 512), ("avg", (256, 256), 0),
])
def test_heads_and_parameter_counts(pooling, head, trainable_extra):
    n_tags = 10
    model = build_model(TrainSettings(pooling=pooling, head=head), n_tags)
    x = np.zeros((2, 96, 64), np.float32)
    y = np.asarray(model(x, training=False))
    assert y.shape == (2, n_tags) and (0 <= y).all() and (y <= 1).all()
    conv = 4_499_712  # the official conv stack: conv1..conv4_2, 3x3 kernels + biases
    dims = (512, *head)
    head_params = sum(4 * a + a * b + b for a, b in zip(dims, (*head, n_tags), strict=True))
    assert model.count_params() == conv + head_params + trainable_extra


def test_embedding_pooling_uses_the_fc_layers():
    model = build_model(TrainSettings(pooling="embedding", head=(16,)), 5)
    assert model.get_layer("fc2").units == 128
    assert model.count_params() > 72_000_000


def test_frozen_backbone():
    model = build_model(TrainSettings(finetune=False, head=(8,)), 3)
    assert not model.get_layer("conv4_2").trainable
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == (2 * 512 + 512 * 8 + 8) + (2 * 8 + 8 * 3 + 3)


def test_backbone_weights_follow_backbone_seed_and_head_weights_follow_seed():
    def weights(layer, seed=0, backbone_seed=0):
        spec = TrainSettings(head=(8,), seeds=(seed,), backbone_seed=backbone_seed)
        return build_model(spec, 3).get_layer(layer).get_weights()[0]

    assert np.array_equal(weights("conv2", backbone_seed=5), weights("conv2", backbone_seed=5))
    assert not np.array_equal(weights("conv2", backbone_seed=5), weights("conv2", backbone_seed=6))
    # replicates (seed) share the backbone and differ in the head
    assert np.array_equal(weights("conv2", seed=1), weights("conv2", seed=2))
    assert not np.array_equal(weights("head1_dense", seed=1), weights("head1_dense", seed=2))
    assert np.array_equal(weights("head1_dense", seed=1, backbone_seed=0),
                          weights("head1_dense", seed=1, backbone_seed=3))


@pytest.mark.parametrize("pooling", ["avg", "max", "autopool", "embedding"])
def test_a_trained_head_moves_into_the_whole_model_by_layer_name(pooling):
    from tagbench.backbones import BACKBONES
    from tagbench.models.networks import build_backbone, build_head, copy_weights

    spec = TrainSettings(pooling=pooling, head=(8,), finetune=False, seeds=(4,), backbone_seed=2)
    head = build_head(spec, 3)
    rng = np.random.default_rng(0)
    for w in head.weights:  # stand-in for training: weights unlike any initial ones
        w.assign(rng.normal(size=w.shape).astype("float32"))
    model = build_model(spec, 3)
    copy_weights(head, model)
    x = rng.normal(size=(4, 96, 64)).astype(np.float32)
    output = BACKBONES["vggish"].output_of(pooling)
    cached = build_backbone(spec.backbone_seed).predict_on_batch(x)[output]
    assert cached.shape[1:] == BACKBONES["vggish"].outputs[output]
    np.testing.assert_allclose(model.predict_on_batch(x), head.predict_on_batch(cached),
                               rtol=1e-4, atol=1e-5)


def test_saved_model_carries_its_metadata(tmp_path):
    model = build_model(TrainSettings(pooling="autopool", head=(8,)), 3)
    path = tmp_path / "model.keras"
    save_with_metadata(model, path, {"tags": ["a", "b", "c"], "aggregate": "mean"})
    assert read_metadata(path)["tags"] == ["a", "b", "c"]
    loaded, meta = load_model(path)
    x = np.random.default_rng(0).normal(size=(2, 96, 64)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), atol=1e-6)
