"""Shared fixtures: small datasets the tests generate, and helpers to run the CLI."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# The workflow tests' config: a file, so that it runs by hand too (see its header).
TINY = yaml.safe_load((ROOT / ".test" / "tiny.yaml").read_text())
REPORT = ["curves.png", "comparison.csv", "comparison.md", "differences.csv", "comparison.png", "forest.png",
          "roc_pr.png", "per_tag_auc.png", "overview.rst"]


def snakemake(workdir, *args):
    """The real snakemake on this repository's Snakefile, in `workdir`."""
    return subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory",
                           str(workdir), "--cores", "2", *args], capture_output=True, text=True)


def planned(proc) -> dict[str, int]:
    """Rule -> job count from a dry run's job stats table."""
    text = proc.stdout + proc.stderr
    table = text.split("Job stats:")[-1] if "Job stats:" in text else ""
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
            if m[1] != "total"}


def write_config(workdir, config):
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def closed_port_url() -> str:
    """A URL nothing listens on: connecting is refused at once, like an unreachable host."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/gone"


def run_cli(*args, cwd=None, check=True):
    """Run `tagbench ARGS` as a user would; returns the CompletedProcess."""
    proc = subprocess.run([sys.executable, "-m", "tagbench.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"tagbench {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


MUSICNN_WHEEL = ROOT / "resources" / "musicnn" / "musicnn-0.1.0-py3-none-any.whl"
MUSICNN_REFERENCE = ROOT.parent / "shared" / "reference" / "musicnn"


@pytest.fixture(scope="session")
def musicnn_wheel():
    """The pinned musicnn wheel `make setup` fetches (nothing is downloaded at test time)."""
    if not MUSICNN_WHEEL.is_file():
        pytest.fail(f"{MUSICNN_WHEEL} missing: `make setup` fetches it (in a checkout set up "
                    "before it did: .venv/bin/python -m tagbench.backbones.musicnn_weights fetch "
                    "resources/musicnn)")
    return MUSICNN_WHEEL


@pytest.fixture(scope="session")
def musicnn_prefixes(musicnn_wheel, tmp_path_factory):
    """model -> checkpoint prefix, unpacked from the real wheel with the published checksums."""
    from tagbench.backbones import MUSICNN_MODELS
    from tagbench.backbones.musicnn_weights import unpack_weights

    out = tmp_path_factory.mktemp("musicnn")
    return {model: unpack_weights(musicnn_wheel, out, model) for model in MUSICNN_MODELS}


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """A 16-track demo dataset (2 clips of 1.5 s each) in MTT layout."""
    from tagbench.data.demo import make_demo
    from tagbench.settings.config import DemoSettings

    out = tmp_path_factory.mktemp("demo")
    ann = make_demo(out, DemoSettings(n_tracks=16, clips_per_track=2, clip_seconds=1.5, seed=3))
    return out, ann


def split_and_extract(root, out, n_shards: dict[str, int], dtype: str = "float16",
                      front_end: str = "vggish"):
    """Split the dataset at `root` (folder split, 20 % valid) into out/split and extract each
    part into n_shards[part] shards of one front end under out/{part}: {part: [shard paths]}."""
    from tagbench.data.annotations import read_annotations
    from tagbench.data.split import make_split, write_split
    from tagbench.features.shards import extract_shard
    from tagbench.settings.config import FeatureSettings, SplitSettings

    ann = read_annotations(root / "annotations_final.csv")
    write_split(make_split(ann, SplitSettings(valid_fraction=0.2), str(root / "annotations_final.csv")),
                ann, out / "split")
    shards = {}
    for part, n in n_shards.items():
        shards[part] = [out / part / f"{i:03d}.h5" for i in range(n)]
        for i, path in enumerate(shards[part]):
            extract_shard(out / "split" / f"{part}.tsv", root / "audio", i, n, path,
                          FeatureSettings(dtype=dtype, front_end=front_end))
    return shards


def runs_from_scores(labels, seed_scores, weights, seeds):
    """A row's figures as `summarize` builds them, from scores a test makes: each seed's figures
    on the whole test part and on every resample (`seeds` None: one deterministic run, like
    the baseline)."""
    from tagbench.evaluation.stats import KEYS, Runs, bootstrap, ranking_metrics

    frame = bootstrap(labels, seed_scores, weights, seeds)
    points = np.array([[ranking_metrics(labels, s)[k] for k in KEYS] for s in seed_scores])
    return Runs(points, frame[list(KEYS)].to_numpy().reshape(-1, len(seed_scores), len(KEYS)),
                None if seeds is None else tuple(seeds))


def cache_parts(shards: dict, out) -> dict:
    """random0 (VGGish, random weights) caches of each part's one float32 shard: train at two
    positions per patch, valid and test at one, as the cache rule writes them."""
    from tagbench.models.backbone_cache import write_cache

    caches = {}
    for part, positions in (("train", 2), ("valid", 1), ("test", 1)):
        caches[part] = [out / part / "000.h5"]
        write_cache(shards[part][0], caches[part][0], "random0", positions, "float32")
    return caches


@pytest.fixture(scope="session")
def tiny_features(tiny_demo, tmp_path_factory):
    """Split + feature shards of the tiny demo: {part: [shard paths]}."""
    root, _ = tiny_demo
    return split_and_extract(root, tmp_path_factory.mktemp("features"),
                             {"train": 2, "valid": 1, "test": 1})


@pytest.fixture(scope="session")
def tiny_model(tiny_features, tmp_path_factory):
    """A 2-epoch tagger trained on the tiny demo: its model.keras path."""
    from tagbench.models.train import train_variant
    from tagbench.settings.config import TrainSettings

    out = tmp_path_factory.mktemp("model")
    spec = TrainSettings(epochs=2, batch_size=8, n_active=4, head=(8,), finetune=False,
                         patches_per_clip=2, threads=1)
    train_variant(spec, "tiny", tiny_features["train"], tiny_features["valid"], out_dir=out / "m",
                  state_dir=out / "state", threads=1, log=lambda *_: None)
    return out / "m" / "model.keras"


@pytest.fixture(scope="session")
def fake_checkpoint(tmp_path_factory):
    """A ~288 MB TF1 checkpoint with the official variable names and seeded values."""
    from . import fake_vggish

    return fake_vggish.write(tmp_path_factory.mktemp("vggish") / "vggish_model.ckpt")


@pytest.fixture
def file_server():
    """A threaded HTTP server on 127.0.0.1 serving `server.files` (path -> bytes), with Range."""
    from .http_server import FileServer

    with FileServer() as server:
        yield server


def write_wav(path, samples, rate=16000):
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(samples, dtype=np.float32), rate)
    return path


def write_part(path, text: str) -> Path:
    """A split part written by hand, sealed as the split rule seals its parts (`split.json`
    beside it records its sha256; no provenance), so that stages read it."""
    from tagbench.core.sealed import write_sealed

    path = Path(path)
    path.write_text(text)
    write_sealed(path.parent / "split.json", {}, [path])
    return path


def labelled_store(tmp_path, n_clips=30, n_tags=4):
    """A feature store and its labels for the stream's tests: clip k's log-mel is constant k and
    its labels are k's bits, so a patch must match its labels."""
    from tagbench.features.shards import FeatureStore, ShardWriter
    from tagbench.settings.config import FeatureSettings

    rng = np.random.default_rng(0)
    mels = [np.full((int(rng.integers(96, 300)), 64), k, np.float32) for k in range(n_clips)]
    labels = np.array([[(k >> b) & 1 for b in range(n_tags)] for k in range(n_clips)], np.uint8)
    path = tmp_path / "000.h5"
    with ShardWriter(path, [f"t{b}" for b in range(n_tags)], FeatureSettings(dtype="float32")) as w:
        for k, mel in enumerate(mels):
            w.add(str(k), f"{k}.mp3", labels[k], mel)
    return FeatureStore([path]), labels
