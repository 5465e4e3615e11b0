"""The install story: pins agree, and the README's commands are what CI runs."""

import re
import tomllib

import yaml

from .conftest import ROOT


def pyproject_pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(d.split("==") for d in deps)


def test_every_runtime_dependency_is_pinned():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", d) for d in deps), deps


def test_conda_env_has_the_same_pins():
    env = yaml.safe_load((ROOT / "envs/tagbench.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = dict(p.split("==") for p in pip if "==" in p)
    assert conda_pins == pyproject_pins()


def test_lock_file_agrees_with_the_direct_pins():
    def norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    lock = {norm(k): v for k, v in (line.split("==") for line in
            (ROOT / "requirements.lock").read_text().splitlines()
            if "==" in line and not line.startswith("#"))}
    for name, version in pyproject_pins().items():
        assert lock.get(norm(name)) == version, name


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    lines = [ln.strip() for ln in (ROOT / "README.md").read_text().splitlines()]
    commands = [ln for ln in lines if ln.startswith("make ")][:2]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci/run").read_text()


def test_ruff_is_clean():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "scripts"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_package_data_globs_ship_the_files_the_code_reads():
    """An editable install reads files in place: a glob that no longer matches (after a move)
    would ship a wheel without the schema, the published rows or the tag lists."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = ROOT / "src" / "tagbench"
    shipped = {p.resolve() for glob in data["tagbench"] for p in package.glob(glob)}
    from tagbench.core.tag_lists import SHIPPED_DIR
    from tagbench.reporting.leaderboard import PUBLISHED
    from tagbench.settings.config import SCHEMA_PATH

    needed = {SCHEMA_PATH.resolve(), PUBLISHED.resolve(), *(p.resolve() for p in SHIPPED_DIR.glob("*.txt"))}
    assert needed and needed <= shipped, needed - shipped
