"""Tagging models: a backbone + a pooling + a head, all chosen by a variant's settings.

backbone: a built-in with a Keras graph (`backbones.BACKBONES`; its family module builds it and
loads its weights). pooling, what the head reads: one of the backbone's named outputs
(`Backbone.poolings`); `avg` and `autopool` then average or AutoPool a time axis the output
keeps. head: for each hidden size, batch-norm + dropout + dense(ReLU); then batch-norm +
dropout + dense(n_tags) with a sigmoid (multi-label, binary cross-entropy).

The model is built as backbone outputs (the registry's `outputs`) + a head stack, so a frozen
variant's head can train alone on cached backbone outputs (`build_head`) and be put back into
the whole model by layer name (`copy_weights`).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .. import backbones
from ..backbones.layers import AxisMean, checkpoint_prefix, copy_weights  # noqa: F401 - callers'
from ..core.errors import DataError
from ..settings.config import TrainSettings
from .head import head_plan_of
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


def _pooling_input(spec: TrainSettings) -> str:
    """The backbone output the variant's pooling reads (a one-line error for another)."""
    return backbones.backbone(spec.backbone).output_of(spec.pooling)


@keras.saving.register_keras_serializable(package="tagbench")
class TagSelect(layers.Layer):
    """A shipped head: the backbone's own outputs for the dataset's tags, picked by name (no
    weights, nothing trained)."""

    def __init__(self, indices, **kwargs):
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]

    def call(self, x):
        return ops.take(x, self.indices, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], len(self.indices))

    def get_config(self):
        return {**super().get_config(), "indices": self.indices}


def _head_layers(spec: TrainSettings, n_tags: int, tags=None) -> list:
    """The trainable part after the backbone, as Keras layers of `head.head_plan`: the rest of
    the pooling, then the head blocks (for a shipped head, the backbone's own outputs for
    `tags`)."""
    return [_KERAS_LAYERS[layer.kind](layer) for layer in head_plan_of(spec, n_tags, tags)]


_KERAS_LAYERS = {
    "mean": lambda h: AxisMean(axis=h.settings["axis"], name=h.name),
    "autopool": lambda h: AutoPool1D(axis=h.settings["axis"], name=h.name),
    "batchnorm": lambda h: layers.BatchNormalization(epsilon=h.settings["epsilon"], name=h.name),
    "dropout": lambda h: layers.Dropout(h.settings["rate"], name=h.name),
    # the output layer computes in float32 under mixed precision (a stable sigmoid)
    "dense": lambda h: layers.Dense(h.settings["units"], activation=h.settings["activation"],
                                    name=h.name, **({"dtype": "float32"} if h.name == "tags"
                                                    else {})),
    "select": lambda h: TagSelect(h.settings["indices"], name=h.name, dtype="float32"),
}


def _apply(stack, x):
    for layer in stack:
        x = layer(x)
    return x


def build_backbone(backbone_seed: int = 0, names=None, backbone: str = backbones.DEFAULT
                   ) -> keras.Model:
    """Build a backbone alone, with named outputs: what the backbone cache runs.

    Its random weights equal those of `build_model` for the same backbone and `backbone_seed`;
    trained weights are loaded separately (`load_backbone_weights`). The network is its
    family's (`Backbone.family`: a module with `backbone_model(spec, names)`).

    Parameters
    ----------
    backbone_seed : int, optional
        Seed of the random initial weights.
    names : iterable of str, optional
        Outputs to expose (default: all the registry's `outputs` for the backbone).
    backbone : str, optional
        A built-in backbone's name (`backbones.BACKBONES`).

    Returns
    -------
    keras.Model
        A patch of the backbone's input -> dict of the named outputs.

    Raises
    ------
    DataError
        If the backbone has no Keras graph (a user's backbone is frozen-only).
    """
    spec = backbones.backbone(backbone)
    names = list(spec.outputs) if names is None else list(names)
    keras.utils.set_random_seed(backbone_seed)
    return backbones.family_module(spec).backbone_model(spec, names)


