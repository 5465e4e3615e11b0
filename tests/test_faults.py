"""Nothing silently wrong on disk: every file a stage reads that tagbench wrote (split part and
split.json, feature shard, backbone cache, model file, a seed's predictions, metrics and per-tag
table, a summary's metrics and bootstrap resamples), truncated, with bytes flipped in its
middle, or emptied, stops the reading stage with one line naming the file and the fix, and
nothing is written. The user's own inputs (annotations, audio) have no digest to check against:
a damaged annotations table is one line; damaged audio is one line in the shard's failed table
where it no longer decodes (test_bad_input.py has more of both)."""

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
def files(tiny_demo, tiny_features, tiny_model, tmp_path_factory):
    """The tiny demo's split, test shard, its random-VGGish cache, one seed's scored run, and
    that run's summary over seeds."""
    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.evaluation.replicates import split_test_tracks, summarize_seeds
    from tagbench.models.backbone_cache import write_cache
    from tagbench.settings.config import BootstrapSettings

    out = tmp_path_factory.mktemp("faults")
    cache = out / "cache" / "000.h5"
    write_cache(tiny_features["test"][0], cache, "random0", 1, "float16")
    evaluate_model(tiny_model, tiny_features["test"], out / "run")
    split_test = tiny_features["test"][0].parents[1] / "split" / "test.tsv"
    settings = BootstrapSettings(resamples=20).for_summary()
    summarize_seeds([out / "run"], [0], settings, out / "summary",
                    split_test_tracks(split_test, settings))
    return {"shard": tiny_features["test"][0], "cache": cache, "run": out / "run",
            "summary": out / "summary", "split_test": split_test, "model": tiny_model,
            "split": split_test.parent, "audio": tiny_demo[0] / "audio"}


# kind -> (the folder it lies in, or None for a file of its own; the file's name)
KINDS = {"split_part": ("split", "test.tsv"), "split_json": ("split", "split.json"),
         "shard": (None, "000.h5"), "cache": (None, "000.h5"), "model": (None, "model.keras"),
         "predictions": ("run", "predictions.h5"), "metrics": ("run", "metrics.json"),
         "per_tag": ("run", "per_tag.csv"), "summary": ("summary", "metrics.json"),
         "bootstrap": ("summary", "bootstrap.csv")}


def copy_damaged(files, kind: str, fault: str, tmp_path):
    """A copy of the file of `kind` with the fault; returns what a stage is given to read it
    (the file, or its folder) and the damaged file."""
    folder, name = KINDS[kind]
    if folder:
        copy = tmp_path / folder
        shutil.copytree(files[folder], copy)
        damage(copy / name, fault)
        return copy, copy / name
    bad = tmp_path / kind / name
    bad.parent.mkdir()
    shutil.copy(files[kind], bad)
    damage(bad, fault)
    return bad, bad


