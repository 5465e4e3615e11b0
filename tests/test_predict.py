"""`tagbench predict`: tags for new audio from a model file alone."""

import csv
import json

import numpy as np
import pytest

from tagbench.models.predict import collect_audio, tag_files

from .conftest import run_cli, write_part, write_wav


def clip(seconds, rate=16000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)


def test_prediction_computes_the_training_features_with_the_models_resampler(tmp_path):
    """A 44.1 kHz clip extracted with soxr VHQ (not the default): predict must use VHQ too."""
    from tagbench.backbones.vggish_frontend import frame_examples
    from tagbench.features.audio import clip_logmel
    from tagbench.features.shards import FeatureStore, extract_shard
    from tagbench.models.model_file import read_metadata, save_with_metadata
    from tagbench.models.networks import build_model
    from tagbench.models.predict import model_front_end
    from tagbench.settings.config import FeatureSettings, TrainSettings

    t = np.arange(2 * 44100) / 44100  # a tone inside soxr HQ's transition band, VHQ's passband
    audio = write_wav(tmp_path / "a" / "0" / "x.wav", 0.3 * np.sin(2 * np.pi * 7450 * t)
                      + 0.1 * np.sin(2 * np.pi * 440 * t), rate=44100)
    tsv = tmp_path / "train.tsv"
    write_part(tsv, "clip_id\ttrack\tmp3_path\tt\n1\tx\t0/x.wav\t1\n")
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
    from tagbench.core.errors import DataError
    from tagbench.models.predict import model_front_end

    with pytest.raises(DataError, match="other front-end settings.*resample 'kaiser_best'"):
        model_front_end({"feature_params": {"resample": "kaiser_best"}}, tmp_path / "m.keras")


def smallest_gap(scores) -> float:
    """The smallest distance (largest tag difference) between the score rows of two different
    clips or patches: what a tolerance must stay well below to tell them apart."""
    rows = np.asarray(scores, dtype=np.float64)
    gaps = np.abs(rows[:, None] - rows[None]).max(axis=2)
    return float(gaps[np.triu_indices(len(rows), 1)].min())


# Measured on the tiny model: predict and evaluation from float32 features agree exactly (0.0),
# from float16 shards within 5.3e-5; the two closest test clips (consecutive segments of one
# track) are 4.3e-4 apart, patches of one taggram 0.03.
EXACT = 1e-6      # the same float32 features through the same model
FLOAT16 = 5e-4    # float16 storage of the log-mel


def test_predict_agrees_with_evaluation_of_the_same_clips(tiny_model, tiny_demo, tiny_features,
                                                          tmp_path):
    """Predict gives each test clip evaluation's scores: exactly from float32 features, up to
    float16 rounding from the stored shards, and each clip's are nearer its own evaluation
    scores than any other clip's, so another clip's scores (or other audio's) cannot pass."""
    from tagbench.features.shards import FeatureStore, extract_shard
    from tagbench.models.inference import predict_store
    from tagbench.models.networks import load_model
    from tagbench.settings.config import FeatureSettings

    root, _ = tiny_demo
    model, _ = load_model(tiny_model)
    split = tiny_features["test"][0].parent.parent / "split"
    extract_shard(split / "test.tsv", root / "audio", 0, 1, tmp_path / "test32.h5",
                  FeatureSettings(dtype="float32"))
    with FeatureStore([tmp_path / "test32.h5"]) as exact, \
            FeatureStore(tiny_features["test"]) as stored:
        assert exact.clip_ids == stored.clip_ids and len(exact) >= 6
        from32, _ = predict_store(model, exact)
        from16, _ = predict_store(model, stored)
        paths, tags = exact.clip_paths, stored.tags
    got_tags, results = tag_files(tiny_model, [root / "audio" / p for p in paths])
    assert got_tags == tags
    got = np.stack([r.scores for r in results])
    gap = smallest_gap(from32)
    assert gap > 100 * EXACT, f"clips only {gap:.1e} apart"
    np.testing.assert_allclose(got, from32, rtol=0, atol=EXACT)
    np.testing.assert_allclose(got, from16, rtol=0, atol=FLOAT16)
    for evaluated in (from32, from16):
        distance = np.abs(got[:, None] - evaluated[None]).max(axis=2)
        assert (distance.argmin(axis=1) == np.arange(len(got))).all()


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
    assert proc.returncode == 3
    errors = [line for line in proc.stderr.splitlines() if line.startswith("tagbench: error:")]
    assert len(errors) == 1 and "bad.mp3: cannot decode audio" in errors[0]
    rows = list(csv.DictReader(proc.stdout.splitlines()))
    assert [r["path"] for r in rows if r["error"]] == [str(bad)]
    assert sum(r["path"] == str(good) for r in rows) == 5


def test_taggram_draws_one_column_per_patch(tiny_model, tiny_demo, tmp_path):
    """One row of patch scores per 0.96 s, in time order: five seconds of five different demo
    clips, each patch's scores the model's for that patch, far closer than two patches are."""
    import matplotlib.image
    import soundfile as sf

    from tagbench.backbones import front_end, patches
    from tagbench.features.audio import clip_logmel
    from tagbench.models.networks import load_model
    from tagbench.models.predict import model_front_end

    root, ann = tiny_demo
    seconds = [sf.read(root / "audio" / p, dtype="float32")[0][:16000] for p in ann.paths[::3][:5]]
    audio = write_wav(tmp_path / "five.wav", np.concatenate(seconds))
    run_cli("predict", "--model", tiny_model, audio, "--taggram", tmp_path / "tg.png")
    image = matplotlib.image.imread(tmp_path / "tg.png")
    assert image.shape[0] > 200 and image.shape[1] > 600
    _, results = tag_files(tiny_model, [audio])
    model, meta = load_model(tiny_model)
    name, resample = model_front_end(meta, tiny_model)
    expected = np.asarray(model.predict_on_batch(patches(clip_logmel(audio, resample, name),
                                                           front_end(name).patch_frames)))
    assert results[0].patch_scores.shape[0] == len(expected) == 5
    gap = smallest_gap(expected)
    assert gap > 100 * EXACT, f"patches only {gap:.5f} apart"
    np.testing.assert_allclose(results[0].patch_scores, expected, rtol=0, atol=EXACT)
    proc = run_cli("predict", "--model", tiny_model, audio, audio, "--taggram", tmp_path / "x.png",
                   check=False)
    assert proc.returncode == 2 and "exactly one AUDIO file" in proc.stderr


def test_model_from_other_front_end_settings_is_refused(tiny_model, tmp_path):
    import zipfile

    from tagbench.core.errors import DataError
    from tagbench.models.model_file import METADATA_NAME

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


def test_the_predict_rule_accepts_only_the_some_files_failed_status():
    """A crash exits 1 (Python's status for a traceback): the rule must fail on it, and pass only
    on predict's own status for files it could not tag (listed in the table)."""
    from tagbench.cli.predict import SOME_FILES_FAILED

    from .conftest import ROOT

    shell = (ROOT / "workflow/rules/predict.smk").read_text().split("shell:")[1]
    assert SOME_FILES_FAILED not in (0, 1, 2)
    assert shell.count("||") == 1 and f"|| test $? -eq {SOME_FILES_FAILED}" in shell
