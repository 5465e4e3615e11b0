"""Rerun fingerprints follow the code each stage really runs: not comments, not docstrings."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tagbench.settings import fingerprint
from tagbench.settings.fingerprint import STAGES, code_fingerprint, stage_modules

from .conftest import ROOT

PACKAGE = fingerprint.PACKAGE_DIR  # the package under test (src/tagbench)
FRESH = ("import json; from tagbench.settings import fingerprint as f; print(json.dumps({'file': f.__file__, "
         "'fingerprints': {s: f.code_fingerprint(s) for s in f.STAGES}, "
         "'libraries': {s: f.library_versions(s) for s in ('train', 'features')}}))")


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
    assert {"models.train", "models.inference", "core.metrics", "models.networks", "backbones.vggish",
            "models.stream", "features.shards", "backbones.vggish_frontend", "core.runtime"} <= set(train)
    assert {"models.inference", "backbones.vggish_frontend", "models.networks"} <= set(
        stage_modules("evaluate"))
    # the report reads model files' metadata without TensorFlow
    assert "models.model_file" in stage_modules("report")
    assert "models.networks" not in stage_modules("report")
    assert not any(m.startswith("cli") for s in STAGES for m in stage_modules(s))
    assert "models.train" not in stage_modules("evaluate")
    assert "reporting.report" not in stage_modules("train")
    # MTT unzipping: no model
    assert not {"backbones.vggish", "backbones.vggish_frontend"} & set(stage_modules("acquire"))
    assert "core.runtime" in stage_modules("evaluate") and "core.runtime" in stage_modules("predict")
    # an entry module's subpackage runs when it is imported
    assert "backbones" in stage_modules("weights") and "reporting" in stage_modules("leaderboard")


def test_a_stage_entry_that_is_no_module_is_an_error(monkeypatch):
    monkeypatch.setitem(STAGES, "train", ("models.trian",))
    with pytest.raises(ValueError, match="no module models.trian"):
        stage_modules("train")


def test_comments_and_docstrings_change_nothing(package):
    before = fingerprints(package)
    edit(package / "models/inference.py", '"""Score a stream of', '"""Score (reworded) a stream of')
    edit(package / "models/inference.py", "\nimport numpy as np\n", "\n# a comment\nimport numpy as np\n")
    edit(package / "settings/config.py", "class DemoSettings:\n", "class DemoSettings:\n    # note\n")
    edit(package / "models/__init__.py", '"""Networks', '"""The networks')
    assert fingerprints(package) == before


def fresh(*path) -> dict:
    """What the Snakefile computes: a new interpreter importing tagbench from `path` (ahead of
    the installed one), every stage's fingerprint with the default package directory."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path))}
    proc = subprocess.run([sys.executable, "-c", FRESH], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_code_edit_changes_exactly_the_stages_that_run_it(package):
    """An edited copy of src/, imported by a fresh interpreter as the Snakefile imports it."""
    src = package.parent
    before = fresh(src)
    assert Path(before["file"]).resolve().parents[1] == package.resolve()  # the copy, not src/
    edit(package / "models/inference.py", "batch_size: int = 256", "batch_size: int = 128")
    after = fresh(src)["fingerprints"]
    changed = {s for s in STAGES if after[s] != before["fingerprints"][s]}
    assert changed == {"cache", "train", "evaluate", "predict"}

    edit(package / "reporting/report.py", "dpi=110", "dpi=111")
    changed = {s for s, fp in fresh(src)["fingerprints"].items() if fp != after[s]}
    assert changed == {"report"}


# A module whose normal form is pinned: comments, docstrings, blank lines, quoting and the
# interpreter's version (3.12 tokenizes f-strings in parts, 3.11 as one string) change nothing.
FIXTURE = '''"""Module docstring."""
import numpy as np  # a comment


@decorator(arg="x")
def f(a, *, b=2):
    """Function docstring,
    on two lines."""
    name = f"{a!r:>{b}} and {f'{b}'}"
    text = f"""multi
line {a}"""
    match a:
        case [x, *_]:
            return x, name, text
    return {'k': np.float32(1e-3)}
'''
FIXTURE_DIGEST = "f7c5725265c0c61b"


def normal_digest(source):
    import hashlib

    return hashlib.sha256(fingerprint.normal_form(source)).hexdigest()[:16]


def test_the_normal_form_is_pinned_and_ignores_layout():
    assert normal_digest(FIXTURE) == FIXTURE_DIGEST
    reformatted = (FIXTURE.replace("{'k'", '{"k"').replace("  # a comment", "")
                   .replace('    """Function docstring,\n    on two lines."""\n', "")
                   .replace("    ", "  ").replace("\n\n\n", "\n"))
    assert normal_digest(reformatted) == FIXTURE_DIGEST
    assert normal_digest(FIXTURE.replace("1e-3", "1e-4")) != FIXTURE_DIGEST
    assert normal_digest(FIXTURE.replace("{a!r:", "{a!s:")) != FIXTURE_DIGEST


def other_interpreters():
    """Python 3.11 / 3.12 interpreters on this machine other than the running one."""
    import glob
    import sys

    found = {}
    for path in sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.1[12]*/bin/python3.1?"))):
        version = subprocess.run([path, "-c", "import sys; print(sys.version_info[:2])"],
                                 capture_output=True, text=True).stdout.strip()
        if version and version != str(sys.version_info[:2]):
            found.setdefault(version, path)
    return list(found.values())


def test_code_digests_are_the_same_under_python_3_11_and_3_12():
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]);"
              "from tagbench.settings import fingerprint as f;"
              "print(json.dumps({s: f.code_digest(s) for s in f.STAGES}))")
    here = {stage: fingerprint.code_digest(stage) for stage in STAGES}
    others = other_interpreters()
    if not others:
        pytest.skip("no other Python 3.11/3.12 interpreter on this machine")
    for python in others:
        out = subprocess.run([python, "-c", script, str(ROOT / "src")], capture_output=True,
                             text=True, check=True).stdout
        assert json.loads(out) == here, python
    # the fixture too, as a module: its pinned digest holds under every interpreter
    out = subprocess.run([others[0], "-c", "import hashlib, sys; sys.path.insert(0, sys.argv[1]);"
                          "from tagbench.settings.fingerprint import normal_form;"
                          "print(hashlib.sha256(normal_form(sys.stdin.read())).hexdigest()[:16])",
                          str(ROOT / "src")], input=FIXTURE, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == FIXTURE_DIGEST


def test_declarations_are_no_part_of_a_fingerprint(package):
    """A new setting for one stage, or a reworded error message, reruns nothing: settings
    reach each stage as its params."""
    before = fingerprints(package)
    edit(package / "settings/config.py", "class DemoSettings:\n",
         "class DemoSettings:\n    fade: float = 0.1\n")
    edit(package / "core/errors.py", '"""An audio file could not be decoded', 'X = 1\n    """An audio')
    assert fingerprints(package) == before
    assert not any({"settings.config", "core.errors"} & set(stage_modules(s)) for s in STAGES)


def test_modules_of_a_subpackage_are_part_of_the_stages_that_import_them(package):
    sub = package / "backbones"
    (sub / "net.py").write_text("from ..core.atomic import write_text\nfrom . import helper\nSIZE = 3\n")
    (sub / "helper.py").write_text("from ..core import layout\nWIDTH = 1\n")
    edit(package / "models/networks.py", "from .. import backbones\n",
         "from .. import backbones\nfrom ..backbones.net import SIZE\n")
    fingerprint._module.cache_clear()
    assert {"backbones", "backbones.net", "backbones.helper", "core.atomic", "core.layout"} <= set(
        stage_modules("train", package))
    before = fingerprints(package)
    edit(sub / "helper.py", "WIDTH = 1", "WIDTH = 2")
    after = fingerprints(package)
    changed = {s for s in STAGES if after[s] != before[s]}
    assert changed == {"cache", "train", "evaluate", "predict"}


def test_a_library_upgrade_makes_the_stages_it_computes_stale(tmp_path):
    """As an upgrade leaves it: a newer tensorflow's metadata first on the path (nothing
    patched), seen by a fresh interpreter; only the stages whose code imports it go stale."""
    shadow = tmp_path / "site" / "tensorflow-99.0.dist-info"
    shadow.mkdir(parents=True)
    (shadow / "METADATA").write_text("Metadata-Version: 2.1\nName: tensorflow\nVersion: 99.0\n")
    before, after = fresh(PACKAGE.parent), fresh(PACKAGE.parent, shadow.parent)
    assert before["libraries"]["train"]["tensorflow"] != "99.0"
    changed = {s for s in STAGES if after["fingerprints"][s] != before["fingerprints"][s]}
    assert changed == {"weights", "cache", "train", "evaluate", "predict"}
    assert after["libraries"]["train"]["tensorflow"] == "99.0"
    assert "tensorflow" not in after["libraries"]["features"]


def test_a_backbone_familys_code_reruns_only_its_own_jobs(package):
    """Editing musicnn's front end makes the musicnn features stale, not VGGish's; editing the
    VGGish network retrains VGGish variants, not musicnn ones."""
    def digests(front_end):
        fingerprint._module.cache_clear()
        return {s: code_fingerprint(s, package, front_end) for s in ("features", "cache", "train")}

    before = {fe: digests(fe) for fe in ("vggish", "musicnn")}
    edit(package / "backbones/musicnn_frontend.py", "LOG_SCALE = 10000.0", "LOG_SCALE = 1000.0")
    after = {fe: digests(fe) for fe in ("vggish", "musicnn")}
    assert after["vggish"] == before["vggish"]
    assert all(after["musicnn"][s] != before["musicnn"][s] for s in after["musicnn"])
    edit(package / "backbones/vggish.py", "FC = ((", "FC = ( (")  # layout only: nothing
    assert {fe: digests(fe) for fe in ("vggish", "musicnn")} == after
    edit(package / "backbones/vggish.py", '("fc2", 128, None)', '("fc2", 64, None)')
    edited = {fe: digests(fe) for fe in ("vggish", "musicnn")}
    assert edited["musicnn"] == after["musicnn"] and edited["vggish"]["train"] != after["vggish"]["train"]
    assert edited["vggish"]["features"] == after["vggish"]["features"]  # no network in features


def test_a_module_moved_within_its_subpackage_reruns_exactly_the_stages_that_run_it(package):
    """A move is an edit like any other: the stages whose code includes the module rerun once,
    the others keep their outputs (a later regroup inside a subpackage is as safe as this one)."""
    before = fingerprints(package)
    (package / "models/inference.py").rename(package / "models/patch_scoring.py")
    for path in package.rglob("*.py"):
        text = path.read_text()
        if "inference import" in text:
            path.write_text(text.replace(".inference import", ".patch_scoring import"))
    fingerprint._module.cache_clear()
    assert "models.patch_scoring" in stage_modules("train", package)
    after = fingerprints(package)
    changed = {s for s in STAGES if after[s] != before[s]}
    assert changed == {"cache", "train", "evaluate", "predict"}


def test_deformation_code_is_part_of_deformed_jobs_only(package):
    """Editing how test audio is deformed reruns the deformed parts' extraction and caches, not
    the clean extraction (and all the training behind it)."""
    def digests(deformed):
        fingerprint._module.cache_clear()
        return {s: code_fingerprint(s, package, "vggish", deformed) for s in ("features", "cache")}

    before = {d: digests(d) for d in (False, True)}
    assert "features.deform" not in stage_modules("features", package, "vggish")
    edit(package / "features/deform.py", "MP3_DELAY = 1105", "MP3_DELAY = 1104")
    after = {d: digests(d) for d in (False, True)}
    assert after[False] == before[False] and all(after[True][s] != before[True][s]
                                                 for s in after[True])


def test_the_robustness_report_has_a_stage_of_its_own(package):
    before = fingerprints(package)
    edit(package / "reporting/robustness.py", 'KEY = "roc_auc_macro"', 'KEY = "pr_auc_macro"')
    changed = {s for s in STAGES if fingerprints(package)[s] != before[s]}
    assert changed == {"robustness", "leaderboard"}  # the leaderboard reads its summary


def test_only_the_networks_run_a_family_by_name():
    """The fingerprint follows `family_module` from models.networks alone (`_dispatched`): a new
    caller elsewhere would leave the family's code out of its stage."""
    callers = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
               if "family_module(" in p.read_text()}
    assert callers == {"backbones/__init__.py", "models/networks.py"}
