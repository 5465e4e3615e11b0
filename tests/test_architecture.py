"""The package's layout shows the DAG: every module sits in a stage's subpackage, and a stage
imports only the stages before it (ARCHITECTURE.md). Imports inside functions count too: they
are what a job runs."""

import ast

import pytest

from tagbench.settings import fingerprint

PACKAGE = fingerprint.PACKAGE_DIR
# Lowest first. The package's own __init__ (the version) is below them all.
LAYERS = ("core", "backbones", "settings", "data", "features", "models", "evaluation", "reporting",
          "cli")


def modules() -> dict[str, ast.Module]:
    """Dotted name below the package -> parsed module, for every module file."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or fingerprint.ROOT_INIT
        out[name] = ast.parse(path.read_text(), filename=str(path))
    return out


def layer(name: str) -> int:
    return -1 if name == fingerprint.ROOT_INIT else LAYERS.index(name.split(".")[0])


def test_every_module_is_in_a_stage_subpackage():
    loose = [n for n in modules() if n != fingerprint.ROOT_INIT and "." not in n
             and n not in LAYERS]
    assert loose == [], "modules outside a stage subpackage (put each in its stage's room)"
    assert {n.split(".")[0] for n in modules()} - {fingerprint.ROOT_INIT} == set(LAYERS)


def test_no_module_imports_a_later_stage():
    upward = []
    for name, tree in modules().items():
        imported, _ = fingerprint._imported(tree, name, PACKAGE)
        upward += [f"{name} -> {other}" for other in sorted(imported) if layer(other) > layer(name)]
    assert upward == []


@pytest.mark.parametrize("source, found", [
    ("from ..reporting.report import write_overview\n", ["core.errors -> reporting.report"]),
    ("def f():\n    from ..models import networks\n", ["core.errors -> models.networks"]),
    ("from . import atomic\n", []),
])
def test_the_direction_check_sees_module_level_and_function_level_imports(source, found):
    """The check itself: an upward import in a core module, at the top or inside a function."""
    tree = ast.parse(source)
    imported, _ = fingerprint._imported(tree, "core.errors", PACKAGE)
    upward = [f"core.errors -> {o}" for o in sorted(imported - {"models", "reporting"})
              if layer(o) > layer("core.errors")]
    assert upward == found


def test_what_the_snakefile_imports_stays_light():
    """Every snakemake call parses the Snakefile: its imports load no numerical library."""
    import subprocess
    import sys

    script = ("import sys; import tagbench.backbones, tagbench.core.errors, tagbench.core.layout, "
              "tagbench.core.deformations, "
              "tagbench.core.tag_lists, tagbench.settings.config, tagbench.settings.fingerprint; "
              "print(sorted({'numpy', 'h5py', 'librosa', 'tensorflow', 'keras', 'pandas', 'scipy'} "
              "& {m.split('.')[0] for m in sys.modules}))")
    snakefile = (fingerprint.PACKAGE_DIR.parents[1] / "Snakefile").read_text()
    imported = {line.split()[1] for line in snakefile.splitlines() if line.startswith("from tagbench")}
    assert imported == {"tagbench.backbones", "tagbench.core.deformations",
                        "tagbench.core.errors", "tagbench.core.layout",
                        "tagbench.core.tag_lists", "tagbench.settings.config",
                        "tagbench.settings.fingerprint"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
