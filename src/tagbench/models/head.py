"""A variant's head described once: the layers after the backbone output its pooling reads.

`head_plan` lists them (name, kind, settings); `networks` builds them as Keras layers and
`NumpyHead` applies them in NumPy, with the weights a model file holds. Scoring a frozen
variant on its backbone cache is a few small matrix products: in NumPy an evaluation job
imports no TensorFlow (its start-up was ~90 % of the job; benchmarks/job_time.py).

Light on purpose (numpy and h5py; no TensorFlow).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field

import h5py
import numpy as np

from .. import backbones
from ..core.errors import DataError
from ..settings.config import TrainSettings

# Keras' BatchNormalization default, given explicitly so that both builds use the same value.
BN_EPSILON = 1e-3
# Temporal poolings that are layers of the head (the others are backbone outputs read as they are).
TIME_POOLINGS = {"avg": ("mean_over_time", "mean"), "autopool": ("autopool", "autopool")}


@dataclass(frozen=True)
class HeadLayer:
    name: str  # the layer's name in the model (weights move by it)
    kind: str  # mean | autopool | batchnorm | dropout | dense | select
    settings: dict = field(default_factory=dict)


def head_plan(pooling: str, head, dropout: float, output: str, n_tags: int,
              indices=None) -> list[HeadLayer]:
    """The head's layers in order: the temporal pooling if the head does it, then per hidden size
    batch-norm + dropout + dense(ReLU), then batch-norm + dropout + dense(n_tags, `output`).
    A shipped head (`indices`: the backbone's own outputs for the dataset's tags) only selects."""
    if indices is not None:
        return [HeadLayer("tags", "select", {"indices": [int(i) for i in indices]})]
    plan = []
    if pooling in TIME_POOLINGS:
        name, kind = TIME_POOLINGS[pooling]
        plan.append(HeadLayer(name, kind, {"axis": 1}))
    blocks = [(f"head{i}", units, "relu") for i, units in enumerate(head, start=1)]
    for prefix, units, activation in [*blocks, ("out", n_tags, output)]:
        plan += [HeadLayer(f"{prefix}_bn", "batchnorm", {"epsilon": BN_EPSILON}),
                 HeadLayer(f"{prefix}_dropout", "dropout", {"rate": dropout}),
                 HeadLayer("tags" if prefix == "out" else f"{prefix}_dense", "dense",
                           {"units": units, "activation": activation})]
    return plan


def shipped_indices(spec: TrainSettings, tags) -> list[int]:
    """Each dataset tag's output of the backbone's own layer; a tag it does not have is one line."""
    own = backbones.backbone(spec.backbone).tags or ()
    missing = [t for t in tags if t not in own]
    if missing:
        raise DataError(f"backbone {spec.backbone} has no output for tag(s) {', '.join(missing)}: "
                        "a shipped head scores only tags it was trained on (set tags.list)")
    return [own.index(t) for t in tags]


def head_plan_of(spec: TrainSettings, n_tags: int, tags=None) -> list[HeadLayer]:
    """A variant's `head_plan` (a shipped head's needs the dataset's tag names)."""
    indices = None
    if spec.shipped_head:
        if tags is None or len(tags) != n_tags:
            raise DataError("a shipped head needs the dataset's tag names")
        indices = shipped_indices(spec, tags)
    return head_plan(spec.pooling, spec.head, spec.dropout, spec.output, n_tags, indices)


# What the trainable weights of each kind are (by position among the layer's variables):
# batch norm's moving mean and variance are not trained.
_TRAINABLE = {"batchnorm": (0, 1), "dense": (0, 1), "autopool": (0,)}


