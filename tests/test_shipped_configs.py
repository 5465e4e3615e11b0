"""Every config the project ships loads and dry-runs as its header says to run it: config.yaml
alone, each configs/*.yaml with `--configfile` on top of it (found by glob, so a new config is
covered as soon as it is added), and the real snakemake plans the jobs its settings imply."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tagbench.settings.config import read_config_file

from .conftest import ROOT, planned, snakemake

pytestmark = pytest.mark.workflow

CONFIGS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "configs").glob("*.yaml"))
RUN_LINE = re.compile(r"^#.*\bsnakemake\b.*--configfile((?:\s+\S+\.yaml)+)\s*$")


def documented_layers(config: str) -> list[str]:
    """The `--configfile` files of the run line in a config's leading comment block (none for
    config.yaml, which the Snakefile reads itself)."""
    if config == "config.yaml":
        return []
    for line in (ROOT / config).read_text().splitlines():
        if not line.startswith("#"):
            break
        if m := RUN_LINE.match(line):
            return m[1].split()
    return []


def layered_settings(layers):
    """config.yaml with the layers merged on top, as snakemake merges them (nested keys)."""
    from snakemake.utils import update_config

    from tagbench.settings.config import load_settings

    raw = read_config_file(ROOT / "config.yaml")
    for layer in layers:
        update_config(raw, read_config_file(ROOT / layer))
    return load_settings(raw)


# keys a config may add to config.yaml's own experiment without making another one: it extends
# that experiment (more outputs from the same trained models), it overwrites nothing
EXTENDING = {"robustness"}


def extends(config: str) -> bool:
    """A layered config that only adds outputs to config.yaml's experiment (e.g. robustness)."""
    return config != "config.yaml" and set(read_config_file(ROOT / config)) <= EXTENDING


def expected_plan(s) -> dict[str, int]:
    """Rule -> job count a fresh workdir's dry run must plan for settings `s`: a training and an
    evaluation job per variant and seed; every part's VGGish features (the baseline's); a
    variant's own front end's parts and, when frozen, its backbone's caches of them (no train
    part for a shipped head: its job reads the valid part); the downloads and imports its
    dataset and weights need."""
    from tagbench.backbones import BACKBONES, cache_name, weight_steps
    from tagbench.core.layout import MTT_FILES, PARTS

    variants = s.variants.values()
    runs = sum(len(v.seeds) for v in variants)
    plan = {"split": 1, "train": runs, "evaluate": runs, "summarize": len(s.variants),
            "baseline": 1, "report_curves": 1, "report_compare": 1, "leaderboard": 1, "all": 1,
            **{"demo": {"make_demo": 1}, "custom": {"import_custom": 1},
               "mtt": {"download_mtt": len(MTT_FILES), "mtt_audio": 1, "mtt_table": 2}}[s.dataset]}
    features, caches = {("vggish", p) for p in PARTS}, set()
    for v in variants:
        parts = ("valid", "test") if v.shipped_head else PARTS
        features |= {(BACKBONES[v.backbone].front_end, p) for p in parts}
        if not v.finetune:
            caches |= {(cache_name(v.backbone, v.weights, v.backbone_seed), p) for p in parts}
    # config robustness: the test part once more per deformation, in every front end and frozen
    # backbone a variant reads it with (not the baseline's), every variant and seed scored on it
    fronts = {BACKBONES[v.backbone].front_end for v in variants}
    frozen = {cache_name(v.backbone, v.weights, v.backbone_seed) for v in variants if not v.finetune}
    deformed = len(s.robustness)
    plan["extract"] = sum(s.shards[p] for _, p in features) + deformed * s.shards["test"] * len(fronts)
    if caches:
        plan["cache_backbone"] = (sum(s.shards[p] for _, p in caches)
                                  + deformed * s.shards["test"] * len(frozen))
    if deformed:
        plan.update(evaluate_deformed=runs * deformed,
                    summarize_deformed=len(s.variants) * deformed, report_robustness=1)
    # the weights jobs the variants' checkpoints need, and the jobs those need (a wheel)
    folds = len(s.split.fold_names)
    if folds:  # split.method kfold: each fold's DAG, then one report over the folds
        for rule in ("split", "train", "evaluate", "baseline", "extract", "cache_backbone"):
            if rule in plan:
                plan[rule] *= folds
        for rule in ("summarize", "report_curves", "report_compare"):
            del plan[rule]
        plan["cross_validate"] = 1
    made_by = {out: step for step in weight_steps(s.weights).values() for out in step.outputs}
    todo = [BACKBONES[v.backbone].weights_file(v.weights) for v in variants]
    while todo:
        step = made_by.get(todo.pop())
        if step and step.name not in plan:
            plan[step.name] = 1
            todo += step.inputs
    if s.predict.audio_dir:
        plan["predict"] = 1
    return plan


