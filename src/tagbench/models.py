"""Tagging models: the VGGish backbone + a pooling + a head, all chosen by a variant's settings.

pooling: `avg` / `max` (global over the 6x4 pool4 map; the report used avg), `autopool`
(mean over frequency, then AutoPool over the 6 time steps), `embedding` (the official fc
layers' 128-d output). head: for each hidden size, batch-norm + dropout + dense(ReLU); then
batch-norm + dropout + dense(n_tags) with a sigmoid (multi-label, binary cross-entropy).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras
from keras import layers, ops

from . import vggish
from .atomic import atomic_path
from .config import TrainSettings
from .errors import DataError

METADATA_NAME = "tagbench.json"


@keras.saving.register_keras_serializable(package="tagbench")
class AutoPool1D(layers.Layer):
    """AutoPool (McFee, Salamon & Bello, 2018): softmax(alpha * x)-weighted mean over `axis`.

    One learned alpha per feature: alpha = 0 is the mean, alpha -> inf the max, alpha -> -inf
    the min. (The `autopool` package targets Keras 2; this is the Keras 3 equivalent.)
    """

    def __init__(self, axis: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        self.alpha = self.add_weight(name="alpha", shape=(input_shape[-1],),
                                     initializer="zeros", trainable=True)

    def call(self, x):
        scaled = ops.cast(self.alpha, x.dtype) * x
        scaled = scaled - ops.max(scaled, axis=self.axis, keepdims=True)
        weights = ops.exp(scaled)
        weights = weights / ops.sum(weights, axis=self.axis, keepdims=True)
        return ops.sum(x * weights, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return tuple(d for i, d in enumerate(input_shape) if i != self.axis % len(input_shape))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@keras.saving.register_keras_serializable(package="tagbench")
class AxisMean(layers.Layer):
    """Mean over one axis (a named, serialisable layer instead of a Lambda)."""

    def __init__(self, axis: int, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, x):
        return ops.mean(x, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return tuple(d for i, d in enumerate(input_shape) if i != self.axis % len(input_shape))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def build_model(spec: TrainSettings, n_tags: int) -> keras.Model:
    """A compiled-ready (uncompiled) model; same spec + seed -> the same initial weights."""
    keras.utils.set_random_seed(spec.seed)
    inputs = keras.Input((96, 64), name="logmel")
    feature_map = vggish.conv_stack(inputs)
    if spec.pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="pool_avg")(feature_map)
    elif spec.pooling == "max":
        x = layers.GlobalMaxPooling2D(name="pool_max")(feature_map)
    elif spec.pooling == "autopool":
        over_freq = AxisMean(axis=2, name="mean_over_freq")(feature_map)
        x = AutoPool1D(axis=1, name="autopool")(over_freq)
    elif spec.pooling == "embedding":
        _, _, x = vggish.fc_stack(feature_map)
    else:  # the schema refuses this; a spec built by hand may not
        raise DataError(f"unknown pooling {spec.pooling!r} (avg, max, autopool, embedding)")
    for i, units in enumerate(spec.head, start=1):
        x = layers.BatchNormalization(name=f"head{i}_bn")(x)
        x = layers.Dropout(spec.dropout, name=f"head{i}_dropout")(x)
        x = layers.Dense(units, activation="relu", name=f"head{i}_dense")(x)
    x = layers.BatchNormalization(name="out_bn")(x)
    x = layers.Dropout(spec.dropout, name="out_dropout")(x)
    outputs = layers.Dense(n_tags, activation=spec.output, name="tags", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name=f"tagger_{spec.pooling}")
    if not spec.finetune:
        for name in (*vggish.CONV_LAYERS, *vggish.FC_LAYERS):
            try:
                model.get_layer(name).trainable = False
            except ValueError:
                pass
    return model


def save_with_metadata(model: keras.Model, path: str | Path, metadata: dict) -> None:
    """model.save + a `tagbench.json` member in the .keras zip: tags, feature params, pooling,
    aggregation - everything `tagbench predict` needs, so the model file stands alone."""
    with atomic_path(path) as tmp:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as zf:
            zf.writestr(METADATA_NAME, json.dumps(metadata, indent=1, sort_keys=True))


def read_metadata(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model file not found (train the variant first)")
    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read(METADATA_NAME))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError):
        raise DataError(f"{path}: not a tagbench model (.keras file with {METADATA_NAME})") from None


def load_model(path: str | Path) -> tuple[keras.Model, dict]:
    metadata = read_metadata(path)
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as err:  # noqa: BLE001 - Keras raises many types for a damaged file
        raise DataError(f"{path}: cannot load the model ({type(err).__name__}: {err})") from None
    return model, metadata
