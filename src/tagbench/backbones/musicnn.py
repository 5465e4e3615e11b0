"""The four pretrained musicnn models (Pons & Serra 2019) in Keras 3, exact to the trained graphs.

Their front end is `musicnn_frontend` (187-frame patches of a 96-band log-mel, about 3 s).

Networks (the wheel's models.py, and the trained graphs' .meta for the pooling): `musicnn`
(MSD_musicnn, MTT_musicnn) and `vgg` (MSD_vgg, MTT_vgg, which differ in their first two poolings).
Keras layers carry descriptive names; CHECKPOINT_SCOPES maps each to the TF1 variable scope it is
loaded from (`timbral_7x38` -> `conv2d`, `input_bn` -> `batch_normalization`, ...), and a weight's
variable is `{scope}/{weight.name}` (kernel, bias, gamma, beta, moving_mean, moving_variance).
Kernels are stored in Keras' own layouts, so they are set as stored. Every batch norm has epsilon
0.001 and runs in inference mode; dropout is kept (at the trained rates) but inactive at inference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from keras import layers

from ..core.errors import DataError
from . import MSD_TAGS, MSD_TRAINED_ON, MTT_TAGS, MTT_TRAINED_ON
from .musicnn_frontend import N_MELS, PATCH_FRAMES

BN_EPSILON = 0.001

# vgg poolings, (pool size, strides) per block, all VALID. MSD_vgg's first two are not the ones
# musicnn's models.py builds: its trained graph (.meta) pools 4x1/4x1 then 1x4/1x4. Both fit the
# weights' shapes, so the wrong one loads silently, and its taggram is off by 0.26 on the
# reference clip (benchmarks/musicnn_exactness.py).
MTT_VGG_POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)),
                 ((4, 4), (4, 4)))
MSD_VGG_POOLS = (((4, 1), (4, 1)), ((1, 4), (1, 4)), ((2, 2), (2, 2)), ((2, 2), (2, 2)),
                 ((4, 4), (4, 4)))

@dataclass(frozen=True)
class ModelInfo:
    """What a pretrained model is: how to build it, what it outputs, what it was trained on."""
    architecture: str                 # "musicnn" or "vgg"
    tags: tuple[str, ...]             # the 50 outputs, in output order (case matters)
    trained_on: dict = field(hash=False)
    test_roc_auc: float               # the authors' own figures on their test set
    test_pr_auc: float
    vgg_pools: tuple | None = None


MODELS = {
    "MSD_musicnn": ModelInfo("musicnn", MSD_TAGS, MSD_TRAINED_ON, 0.8802, 0.2891),
    "MTT_musicnn": ModelInfo("musicnn", MTT_TAGS, MTT_TRAINED_ON, 0.9067, 0.3831),
    "MSD_vgg": ModelInfo("vgg", MSD_TAGS, MSD_TRAINED_ON, 0.8768, 0.2819, MSD_VGG_POOLS),
    "MTT_vgg": ModelInfo("vgg", MTT_TAGS, MTT_TRAINED_ON, 0.9030, 0.3823, MTT_VGG_POOLS),
}

# Front-end branches: (name, kernel (time, freq), filters, padding). Checkpoint order: conv2d..4.
FRONTEND = (("timbral_7x38", (7, 38), 204, "valid"), ("timbral_7x67", (7, 67), 204, "valid"),
            ("temporal_128", (128, 1), 51, "same"), ("temporal_64", (64, 1), 51, "same"),
            ("temporal_32", (32, 1), 51, "same"))
MIDEND = ("midend_conv1", "midend_conv2", "midend_conv3")
MIDEND_FILTERS = 64
BACKEND_UNITS = 200
N_TAGS = 50


def _musicnn_scopes() -> dict[str, str]:
    """Keras layer -> TF1 scope, in the order the original graph created the layers."""
    convs = [name for name, *_ in FRONTEND] + list(MIDEND)
    scopes = {"input_bn": "batch_normalization"}
    for i, name in enumerate(convs):
        scopes[name] = "conv2d" if i == 0 else f"conv2d_{i}"
        scopes[f"{name}_bn"] = f"batch_normalization_{i + 1}"
    scopes.update({"pool_bn": "batch_normalization_9", "penultimate_dense": "dense",
                   "penultimate_bn": "batch_normalization_10", "output_dense": "dense_1"})
    return scopes


def _vgg_scopes() -> dict[str, str]:
    scopes = {"input_bn": "batch_normalization"}
    for i in range(1, 6):
        scopes[f"conv{i}"] = f"{i}CNN"
        scopes[f"conv{i}_bn"] = f"batch_normalization_{i}"
    scopes["output_dense"] = "dense"
    return scopes


CHECKPOINT_SCOPES = {"musicnn": _musicnn_scopes(), "vgg": _vgg_scopes()}
# Optimizer bookkeeping in the checkpoints (Adam slots, Adam's beta powers), never weights.
OPTIMIZER_VARIABLE = re.compile(r"/Adam(_\d+)?$|^beta[12]_power$|^global_step$")


# --- networks ----------------------------------------------------------------------------------

def _bn(name):
    return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)


def _pad_time(name):
    return layers.ZeroPadding2D(((3, 3), (0, 0)), name=name)


def _max_over_freq(x, name: str):
    """(time, freq, c) -> (time, c): max over all frequency rows (the original's full-width pool)."""
    freq, channels = x.shape[2], x.shape[3]
    x = layers.MaxPooling2D((1, freq), strides=(1, freq), name=f"{name}_pool")(x)
    return layers.Reshape((PATCH_FRAMES, channels), name=f"{name}_squeeze")(x)


def build_musicnn(name: str = "musicnn") -> keras.Model:
    """The musicnn network: (187, 96) log-mel patch -> {taggram (50), logits (50), penultimate
    (200), mean_pool (753), max_pool (753)}. mean/max pools are over time of the 753-d mid-end."""
    inputs = keras.Input((PATCH_FRAMES, N_MELS), name="logmel")
    x = layers.Reshape((PATCH_FRAMES, N_MELS, 1), name="to_image")(inputs)
    x = _bn("input_bn")(x)
    padded = _pad_time("timbral_pad")(x)
    branches = []
    for branch, kernel, filters, padding in FRONTEND:
        y = layers.Conv2D(filters, kernel, padding=padding, activation="relu", name=branch)(
            padded if padding == "valid" else x)
        branches.append(_max_over_freq(_bn(f"{branch}_bn")(y), branch))
    front = layers.Concatenate(axis=2, name="frontend")(branches)            # (187, 561)
    front = layers.Reshape((PATCH_FRAMES, front.shape[2], 1), name="frontend_image")(front)

    # Mid-end: width-7 convolutions over time, each spanning the whole feature axis (VALID on a
    # time-padded input); the (187, 1, 64) output is read as (187, 64, 1), the original's transpose.
    maps, x = [front], front
    for i, conv in enumerate(MIDEND):
        y = _pad_time(f"{conv}_pad")(x)
        y = layers.Conv2D(MIDEND_FILTERS, (7, x.shape[2]), padding="valid", activation="relu",
                          name=conv)(y)
        y = layers.Reshape((PATCH_FRAMES, MIDEND_FILTERS, 1), name=f"{conv}_transpose")(
            _bn(f"{conv}_bn")(y))
        x = y if i == 0 else layers.Add(name=f"{conv}_residual")([y, x])
        maps.append(x)
    midend = layers.Concatenate(axis=2, name="midend")(maps)                 # (187, 753, 1)
    midend = layers.Reshape((PATCH_FRAMES, midend.shape[2]), name="midend_squeeze")(midend)

    # Back end: max and mean over time, interleaved [max_0, mean_0, max_1, ...] as the original
    # stacks them on a last axis before flattening.
    max_pool = layers.GlobalMaxPooling1D(name="max_pool")(midend)
    mean_pool = layers.GlobalAveragePooling1D(name="mean_pool")(midend)
    width = max_pool.shape[1]
    stacked = layers.Concatenate(axis=2, name="pool_stack")(
        [layers.Reshape((width, 1), name="max_pool_column")(max_pool),
         layers.Reshape((width, 1), name="mean_pool_column")(mean_pool)])
    x = _bn("pool_bn")(layers.Flatten(name="pool_interleave")(stacked))      # 1506
    x = layers.Dropout(0.5, name="pool_dropout")(x)
    x = layers.Dense(BACKEND_UNITS, activation="relu", name="penultimate_dense")(x)
    penultimate = _bn("penultimate_bn")(x)
    x = layers.Dropout(0.5, name="penultimate_dropout")(penultimate)
    logits = layers.Dense(N_TAGS, name="output_dense")(x)
    taggram = layers.Activation("sigmoid", name="taggram")(logits)
    return keras.Model(inputs, {"taggram": taggram, "logits": logits, "penultimate": penultimate,
                                "mean_pool": mean_pool, "max_pool": max_pool}, name=name)


def build_vgg(pools=MTT_VGG_POOLS, name: str = "vgg") -> keras.Model:
    """musicnn's vgg baseline: (187, 96) -> {taggram (50), logits (50), pool5 (256)}; pool5 is
    the (2, 1, 128) last pooled map flattened in (time, freq, channel) order, as the dense reads it.
    `pools` differ per model (MODELS[...].vgg_pools)."""
    inputs = keras.Input((PATCH_FRAMES, N_MELS), name="logmel")
    x = layers.Reshape((PATCH_FRAMES, N_MELS, 1), name="to_image")(inputs)
    x = _bn("input_bn")(x)
    for i, (size, strides) in enumerate(pools, start=1):
        x = layers.Conv2D(128, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(size, strides=strides, padding="valid", name=f"pool{i}")(
            _bn(f"conv{i}_bn")(x))
        if i < len(pools):
            x = layers.Dropout(0.25, name=f"pool{i}_dropout")(x)
    pool5 = layers.Flatten(name="pool5_flat")(x)
    logits = layers.Dense(N_TAGS, name="output_dense")(layers.Dropout(0.5, name="pool5_dropout")(pool5))
    taggram = layers.Activation("sigmoid", name="taggram")(logits)
    return keras.Model(inputs, {"taggram": taggram, "logits": logits, "pool5": pool5}, name=name)


def build(model_name: str) -> keras.Model:
    """The network of one of MODELS, with random weights (see load_weights / pretrained)."""
    if model_name not in MODELS:
        raise DataError(f"unknown musicnn model {model_name!r} (one of {', '.join(MODELS)})")
    info = MODELS[model_name]
    if info.architecture == "musicnn":
        return build_musicnn(model_name)
    return build_vgg(info.vgg_pools, model_name)


# --- weights -----------------------------------------------------------------------------------

def _architecture(model: keras.Model) -> str:
    names = {layer.name for layer in model.layers}
    return "musicnn" if "timbral_7x38" in names else "vgg"


def weight_plan(model: keras.Model, shapes: Mapping[str, tuple], source: str = "checkpoint"
                ) -> list[tuple[object, str]]:
    """(Keras weight, checkpoint variable) for every weight of `model`, checked against the
    checkpoint's variable -> shape map: a DataError if a weight has no variable, a shape differs,
    or a model variable (anything but optimizer bookkeeping) would be left unused."""
    scopes = CHECKPOINT_SCOPES[_architecture(model)]
    plan = []
    for layer in model.layers:
        for weight in layer.weights:
            if layer.name not in scopes:
                raise DataError(f"{source}: layer {layer.name} of {model.name} has no checkpoint "
                                "variable: load weights into the backbone alone, before adding a head")
            var = f"{scopes[layer.name]}/{weight.name}"
            if var not in shapes:
                raise DataError(f"{source}: variable {var} (for {layer.name}/{weight.name}) missing: "
                                f"not a {model.name} checkpoint")
            if tuple(shapes[var]) != tuple(weight.shape):
                raise DataError(f"{source}: {var} has shape {tuple(shapes[var])}, {model.name} "
                                f"expects {tuple(weight.shape)}: not a {model.name} checkpoint")
            plan.append((weight, var))
    used = {var for _, var in plan}
    unused = sorted(v for v in shapes if v not in used and not OPTIMIZER_VARIABLE.search(v))
    if unused:
        raise DataError(f"{source}: {len(unused)} variable(s) the {model.name} network does not use "
                        f"({', '.join(unused[:3])}{', ...' if len(unused) > 3 else ''}): "
                        "a different architecture's checkpoint")
    return plan


def assign_weights(model: keras.Model, variables: Mapping[str, np.ndarray], source: str = "checkpoint",
                   shapes: Mapping[str, tuple] | None = None) -> int:
    """Set every weight of `model` from `variables` (name -> array) by name; returns how many.
    `shapes` (name -> shape) spares reading every variable just to check it."""
    if shapes is None:
        shapes = {name: np.shape(value) for name, value in variables.items()}
    plan = weight_plan(model, shapes, source)
    for weight, var in plan:
        weight.assign(np.asarray(variables[var], dtype=weight.dtype))
    return len(plan)


class _Reader(Mapping):
    """A TF checkpoint reader seen as a name -> array mapping, read lazily."""

    def __init__(self, reader):
        self.reader, self.shapes = reader, reader.get_variable_to_shape_map()

    def __getitem__(self, name):
        if name not in self.shapes:
            raise KeyError(name)
        return self.reader.get_tensor(name)

    def __iter__(self):
        return iter(self.shapes)

    def __len__(self):
        return len(self.shapes)


def load_weights(model: keras.Model, checkpoint_prefix: str | Path) -> int:
    """Set all of `model`'s weights from a TF1 checkpoint prefix (`.../variables`, the plain
    prefix unpack_weights writes); returns the number of weights set."""
    import tensorflow as tf

    prefix = str(checkpoint_prefix)
    if not Path(prefix + ".index").is_file():
        raise DataError(f"{prefix}.index: musicnn checkpoint not found: unpack it from the wheel "
                        f"with `tagbench weights musicnn_weights_{Path(prefix).parent.name}` "
                        "(snakemake runs it)")
    try:
        reader = _Reader(tf.train.load_checkpoint(prefix))
    except Exception as err:  # noqa: BLE001 - TF raises several unrelated types here
        raise DataError(f"{prefix}: not a readable TF checkpoint ({type(err).__name__}); "
                        "delete it and unpack it again") from None
    return assign_weights(model, reader, prefix, shapes=reader.shapes)


def pretrained(model_name: str, checkpoint_prefix: str | Path) -> keras.Model:
    """One of MODELS with its trained weights."""
    model = build(model_name)
    load_weights(model, checkpoint_prefix)
    return model


# --- the backbone contract (`backbones.Backbone.family`) ----------------------------------------

def backbone_model(spec, names) -> keras.Model:
    """One model's network alone (random weights from the caller's seed): a (187, 96) log-mel
    patch -> dict of the named outputs."""
    net = build(spec.name)
    return keras.Model(net.input, {n: net.output[n] for n in names}, name=f"{spec.name}_backbone")


def load_backbone(model: keras.Model, spec, weights: str, path) -> str:
    """The model's own trained weights (its `.index` file or prefix) into `model`: the whole
    network (the cache's) directly; a tagger or a pruned path through the whole network, so
    that every variable must still find its weight."""
    from .layers import checkpoint_prefix, copy_weights

    prefix = checkpoint_prefix(path)
    scopes = CHECKPOINT_SCOPES[MODELS[spec.name].architecture]
    weighted = {layer.name for layer in model.layers if layer.weights}
    if weighted == set(scopes):
        n = load_weights(model, prefix)
    else:
        full = build(spec.name)
        n = load_weights(full, prefix)
        copy_weights(full, model)
    return f"{spec.name} weights ({n} variables) loaded from {path}"
