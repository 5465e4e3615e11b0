"""Code fingerprints, so Snakemake reruns a stage exactly when the package code it runs changes.

Snakemake tracks a rule's own code but not the modules its command imports. Each rule passes
`code_fingerprint(stage)` as a param, and Snakemake's params rerun trigger marks the stage's
outputs stale when it changes. The fingerprint is derived, not listed by hand: the stage's
module and every package module it imports, transitively (the static import graph, imports
inside functions included), each hashed on its syntax tree with docstrings removed, so an edit
to a comment, a docstring or formatting changes nothing and any edit to code does. The CLI
(`tagbench.cli`) is part of no stage: it parses arguments and calls the stage module, which
does all the work, writing its outputs included.

Light on purpose (ast and hashlib only): the Snakefile computes these while it parses.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
PACKAGE = PACKAGE_DIR.name
# Stage -> the module(s) its rule's `tagbench <verb>` calls into.
STAGES = {
    "demo": ("demo",),
    "import": ("custom",),
    "acquire": ("acquire",),
    "checkpoint": ("checkpoint",),
    "split": ("split",),
    "features": ("features",),
    "cache": ("backbone_cache", "runtime"),
    "train": ("train",),
    "evaluate": ("evaluate", "runtime"),
    "summarize": ("replicates",),
    "baseline": ("baseline",),
    "report": ("report",),
    "leaderboard": ("leaderboard",),
    "predict": ("predict", "runtime"),
}


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _module_file(name: str, package_dir: Path) -> Path | None:
    path = package_dir / f"{name}.py"
    return path if path.is_file() else None


def _imported_modules(tree: ast.AST, package_dir: Path) -> set[str]:
    """Package modules a module imports: `from . import x`, `from .x import y`, `tagbench.x`.
    A name imported from the package itself that is no module (`from . import __version__`)
    counts as `__init__`."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and not (node.module or "").startswith(PACKAGE):
                continue
            base = (node.module or "") if node.level else node.module[len(PACKAGE) + 1:]
            if base:
                found.add(base.split(".")[0])
            else:
                found |= {a.name if _module_file(a.name, package_dir) else "__init__"
                          for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith(PACKAGE + ".")}
    return {name for name in found if _module_file(name, package_dir)}


@functools.cache
def _module(path: Path) -> tuple[frozenset[str], bytes]:
    """(package modules it imports, its code without docstrings) — each file parsed once."""
    tree = ast.parse(path.read_text(), filename=str(path))
    imports = frozenset(_imported_modules(tree, path.parent))
    return imports, ast.dump(_without_docstrings(tree)).encode()


def stage_modules(stage: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """The package modules a stage runs: its entry modules and their imports, transitively."""
    package_dir = Path(package_dir).resolve()
    missing = [m for m in STAGES[stage] if _module_file(m, package_dir) is None]
    if missing:  # a stale entry would give a fingerprint that never changes
        raise ValueError(f"fingerprint.STAGES[{stage!r}]: no module {', '.join(missing)}")
    todo, seen = list(STAGES[stage]), set()
    while todo:
        name = todo.pop()
        path = _module_file(name, package_dir)
        if name in seen or path is None:
            continue
        seen.add(name)
        todo += _module(path)[0] - seen
    return sorted(seen)


def code_fingerprint(stage: str, package_dir: Path = PACKAGE_DIR) -> str:
    """16 hex digits naming the code a stage runs (not its comments or docstrings)."""
    package_dir = Path(package_dir).resolve()
    digest = hashlib.sha256()
    for name in stage_modules(stage, package_dir):
        digest.update(name.encode() + b"\0" + _module(package_dir / f"{name}.py")[1] + b"\0")
    return digest.hexdigest()[:16]
