"""`python -m tagbench_basic_pitch fetch [DEST]`: the pinned basic-pitch wheel, checked, and
its ONNX model extracted to DEST (default resources/basic_pitch/), checked too."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from . import WEIGHTS, WEIGHTS_SHA256

REQUIREMENT = "basic-pitch==0.4.0"
WHEEL_SHA256 = "738adb503aae7fdfc7d1e1511aa0ce35052315f260a19531ef4c356708425db0"
MEMBER = "basic_pitch/saved_models/icassp_2022/nmp.onnx"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(dest: Path) -> Path:
    out = dest / Path(WEIGHTS).name
    if out.is_file() and sha256(out.read_bytes()) == WEIGHTS_SHA256:
        return out
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                               "--only-binary", ":all:", "--disable-pip-version-check",
                               REQUIREMENT, "-d", tmp], capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode or not wheels:
            sys.exit(f"tagbench_basic_pitch: pip download {REQUIREMENT} failed: "
                     f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
        if sha256(wheels[0].read_bytes()) != WHEEL_SHA256:
            sys.exit(f"tagbench_basic_pitch: {wheels[0].name} is not the pinned wheel (sha256)")
        data = zipfile.ZipFile(wheels[0]).read(MEMBER)
    if sha256(data) != WEIGHTS_SHA256:
        sys.exit(f"tagbench_basic_pitch: {MEMBER} in the wheel is not the pinned model (sha256)")
    dest.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".part")
    tmp_out.write_bytes(data)
    tmp_out.replace(out)
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "fetch":
        sys.exit("usage: python -m tagbench_basic_pitch fetch [DEST]")
    print(fetch(Path(sys.argv[2] if len(sys.argv) > 2 else Path(WEIGHTS).parent)))
