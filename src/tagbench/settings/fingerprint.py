"""Code fingerprints, so Snakemake reruns a stage exactly when what computes its outputs changes.

Snakemake tracks a rule's own code but not the modules its command imports. Each rule passes
`code_fingerprint(stage)` as a param, and Snakemake's params rerun trigger marks the stage's
outputs stale when it changes. The fingerprint is derived, not listed by hand, from two things:

- the code: the stage's module and every package module it imports, transitively (the static
  import graph, imports inside functions and modules of subpackages included), each reduced to
  its token stream without comments, docstrings, blank lines, indentation widths or string
  quoting. That normal form is the same under every Python version tagbench allows (an
  `ast.dump` is not: it differs between 3.11 and 3.12), so a results folder survives a change
  of interpreter, while any edit to code changes it.
- the versions of the libraries that stage's code imports and that compute numbers
  (`versions.COMPUTING`: NumPy, TensorFlow, librosa, ...): `pip install -U` of one of them
  makes the stages it computes stale. `library_versions(stage)` is what outputs record beside their
  figures.

Two kinds of module are part of no fingerprint. The CLI (`tagbench.cli`) parses arguments and
calls the stage module, which does all the work, writing its outputs included. `DECLARATIONS`:
`config` and `errors` declare settings and error types (a stage's settings reach it as its
rule's params, the whole spec, so adding a setting for one stage or rewording an error message
reruns nothing); `fingerprint` and `versions` are the bookkeeping itself.

Light on purpose (standard library only): the Snakefile computes these while it parses.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import tokenize
from pathlib import Path

from ..backbones import BACKBONES
from ..core import versions

PACKAGE_DIR = Path(__file__).parents[1]
PACKAGE = PACKAGE_DIR.name
ROOT_INIT = "__init__"  # the package's own __init__.py; a subpackage's is named by the package
# Stage -> the module(s) its rule's `tagbench <verb>` calls into (dotted, below the package).
STAGES = {
    "demo": ("data.demo",),
    "import": ("data.custom",),
    "acquire": ("data.acquire",),
    # the built-ins' weights (`backbones.weight_steps`): a job runs its own family's module
    "weights": tuple(dict.fromkeys(b.weights_module for b in BACKBONES.values()
                                   if b.weights_module)),
    "split": ("data.split",),
    "features": ("features.shards",),
    "cache": ("models.backbone_cache", "core.runtime"),
    "train": ("models.train",),
    "evaluate": ("evaluation.evaluate", "core.runtime"),
    "summarize": ("evaluation.replicates",),
    "baseline": ("evaluation.baseline",),
    "report": ("reporting.report",),
    "robustness": ("reporting.robustness",),
    "leaderboard": ("reporting.leaderboard",),
    "predict": ("models.predict", "core.runtime"),
}
# Modules that declare, not compute: their values arrive as params (see the module docstring);
# and the bookkeeping of reruns and library versions itself, which training reads for its resume key.
DECLARATIONS = frozenset({"settings.config", "core.errors", "settings.fingerprint", "core.versions"})
# What loads and runs users' backbones (module paths, entry points, ONNX files): part of their
# jobs' fingerprints, not of the built-ins' (`_other_families`).
USER_BACKBONE_LOADERS = ("backbones.plugins", "backbones.onnx_file")
# What deforms test audio (config robustness): part of the jobs on a deformed test part only, so
# an edit to it (or an audiomentations upgrade) reruns those, not the clean extraction and all
# that follows it.
DEFORMING = ("features.deform",)


def _module_file(name: str, package_dir: Path) -> Path | None:
    """The file of a dotted module name below the package (a subpackage: its __init__.py)."""
    if name == ROOT_INIT:
        path = package_dir / "__init__.py"
        return path if path.is_file() else None
    base = package_dir.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_package(name: str, package_dir: Path) -> bool:
    path = _module_file(name, package_dir)
    return path is not None and path.name == "__init__.py"


def _docstring_lines(tree: ast.AST) -> set[int]:
    """The source lines docstrings occupy (a docstring statement has its lines to itself)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines |= set(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def normal_form(source: str) -> bytes:
    """The code of a module as a token stream that no comment, docstring, blank line,
    indentation width, quoting style or Python version changes."""
    skip = _docstring_lines(ast.parse(source))
    offsets = [0]
    for line in io.StringIO(source):
        offsets.append(offsets[-1] + len(line))

    def text(start, end) -> str:
        return source[offsets[start[0] - 1] + start[1]:offsets[end[0] - 1] + end[1]]

    out: list[str] = []
    fstring_start, depth = None, 0  # Python 3.12 splits f-strings into parts: rejoin them
    fstring_types = {getattr(tokenize, "FSTRING_START", -1), getattr(tokenize, "FSTRING_END", -2)}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == getattr(tokenize, "FSTRING_START", -1):
            fstring_start = fstring_start or tok.start
            depth += 1
            continue
        if depth:
            if tok.type == getattr(tokenize, "FSTRING_END", -2):
                depth -= 1
                if not depth:
                    out.append(text(fstring_start, tok.end))  # as 3.11 tokenizes it: one STRING
                    fstring_start = None
            continue
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER) \
                or tok.type in fstring_types:
            continue
        if tok.start[0] in skip and tok.type not in (tokenize.INDENT, tokenize.DEDENT):
            continue  # a docstring (its block's indentation stays)
        if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE):
            out.append(tokenize.tok_name[tok.type])
        elif tok.type == tokenize.STRING:
            try:
                out.append(repr(ast.literal_eval(tok.string)))
            except ValueError:  # an f-string (Python 3.11 gives it as one STRING)
                out.append(tok.string)
        else:
            out.append(tok.string)
    return "\x1f".join(out).encode()


