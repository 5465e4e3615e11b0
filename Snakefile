# tagbench: VGGish transfer learning for music auto-tagging, as a Snakemake DAG.
#   audio -> split -> features -> one training job per variant -> evaluation -> report
# Rules are thin `tagbench <verb>` calls; all logic lives in src/tagbench.
import os
import re
import sys
from pathlib import Path

# The package beside this file, and the `tagbench` command of the environment that runs
# snakemake (so `.venv/bin/snakemake` works without activating the venv).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

from tagbench.acquire import MTT_FILES, MTT_PARTS
from tagbench.config import PARTS, load_settings, to_json
from tagbench.errors import ConfigError
from tagbench.fingerprint import code_fingerprint
from tagbench.features import shard_name


configfile: "config.yaml"


envvars:
    "PATH",


try:
    S = load_settings(config)
except ConfigError as err:
    sys.exit(f"tagbench: config error: {err}")

DATASET = S.dataset
ENV = "../../envs/tagbench.yaml"
VGGISH_CKPT = "resources/vggish/vggish_model.ckpt"


wildcard_constraints:
    dataset=DATASET,
    part="|".join(PARTS),
    shard=r"\d{3}",
    variant="|".join(re.escape(v) for v in S.variants),
    mtt_file="|".join(re.escape(f) for f in MTT_FILES),
    mtt_table=r"annotations_final\.csv|clip_info_final\.csv",


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        expand(
            "results/{dataset}/report/{name}",
            dataset=DATASET,
            name=[
                "curves.png",
                "comparison.csv",
                "comparison.md",
                "comparison.png",
                "per_tag_auc.png",
            ],
        ),
        # MTT's clip metadata is part of the dataset download (not read by any stage)
        ["resources/mtt/clip_info_final.csv"] if DATASET == "mtt" else [],
