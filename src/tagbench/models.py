"""Tagging models: the VGGish backbone + a pooling + a head, all chosen by a variant's settings.

pooling: `avg` / `max` (global over the 6x4 pool4 map; the report used avg), `autopool`
(mean over frequency, then AutoPool over the 6 time steps), `embedding` (the official fc
layers' 128-d output). head: for each hidden size, batch-norm + dropout + dense(ReLU); then
batch-norm + dropout + dense(n_tags) with a sigmoid (multi-label, binary cross-entropy).

The model is built as backbone outputs (`BACKBONE_OUTPUTS`) + a head stack, so a frozen
variant's head can train alone on cached backbone outputs (`build_head`) and be put back into
the whole model by layer name (`copy_weights`).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from . import vggish
from .config import TrainSettings
from .errors import DataError
from .frontend import EXAMPLE_FRAMES, N_MELS
from .model_file import read_metadata


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


# What the frozen backbone hands each pooling (and so what the backbone cache stores per patch):
# name -> per-patch shape. avg and autopool both start from the pool4 map averaged over its 4
# frequency rows (avg then averages the 6 time steps, which equals the global 6x4 average).
BACKBONE_OUTPUTS = {"pool4_freq_mean": (6, 512), "pool4_max": (512,), "embedding": (128,)}
POOLING_INPUT = {"avg": "pool4_freq_mean", "autopool": "pool4_freq_mean", "max": "pool4_max",
                 "embedding": "embedding"}


def backbone_outputs(logmel, names) -> dict:
    """The backbone's per-patch outputs `names` (keys of BACKBONE_OUTPUTS) for a (96, 64) input."""
    feature_map = vggish.conv_stack(logmel)
    out = {}
    if "pool4_freq_mean" in names:
        out["pool4_freq_mean"] = AxisMean(axis=2, name="mean_over_freq")(feature_map)
    if "pool4_max" in names:
        out["pool4_max"] = layers.GlobalMaxPooling2D(name="pool_max")(feature_map)
    if "embedding" in names:
        out["embedding"] = vggish.fc_stack(feature_map)[2]
    return out


def _pooling_input(spec: TrainSettings) -> str:
    if spec.pooling not in POOLING_INPUT:  # the schema refuses this; a spec built by hand may not
        raise DataError(f"unknown pooling {spec.pooling!r} (avg, max, autopool, embedding)")
    return POOLING_INPUT[spec.pooling]


def _head_layers(spec: TrainSettings, n_tags: int) -> list:
    """The trainable part after the backbone: the rest of the pooling, then the head blocks."""
    stack = {"avg": [AxisMean(axis=1, name="mean_over_time")],
             "autopool": [AutoPool1D(axis=1, name="autopool")]}.get(spec.pooling, [])
    for i, units in enumerate(spec.head, start=1):
        stack += [layers.BatchNormalization(name=f"head{i}_bn"),
                  layers.Dropout(spec.dropout, name=f"head{i}_dropout"),
                  layers.Dense(units, activation="relu", name=f"head{i}_dense")]
    return stack + [layers.BatchNormalization(name="out_bn"),
                    layers.Dropout(spec.dropout, name="out_dropout"),
                    layers.Dense(n_tags, activation=spec.output, name="tags", dtype="float32")]


def _apply(stack, x):
    for layer in stack:
        x = layer(x)
    return x


def build_backbone(backbone_seed: int, names=tuple(BACKBONE_OUTPUTS)) -> keras.Model:
    """The backbone alone, with the outputs `names`: what the backbone cache runs. Its weights
    equal those of `build_model` for the same `backbone_seed` (before loading a checkpoint)."""
    keras.utils.set_random_seed(backbone_seed)
    inputs = keras.Input((EXAMPLE_FRAMES, N_MELS), name="logmel")
    return keras.Model(inputs, backbone_outputs(inputs, names), name="vggish_backbone")


def build_model(spec: TrainSettings, n_tags: int) -> keras.Model:
    """The whole tagger, (96, 64) log-mel -> tag scores (uncompiled). The backbone's random
    weights come from `backbone_seed`, the head's from `seed`: replicates differ in the head
    and the stream only, and all share one frozen backbone."""
    feature = _pooling_input(spec)
    keras.utils.set_random_seed(spec.backbone_seed)
    inputs = keras.Input((EXAMPLE_FRAMES, N_MELS), name="logmel")
    x = backbone_outputs(inputs, [feature])[feature]
    keras.utils.set_random_seed(spec.seed)
    outputs = _apply(_head_layers(spec, n_tags), x)
    model = keras.Model(inputs, outputs, name=f"tagger_{spec.pooling}")
    if not spec.finetune:
        for name in (*vggish.CONV_LAYERS, *vggish.FC_LAYERS):
            try:
                model.get_layer(name).trainable = False
            except ValueError:
                pass
    return model


def build_head(spec: TrainSettings, n_tags: int) -> keras.Model:
    """The trainable part of a frozen variant, fed the cached backbone output its pooling needs.
    Its layers carry the same names as in `build_model`, so weights move by name."""
    feature = _pooling_input(spec)
    keras.utils.set_random_seed(spec.seed)
    inputs = keras.Input(BACKBONE_OUTPUTS[feature], name=feature)
    return keras.Model(inputs, _apply(_head_layers(spec, n_tags), inputs),
                       name=f"head_{spec.pooling}")


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Set each layer of `target` that holds weights from the same-named layer of `source`
    where there is one: a trained head into a whole model, or a whole model's head into a head
    model (the backbone layers, in one model only, are left as they are)."""
    names = {layer.name for layer in source.layers}
    for layer in target.layers:
        if layer.weights and layer.name in names:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def load_model(path) -> tuple[keras.Model, dict]:
    """(the Keras model, its metadata); a damaged file is one DataError line."""
    metadata = read_metadata(path)
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as err:  # noqa: BLE001 - Keras raises many types for a damaged file
        raise DataError(f"{path}: cannot load the model ({type(err).__name__}: {err})") from None
    return model, metadata
