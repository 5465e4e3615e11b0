"""The front end against the official VGGish implementation's outputs (tests/data/README.md)."""

import numpy as np
import pytest

from tagbench.backbones import vggish_frontend as frontend

from .conftest import DATA

VECTORS = np.load(DATA / "frontend_vectors.npz")
NAMES = ["sine1k", "chirp", "noise", "trumpet", "hungarian10s"]


@pytest.mark.parametrize("name", NAMES)
def test_matches_official_examples(name):
    got = frontend.waveform_to_examples(VECTORS[f"{name}_waveform"])
    expected = VECTORS[f"{name}_examples"]
    assert got.dtype == np.float32
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-3


def test_short_clip_is_zero_padded_to_one_example():
    wave = VECTORS["edges_waveform"]  # 0.5 s: the official code gives no example at all
    assert frontend.waveform_to_examples(wave).shape == (0, 96, 64)
    got = frontend.waveform_to_examples(frontend.pad_to_example(wave))
    expected = VECTORS["edges_padded_examples"]
    assert got.shape == expected.shape == (1, 96, 64)
    assert np.abs(got - expected).max() <= 1e-3
    assert np.allclose(got[0, 60:], np.log(0.01), atol=1e-6)  # silence frames


def test_mel_matrix_is_vggish_shape():
    m = frontend.mel_matrix()
    assert m.shape == (257, 64)
    assert (m[0] == 0).all()  # DC bin zeroed
    assert m.max() <= 1.0 and m.min() >= 0.0
    # 125 Hz and 7500 Hz band edges: no weight below 125 Hz (bin 4 = 125 Hz) or above 7500 Hz
    assert (m[:4] == 0).all() and (m[241:] == 0).all()


def test_frame_count_and_tail():
    n = 16000 * 2 + 123
    assert frontend.log_mel(np.zeros(n, np.float32)).shape == (1 + (n - 400) // 160, 64)
    assert frontend.waveform_to_examples(np.zeros(n, np.float32)).shape[0] == 2