def _snake(name: str) -> str:
    """Keras' name for a layer's group in `model.weights.h5` (keras.src.utils.naming)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _weight_groups(config: dict) -> dict[str, str]:
    """Layer name -> its group in `model.weights.h5`: the class name in snake case, numbered
    from the second of a class on, in the order of the model's layers (Keras' saving format)."""
    used: dict[str, int] = {}
    groups = {}
    for layer in config["config"]["layers"]:
        group = _snake(layer["class_name"])
        if group in used:
            used[group] += 1
            group = f"{group}_{used[group]}"
        else:
            used[group] = 0
        groups[layer["config"]["name"]] = group
    return groups


def _sigmoid(x):
    # exp of a non-positive argument only: no overflow for large |x|
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS = {"relu": lambda x: np.maximum(x, 0), "sigmoid": _sigmoid, "softmax": _softmax,
               "linear": lambda x: x}


class NumpyHead:
    """A frozen variant's head applied in float32 NumPy: what the Keras head computes (to ~1e-6)
    on a batch of cached backbone outputs, and the whole model's parameter counts."""

    def __init__(self, plan, weights: dict[str, list[np.ndarray]], n_params: int):
        self.plan = plan
        self.weights = weights
        self.n_params = n_params
        self.n_trainable_params = int(sum(
            weights[layer.name][i].size for layer in plan for i in _TRAINABLE.get(layer.kind, ())))

    def predict_on_batch(self, x) -> np.ndarray:
        x = np.asarray(x, np.float32)
        for layer in self.plan:
            w, s = self.weights.get(layer.name, []), layer.settings
            if layer.kind == "mean":
                x = x.mean(axis=s["axis"], dtype=np.float32)
            elif layer.kind == "autopool":
                scaled = w[0] * x
                scaled = scaled - scaled.max(axis=s["axis"], keepdims=True)
                weights = np.exp(scaled)
                weights /= weights.sum(axis=s["axis"], keepdims=True)
                x = (x * weights).sum(axis=s["axis"])
            elif layer.kind == "batchnorm":  # inference: the moving statistics
                gamma, beta, mean, variance = w
                inv = gamma / np.sqrt(variance + np.float32(s["epsilon"]))
                x = x * inv + (beta - mean * inv)
            elif layer.kind == "dense":
                x = ACTIVATIONS[s["activation"]](x @ w[0] + w[1])
            elif layer.kind == "select":
                x = x[..., s["indices"]]
            # dropout: the identity at inference
        return x.astype(np.float32, copy=False)


def _policy(dtype) -> str | None:
    """A layer config's dtype policy name (Keras 3 writes a DTypePolicy object; older, a str)."""
    return dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype


def read_numpy_head(path, plan) -> NumpyHead | None:
    """The head of a `.keras` model file as a `NumpyHead`, or None when the file does not hold
    the plan's layers as planned (a model of other code: the caller scores it with Keras)."""
    try:  # the whole member is read: the zip's CRC catches a changed byte
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json"))
            weights_file = io.BytesIO(zf.read("model.weights.h5"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:  # json's error included
        reason = " ".join(f"{type(err).__name__}: {err}".split())[:300]  # one line
        raise DataError(f"{path}: cannot load the model ({reason}): delete it and rerun "
                        "snakemake (it is retrained)") from None
    try:
        return _numpy_head(config, weights_file, plan)
    except (KeyError, TypeError, AttributeError, IndexError):  # a config of another layout
        return None


def _numpy_head(config: dict, weights_file, plan) -> NumpyHead | None:
    groups = _weight_groups(config)
    policies = {layer["config"]["name"]: layer["config"].get("dtype")
                for layer in config["config"]["layers"]}
    if any(_policy(policies.get(layer.name)) != "float32" for layer in plan):
        return None  # mixed precision: the Keras head computes in float16
    weights = {}
    with h5py.File(weights_file, "r") as h5:
        stored = h5["layers"]
        n_params = 0

        def count(_, obj):
            nonlocal n_params
            if isinstance(obj, h5py.Dataset):
                n_params += obj.size

        stored.visititems(count)
        for layer in plan:
            group = groups.get(layer.name)
            if group is None:
                return None
            variables = stored.get(f"{group}/vars")
            weights[layer.name] = ([np.asarray(variables[str(i)], np.float32)
                                    for i in range(len(variables))] if variables else [])
    return NumpyHead(plan, weights, n_params) if _shapes_fit(plan, weights) else None


def _shapes_fit(plan, weights) -> bool:
    """Every layer holds the variables its kind has, in shapes that chain: a batch norm's four
    vectors and an AutoPool's alpha as wide as their input, a dense kernel from that width to its
    units. Weights matched to the wrong layer (another Keras' group names) cannot pass unnoticed
    unless two layers agree in every shape."""
    width = None
    for layer in plan:
        w = weights[layer.name]
        if layer.kind == "batchnorm":
            if len(w) != 4 or len({v.shape for v in w}) != 1 or w[0].ndim != 1 or \
                    width not in (None, w[0].shape[0]):
                return False
            width = w[0].shape[0]
        elif layer.kind == "autopool":
            if len(w) != 1 or w[0].ndim != 1 or width not in (None, w[0].shape[0]):
                return False
            width = w[0].shape[0]
        elif layer.kind == "dense":
            if len(w) != 2 or w[0].shape != (w[0].shape[0], layer.settings["units"]) or \
                    w[1].shape != (layer.settings["units"],) or width not in (None, w[0].shape[0]):
                return False
            width = layer.settings["units"]
        elif w:  # mean, dropout and select hold no variables
            return False
    return True
