"""Deformations of the test audio (config robustness): each kind does what its name says, at its
severity; a rerun gives byte-identical audio and features; bad names and severities are one
config-error line; a deformed part never passes for a clean one."""

import random

import numpy as np
import pytest

from tagbench.core.deformations import configured, parse, split_part
from tagbench.core.errors import ConfigError, DataError
from tagbench.features.deform import MP3_DELAY, deform

RATE = 16000


def noise(seconds=2.0, seed=0):
    return (0.1 * np.random.default_rng(seed).normal(size=int(seconds * RATE))).astype(np.float32)


def tone(hz, seconds=2.0):
    return (0.3 * np.sin(2 * np.pi * hz * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def band_energy(x, low, high):
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return spectrum[(freqs >= low) & (freqs < high)].sum()


def test_each_kind_does_what_its_severity_says():
    x = noise()
    added = deform(x, RATE, "noise_snr_db=20", "c") - x
    snr = 10 * np.log10(np.mean(x ** 2) / np.mean(added ** 2))
    assert snr == pytest.approx(20, abs=0.5)
    assert np.std(deform(x, RATE, "gain_db=-12", "c")) / np.std(x) == pytest.approx(
        10 ** (-12 / 20), rel=1e-4)
    low = deform(x, RATE, "lowpass_hz=2000", "c")
    assert band_energy(low, 4000, 8000) < 1e-3 * band_energy(x, 4000, 8000)  # > 30 dB down
    assert band_energy(low, 0, 1000) > 0.8 * band_energy(x, 0, 1000)
    clipped = deform(x, RATE, "clip_percent=20", "c")
    at_rail = (clipped >= clipped.max() - 1e-7) | (clipped <= clipped.min() + 1e-7)
    assert np.mean(at_rail) == pytest.approx(0.2, abs=0.01)  # 10 % at each end
    shifted = deform(tone(440), RATE, "pitch_semitones=2", "c")
    peak = np.fft.rfftfreq(len(shifted), 1 / RATE)[np.argmax(np.abs(np.fft.rfft(shifted)))]
    assert peak == pytest.approx(440 * 2 ** (2 / 12), rel=0.01)
    for kbps, at_least in ((64, 0.9), (16, 0.5)):  # aligned with the clean clip (no codec delay)
        coded = deform(x, RATE, f"mp3_kbps={kbps}", "c")
        assert len(coded) == len(x) and np.corrcoef(coded, x)[0, 1] > at_least, kbps
    click = np.zeros(RATE, np.float32)
    click[100] = 1.0
    tail = deform(click, RATE, "reverb_rt60_s=0.5", "c")
    assert np.abs(tail[100 + RATE // 10:]).max() > 1e-3  # energy 0.1 s after the click: a room


def test_codec_delay_is_what_the_mp3_round_trip_adds():
    """The constant removed from every MP3 deformation: found here as the best-aligning lag."""
    import audiomentations as am

    x = noise(3.0, seed=4)
    with pytest.warns(DeprecationWarning):
        raw = am.Mp3Compression(min_bitrate=64, max_bitrate=64, backend="lameenc",
                                preserve_delay=True, p=1.0)(samples=x, sample_rate=RATE)
    lags = [float(np.dot(raw[lag:lag + 30000], x[:30000])) for lag in range(2000)]
    assert int(np.argmax(lags)) == MP3_DELAY


@pytest.mark.parametrize("deformation", ["noise_snr_db=10", "mp3_kbps=16", "reverb_rt60_s=0.3",
                                         "pitch_semitones=-2"])
def test_a_rerun_is_byte_identical_and_the_callers_generators_untouched(deformation):
    x = noise()
    random.seed(5)
    np.random.seed(5)
    before = random.random(), np.random.random()
    random.seed(5)
    np.random.seed(5)
    first, again = deform(x, RATE, deformation, "clip 7"), deform(x, RATE, deformation, "clip 7")
    assert first.tobytes() == again.tobytes()
    assert (random.random(), np.random.random()) == before
    if deformation.startswith("noise"):  # each clip its own noise
        assert not np.array_equal(first, deform(x, RATE, deformation, "clip 8"))


def test_names_and_config_errors_are_one_line():
    assert configured({"noise_snr_db": [30, 20], "mp3_kbps": [64, 16]}) == (
        "noise_snr_db=30", "noise_snr_db=20", "mp3_kbps=64", "mp3_kbps=16")
    assert parse("gain_db=-6") == ("gain_db", -6.0)
    assert split_part("test~lowpass_hz=4000") == ("test", "lowpass_hz=4000")
    assert split_part("valid") == ("valid", "")
    for bad, message in (({"noise": [1]}, "'robustness.noise' is not known"),
                         ({"gain_db": [99]}, "'robustness.gain_db': 99 is out of range"),
                         ({"clip_percent": [0.5]}, "'robustness.clip_percent': 0.5 is not a whole")):
        with pytest.raises(ConfigError, match=message) as err:
            configured(bad)
        assert "\n" not in str(err.value)
    from tagbench.settings.config import load_settings

    with pytest.raises(ConfigError, match="'robustness.mp3_kbps': 192 kbps is no bitrate LAME "
                                          "encodes 16000 Hz audio at \\(backbone vggish"):
        load_settings({"robustness": {"mp3_kbps": [64, 192]}})
    with pytest.raises(DataError, match="unknown deformation 'echo=3'"):
        parse("echo=3")
    with pytest.raises(DataError, match="LAME encodes 16000 Hz audio at 8, 16"):
        deform(noise(), RATE, "mp3_kbps=320", "c")


def test_a_deformed_part_is_extracted_identically_twice_and_never_mixed_with_clean(
        tiny_demo, tiny_features, tmp_path):
    from tagbench.features.shards import FeatureStore, extract_shard, read_index
    from tagbench.settings.config import FeatureSettings

    split, audio = tiny_features["test"][0].parents[1] / "split" / "test.tsv", tiny_demo[0] / "audio"
    paths = []
    for name in ("a", "b"):
        paths.append(tmp_path / name / "000.h5")
        extract_shard(split, audio, 0, 1, paths[-1], FeatureSettings(),
                      deformation="noise_snr_db=10")
    with FeatureStore([paths[0]]) as first, FeatureStore([paths[1]]) as second, \
            FeatureStore(tiny_features["test"]) as clean:
        assert first.deformation == "noise_snr_db=10" and clean.deformation == ""
        assert all(np.array_equal(first.logmel(i), second.logmel(i)) for i in range(len(first)))
        assert not np.array_equal(first.logmel(0), clean.logmel(0))
        assert first.clip_ids == clean.clip_ids
    assert read_index(paths[0]).feature_params == read_index(tiny_features["test"][0]).feature_params
    with pytest.raises(DataError, match="differently deformed audio given as one part"):
        FeatureStore([paths[0], tiny_features["test"][0]])
    assert read_index(paths[0]).split == read_index(tiny_features["test"][0]).split
