"""One test per row of the bad-input table (docs/usage.md): each gets a clear one-line message or is
handled, and nothing computed before is lost."""

import io

import numpy as np
import pytest
import soundfile as sf
import yaml

from tagbench.core.errors import DecodeError
from tagbench.features.audio import load_audio

from .conftest import ROOT, run_cli, snakemake, write_part, write_wav


def tone(seconds, rate=16000, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 3000 * t)
    return np.tile(wave[:, None], (1, channels)) if channels > 1 else wave


def mp3_bytes(seconds=3.0):
    buf = io.BytesIO()
    sf.write(buf, tone(seconds).astype(np.float32), 16000, format="MP3")
    return buf.getvalue()


def one_error_line(proc) -> str:
    """The error a user sees: exactly one line on stderr, `tagbench...error`, nothing else (no
    traceback, no TensorFlow start-up notices, no MP3 decoder resync notes)."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()
             and not ln.startswith("Using workflow specific profile")]  # snakemake's own banner
    assert len(lines) == 1 and lines[0].startswith("tagbench:"), proc.stderr[-2000:]
    return lines[0]


@pytest.mark.parametrize("name,content,reason", [
    ("corrupt.mp3", b"\x00\x01garbage" * 500, "cannot decode audio"),
    ("random.mp3", np.random.default_rng(0).bytes(3000), "cannot decode audio"),
    ("empty.mp3", b"", "empty file (0 bytes)"),
    ("header_only.mp3", mp3_bytes()[:300], "no decodable audio stream"),
    ("cut_in_header.mp3", mp3_bytes()[:3], "cannot decode audio"),
])
def test_corrupt_empty_or_cut_audio_gets_one_line_and_the_rest_is_tagged(tiny_model, tmp_path,
                                                                         name, content, reason):
    bad = tmp_path / name
    bad.write_bytes(content)
    good = write_wav(tmp_path / "good.wav", tone(2))
    proc = run_cli("predict", "--model", tiny_model, bad, good, check=False)
    assert proc.returncode == 3
    line = one_error_line(proc)
    assert f"{bad}: {reason}" in line or (reason in line and str(bad) in line)
    assert proc.stdout.startswith(str(good))


def test_truncated_mp3_is_tagged_without_decoder_notes(tiny_model, tmp_path):
    raw = mp3_bytes(3.0)
    (tmp_path / "cut.mp3").write_bytes(raw[: len(raw) // 2 + 7])  # ends inside a frame
    proc = run_cli("predict", "--model", tiny_model, tmp_path / "cut.mp3")
    assert proc.stdout.startswith(str(tmp_path / "cut.mp3")) and proc.stderr.strip() == ""


def test_extraction_records_bad_files_without_decoder_notes(tmp_path):
    audio = tmp_path / "audio"
    (audio / "0").mkdir(parents=True)
    (audio / "0" / "random.mp3").write_bytes(np.random.default_rng(1).bytes(3000))
    (audio / "0" / "cut.mp3").write_bytes(mp3_bytes()[:3])
    write_wav(audio / "0" / "good.wav", tone(1.5))
    tsv = tmp_path / "train.tsv"
    write_part(tsv, "clip_id\ttrack\tmp3_path\tt\n1\ta\t0/random.mp3\t1\n2\tb\t0/cut.mp3\t0\n"
                   "3\tc\t0/good.wav\t1\n")
    proc = run_cli("extract", tsv, "--audio-root", audio, "--shard", 0, "--n-shards", 1,
                   "--out", tmp_path / "000.h5", "--spec", '{"dtype": "float16", "resample": "soxr_hq"}')
    assert proc.stderr.strip() == "", proc.stderr
    from tagbench.features.shards import read_index

    index = read_index(tmp_path / "000.h5")
    assert index.clip_ids == ["3"]
    assert {row[0]: row[2] for row in index.failed}.keys() == {"1", "2"}
    assert all("cannot decode audio" in row[2] for row in index.failed)


def test_truncated_mp3_is_tagged_on_what_decodes(tmp_path):
    raw = mp3_bytes(3.0)
    (tmp_path / "cut.mp3").write_bytes(raw[: len(raw) // 2])
    samples = load_audio(tmp_path / "cut.mp3", "soxr_hq")
    assert 0.8 * 16000 < samples.size < 2.2 * 16000


@pytest.mark.parametrize("make,n_patches", [
    (lambda: np.zeros(48000), 3),                  # silence: 3 s
    (lambda: tone(0.2), 1),                        # 0.2 s: zero-padded to one patch
    (lambda: tone(600.0), 624),                    # 10 minutes: 59,998 frames = 624 patches + a tail
])
def test_silence_short_and_long_files_are_handled(tiny_model, tmp_path, make, n_patches):
    from tagbench.models.predict import tag_files

    path = write_wav(tmp_path / "a.wav", make())
    _, results = tag_files(tiny_model, [path])
    assert results[0].error is None
    assert results[0].patch_scores.shape[0] == n_patches
    assert np.isfinite(results[0].scores).all()


@pytest.mark.parametrize("rate,channels", [(8000, 1), (44100, 1), (44100, 2)])
def test_other_rates_and_stereo_are_resampled_and_mixed(tiny_model, tmp_path, rate, channels):
    from tagbench.models.predict import tag_files

    ref = write_wav(tmp_path / "ref.wav", tone(3.0))
    other = tmp_path / f"other_{rate}_{channels}.wav"
    sf.write(other, tone(3.0, rate, channels).astype(np.float32), rate)
    assert load_audio(other, "soxr_hq").size == pytest.approx(48000, abs=2)
    _, (a, b) = tag_files(tiny_model, [ref, other])
    # the same music at another rate or in stereo gets (nearly) the same tags; 8 kHz loses the
    # 4-8 kHz bands, so allow more there
    np.testing.assert_allclose(b.scores, a.scores, atol=0.2 if rate == 8000 else 0.05)


ANNOTATION_ROWS = {
    "wrong header": ('"id"\t"rock"\t"file"\n"1"\t"1"\t"0/a.mp3"\n',
                     "header has no 'clip_id' or 'mp3_path' column"),
    "non-numeric tag cell": ('"clip_id"\t"rock"\t"mp3_path"\n"1"\t"yes"\t"0/a.mp3"\n',
                             "line 2, column 'rock': value 'yes' is not 0 or 1"),
    "duplicate clip id": ('"clip_id"\t"rock"\t"mp3_path"\n"1"\t"1"\t"0/a.mp3"\n"1"\t"0"\t"c/b.mp3"\n',
                          "clip_id 1 appears more than once (lines 2, 3)"),
}


@pytest.mark.parametrize("row", ANNOTATION_ROWS)
def test_malformed_annotations_get_one_line(tmp_path, row):
    text, message = ANNOTATION_ROWS[row]
    (tmp_path / "annotations_final.csv").write_text(text)
    proc = run_cli("split", tmp_path / "annotations_final.csv", "--out-dir", tmp_path / "split",
                   "--spec", '{"method":"folder","test_fraction":0.25,"valid_fraction":0.1,'
                   '"seed":0,"top_n":null}', check=False)
    assert proc.returncode == 2
    assert message in one_error_line(proc)
    assert not (tmp_path / "split").exists()


CONFIG_ROWS = {
    "unknown key": ({"train": {"epochz": 3}}, "config key 'train.epochz' is not known"),
    "wrong type": ({"train": {"epochs": "ten"}}, "config key 'train.epochs': 'ten' is not of type"),
    "unknown pooling": ({"variants": {"v": {"pooling": "attention"}}},
                        "config key 'variants.v.pooling': 'attention' is not a pooling of "
                        "backbone vggish (one of avg, autopool, max, embedding)"),
}


@pytest.mark.workflow
@pytest.mark.parametrize("row", CONFIG_ROWS)
def test_config_errors_stop_before_anything_runs(tmp_path, row):
    raw, message = CONFIG_ROWS[row]
    config = {**yaml.safe_load((ROOT / "config.yaml").read_text()), **raw}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    earlier = tmp_path / "results/demo/report/comparison.csv"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("computed before\n")
    proc = snakemake(tmp_path)
    assert proc.returncode != 0
    assert message in one_error_line(proc)
    assert earlier.read_text() == "computed before\n"


def test_missing_model_file(tmp_path):
    audio = write_wav(tmp_path / "a.wav", tone(1))
    proc = run_cli("predict", "--model", tmp_path / "nope/model.keras", audio, check=False)
    assert proc.returncode == 2
    assert "nope/model.keras: model file not found (train the variant first)" in one_error_line(proc)


def test_decode_error_names_the_file(tmp_path):
    with pytest.raises(DecodeError, match="audio file not found"):
        load_audio(tmp_path / "missing.wav", "soxr_hq")
