import re

import pytest

from tagbench.core.errors import ConfigError
from tagbench.settings.config import TrainSettings, from_json, load_settings, to_json, validate

from .conftest import ROOT, run_cli


def test_defaults_are_filled():
    cfg = validate({})
    assert cfg["dataset"] == "demo"
    assert cfg["train"]["batch_size"] == 32 and cfg["train"]["n_active"] == 20
    assert cfg["features"]["shards"] == {"train": 4, "valid": 1, "test": 2}


def test_variant_overrides_train_keys():
    s = load_settings({"train": {"epochs": 12}, "variants": {"a": {"epochs": 5, "head": [8, 8]},
                                                            "b": {}}})
    assert s.variants["a"].epochs == 5 and s.variants["a"].head == (8, 8)
    assert s.variants["b"].epochs == 12 and s.variants["b"].head == (256,)


@pytest.mark.parametrize("raw, message", [
    ({"trian": {}}, "'trian' is not known"),
    ({"train": {"epochs": "ten"}}, "train.epochs"),
    ({"variants": {"v": {"pooling": "mean"}}}, "variants.v.pooling"),
    ({"variants": {"v": {"colour": 1}}}, "variants.v.colour"),
    ({"split": {"test_fraction": 1.5}}, "split.test_fraction"),
    ({"dataset": "custom"}, "custom.annotations"),
    ({"train": {"seeds": []}}, "train.seeds': [] should be non-empty"),
    ({"train": {"seeds": [0, 1, 0]}}, "train.seeds': [0, 1, 0] has non-unique elements"),
    ({"variants": {"v": {"seeds": 3}}}, "variants.v.seeds': 3 is not of type 'array'"),
    ({"evaluate": {"bootstrap": 0}}, "evaluate.bootstrap': 0 is less than the minimum of 1"),
    ({"cache": {"positions_per_patch": 5}}, "cache.positions_per_patch"),
    ({"cache": {"hop": 48}}, "config key 'cache.hop' is not known (allowed: positions_per_patch)"),
    ({"train": {"backbone": "musicnn"}}, "config key 'train.backbone': unknown backbone 'musicnn' "
     "(built in: vggish, MSD_musicnn, MTT_musicnn, MSD_vgg, MTT_vgg; installed: "),
    ({"variants": {"m": {"backbone": "MSD_musicnn", "pooling": "avg"}}},
     "config key 'variants.m.pooling': 'avg' is not a pooling of backbone MSD_musicnn (one of "
     "max_pool, mean_pool, penultimate, taggram)"),
    ({"train": {"weights": "vgish"}},
     "config key 'train.weights': 'vgish' is no backbone's weights (choices: none, vggish"),
    ({"variants": {"m": {"backbone": "MTT_vgg", "pooling": "pool5", "weights": "vggish"}}},
     "config key 'variants.m.weights': 'vggish' is not a weights choice of backbone MTT_vgg "
     "(one of none: loads resources/musicnn/MTT_vgg/variables.index)"),
    ({"variants": {"s": {"head": "shipped", "finetune": False}}},
     "config key 'variants.s.head': 'shipped' is the backbone's own output layer, and backbone "
     "vggish has none (taggers: MSD_musicnn, MTT_musicnn, MSD_vgg, MTT_vgg)"),
    ({"variants": {"s": {"backbone": "MTT_musicnn", "pooling": "taggram", "head": "shipped",
                         "finetune": False}}},
     "config key 'variants.s.head': a shipped head needs the tag set named (tags.list"),
    ({"tags": {"list": "mtt_top50"},
      "variants": {"s": {"backbone": "MSD_musicnn", "pooling": "taggram", "head": "shipped",
                         "finetune": False}}},
     "config key 'tags.list': 42 tag(s) are no output of MSD_musicnn (variants.s.head: shipped): "
     "classical, slow, techno, strings, drums, fast, piano, beat ..."),
    ({"tags": {"top_n": 50, "list": "mtt_top50"}}, "'tags.top_n' and 'tags.list' both set"),
    ({"dataset": "mtt", "split": {"method": "folder"},
      "variants": {"m": {"backbone": "MTT_musicnn", "pooling": "penultimate"}}},
     "config key 'variants.m.backbone': MTT_musicnn was trained on MagnaTagATune folders 0-b and "
     "selected on folder c, and split.method folder tests on folders c-f, c among them: it would "
     "be scored on "
     "clips it learned from. Use split.method: standard"),
    ({"dataset": "mtt", "split": {"method": "group"},
      "variants": {"m": {"backbone": "MTT_musicnn", "pooling": "penultimate"}}},
     "config key 'variants.m.backbone': MTT_musicnn was trained on MagnaTagATune folders 0-b and "
     "selected on folder c, and split.method group tests on folders 0-f, 0, 1, 2, 3, 4, 5, 6, 7, "
     "8, 9, a, b, c among them"),
    ({"dataset": "mtt", "split": {"method": "folder"},
      "variants": {"m": {"backbone": "MTT_vgg", "pooling": "pool5"}}},
     "config key 'variants.m.backbone': MTT_vgg was trained on MagnaTagATune folders 0-b"),
    ({"select_variants": ["nope"]}, "config key 'select_variants': 'nope' is not a variant"),
])
def test_bad_config_names_the_key(raw, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(raw)


def test_each_replicate_gets_settings_of_its_own_seed():
    s = load_settings({"train": {"seeds": [3, 1]}, "variants": {"a": {}, "b": {"seeds": [7]}}})
    assert s.variants["a"].seeds == (3, 1) and s.variants["b"].seeds == (7,)
    one = s.variants["a"].for_seed(1)
    assert one.seed == 1 and one.seeds == (1,) and one.head == s.variants["a"].head
    with pytest.raises(ConfigError, match="a training job takes one"):
        s.variants["a"].seed  # noqa: B018 - a variant of two seeds has no single seed


def test_spec_json_round_trip():
    spec = TrainSettings(head=(4, 2), pooling="autopool")
    assert from_json(TrainSettings, to_json(spec)) == spec
    with pytest.raises(ConfigError, match="unknown keys"):
        from_json(TrainSettings, '{"bogus": 1}')


def test_shipped_config_is_valid_and_has_the_reports_variants():
    from tagbench.settings.config import read_config_file

    s = load_settings(read_config_file(ROOT / "config.yaml"))
    assert set(s.variants) == {"vggish_2fc", "vggish_3fc", "vggish_autopool", "msd_musicnn"}
    assert s.variants["msd_musicnn"].backbone == "MSD_musicnn" and not s.variants["msd_musicnn"].finetune
    assert s.variants["vggish_3fc"].epochs == 5 and s.variants["vggish_3fc"].head == (256, 256)
    assert s.variants["vggish_autopool"].pooling == "autopool"
    assert all(v.output == "sigmoid" for v in s.variants.values())


def test_cli_bad_config_is_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train: {epochs: 0}\n")
    proc = run_cli("make-demo", "--out", tmp_path / "d", "--config", cfg, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "train.epochs" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("dataset, method, backbone", [
    ("mtt", "standard", "MTT_musicnn"),  # test folders d-f: never trained or selected on
    ("mtt", "standard", "MTT_vgg"),
    ("mtt", "folder", "MSD_musicnn"),  # trained on another dataset
    ("demo", "group", "MTT_musicnn"),  # not MTT's clips
])
def test_the_leakage_guard_allows_splits_the_backbone_never_saw(dataset, method, backbone):
    pooling = "pool5" if backbone.endswith("_vgg") else "penultimate"
    s = load_settings({"dataset": dataset, "split": {"method": method},
                       "variants": {"m": {"backbone": backbone, "pooling": pooling}}})
    assert s.variants["m"].backbone == backbone


def test_provenance_says_what_a_figure_measures_and_the_guard_catches_a_lists_split():
    from types import SimpleNamespace

    from tagbench.backbones import provenance
    from tagbench.core.errors import DataError
    from tagbench.evaluation.evaluate import refuse_leak

    assert provenance("MTT_musicnn", "none", "mtt") == "in-domain supervised, not transfer"
    assert provenance("MTT_musicnn", "none", "demo") == "transfer from MTT"
    assert provenance("MSD_vgg", "none", "mtt") == "transfer from MSD"
    assert provenance("vggish", "none", "mtt") == "random weights, no pretraining"

    def part(dataset, *paths):
        return SimpleNamespace(clip_paths=list(paths), split={"dataset": dataset, "method": "lists"})

    refuse_leak("MTT_musicnn", part("mtt", "d/a-b-01-x-0-29.mp3", "f/c-d-02-y-0-29.mp3"), "t.h5")
    listed = ("d/a-b-01-x-0-29.mp3", "3/c-d-02-y-0-29.mp3")
    with pytest.raises(DataError, match="t.h5: the test part holds clips of MTT folder\\(s\\) 3, which "
                                        "MTT_musicnn was trained or"):
        refuse_leak("MTT_musicnn", part("mtt", *listed), "t.h5")
    refuse_leak("MSD_musicnn", part("mtt", *listed), "t.h5")  # trained elsewhere
    refuse_leak("MTT_musicnn", part("demo", *listed), "t.h5")  # not MTT's clips


def test_a_musicnn_variant_inherits_no_vggish_checkpoint():
    s = load_settings({"train": {"weights": "vggish"},
                       "variants": {"v": {}, "m": {"backbone": "MSD_vgg", "pooling": "pool5"}}})
    assert s.variants["v"].weights == "vggish" and s.variants["m"].weights == "none"


def test_kfold_settings_name_their_folds_and_refuse_what_they_cannot_run():
    s = load_settings({"split": {"method": "kfold", "folds": 3, "repeats": 2}})
    assert s.split.fold_names == ["r0f0", "r0f1", "r0f2", "r1f0", "r1f1", "r1f2"]
    one = s.split.for_fold("r1f2")
    assert (one.repeat, one.fold, one.folds, one.method) == (1, 2, 3, "kfold")
    assert load_settings({}).split.fold_names == []
    with pytest.raises(ConfigError, match="config key 'robustness': not scored under split.method "
                                          "kfold"):
        load_settings({"split": {"method": "kfold"}, "robustness": {"noise_snr_db": [20]}})
    with pytest.raises(ConfigError, match="split.folds"):
        load_settings({"split": {"method": "kfold", "folds": 1}})
