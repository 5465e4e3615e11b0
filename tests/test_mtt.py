"""dataset: mtt end to end against a local server, and weights: vggish from a served checkpoint.

The test MTT is small but realistic: MTT's real 188-tag header (tests/data/mtt_tags.txt), its
file naming (`artist-album-NN-title-start-end.mp3` in hex folders), a split zip archive, and the
known empty clip 35644 at its real path.
"""

import csv
import hashlib
import io
import json
import shutil
import zipfile

import h5py
import numpy as np
import pytest
import soundfile as sf
import yaml

from tagbench.backbones.vggish_weights import check_vggish
from tagbench.core.errors import DataError
from tagbench.core.layout import MTT_KNOWN_BAD
from tagbench.data.acquire import prepare_mtt_audio
from tagbench.features.shards import FeatureStore
from tagbench.settings.config import MttSettings

from . import fake_vggish
from .conftest import DATA, TINY, closed_port_url, planned, run_cli, snakemake

pytestmark = pytest.mark.workflow
TAGS = (DATA / "mtt_tags.txt").read_text().splitlines()


def fake_mtt(rng) -> dict[str, bytes]:
    """The five MTT files (three zip parts) of a 16-track, 40-clip MTT look-alike."""
    rows, audio, clip_id = [], {}, 2
    for track, folder in enumerate("0123456789abcdef"):
        for k in range(2 + track % 2):
            name = f"artist_{track}-album_{track}-{track + 1:02d}-song_{track}"
            path = f"{folder}/{name}-{29 * k}-{29 * k + 29}.mp3"
            wave = 0.3 * np.sin(2 * np.pi * (200 + 50 * track) * np.arange(19200) / 16000)
            buf = io.BytesIO()
            sf.write(buf, wave.astype(np.float32), 16000, format="MP3")
            audio[path] = buf.getvalue()
            rows.append((str(clip_id), path, rng.random(len(TAGS)) < 0.3))
            clip_id += 1
    bad_id = "35644"
    audio[MTT_KNOWN_BAD[bad_id]] = b""                    # empty, as in the real archive
    rows.append((bad_id, MTT_KNOWN_BAD[bad_id], rng.random(len(TAGS)) < 0.3))

    def table(header, lines):
        out = io.StringIO()
        writer = csv.writer(out, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(lines)
        return out.getvalue().encode()

    files = {
        "annotations_final.csv": table(["clip_id", *TAGS, "mp3_path"],
                                       [[i, *map(int, y), p] for i, p, y in rows]),
        "clip_info_final.csv": table(["clip_id", "title", "mp3_path"],
                                     [[i, "a song", p] for i, p, _ in rows]),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, data in audio.items():
            zf.writestr(path, data)
    raw = buf.getvalue()
    third = -(-len(raw) // 3)
    for i in range(3):
        files[f"mp3.zip.{i + 1:03d}"] = raw[i * third:(i + 1) * third]
    return files


@pytest.fixture(scope="module")
def mtt_files():
    return fake_mtt(np.random.default_rng(7))


def mtt_config(server_url, files, mirrors=None):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config.update(
        dataset="mtt",
        tags={"top_n": 10},
        features={"shards": {"train": 2, "valid": 1, "test": 1}},
        mtt={"mirrors": mirrors or [closed_port_url(), server_url + "/mtt/"],
             "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}},
        download={"retries": 2, "timeout": 10},
    )
    return config


def top_tags(annotations: bytes, train_tsv: str, n: int) -> list[str]:
    """The n tags with the most positive train clips (ties: the earlier column), in column
    order: `tags: {top_n: n}` as split.py defines it, counted here from the raw table."""
    table = list(csv.reader(io.StringIO(annotations.decode()), delimiter="\t"))
    train = {line.split("\t")[0] for line in train_tsv.splitlines()[1:]}
    counts = np.sum([list(map(int, row[1:-1])) for row in table[1:] if row[0] in train], axis=0)
    ranked = sorted(range(len(counts)), key=lambda c: (-counts[c], c))
    return [table[0][1 + c] for c in sorted(ranked[:n])]


def test_mtt_downloads_verifies_extracts_and_extracts_features(file_server, mtt_files, tmp_path):
    for name, data in mtt_files.items():
        file_server.files[f"/mtt/{name}"] = data
    file_server.drops["/mtt/mp3.zip.002"] = [len(mtt_files["mp3.zip.002"]) // 2]  # one hang-up
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(mtt_config(file_server.url, mtt_files)))
    shards = [f"results/mtt/features/vggish/{part}/{i:03d}.h5" for part, n in
              (("train", 2), ("valid", 1), ("test", 1)) for i in range(n)]
    proc = snakemake(tmp_path, *shards, "resources/mtt/clip_info_final.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]

    audio = tmp_path / "resources/mtt/audio"
    assert sorted(p.name for p in audio.iterdir() if p.is_dir()) == list("0123456789abcdef")
    assert (tmp_path / "resources/mtt/annotations_final.csv").read_bytes() == \
        mtt_files["annotations_final.csv"]
    assert ("/mtt/mp3.zip.002", f"bytes={len(mtt_files['mp3.zip.002']) // 2}-", 206) in file_server.log
    # the folder split: 0-b train+valid, c-f test; no track on both sides
    split = tmp_path / "results/mtt/split"
    test_paths = [line.split("\t")[1] for line in (split / "test.tsv").read_text().splitlines()[1:]]
    assert test_paths and all(p[0] in "cdef" for p in test_paths)
    assert (split / "tags.txt").read_text().splitlines() == top_tags(
        mtt_files["annotations_final.csv"], (split / "train.tsv").read_text(), 10)
    # the known empty clip is recorded as failed with its reason, not fatal
    failed = [f for s in shards for f in FeatureStore([tmp_path / s]).failed]
    assert [(f[0], "empty file" in f[2]) for f in failed] == [("35644", True)]
    n_clips = sum(len(FeatureStore([tmp_path / s]).clip_ids) for s in shards)
    assert n_clips == 40

    proc = snakemake(tmp_path, "-n", *shards)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr


def test_mtt_offline_fails_fast_naming_the_file_to_place(mtt_files, tmp_path):
    config = mtt_config("http://no-such-host.invalid", mtt_files,
                        mirrors=[closed_port_url(), "http://no-such-host.invalid/mtt/"])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path, "resources/mtt/download/mp3.zip.001")
    assert proc.returncode != 0
    log = (tmp_path / "resources/mtt/logs/download/mp3.zip.001.log").read_text()
    assert "copy the file to resources/mtt/download/mp3.zip.001 by hand" in log
    assert len(log.strip().splitlines()) == 1


def test_hand_placed_part_with_wrong_checksum_is_kept(mtt_files, tmp_path):
    settings = MttSettings(sha256={n: hashlib.sha256(d).hexdigest() for n, d in mtt_files.items()})
    parts = []
    for name in ("mp3.zip.001", "mp3.zip.002", "mp3.zip.003"):
        parts.append(tmp_path / name)
        parts[-1].write_bytes(mtt_files[name])
    parts[2].write_bytes(mtt_files["mp3.zip.003"][:-10])          # truncated copy
    with pytest.raises(DataError, match=r"mp3\.zip\.003: sha256 .* does not match .*kept"):
        prepare_mtt_audio(parts, tmp_path / "audio", settings)
    assert parts[2].stat().st_size == len(mtt_files["mp3.zip.003"]) - 10
    assert not (tmp_path / "audio").exists()


def digest(values, scope):
    """A layer's weight digest as the backbone cache records it (kernel, then bias, float32)."""
    h = hashlib.sha256()
    for part in ("weights", "biases"):
        h.update(np.ascontiguousarray(values[f"{scope}/{part}"], np.float32).tobytes())
    return h.hexdigest()[:16]


def test_vggish_weights_are_downloaded_and_used(file_server, fake_checkpoint, tmp_path):
    """The served checkpoint is downloaded, recorded, and its values are the ones the model
    file and the backbone cache hold (a loader that skipped them still logs the file name)."""
    from tagbench.backbones.vggish import CHECKPOINT_SCOPES, CONV_LAYERS
    from tagbench.models.networks import load_model

    file_server.files["/audioset/vggish_model.ckpt"] = fake_checkpoint.read_bytes()
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["train"]["seeds"] = [0]
    config["variants"] = {"pretrained": {"weights": "vggish", "epochs": 1}}  # frozen: cached
    config["vggish"] = {"url": file_server.url + "/audioset/vggish_model.ckpt", "smoke_test": False}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path, "results/demo/models/pretrained/seed0/model.keras")
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = tmp_path / "resources/vggish/vggish_model.ckpt"
    sha = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert (tmp_path / "resources/vggish/vggish_model.ckpt.sha256").read_text().split()[0] == sha
    log = (tmp_path / "results/demo/logs/train/pretrained/seed0.log").read_text()
    assert "cached backbone outputs" in log and "vggish_model.ckpt" in log
    # the weights really used: the saved model's backbone and the cache its head trained on
    # hold the checkpoint's values, not a random initialisation
    stored = fake_vggish.values()
    model, _ = load_model(tmp_path / "results/demo/models/pretrained/seed0/model.keras")
    in_model = [layer for layer in CHECKPOINT_SCOPES if layer in {x.name for x in model.layers}]
    assert set(CONV_LAYERS) <= set(in_model)
    for layer in in_model:
        kernel, bias = model.get_layer(layer).get_weights()
        scope = CHECKPOINT_SCOPES[layer]
        assert np.array_equal(kernel, stored[f"{scope}/weights"]), f"{layer}: not the checkpoint's"
        assert np.array_equal(bias, stored[f"{scope}/biases"]), f"{layer}: not the checkpoint's"
    caches = sorted((tmp_path / "results/demo/backbone/vggish").glob("*/*.h5"))
    assert {c.parent.name for c in caches} >= {"train", "valid"}
    for cache in caches:
        with h5py.File(cache) as h5:
            cached = json.loads(h5.attrs["weights"])
        assert cached == {layer: digest(stored, CHECKPOINT_SCOPES[layer]) for layer in cached}
        assert set(CONV_LAYERS) <= set(cached)


def test_smoke_test_tells_a_wrong_checkpoint_apart(fake_checkpoint, tmp_path):
    with pytest.raises(DataError, match="smoke test failed: embedding mean .* not the published"):
        check_vggish(fake_checkpoint)
    # the workflow's job, given the file by hand: the same refusal, one line, the file kept
    placed = tmp_path / "resources" / "vggish" / "vggish_model.ckpt"
    placed.parent.mkdir(parents=True)
    shutil.copy(fake_checkpoint, placed)
    spec = {"section": "vggish", "settings": {"url": "", "sha256": None, "smoke_test": True},
            "download": {"retries": 1, "timeout": 1.0, "backoff": 1.0}}
    proc = run_cli("weights", "download_vggish", "--spec", json.dumps(spec), cwd=tmp_path,
                   check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("tagbench: error: resources/vggish/vggish_model.ckpt: smoke test "
                                "failed"), lines
    assert placed.is_file()


def test_download_verbs_refuse_unknown_files(tmp_path):
    proc = run_cli("download-mtt", "mp3.zip.004", "--out", tmp_path / "x",
                   "--spec", json.dumps({"mirrors": ["http://127.0.0.1:9/"]}), check=False)
    assert proc.returncode == 2 and "not an MTT file" in proc.stderr


def test_snakemake_refuses_a_bad_mirror_url(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"dataset": "mtt", "mtt": {"mirrors": ["ftp://x"]}}))
    proc = snakemake(tmp_path, "-n")
    assert proc.returncode != 0 and "config key 'mtt.mirrors.0'" in proc.stderr


def test_shipped_mtt_configs_plan_the_reports_experiment(tmp_path):
    from .conftest import ROOT

    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    for extra in ([], ["configs/mtt-top50.yaml"]):
        files = [str(ROOT / "configs/mtt.yaml"), *(str(ROOT / f) for f in extra)]
        proc = snakemake(tmp_path, "-n", "--configfile", *files)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert planned(proc) == {"download_mtt": 5, "download_vggish": 1, "mtt_audio": 1,
                                 "mtt_table": 2, "split": 1, "extract": 78, "train": 9,
                                 "evaluate": 9, "summarize": 3, "baseline": 1,
                                 "report_curves": 1, "report_compare": 1, "leaderboard": 1,
                                 "all": 1}
    from tagbench.settings.config import load_settings, read_config_file

    settings = load_settings({**read_config_file(ROOT / "config.yaml"),
                              **read_config_file(ROOT / "configs/mtt.yaml")})
    assert {v.weights for v in settings.variants.values()} == {"vggish"}
    assert [settings.variants[v].epochs for v in settings.variants] == [12, 5, 12]
