"""The evaluation-time leakage guard on real shards: a backbone trained on MTT folders is never
scored on a test part holding those folders' clips, and the guard fails closed when the shards
do not say what split they hold (it must not switch off silently if split information stopped
reaching them)."""

import json
import shutil

import h5py
import pytest

from tagbench.core.errors import DataError


@pytest.fixture(scope="module")
def mtt_test_shard(tiny_demo, tmp_path_factory):
    """The tiny demo's clips under resources/mtt/ (the dataset a split records is the
    annotations' folder name), split by folder (test c-f) and the test part extracted."""
    from tagbench.data.annotations import read_annotations
    from tagbench.data.split import make_split, write_split
    from tagbench.features.shards import extract_shard
    from tagbench.settings.config import FeatureSettings, SplitSettings

    root, _ = tiny_demo
    mtt = tmp_path_factory.mktemp("resources") / "mtt"
    mtt.mkdir()
    shutil.copy(root / "annotations_final.csv", mtt / "annotations_final.csv")
    (mtt / "audio").symlink_to(root / "audio")
    ann = read_annotations(mtt / "annotations_final.csv")
    split = make_split(ann, SplitSettings(valid_fraction=0.2),
                       str(mtt / "annotations_final.csv"))
    out = mtt.parent / "split"
    write_split(split, ann, out)
    shard = mtt.parent / "test" / "000.h5"
    extract_shard(out / "test.tsv", mtt / "audio", 0, 1, shard, FeatureSettings())
    return shard


def model_claiming(backbone, tiny_model, path):
    """The tiny model's file with its metadata naming another backbone (the guard reads the
    model file's backbone and the shards' split; the network itself never runs)."""
    from tagbench.models.model_file import read_metadata, save_with_metadata
    from tagbench.models.networks import load_model

    model, _ = load_model(tiny_model)
    meta = read_metadata(tiny_model)
    meta["spec"] = {**meta["spec"], "backbone": backbone}
    save_with_metadata(model, path, meta)
    return path


def test_a_real_folder_split_of_mtt_is_refused_for_a_backbone_trained_on_its_folders(
        mtt_test_shard, tiny_model, tmp_path):
    from tagbench.evaluation.evaluate import evaluate_model

    with h5py.File(mtt_test_shard) as h5:
        split = json.loads(h5.attrs["split"])
    assert split["dataset"] == "mtt" and split["test_folders"] == "cdef"
    model = model_claiming("MTT_musicnn", tiny_model, tmp_path / "mtt_musicnn.keras")
    with pytest.raises(DataError, match=f"{mtt_test_shard}: the test part holds clips of MTT "
                                        "folder\\(s\\) c, which MTT_musicnn was trained or "
                                        "selected on"):
        evaluate_model(model, [mtt_test_shard], tmp_path / "e")
    assert not (tmp_path / "e" / "metrics.json").exists()
    # the same shard for a backbone trained elsewhere is scored
    other = model_claiming("vggish", tiny_model, tmp_path / "vggish.keras")
    assert evaluate_model(other, [mtt_test_shard], tmp_path / "ok")["n_clips"] > 0


def test_shards_without_split_provenance_are_refused_not_scored(mtt_test_shard, tiny_model,
                                                                 tmp_path):
    from tagbench.evaluation.evaluate import evaluate_model

    stripped = tmp_path / "000.h5"
    shutil.copy(mtt_test_shard, stripped)
    with h5py.File(stripped, "a") as h5:
        del h5.attrs["split"]
    model = model_claiming("MTT_musicnn", tiny_model, tmp_path / "mtt_musicnn.keras")
    with pytest.raises(DataError, match="the test shards do not name their dataset .* rerun the "
                                        "split and the extraction \\(snakemake --forcerun split\\)"):
        evaluate_model(model, [stripped], tmp_path / "e")
    # a split made without its dataset's name (an annotations path) is refused alike
    with h5py.File(stripped, "a") as h5:
        h5.attrs["split"] = json.dumps({"method": "folder", "dataset": ""})
    with pytest.raises(DataError, match="the test shards do not name their dataset"):
        evaluate_model(model, [stripped], tmp_path / "e")
    # and scored for a backbone not trained on MTT folders
    other = model_claiming("MSD_musicnn", tiny_model, tmp_path / "msd.keras")
    assert evaluate_model(other, [stripped], tmp_path / "ok")["n_clips"] > 0
