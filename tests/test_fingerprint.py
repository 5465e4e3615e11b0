"""Rerun fingerprints follow the code each stage really runs: not comments, not docstrings."""

import shutil

import pytest

from tagbench import fingerprint
from tagbench.fingerprint import STAGES, code_fingerprint, stage_modules

from .conftest import ROOT

PACKAGE = ROOT / "src" / "tagbench"


@pytest.fixture
def package(tmp_path):
    """A copy of the package to edit."""
    copy = tmp_path / "tagbench"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def fingerprints(package_dir):
    fingerprint._module.cache_clear()  # the files were edited
    return {stage: code_fingerprint(stage, package_dir) for stage in STAGES}


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))


def test_stages_include_what_they_import_and_not_the_cli():
    train = stage_modules("train")
    assert {"train", "inference", "metrics", "models", "vggish", "stream", "features",
            "frontend", "runtime"} <= set(train)
    assert {"inference", "frontend", "models"} <= set(stage_modules("evaluate"))
    assert "models" in stage_modules("report")
    assert not any(m.startswith("cli") for s in STAGES for m in stage_modules(s))
    assert "train" not in stage_modules("evaluate") and "report" not in stage_modules("train")
    assert not {"vggish", "frontend"} & set(stage_modules("acquire"))  # MTT unzipping: no model
    assert "runtime" in stage_modules("evaluate") and "runtime" in stage_modules("predict")


def test_a_stage_entry_that_is_no_module_is_an_error(monkeypatch):
    monkeypatch.setitem(STAGES, "train", ("trian",))
    with pytest.raises(ValueError, match="no module trian"):
        stage_modules("train")


def test_comments_and_docstrings_change_nothing(package):
    before = fingerprints(package)
    edit(package / "inference.py", '"""Score lists of', '"""Score (reworded) lists of')
    edit(package / "inference.py", "\nimport numpy as np\n", "\n# a comment\nimport numpy as np\n")
    edit(package / "config.py", "class DemoSettings:\n", "class DemoSettings:\n    # note\n")
    assert fingerprints(package) == before


def test_a_code_edit_changes_exactly_the_stages_that_run_it(package):
    before = fingerprints(package)
    edit(package / "inference.py", "batch_size: int = 256", "batch_size: int = 128")
    after = fingerprints(package)
    changed = {s for s in STAGES if after[s] != before[s]}
    assert changed == {"cache", "train", "evaluate", "predict"}

    edit(package / "report.py", "dpi=110", "dpi=111")
    changed = {s for s, fp in fingerprints(package).items() if fp != after[s]}
    assert changed == {"report"}
