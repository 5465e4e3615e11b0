import numpy as np
import pytest

from tagbench.core.errors import DecodeError
from tagbench.features.audio import load_audio

from .conftest import write_wav


def test_stereo_44k_becomes_16k_mono(tmp_path):
    t = np.arange(44100) / 44100
    left, right = np.sin(2 * np.pi * 440 * t), np.zeros_like(t)
    path = write_wav(tmp_path / "s.wav", np.stack([left, right], axis=1) * 0.5, 44100)
    x = load_audio(path, "soxr_hq")
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(len(x) - 16000) <= 1
    assert 0.2 < np.abs(x).max() < 0.3  # channel mean of 0.5 and 0


def test_float_decoding_keeps_peaks_above_one(tmp_path):
    import soundfile as sf

    path = tmp_path / "hot.wav"
    sf.write(path, np.full(16000, 1.5, np.float32), 16000, subtype="FLOAT")
    assert load_audio(path, "soxr_hq").max() == pytest.approx(1.5)


@pytest.mark.parametrize("content", [b"", b"not audio at all" * 100])
def test_undecodable_files_raise_one_clear_error(tmp_path, content):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(DecodeError, match="bad.mp3"):
        load_audio(path, "soxr_hq")


def test_missing_file(tmp_path):
    with pytest.raises(DecodeError, match="not found"):
        load_audio(tmp_path / "nope.wav", "soxr_hq")


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_other_rates_are_resampled_to_the_same_16khz_signal(tmp_path, rate):
    t = np.arange(2 * rate) / rate
    path = write_wav(tmp_path / "x.wav", 0.5 * np.sin(2 * np.pi * 1000 * t), rate=rate)
    got = load_audio(path, "soxr_hq")
    assert len(got) == 32000
    want = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(32000) / 16000)
    np.testing.assert_allclose(got[800:-800], want[800:-800], atol=2e-3)  # edges: filter ramp