def _imported(tree: ast.AST, importer: str, package_dir: Path) -> tuple[set[str], set[str]]:
    """(package modules a module imports, top-level names of the other modules it imports).

    Package modules are dotted names below the package: `from . import x`, `from .x import y`,
    `from ..errors import E` in a subpackage, `import tagbench.x.y`. A name imported from a
    package that is no module (`from . import __version__`) counts as that package's init."""
    own = importer if _is_package(importer, package_dir) else importer.rpartition(".")[0]
    own = "" if own == ROOT_INIT else own
    found, external = set(), set()

    def add(base: str, names) -> None:
        if base:
            found.add(base)
        for alias in names:
            sub = f"{base}.{alias}" if base else alias
            found.add(sub if _module_file(sub, package_dir) else (base or ROOT_INIT))

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = own.split(".") if own else []
                parts = parts[:len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, *([node.module] if node.module else [])])
                add(base, [a.name for a in node.names])
            elif node.module == PACKAGE or node.module.startswith(PACKAGE + "."):
                add(node.module[len(PACKAGE) + 1:], [a.name for a in node.names])
            else:
                external.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name[len(PACKAGE) + 1:])
                else:
                    external.add(alias.name.split(".")[0])
    # importing a subpackage's module runs the subpackage's __init__ too
    for name in list(found):
        parts = name.split(".")
        found |= {".".join(parts[:i]) for i in range(1, len(parts))}
    return {n for n in found if _module_file(n, package_dir)}, external


@functools.cache
def _module(path: Path, name: str, package_dir: Path) -> tuple[frozenset[str], frozenset[str], bytes]:
    """(package modules it imports, other modules it imports, its normal form) — each file
    parsed once."""
    source = path.read_text()
    imports, external = _imported(ast.parse(source, filename=str(path)), name, package_dir)
    return frozenset(imports), frozenset(external), normal_form(source)


def _parse(name: str, package_dir: Path):
    return _module(_module_file(name, package_dir), name, package_dir)


def _other_families(front_end: str | None) -> set[str]:
    """The modules of the backbone families a job does not run: a job of one front end's
    features, or of one backbone, is not made stale by another backbone's code."""
    if front_end is None:
        return set()
    from ..backbones import FRONT_ENDS

    other = {m for name, fe in FRONT_ENDS.items() if name != front_end for m in fe.modules}
    # a built-in's job runs no user's backbone: the loaders of those are no part of it
    return other | (set(USER_BACKBONE_LOADERS) if front_end in FRONT_ENDS else set())


