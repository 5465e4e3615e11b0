"""Backbones tagbench does not ship: a user's class, named by module path or by entry point.

A config names one as `train.backbone: "my_package.my_module:MyModel"` (imported from the
Python path: the working directory, `PYTHONPATH`, or an installed package), or by the name an
installed distribution declares under the entry-point group `tagbench.backbones`
(`[project.entry-points."tagbench.backbones"] my_model = "my_package.my_module:MyModel"`, the
convention of pytest and Snakemake plugins). The class carries the contract as attributes
(docs/backbones.md; `examples/backbones/` is a complete one):

    name          the cache folder and the name shown (letters, digits, _ and -)
    sample_rate   Hz: audio is decoded and resampled once, to this rate (soxr)
    input         "waveform" (mono windows of `patch_seconds`, every `hop_seconds`) or a
                  tagbench log-mel front end it reads patches of ("vggish", "musicnn")
    patch_seconds, hop_seconds   the window and its step (waveform input; hop defaults to it)
    outputs       {output name: (size,)}: per-patch vectors the cache stores and a head reads
    poolings      optional {pooling: output} (default: each output is a pooling of its name)
    tags          optional: a tagger's own tags, the order of its `taggram` output
    trained_on    required: {"dataset": ..., "name": ..., "folders": ...} (what provenance and
                  the leakage guard read), "unknown" (shown as such), or "none" (not trained)
    weights       optional {file: sha256}: relative to the project (where snakemake runs), or
                  absolute; each is checked against its sha256 before the backbone runs
    __init__(weights)      weights: {file as declared: its path}; loads the model once per job
    __call__(patches)      (n, samples) or (n, frames, n_mels) float32 -> {output: (n, *shape)}

Such a backbone is frozen-only: tagbench caches its outputs once per shard and trains heads on
them; its model file is the head alone, and `predict` runs the backbone, then the head.

Light on purpose: the Snakefile resolves config backbones while it parses; a plugin module
should import its numerical libraries inside `__init__` / `__call__`, not at the top.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import re
import sys
from pathlib import Path

from ..core.errors import DataError

ENTRY_POINTS = "tagbench.backbones"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
TRAINED_ON_WORDS = ("unknown", "none")


def is_reference(ref: str) -> bool:
    """Whether `ref` names a class by module path (`package.module:Class`)."""
    return ":" in ref and not ref.endswith(".onnx")


def entry_points() -> dict[str, str]:
    """Entry-point name -> `module:attr`, for every installed distribution's backbones."""
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=ENTRY_POINTS)}


def load_class(ref: str):
    """Import `module:attr` (the working directory first on the path, as `python -m` does);
    a failure is one line naming the reference and the fix."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise DataError(f"backbone {ref!r}: a module path is 'package.module:Class'")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise DataError(f"backbone {ref!r}: cannot import {module_name} ({err}); install its "
                        "package or put it on PYTHONPATH") from None
    except Exception as err:  # noqa: BLE001 - a plugin's own import error, any type
        raise DataError(f"backbone {ref!r}: importing {module_name} failed "
                        f"({type(err).__name__}: {err}); fix the plugin") from None
    try:
        return functools.reduce(getattr, attr.split("."), module)
    except AttributeError:
        raise DataError(f"backbone {ref!r}: {module_name} has no {attr}") from None


def code_files(cls) -> tuple[Path, ...]:
    """The files a plugin's code lives in: every .py file of its top-level package (or its one
    module), what its results are stale against (an ONNX file's: its sidecar)."""
    if hasattr(cls, "tagbench_code"):
        return tuple(cls.tagbench_code)
    module = sys.modules[cls.__module__]
    top = sys.modules.get(cls.__module__.split(".")[0], module)
    path = getattr(top, "__file__", None)
    if path is None:
        return ()
    path = Path(path)
    if path.name == "__init__.py":
        return tuple(sorted(p for p in path.parent.rglob("*.py") if "__pycache__" not in p.parts))
    return (path,)


def distribution(cls) -> str | None:
    """`name==version` of the installed distribution that holds the plugin's package, if any."""
    if hasattr(cls, "tagbench_code"):
        return None
    top = cls.__module__.split(".")[0]
    names = importlib.metadata.packages_distributions().get(top, [])
    if not names:
        return None
    return f"{names[0]}=={importlib.metadata.version(names[0])}"


def weight_paths(cls, declared: dict[str, str]) -> dict[str, str]:
    """Declared weight file -> its path (relative ones as given: from the project's folder)."""
    return {name: str(Path(name)) for name in declared}
