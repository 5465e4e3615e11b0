import json

import h5py
import numpy as np
import pytest

from tagbench.data.split_files import read_part
from tagbench.features.audio import clip_logmel
from tagbench.features.shards import FeatureStore, extract_shard, read_index, shard_of
from tagbench.settings.config import FeatureSettings

from .conftest import write_part, write_wav


def test_shard_assignment_is_a_stable_partition():
    ids = [str(i) for i in range(500)]
    shards = [shard_of(i, 4) for i in ids]
    assert shards == [shard_of(i, 4) for i in ids]
    assert set(shards) == {0, 1, 2, 3}
    import zlib
    assert shard_of("2", 16) == zlib.crc32(b"2") % 16


def test_shards_hold_full_logmel_labels_and_attributes(tiny_demo, tiny_features):
    root, _ = tiny_demo
    split_dir = tiny_features["train"][0].parent.parent / "split"
    part = read_part(split_dir / "train.tsv")
    store = FeatureStore(tiny_features["train"])
    assert sorted(store.clip_ids) == sorted(part.clip_ids)  # every clip in exactly one shard
    i = store.clip_ids.index(part.clip_ids[0])
    expected = clip_logmel(root / "audio" / part.paths[0], "soxr_hq")
    got = store.logmel(i)
    assert got.shape == expected.shape and got.shape[1] == 64
    assert np.abs(got - expected).max() < 4e-3  # float16 storage: step 0.004 near 4
    assert (store.labels[i] == part.labels[0]).all()
    with h5py.File(tiny_features["train"][0]) as h5:
        assert h5["labels"].dtype == np.uint8
        assert h5["clip_offsets"][0] == 0 and h5["clip_offsets"][-1] == len(h5["logmel"])
        assert json.loads(h5.attrs["tags"]) == part.tags
        params = json.loads(h5.attrs["feature_params"])
        assert params["hop"] == 160 and params["n_mels"] == 64 and params["dtype"] == "float16"


def test_failed_files_are_recorded_and_the_rest_is_written(tmp_path):
    audio = tmp_path / "audio"
    write_wav(audio / "0" / "good-0-1.wav", np.random.default_rng(0).normal(0, 0.1, 24000))
    write_wav(audio / "0" / "short-0-1.wav", np.zeros(3000))  # 0.19 s: padded, not dropped
    (audio / "0" / "corrupt-0-1.mp3").write_bytes(b"this is not audio\n" * 50)
    (audio / "0" / "empty-0-1.mp3").write_bytes(b"")
    tsv = tmp_path / "train.tsv"
    write_part(tsv, "clip_id\ttrack\tmp3_path\tt\n" + "".join(
        f"{i}\tx\t0/{n}\t1\n" for i, n in enumerate(
            ["good-0-1.wav", "short-0-1.wav", "corrupt-0-1.mp3", "empty-0-1.mp3"])))
    out = tmp_path / "000.h5"
    counts = extract_shard(tsv, audio, 0, 1, out, FeatureSettings())
    assert counts["clips"] == 2 and counts["failed"] == 2
    index = read_index(out)
    assert index.clip_ids == ["0", "1"]
    assert np.diff(index.offsets).tolist() == [1 + (24000 - 400) // 160, 96]
    failed = {row[0]: row[2] for row in index.failed}
    assert set(failed) == {"2", "3"}
    assert "corrupt-0-1.mp3" in failed["2"] and "empty" in failed["3"]
    assert not list(tmp_path.glob(".*.tmp*"))  # temporary file renamed away


def test_float32_storage_is_exact(tmp_path):
    write_wav(tmp_path / "a" / "0" / "x-0-1.wav", np.random.default_rng(1).normal(0, 0.1, 20000))
    tsv = tmp_path / "t.tsv"
    write_part(tsv, "clip_id\ttrack\tmp3_path\tt\n1\tx\t0/x-0-1.wav\t0\n")
    spec = FeatureSettings(dtype="float32")
    extract_shard(tsv, tmp_path / "a", 0, 1, tmp_path / "s.h5", spec)
    got = FeatureStore([tmp_path / "s.h5"]).logmel(0)
    assert np.array_equal(got, clip_logmel(tmp_path / "a" / "0" / "x-0-1.wav", spec.resample))


def test_a_shard_that_fails_while_being_finished_is_not_left_behind(tmp_path):
    from tagbench.features.shards import ShardWriter

    out = tmp_path / "000.h5"
    with pytest.raises(ValueError), ShardWriter(out, ["a", "b"], FeatureSettings(dtype="float16")) as w:
        w.add("1", "0/x.mp3", [1, 0], np.zeros((96, 64), np.float32))
        w.add("2", "0/y.mp3", [1, 0, 1], np.zeros((96, 64), np.float32))  # labels of another width
    assert not out.exists() and not list(tmp_path.iterdir())
    with pytest.raises(RuntimeError), ShardWriter(out, ["a"], FeatureSettings(dtype="float16")) as w:
        w.add("1", "0/x.mp3", [1], np.zeros((96, 64), np.float32))
        raise RuntimeError("killed mid-shard")
    assert not list(tmp_path.iterdir())