def load_backbone_weights(model: keras.Model, backbone: str, weights: str, path) -> str | None:
    """Load trained weights into the backbone layers of `model` (a backbone or a whole tagger),
    by the backbone's family (`load_backbone(model, spec, weights, path)`).

    Parameters
    ----------
    model : keras.Model
        A model from `build_backbone` or `build_model`.
    backbone : str
        The backbone's name.
    weights : str
        The variant's `train.weights` (one of the backbone's `weight_choices`).
    path : str or Path
        Its checkpoint (`Backbone.weights_file(weights)`, as the workflow puts it).

    Returns
    -------
    str or None
        What was loaded, for the log; None for random weights (nothing to load).

    Raises
    ------
    DataError
        If the checkpoint is missing, unreadable, or not the backbone's.
    """
    spec = backbones.backbone(backbone)
    return backbones.family_module(spec).load_backbone(model, spec, weights, path)


def build_model(spec: TrainSettings, n_tags: int, tags=None) -> keras.Model:
    """Build the whole tagger: a patch of the backbone's log-mel -> tag scores (uncompiled).

    The backbone's random weights come from `spec.backbone_seed`, the head's from `spec.seed`,
    so replicates differ in the head and the stream only and share one frozen backbone. Frozen
    variants (`finetune` false) train no backbone layer; fine-tuned ones keep batch norm frozen
    unless `finetune_batchnorm`.

    Parameters
    ----------
    spec : TrainSettings
        The variant (one seed): backbone, pooling, head, dropout, output, seeds.
    n_tags : int
        Number of outputs.
    tags : sequence of str, optional
        The dataset's tag names; required for a shipped head, which picks them by name.

    Returns
    -------
    keras.Model

    Raises
    ------
    DataError
        If the backbone has no such pooling, or a shipped head lacks tags or meets unknown ones.
    """
    feature = _pooling_input(spec)
    base = build_backbone(spec.backbone_seed, [feature], spec.backbone)
    keras.utils.set_random_seed(spec.seed)
    outputs = _apply(_head_layers(spec, n_tags, tags), base.output[feature])
    model = keras.Model(base.input, outputs, name=f"tagger_{spec.backbone}_{spec.pooling}")
    for layer in base.layers:
        # frozen: nothing of the backbone trains; fine-tuned: batch norm keeps its trained
        # statistics (a frozen Keras batch norm runs in inference mode) unless asked
        if not spec.finetune or (isinstance(layer, layers.BatchNormalization)
                                 and not spec.finetune_batchnorm):
            layer.trainable = False
    return model


def build_head(spec: TrainSettings, n_tags: int, tags=None) -> keras.Model:
    """Build the trainable part of a frozen variant, fed the cached backbone output it pools.

    Its layers carry the same names as in `build_model`, so weights move by name (`copy_weights`).
    Parameters and errors are as for `build_model`.

    Returns
    -------
    keras.Model
        A cached backbone output (input named after it) -> tag scores (uncompiled).
    """
    feature = _pooling_input(spec)
    keras.utils.set_random_seed(spec.seed)
    inputs = keras.Input(backbones.backbone(spec.backbone).outputs[feature], name=feature)
    return keras.Model(inputs, _apply(_head_layers(spec, n_tags, tags), inputs),
                       name=f"head_{spec.pooling}")


def load_model(path) -> tuple[keras.Model, dict]:
    """Load a tagbench model file (uncompiled) and its metadata.

    Returns
    -------
    tuple of (keras.Model, dict)
        The model and its `tagbench.json` metadata (`read_metadata`).

    Raises
    ------
    DataError
        If the file is missing, has no metadata, or Keras cannot load it.
    """
    metadata = read_metadata(path)
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as err:  # noqa: BLE001 - Keras raises many types for a damaged file
        reason = " ".join(f"{type(err).__name__}: {err}".split())[:300]  # one line
        raise DataError(f"{path}: cannot load the model ({reason}): delete it and rerun "
                        "snakemake (it is retrained)") from None
    return model, metadata
