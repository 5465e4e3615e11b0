"""The model file format: a Keras `.keras` zip with a `tagbench.json` member of metadata (tags,
front end, backbone, pooling, aggregation, training provenance), so the file stands alone.

Light on purpose (no TensorFlow): the report and the leaderboard read the metadata of model
files without loading a network (`models.networks.load_model` loads one).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from ..core.atomic import atomic_path
from ..core.errors import DataError

METADATA_NAME = "tagbench.json"


def model_description(spec: dict) -> dict:
    """What a metrics file says about the model that made it (the leaderboard's columns)."""
    keys = ("backbone", "pooling", "head", "weights", "finetune", "backbone_seed", "epochs",
            "patches_per_clip")
    return {k: spec[k] for k in keys if k in spec}


def save_with_metadata(model, path: str | Path, metadata: dict) -> None:
    """Save a Keras model as a `.keras` file with a `tagbench.json` metadata member, atomically.

    Parameters
    ----------
    model : keras.Model
        The model to save.
    path : str or Path
        The `.keras` file.
    metadata : dict
        JSON-serialisable: tags, front end, backbone, pooling, aggregation, provenance.
    """
    with atomic_path(path) as tmp:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as zf:
            zf.writestr(METADATA_NAME, json.dumps(metadata, indent=1, sort_keys=True))


def read_metadata(path: str | Path) -> dict:
    """Read a model file's `tagbench.json` without loading the network (no TensorFlow).

    Raises
    ------
    DataError
        If the file is missing or not a `.keras` zip holding `tagbench.json`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model file not found (train the variant first)")
    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read(METADATA_NAME))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError):
        raise DataError(f"{path}: corrupted or not a tagbench model (a .keras file with "
                        f"{METADATA_NAME}): delete it and rerun snakemake (it is retrained)") from None
