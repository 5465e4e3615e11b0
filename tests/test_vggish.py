"""The Keras VGGish + checkpoint loader against the official network's outputs."""

import numpy as np
import pytest

from tagbench.backbones import vggish
from tagbench.core.errors import DataError

from . import fake_vggish
from .conftest import DATA


def test_official_parameter_count():
    assert vggish.embedding_model().count_params() == 72_141_184


def test_loader_reproduces_the_official_network(fake_checkpoint):
    import tensorflow as tf

    tf.config.experimental.enable_tensor_float_32_execution(False)
    model = vggish.embedding_model()
    loaded = vggish.load_checkpoint(model, fake_checkpoint)
    assert set(loaded) == set(vggish.CHECKPOINT_SCOPES)
    expected = np.load(DATA / "fake_ckpt_expected.npz")
    flat, fc1_2, embedding = model.predict_on_batch(expected["inputs"])
    for got, key in ((flat, "pool4_flat"), (fc1_2, "fc1_2"), (embedding, "embedding")):
        np.testing.assert_allclose(got, expected[key], rtol=1e-4, atol=1e-3, err_msg=key)


def test_loader_fills_only_the_layers_a_tagger_has(fake_checkpoint):
    from tagbench.models.networks import build_model
    from tagbench.settings.config import TrainSettings

    model = build_model(TrainSettings(pooling="avg", head=(8,)), n_tags=3)
    assert vggish.load_checkpoint(model, fake_checkpoint) == list(vggish.CONV_LAYERS)
    conv1 = model.get_layer("conv1").get_weights()[0]
    assert np.array_equal(conv1, fake_vggish.values()["vggish/conv1/weights"])


def test_missing_or_wrong_checkpoint(tmp_path):
    model = vggish.embedding_model()
    with pytest.raises(DataError, match="not found"):
        vggish.load_checkpoint(model, tmp_path / "vggish_model.ckpt")
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"junk" * 100)
    with pytest.raises(DataError, match="not a readable TF checkpoint"):
        vggish.load_checkpoint(model, bad)


def test_smoke_signal_is_the_official_one():
    from tagbench.backbones.vggish_frontend import waveform_to_examples
    from tagbench.backbones.vggish_weights import smoke_signal

    x = smoke_signal()
    assert x.dtype == np.float64 and len(x) == 48_000  # 3 s at 16 kHz, no resampling
    np.testing.assert_allclose(x[[0, 4, 12]], [0.0, 1.0, -1.0], atol=1e-12)  # amplitude 1, 1 kHz
    assert waveform_to_examples(x).shape == (3, 96, 64)


def test_smoke_statistics_equal_the_official_pipelines(fake_checkpoint):
    """Same input, same (fake) checkpoint: our smoke figures are the official network's."""
    import tensorflow as tf

    from tagbench.backbones.vggish_weights import smoke_embedding_stats

    tf.config.experimental.enable_tensor_float_32_execution(False)
    sine = np.load(DATA / "frontend_vectors.npz")["sine1k_waveform"]
    official = np.load(DATA / "fake_ckpt_expected.npz")["embedding"][:3]  # the sine's 3 examples
    mean, std = smoke_embedding_stats(fake_checkpoint, sine)
    assert abs(mean - official.mean()) <= 1e-5 and abs(std - official.std()) <= 1e-5


def test_smoke_test_tolerance_is_the_official_ten_percent(fake_checkpoint):
    from tagbench.backbones.vggish_weights import check_vggish, smoke_embedding_stats

    mean, std = smoke_embedding_stats(fake_checkpoint)
    check_vggish(fake_checkpoint, expected=(mean / 1.09, std * 1.09))
    with pytest.raises(DataError, match="within 10 %"):
        check_vggish(fake_checkpoint, expected=(mean, std * 1.12))
