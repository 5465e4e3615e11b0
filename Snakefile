# tagbench: transfer learning for music auto-tagging from pretrained backbones, as a Snakemake DAG.
#   audio -> split -> features (-> frozen backbone cache) -> one training job per variant
#   -> evaluation -> report
# Rules are thin `tagbench <verb>` calls; all logic lives in src/tagbench.
import json
import os
import re
import sys
from pathlib import Path

# The package beside this file, and the `tagbench` command of the environment that runs
# snakemake (so `.venv/bin/snakemake` works without activating the venv).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
# TensorFlow's many allocator threads grow glibc arenas by ~470 MB over the first ~100 batches;
# two arenas keep a predict/train job's memory flat (benchmarks/README.md).
os.environ.setdefault("MALLOC_ARENA_MAX", "2")

# Light modules only (no numpy, h5py, librosa or TensorFlow): every snakemake call parses this.
from tagbench.backbones import (
    CACHE_PATTERN,
    DEFAULT,
    FRONT_ENDS,
    backbone,
    cache_name,
    parse_cache_name,
    weight_paths,
    weight_steps,
)
from tagbench.core.deformations import SEPARATOR, split_part
from tagbench.core.errors import ConfigError
from tagbench.core.layout import MTT_FILES, MTT_PARTS, PARTS, shard_name
from tagbench.core.tag_lists import list_path
from tagbench.settings.config import load_settings, to_json
from tagbench.settings.fingerprint import code_fingerprint, plugin_fingerprint


configfile: "config.yaml"


envvars:
    "PATH",
    "MALLOC_ARENA_MAX",


try:
    S = load_settings(config)
except ConfigError as err:
    sys.exit(f"tagbench: config error: {err}")

DATASET = S.dataset
# Users' backbones the variants name (module path or entry point; load_settings checked them),
# by their cache name: the cache rule runs them, and their code and weights are its params.
USER_BACKBONES = {
    b.name: b for b in (backbone(v.backbone) for v in S.variants.values()) if b.frozen_only
}
# Everything a run derives lives under results/{EXPERIMENT}/ (config `experiment`, default: the
# dataset's name); downloads and audio stay in resources/{DATASET}/, shared by experiments
# (a custom import in resources/custom/{EXPERIMENT}/).
EXPERIMENT = S.experiment
# split.method kfold: every fold (r{repeat}f{fold}) is a sub-experiment of its own, its whole DAG
# under results/{EXPERIMENT}/folds/{fold}/; the experiment's own folder gets the cross-validated
# summaries and report (rule cross_validate).
FOLDS = S.split.fold_names
FOLD_DIRS = [f"results/{EXPERIMENT}/folds/{f}" for f in FOLDS]
# A custom dataset's imported table is per experiment: two custom experiments (the drum kits and
# a user's own) do not overwrite each other's and make the other's results stale.
CUSTOM_DIR = f"resources/custom/{EXPERIMENT}"
DATA_DIR = CUSTOM_DIR if DATASET == "custom" else f"resources/{DATASET}"
if DATASET == "custom" and not Path(S.custom_annotations).is_file():
    sys.exit(f"tagbench: config error: config key 'custom.annotations': {S.custom_annotations}: "
             "file not found (fix the path; configs/drums.yaml's table comes from `make drums`)")
if S.predict.audio_dir and not Path(S.predict.audio_dir).is_dir():
    sys.exit(f"tagbench: config error: config key 'predict.audio_dir': {S.predict.audio_dir}: "
             "folder not found")
ENV = "../../envs/tagbench.yaml"
# The log-mel the baseline floor's statistics are computed from: the default backbone's.
BASELINE_FRONT_END = backbone(DEFAULT).front_end
# The jobs that put the built-ins' trained weights in place, declared by their families (each
# reads its config section), by rule name.
WEIGHT_STEPS = weight_steps(S.weights)

# `snakemake --report` opens on an overview written by the report rules (dataset, split, tags,
# headline metrics); before they have run, on the static description.
OVERVIEW = Path(f"results/{EXPERIMENT}/report/overview.rst").resolve()


report: str(OVERVIEW) if OVERVIEW.is_file() else "workflow/report/workflow.rst"


wildcard_constraints:
    experiment="|".join(re.escape(d.removeprefix("results/")) for d in FOLD_DIRS)
    or re.escape(EXPERIMENT),
    # a split part, or the test part deformed (config robustness: `test~noise_snr_db=20`)
    part="|".join([*PARTS, *(re.escape(f"test{SEPARATOR}{d}") for d in S.robustness)]),
    deformation="|".join(map(re.escape, S.robustness)) or "(?!)",
    shard=r"\d{3}",
    backbone="|".join([CACHE_PATTERN, *map(re.escape, USER_BACKBONES)]),
    front_end="|".join({*FRONT_ENDS, *(b.front_end for b in USER_BACKBONES.values())}),
    seed=r"\d+",
    variant="|".join(re.escape(v) for v in S.variants),
    mtt_file="|".join(re.escape(f) for f in MTT_FILES),
    mtt_table=r"annotations_final\.csv|clip_info_final\.csv",


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/predict.smk"


rule all:
    default_target: True
    input:
        expand(
            "results/{experiment}/report/{name}",
            experiment=EXPERIMENT,
            name=CV_REPORT if FOLDS else [
                "curves.png",
                "comparison.csv",
                "comparison.md",
                "differences.csv",
                "comparison.png",
                "forest.png",
                "roc_pr.png",
                "per_tag_auc.png",
                "overview.rst",
            ],
        ),
        # every experiment under results/, beside published numbers
        expand("results/leaderboard.{ext}", ext=["csv", "md", "png"]),
        # MTT's clip metadata is part of the dataset download (not read by any stage)
        ["resources/mtt/clip_info_final.csv"] if DATASET == "mtt" else [],
        # every variant on the deformed test parts, when robustness is set
        (
            expand("results/{experiment}/report/robustness.{ext}", experiment=EXPERIMENT,
                   ext=["csv", "png"])
            if S.robustness
            else []
        ),
        # your own audio tagged by one variant, when predict.audio_dir is set
        # (cross-validated: the first fold's model)
        (
            f"{FOLD_DIRS[0] if FOLDS else f'results/{EXPERIMENT}'}/predict/{S.predict.variant}.csv"
            if S.predict.audio_dir
            else []
        ),
