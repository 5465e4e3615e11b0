"""`tagbench predict`: tags for new audio from a model file alone."""

import csv
import json

import numpy as np
import pytest

from tagbench.predict import collect_audio, tag_files

from .conftest import run_cli, write_wav


def clip(seconds, rate=16000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)


def test_prediction_computes_the_training_features_with_the_models_resampler(tmp_path):
    """A 44.1 kHz clip extracted with soxr VHQ (not the default): predict must use VHQ too."""
    from tagbench.audio import clip_logmel
    from tagbench.backbones.vggish_frontend import frame_examples
    from tagbench.config import FeatureSettings, TrainSettings
    from tagbench.features import FeatureStore, extract_shard
    from tagbench.model_file import read_metadata, save_with_metadata
    from tagbench.models import build_model
    from tagbench.predict import model_front_end

    t = np.arange(2 * 44100) / 44100  # a tone inside soxr HQ's transition band, VHQ's passband
    audio = write_wav(tmp_path / "a" / "0" / "x.wav", 0.3 * np.sin(2 * np.pi * 7450 * t)
                      + 0.1 * np.sin(2 * np.pi * 440 * t), rate=44100)
    tsv = tmp_path / "train.tsv"
    tsv.write_text("clip_id\ttrack\tmp3_path\tt\n1\tx\t0/x.wav\t1\n")
    extract_shard(tsv, tmp_path / "a", 0, 1, tmp_path / "s.h5",
                  FeatureSettings(dtype="float32", resample="soxr_vhq"))
    with FeatureStore([tmp_path / "s.h5"]) as store:
        stored, tags, params = store.logmel(0), store.tags, store.feature_params
    model = build_model(TrainSettings(head=(4,), finetune=False), n_tags=len(tags))
    save_with_metadata(model, tmp_path / "m.keras", {"tags": tags, "feature_params": params,
                                                     "aggregate": "mean"})

    front, resample = model_front_end(read_metadata(tmp_path / "m.keras"), tmp_path / "m.keras")
    assert (front, resample) == ("vggish", "soxr_vhq")
    assert np.array_equal(clip_logmel(audio, resample), stored)
    assert np.abs(clip_logmel(audio, "soxr_hq") - stored).max() > 1e-3  # the check can fail
    _, [tagged] = tag_files(tmp_path / "m.keras", [audio])
    expected = np.asarray(model.predict_on_batch(frame_examples(stored))).mean(axis=0)
    np.testing.assert_allclose(tagged.scores, expected, rtol=0, atol=1e-6)


def test_a_model_with_an_unknown_resampler_is_refused(tmp_path):
    from tagbench.errors import DataError
    from tagbench.predict import model_front_end

    with pytest.raises(DataError, match="other front-end settings.*resample 'kaiser_best'"):
        model_front_end({"feature_params": {"resample": "kaiser_best"}}, tmp_path / "m.keras")


def test_predict_agrees_with_evaluation_of_the_same_clips(tiny_model, tiny_demo, tiny_features):
    from tagbench.features import FeatureStore
    from tagbench.inference import predict_store
    from tagbench.models import load_model

    root, _ = tiny_demo
    store = FeatureStore(tiny_features["test"])
    model, _ = load_model(tiny_model)
    expected, _ = predict_store(model, store)
    import h5py

    paths = []
    for shard in sorted(tiny_features["test"]):
        with h5py.File(shard) as h5:
            paths += [p.decode() if isinstance(p, bytes) else p for p in h5["path"][:]]
    tags, results = tag_files(tiny_model, [root / "audio" / p for p in paths])
    assert tags == store.tags
    got = np.stack([r.scores for r in results])
    # from decoded audio vs from float16 shards: the same up to float16 storage rounding
    np.testing.assert_allclose(got, expected, atol=0.02)


def test_table_json_and_csv_outputs(tiny_model, tiny_demo, tmp_path):
    root, ann = tiny_demo
    folder = root / "audio" / "c"
    n_files = len(collect_audio([folder]))
    proc = run_cli("predict", "--model", tiny_model, folder, "--top-k", "3")
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == n_files
    path, top = lines[0].split("\t")
    assert path.endswith(".mp3") and len(top.split("  ")) == 3
    assert all(t.rsplit(" ", 1)[0] in ann.tags for t in top.split("  "))

    data = json.loads(run_cli("predict", "--model", tiny_model, folder, "--json").stdout)
    assert len(data) == n_files and len(data[0]["tags"]) == 5
    scores = list(data[0]["tags"].values())
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)

    run_cli("predict", "--model", tiny_model, folder, "--csv", "--top-k", "2", "--out", tmp_path / "t.csv")
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert len(rows) == 2 * n_files and rows[0]["rank"] == "1" and rows[1]["rank"] == "2"


def test_undecodable_file_is_reported_and_the_others_still_tagged(tiny_model, tmp_path):
    good = write_wav(tmp_path / "good.wav", clip(2.0))
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    proc = run_cli("predict", "--model", tiny_model, bad, good, "--csv", check=False)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("tagbench: error:")]
    assert len(errors) == 1 and "bad.mp3: cannot decode audio" in errors[0]
    rows = list(csv.DictReader(proc.stdout.splitlines()))
    assert [r["path"] for r in rows if r["error"]] == [str(bad)]
    assert sum(r["path"] == str(good) for r in rows) == 5


def test_taggram_draws_one_column_per_patch(tiny_model, tmp_path):
    import matplotlib.image

    audio = write_wav(tmp_path / "five.wav", clip(5.0))
    run_cli("predict", "--model", tiny_model, audio, "--taggram", tmp_path / "tg.png")
    image = matplotlib.image.imread(tmp_path / "tg.png")
    assert image.shape[0] > 200 and image.shape[1] > 600
    _, results = tag_files(tiny_model, [audio])
    assert results[0].patch_scores.shape[0] == 5
    proc = run_cli("predict", "--model", tiny_model, audio, audio, "--taggram", tmp_path / "x.png",
                   check=False)
    assert proc.returncode == 2 and "exactly one AUDIO file" in proc.stderr


def test_model_from_other_front_end_settings_is_refused(tiny_model, tmp_path):
    import zipfile

    from tagbench.errors import DataError
    from tagbench.model_file import METADATA_NAME

    other = tmp_path / "other.keras"
    with zipfile.ZipFile(tiny_model) as src, zipfile.ZipFile(other, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == METADATA_NAME:
                meta = json.loads(data)
                meta["feature_params"]["hop"] = 256
                data = json.dumps(meta).encode()
            dst.writestr(item, data)
    with pytest.raises(DataError, match="other front-end settings \\(hop\\)"):
        tag_files(other, [write_wav(tmp_path / "a.wav", clip(1.0))])