def fake_drumkits(workdir):
    """What `make drums` leaves before snakemake runs (scripts/get_drumkits.sh: the kits, then
    `tagbench import-drumkits`), from one small recorded kit of two instruments."""
    import soundfile as sf

    from tagbench.data.drumkits import import_drumkits

    kit = workdir / "resources/drumkits/kits/Millo-Drums_v.1"
    kit.mkdir(parents=True)
    for name in ("bd.wav", "snare.wav"):
        sf.write(kit / name, np.zeros(4410, np.float32), 44100)
    (kit / "drumkit.xml").write_text(
        "<drumkit_info><name>Millo-Drums_v.1</name><instrumentList>"
        "<instrument><id>0</id><filename>bd.wav</filename><name>Kick</name></instrument>"
        "<instrument><id>1</id><filename>snare.wav</filename><name>Snare</name></instrument>"
        "</instrumentList></drumkit_info>")
    import_drumkits(kit.parent, workdir / "resources/drumkits", kits=(kit.name,))


# custom datasets that shipped configs name -> what brings them into a workdir
CUSTOM_DATASETS = {"resources/drumkits/annotations_final.csv": fake_drumkits}


@pytest.mark.parametrize("config", ["config.yaml", *CONFIGS])
def test_a_shipped_config_dry_runs_as_documented_and_plans_its_experiment(config, tmp_path):
    """The run line in the config's header, in a fresh workdir: the dry run succeeds, writes
    under the config's own experiment and plans exactly the training and evaluation jobs (one
    per variant and seed) and the data, cache and weight jobs its loaded settings imply."""
    layers = documented_layers(config)
    assert config == "config.yaml" or (layers and layers[-1] == config), (
        f"{config}: its header has no run line `snakemake ... --configfile ... {config}`")
    settings = layered_settings(layers)
    if layers and not extends(config):  # config.yaml's demo variants merge into every layered
        # config unless it selects
        named = {v for f in layers for v in read_config_file(ROOT / f).get("variants", {})}
        assert set(settings.variants) <= named, (
            f"{config}: runs config.yaml's demo variant(s) {sorted(set(settings.variants) - named)}"
            " (set select_variants)")
        own = set(read_config_file(ROOT / config).get("variants", {}))
        assert own <= set(settings.variants), (
            f"{config}: its own variant(s) {sorted(own - set(settings.variants))} do not run "
            "(select_variants)")
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    if settings.dataset == "custom":
        make = CUSTOM_DATASETS.get(settings.custom_annotations)
        assert make, f"{config}: no fake for custom dataset {settings.custom_annotations}"
        make(tmp_path)
    proc = snakemake(tmp_path, "-n", *(["--configfile", *(str(ROOT / f) for f in layers)]
                                       if layers else []))
    text = proc.stdout + proc.stderr  # snakemake reports a failed DAG on stdout
    assert proc.returncode == 0, text[-3000:]
    assert planned(proc) == expected_plan(settings)
    runs = {(v, str(seed)) for v, spec in settings.variants.items() for seed in spec.seeds}
    exp = re.escape(settings.experiment) + (r"/folds/r0f0" if settings.split.fold_names else "")
    for what, pattern in (("train", rf"results/{exp}/models/([\w.-]+)/seed(\d+)/model\.keras"),
                          ("evaluate", rf"results/{exp}/eval/([\w.-]+)/seed(\d+)/metrics\.json")):
        assert set(re.findall(pattern, text)) == runs, f"{config}: {what} jobs"
    assert f"results/{settings.experiment}/report/comparison.csv" in text


def test_each_shipped_config_writes_its_own_experiment():
    """Experiments share results/ (and the leaderboard): two configs with one experiment name
    would overwrite each other's results."""
    names = {c: layered_settings(documented_layers(c)).experiment for c in ["config.yaml", *CONFIGS]
             if not extends(c)}
    assert len(set(names.values())) == len(names), names


def test_the_drum_config_needs_its_kits_imported_first(tmp_path):
    """configs/drums.yaml reads an imported table no rule makes (`make drums` imports it before
    snakemake): a dry run without it stops with one line naming the file and the fix."""
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    proc = snakemake(tmp_path, "-n", "--configfile", str(ROOT / "configs/drums.yaml"))
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == (
        "tagbench: config error: config key 'custom.annotations': "
        "resources/drumkits/annotations_final.csv: file not found (fix the path; "
        "configs/drums.yaml's table comes from `make drums`)"), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