def read_stage(kind: str, given, files, tiny_model, out):
    """The stage that reads a file of `kind`: extraction for a split, evaluation for shards,
    caches and model files, the summary over seeds for a scored run, the comparison report for
    a summary."""
    from tagbench.evaluation.evaluate import evaluate_model
    from tagbench.evaluation.replicates import split_test_tracks, summarize_seeds
    from tagbench.features.shards import extract_shard
    from tagbench.reporting.report import write_comparison
    from tagbench.settings.config import BootstrapSettings, FeatureSettings

    if kind.startswith("split"):
        return extract_shard(given / "test.tsv", files["audio"], 0, 1, out / "000.h5",
                             FeatureSettings())
    if kind == "shard":
        return evaluate_model(tiny_model, [given], out)
    if kind == "cache":
        return evaluate_model(tiny_model, [files["shard"]], out, cache_paths=[given])
    if kind == "model":
        return evaluate_model(given, [files["shard"]], out)
    settings = BootstrapSettings(resamples=20).for_summary()
    if kind in ("summary", "bootstrap"):
        return write_comparison(["v"], [given], [tiny_model], out, settings=settings)
    return summarize_seeds([given], [0], settings, out,
                           split_test_tracks(files["split_test"], settings))


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_damaged_file_stops_its_reader_with_one_line(files, tiny_model, kind, fault, tmp_path):
    given, bad = copy_damaged(files, kind, fault, tmp_path)
    with pytest.raises(DataError) as err:
        read_stage(kind, given, files, tiny_model, tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message and str(bad) in message, message
    assert "delete it and rerun snakemake" in message, message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_one_changed_digit_in_a_figure_file_is_an_error_not_a_figure(files, tmp_path):
    """The fault checksums exist for: a JSON or CSV still well-formed after a flipped bit."""
    from tagbench.evaluation.scoring import read_csv_beside, read_metrics

    summary = tmp_path / "summary"
    shutil.copytree(files["summary"], summary)
    text = (summary / "metrics.json").read_text()
    key = '"roc_auc_macro": 0.'
    assert key in text
    (summary / "metrics.json").write_text(text.replace(key, '"roc_auc_macro": 1.', 1))
    with pytest.raises(DataError, match="metrics.json: corrupted .*sha256 differs"):
        read_metrics(summary / "metrics.json")
    (summary / "metrics.json").write_text(text)
    lines = (summary / "bootstrap.csv").read_text().splitlines()
    lines[1] = lines[1].replace("0.", "0.9", 1)
    (summary / "bootstrap.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="bootstrap.csv: corrupted"):
        read_csv_beside(summary / "bootstrap.csv")


@pytest.mark.parametrize("fault", FAULTS)
def test_a_damaged_annotations_table_is_one_line_naming_it(tiny_demo, fault, tmp_path):
    from tagbench.data.annotations import read_annotations

    header, *rows = (tiny_demo[0] / "annotations_final.csv").read_text().splitlines()
    bad = tmp_path / "annotations_final.csv"  # the demo's rows, 5 times (ids made unique)
    bad.write_text("\n".join([header] + [f'"{r}-{row[1:]}' for r in range(5) for row in rows]) + "\n")
    read_annotations(bad)
    assert bad.stat().st_size > 8192  # the flipped 4 KiB lie inside the rows
    damage(bad, fault)
    with pytest.raises(DataError) as err:
        read_annotations(bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value), err.value


@pytest.mark.parametrize("fault", FAULTS)
def test_damaged_audio_is_a_failed_clip_naming_the_file_or_decodes(files, fault, tmp_path):
    """Audio carries no digest: what no longer decodes is one line in the shard's failed table
    (the rest of the shard is extracted); a cut stream is tagged on what decodes. Flipped bytes
    that still decode would be changed audio, which nothing can tell from the user's own (here
    4 KiB of a short MP3 no longer decode)."""
    from tagbench.data.split_files import read_part
    from tagbench.features.shards import extract_shard, read_index
    from tagbench.settings.config import FeatureSettings

    audio = tmp_path / "audio"
    shutil.copytree(files["audio"], audio)
    first = read_part(files["split_test"]).paths[0]
    damage(audio / first, fault)
    counts = extract_shard(files["split_test"], audio, 0, 1, tmp_path / "000.h5",
                           FeatureSettings())
    index = read_index(tmp_path / "000.h5")
    failed = {path: reason for _, path, reason in index.failed}
    if fault == "truncated":  # what decodes is tagged, as MTT's own truncated files are
        assert failed == {} and counts["failed"] == 0
    else:
        assert list(failed) == [first] and "\n" not in failed[first], failed
        assert failed[first].startswith(f"{audio / first}: " + (
            "empty file (0 bytes)" if fault == "empty" else "cannot decode audio")), failed
    assert counts["clips"] == len(read_part(files["split_test"]).paths) - len(failed)


@pytest.mark.parametrize("kind", ["shard", "cache"])
def test_the_cli_gives_one_line_and_no_traceback(files, tiny_model, kind, tmp_path):
    _, bad = copy_damaged(files, kind, "flipped", tmp_path)
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
