"""Code fingerprints, so Snakemake reruns a stage when the package code behind it changes.

Snakemake tracks a rule's own code but not the modules its command imports. Each rule passes
`code_fingerprint(stage)` as a param; editing any module that stage runs changes the hash,
and Snakemake's params rerun trigger marks that stage's outputs stale.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

HERE = Path(__file__).parent
COMMON = ("__init__.py", "config.py", "errors.py", "cli.py")
STAGES = {
    "demo": ("demo.py", "annotations.py", "frontend.py"),
    "import": ("annotations.py",),
    "acquire": ("acquire.py", "archive.py", "download.py", "annotations.py", "cli_acquire.py"),
    "split": ("split.py", "annotations.py"),
    "features": ("features.py", "frontend.py", "audio.py", "split.py"),
    "train": ("train.py", "models.py", "vggish.py", "stream.py", "metrics.py", "features.py",
              "cli_models.py"),
    "evaluate": ("evaluate.py", "models.py", "vggish.py", "metrics.py", "features.py",
                 "cli_models.py"),
    "report": ("report.py", "split.py", "cli_report.py"),
    "predict": ("predict.py", "evaluate.py", "models.py", "vggish.py", "audio.py", "frontend.py",
                "report.py", "cli_report.py"),
}


@functools.cache
def code_fingerprint(stage: str) -> str:
    digest = hashlib.sha256()
    for name in sorted({*COMMON, *STAGES[stage]}):
        path = HERE / name
        if path.exists():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
