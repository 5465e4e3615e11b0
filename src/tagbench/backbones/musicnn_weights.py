"""The musicnn weights as a pinned artifact: the PyPI wheel musicnn==0.1.0, used as a container.

The wheel cannot be installed or imported (it requires numpy<1.17); `fetch_wheel` only downloads
it with pip (no dependencies) and checks its published sha256, and `unpack_weights` extracts one
model's two checkpoint files under a plain prefix TF can read (the wheel's own `checkpoint` state
file points to the authors' machine), checking each against the sha256 in the wheel's RECORD.

    python -m tagbench.backbones.musicnn_weights fetch resources/musicnn   (what `make setup` runs)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..core.digests import sha256_of
from ..core.errors import DataError, TagbenchError

REQUIREMENT = "musicnn==0.1.0"
WHEEL_NAME = "musicnn-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
DATA, INDEX = ".data-00000-of-00001", ".index"  # a model's members: musicnn/{model}/{suffix}
FILES = {INDEX: "variables.index", DATA: "variables.data-00000-of-00001"}  # -> out_dir/{model}/
# From the wheel's RECORD (and the reference README): model -> member suffix -> sha256.
WEIGHT_SHA256 = {
    "MSD_musicnn": {DATA: "8579734ee6388f799ed0def4bbd0d1fdcbeaf213ef2a9dc860917bd76a303de6",
                    INDEX: "87f3e0f3550c8d3bafc840374003e5c8af5eeb5ecf6add61af09a7822d3282c8"},
    "MTT_musicnn": {DATA: "041f3935e981a65cea739842d30c188d3a7d2adf4410955c8668eb3de4a5acab",
                    INDEX: "da2d7bb670b2b31e9bc441bb1bd75eca31b5b061f963cc1f9630c1aff3238f57"},
    "MSD_vgg": {DATA: "9683d756b8311146534f333502ebf4a2a78a3e320c54ab0411dff6186d8375fc",
                INDEX: "50e499238457558bba9f34f8b84d4afb8279afd43520cdf0a4fdf805a49c9ca3"},
    "MTT_vgg": {DATA: "458f5c8bcecc086a3bba3dce83809df6da6e0a3560a59ddd84711bf3d5fd8303",
                INDEX: "4b0d3d2d02bbe0919c063c1fb74bfa9018ac3517e362d681b07444d4207a5f5f"},
}
PREFIX = "variables"
CHUNK = 1 << 20


def by_hand(dest_dir: str | Path) -> str:
    """The fix for a machine without the registry, for the end of an error message."""
    return (f"without access to PyPI, run `pip download --no-deps {REQUIREMENT}` on another "
            f"machine and copy {WHEEL_NAME} to {Path(dest_dir)}/")


def _pip_reason(stderr: str) -> str:
    """pip's own one-line reason (its last ERROR line), for a one-line DataError."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no output"])[-1].removeprefix("ERROR: ")


def fetch_wheel(dest_dir: str | Path, index_url: str | None = None,
                sha256: str = WHEEL_SHA256) -> Path:
    """`dest_dir`/musicnn-0.1.0-py3-none-any.whl, verified; downloaded with pip if absent.

    Idempotent: a wheel already there with the right sha256 is kept without running pip. A wheel
    with another checksum is never used (nor replaced: the user placed it) and a download that
    fails its checksum is deleted; each is a DataError naming the file and the fix.
    """
    dest_dir = Path(dest_dir)
    wheel = dest_dir / WHEEL_NAME
    if wheel.is_file():
        actual = sha256_of(wheel)
        if actual != sha256:
            raise DataError(f"{wheel}: sha256 {actual} is not the published {sha256}: delete it "
                            f"and rerun `make setup` (or {by_hand(dest_dir)})")
        return wheel
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".musicnn-download-", dir=dest_dir) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "--no-input", REQUIREMENT, "-d", tmp]
        if index_url:
            cmd += ["--index-url", index_url]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        got = Path(tmp) / WHEEL_NAME
        if proc.returncode != 0 or not got.is_file():
            raise DataError(f"{wheel}: pip could not download {REQUIREMENT} "
                            f"({_pip_reason(proc.stderr + proc.stdout)}); {by_hand(dest_dir)}")
        actual = sha256_of(got)
        if actual != sha256:
            raise DataError(f"{wheel}: the downloaded wheel's sha256 {actual} is not the published "
                            f"{sha256} (deleted): check the index, or {by_hand(dest_dir)}")
        os.replace(got, wheel)
    return wheel


