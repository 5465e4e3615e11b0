"""Which versions of the libraries that compute numbers made an output.

One home for the list: the code fingerprints (`fingerprint`) make a stage stale when a library
its code imports changes version, and model files and metrics files record `libraries`, so two
results can be checked for "the same requirements.lock" by reading them. Light (standard
library only): the Snakefile imports it through `fingerprint`.
"""

from __future__ import annotations

from importlib import metadata

# Top-level import name -> distribution, for every third-party library whose version can
# change a figure (decoding, resampling, features, networks, metrics, storage, plots).
COMPUTING = {"numpy": "numpy", "scipy": "scipy", "librosa": "librosa", "soundfile": "soundfile",
             "soxr": "soxr", "tensorflow": "tensorflow", "keras": "keras", "sklearn": "scikit-learn",
             "pescador": "pescador", "h5py": "h5py", "pandas": "pandas", "matplotlib": "matplotlib",
             "onnxruntime": "onnxruntime", "audiomentations": "audiomentations",
             "lameenc": "lameenc", "python_stretch": "python-stretch",
             "iterstrat": "iterative-stratification"}


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def library_versions(modules=COMPUTING) -> dict[str, str]:
    """Distribution -> installed version, for the computing libraries among `modules`
    (top-level import names; default: all of them)."""
    return dict(sorted((COMPUTING[m], version(COMPUTING[m])) for m in set(modules) & set(COMPUTING)))