def stage_modules(stage: str, package_dir: Path = PACKAGE_DIR, front_end: str | None = None,
                  deformed: bool = False) -> list[str]:
    """The package modules a stage runs: its entry modules and their imports, transitively
    (declarations left out; with `front_end`, the other backbone families' modules too)."""
    package_dir = Path(package_dir).resolve()
    missing = [m for m in STAGES[stage] if _module_file(m, package_dir) is None]
    if missing:  # a stale entry would give a fingerprint that never changes
        raise ValueError(f"fingerprint.STAGES[{stage!r}]: no module {', '.join(missing)}")
    skip = DECLARATIONS | _other_families(front_end) | (set() if deformed else set(DEFORMING))
    # an entry module's own subpackages run on import too (backbones/__init__ for its weights)
    todo = [".".join(m.split(".")[:i]) for m in STAGES[stage] for i in range(1, m.count(".") + 2)]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name in skip or _module_file(name, package_dir) is None:
            continue
        seen.add(name)
        todo += _parse(name, package_dir)[0] - seen
        todo += _dispatched(name) - seen
    return sorted(seen)


def _dispatched(name: str) -> set[str]:
    """What a module imports by name (importlib), not by an import statement: the registry its
    front ends' modules (`FrontEnd.code`), the networks their families' (`Backbone.family`)."""
    from ..backbones import BACKBONES, FRONT_ENDS

    if name == "backbones":
        return {fe.code for fe in FRONT_ENDS.values() if fe.code}
    if name == "models.networks":
        return {b.family for b in BACKBONES.values() if b.family}
    return set()


def library_versions(stage: str, package_dir: Path = PACKAGE_DIR,
                     front_end: str | None = None, deformed: bool = False) -> dict[str, str]:
    """Distribution -> installed version of every computing library the stage's code imports."""
    package_dir = Path(package_dir).resolve()
    imported = set().union(*(_parse(m, package_dir)[1]
                             for m in stage_modules(stage, package_dir, front_end, deformed)))
    return versions.library_versions(imported)


def code_digest(stage: str, package_dir: Path = PACKAGE_DIR, front_end: str | None = None,
                deformed: bool = False) -> str:
    """16 hex digits naming the code a stage runs (not its comments or docstrings)."""
    package_dir = Path(package_dir).resolve()
    digest = hashlib.sha256()
    for name in stage_modules(stage, package_dir, front_end, deformed):
        digest.update(name.encode() + b"\0" + _parse(name, package_dir)[2] + b"\0")
    return digest.hexdigest()[:16]


def code_fingerprint(stage: str, package_dir: Path = PACKAGE_DIR,
                     front_end: str | None = None, deformed: bool = False) -> str:
    """16 hex digits naming the code a stage runs and the versions of the libraries it
    computes with: the rerun param of the stage's rule (of one backbone family's job with
    `front_end`; of a job on a deformed test part with `deformed`)."""
    versions = library_versions(stage, package_dir, front_end, deformed)
    key = (code_digest(stage, package_dir, front_end, deformed)
           + "".join(f"\0{k}={v}" for k, v in versions.items()))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@functools.cache
def plugin_fingerprint(spec) -> str:
    """16 hex digits naming a user's backbone (`backbones.plugins`), not how a config names
    it: every file of its code in the normal form tagbench's own gets (a comment or docstring
    changes nothing), its distribution's name and version when installed, and its weight
    files' declared sha256: the rerun param of the jobs that run it."""
    import os

    digest = hashlib.sha256(f"{spec.distribution}\0".encode())  # not how it is named
    root = Path(os.path.commonpath(spec.code)) if len(spec.code) > 1 else None
    for path in map(Path, spec.code):
        name = path.relative_to(root).as_posix() if root else path.name
        try:
            code = normal_form(path.read_text()) if path.suffix == ".py" else path.read_bytes()
        except (SyntaxError, tokenize.TokenError, UnicodeDecodeError):
            code = path.read_bytes()  # a file it never imports may not parse: its bytes
        digest.update(name.encode() + b"\0" + code + b"\0")
    for sha in sorted(spec.weight_files.values()):  # content, not where the file lies
        digest.update(f"{sha}\0".encode())
    return digest.hexdigest()[:16]
