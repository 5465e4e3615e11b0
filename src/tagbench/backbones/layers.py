"""Keras layers, weight moves and TF checkpoint paths shared by the backbone families and the
heads (`models`).

Registered under the package name "tagbench", so model files saved before this module existed
load unchanged.
"""

from __future__ import annotations

import keras
from keras import layers, ops


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


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Copy weights by layer name from `source` into `target`, in place.

    Every weighted layer of `target` with a same-named layer in `source` is set; others are
    left as they are. Moves a trained head into a whole model, or a whole model's head into a
    head model.
    """
    names = {layer.name for layer in source.layers}
    for layer in target.layers:
        if layer.weights and layer.name in names:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def checkpoint_prefix(path) -> str:
    """A TF checkpoint's prefix from its `.index` file (what the rules pass) or the prefix."""
    text = str(path)
    return text[:-len(".index")] if text.endswith(".index") else text
