"""Nothing silently wrong on disk: every HDF5 file a stage reads (feature shard, backbone cache,
predictions), truncated, with bytes flipped in its middle, or emptied, stops the reading stage
with one line naming the file and the fix, and no figure is written."""

import shutil

import pytest

from tagbench.core.errors import DataError

from .conftest import run_cli

FAULTS = ("truncated", "flipped", "empty")


def damage(path, fault: str) -> None:
    data = bytearray(path.read_bytes())
    if fault == "truncated":
        data = data[: len(data) // 2]
    elif fault == "flipped":  # 4 KiB of flipped bits in the middle (a bad sector, a bad copy)
        # every other bit: Fletcher-32 (HDF5's checksum) sums 16-bit words modulo 65535, so an
        # all-ones flip of zero words (0x0000 -> 0xFFFF) is the one change it cannot see
        mid = len(data) // 2
        for i in range(max(0, mid - 2048), min(len(data), mid + 2048)):
            data[i] ^= 0x55
    else:
        data = bytearray()
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def files(tiny_features, tiny_model, tmp_path_factory):
    """The tiny demo's test shard, its random-VGGish cache, and one seed's scored run."""
    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.models.backbone_cache import write_cache

    out = tmp_path_factory.mktemp("faults")
    cache = out / "cache" / "000.h5"
    write_cache(tiny_features["test"][0], cache, "random0", 1, "float16")
    evaluate_model(tiny_model, tiny_features["test"], out / "run")
    return {"shard": tiny_features["test"][0], "cache": cache, "run": out / "run",
            "split_test": tiny_features["test"][0].parents[1] / "split" / "test.tsv"}


def copy_damaged(files, kind: str, fault: str, tmp_path):
    """A copy of the file of `kind` with the fault, and what a stage is given to read it."""
    if kind == "run":
        run = tmp_path / "run"
        shutil.copytree(files["run"], run)
        damage(run / "predictions.h5", fault)
        return run
    bad = tmp_path / kind / "000.h5"
    bad.parent.mkdir()
    shutil.copy(files[kind], bad)
    damage(bad, fault)
    return bad


def read_stage(kind: str, bad, files, tiny_model, out):
    """The stage that reads a file of `kind`: evaluation for shards and caches, the summary over
    seeds for a scored run."""
    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.evaluation.replicates import split_test_tracks, summarize_seeds
    from tagbench.settings.config import BootstrapSettings

    if kind == "shard":
        return evaluate_model(tiny_model, [bad], out)
    if kind == "cache":
        return evaluate_model(tiny_model, [files["shard"]], out, cache_paths=[bad])
    settings = BootstrapSettings(resamples=20).for_summary()
    return summarize_seeds([bad], [0], settings, out, split_test_tracks(files["split_test"], settings))


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", ["shard", "cache", "run"])
def test_a_damaged_file_stops_its_reader_with_one_line(files, tiny_model, kind, fault, tmp_path):
    bad = copy_damaged(files, kind, fault, tmp_path)
    with pytest.raises(DataError) as err:
        read_stage(kind, bad, files, tiny_model, tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message and str(bad) in message, message
    assert "delete it and rerun snakemake" in message, message
    assert not (tmp_path / "out" / "metrics.json").exists()


@pytest.mark.parametrize("kind", ["shard", "cache"])
def test_the_cli_gives_one_line_and_no_traceback(files, tiny_model, kind, tmp_path):
    bad = copy_damaged(files, kind, "flipped", tmp_path)
    shards, cache = ([bad], []) if kind == "shard" else ([files["shard"]], ["--cache", bad])
    proc = run_cli("evaluate", "--model", tiny_model, "--shards", *shards, *cache, "--out-dir",
                   tmp_path / "out", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("tagbench: error: ") and str(bad) in lines[-1]
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_a_file_written_before_checksums_is_refused_with_the_fix(files, tmp_path):
    """Old results carry no checksum: the rebuilt code makes them stale (its fingerprint), and
    a reader given one by hand says so rather than trusting it."""
    import h5py

    from tagbench.features.shards import read_index

    old = tmp_path / "old.h5"
    with h5py.File(files["shard"]) as src, h5py.File(old, "w") as dst:
        for name, dataset in src.items():
            dst.create_dataset(name, data=dataset[()])  # as tagbench wrote them before
        dst.attrs.update(src.attrs)
    with pytest.raises(DataError, match="carries no checksum .* delete it and rerun snakemake"):
        read_index(old)