def _unpacked_ok(target: Path, expected: dict[str, str]) -> bool:
    return all((target / name).is_file() and sha256_of(target / name) == expected[suffix]
               for suffix, name in FILES.items())


def unpack_weights(wheel_path: str | Path, out_dir: str | Path, model: str,
                   checksums: dict = WEIGHT_SHA256) -> Path:
    """Extract `model`'s checkpoint from the wheel to out_dir/{model}/variables.{index,data-...};
    returns that prefix (for musicnn.load_weights). Each file is checked against `checksums`
    (model -> member suffix -> sha256) before it is renamed into place, the data file before the
    index, so a reader never sees a partial checkpoint; an intact earlier unpack is kept."""
    wheel_path, out_dir = Path(wheel_path), Path(out_dir)
    if model not in checksums:
        raise DataError(f"unknown musicnn model {model!r} (one of {', '.join(checksums)})")
    expected = checksums[model]
    target = out_dir / model
    if _unpacked_ok(target, expected):
        return target / PREFIX
    if not wheel_path.is_file():
        raise DataError(f"{wheel_path}: musicnn wheel not found: run `make setup` (or `python -m "
                        f"tagbench.backbones.musicnn_weights fetch {wheel_path.parent}`); "
                        f"{by_hand(wheel_path.parent)}")
    try:
        archive = zipfile.ZipFile(wheel_path)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{wheel_path}: not a readable wheel ({err}): delete it and rerun "
                        "`make setup`") from None
    target.mkdir(parents=True, exist_ok=True)
    staged = []
    try:
        with archive:
            for suffix, name in FILES.items():
                member = f"musicnn/{model}/{suffix}"
                tmp = target / f".{name}.{os.getpid()}.tmp"
                staged.append((tmp, target / name))
                try:
                    with archive.open(member) as src, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, CHUNK)
                except KeyError:
                    raise DataError(f"{wheel_path}: {member} missing: not the {WHEEL_NAME} "
                                    "wheel; delete it and rerun `make setup`") from None
                actual = sha256_of(tmp)
                if actual != expected[suffix]:
                    raise DataError(f"{wheel_path}: {member} has sha256 {actual}, not the published "
                                    f"{expected[suffix]}: the wheel was altered; delete it and "
                                    f"rerun `make setup` (or {by_hand(wheel_path.parent)})")
        for tmp, final in sorted(staged, key=lambda pair: pair[1].name.endswith(".index")):
            os.replace(tmp, final)  # the data file first, the index (what TF opens) last
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return target / PREFIX


# --- the workflow's jobs (`backbones.weight_steps`) --------------------------------------------

SECTION = "musicnn"  # its config section: wheel


def steps(section: dict) -> list:
    """The wheel, then each model's checkpoint out of it (where the registry loads it from)."""
    from . import BACKBONES, WeightStep

    module, wheel = __name__.split(".", 1)[1], section["wheel"]
    out = [WeightStep("musicnn_wheel", module, SECTION, (wheel,), rerun_on_code=False)]
    for name, spec in BACKBONES.items():
        if spec.weights_module == module:
            index = spec.weights_file("none")
            out.append(WeightStep(f"musicnn_weights_{name}", module, SECTION,
                                  (index, index.removesuffix(INDEX) + DATA), (wheel,), arg=name,
                                  front_end=spec.front_end))
    return out


def run_step(step, section: dict, download: dict) -> str:
    """Fetch the wheel, or unpack one model's checkpoint from it; returns the log line."""
    if not step.arg:
        return f"musicnn wheel: {fetch_wheel(Path(step.outputs[0]).parent)}"
    prefix = unpack_weights(step.inputs[0], Path(step.outputs[0]).parents[1], step.arg)
    return f"{step.arg}: weights checked and unpacked to {prefix}.*"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "fetch":
        print("usage: python -m tagbench.backbones.musicnn_weights fetch DEST_DIR", file=sys.stderr)
        return 2
    try:
        print(fetch_wheel(args[1]))
    except TagbenchError as err:
        print(f"tagbench: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
