"""VGGish in Keras 3, with the official layer names, and a loader for the official checkpoint.

Architecture (pinned by tests/data/fake_ckpt_expected.npz): input (96 frames, 64 mel) as a
(96, 64, 1) NHWC image; 3x3 SAME convolutions + ReLU (conv1 64, pool1, conv2 128, pool2,
conv3_1/conv3_2 256, pool3, conv4_1/conv4_2 512, pool4), 2x2 max-pool stride 2 SAME; for the
embedding: flatten in (h, w, c) order, fc1_1 and fc1_2 (4096, ReLU), fc2 (128, no activation).
The TF1 checkpoint stores kernels exactly in Keras' layouts, so weights are set as stored.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import layers

from ..core.errors import DataError
from .layers import AxisMean

CONV = (("conv1", 64), ("pool1", 0), ("conv2", 128), ("pool2", 0), ("conv3_1", 256),
        ("conv3_2", 256), ("pool3", 0), ("conv4_1", 512), ("conv4_2", 512), ("pool4", 0))
FC = (("fc1_1", 4096, "relu"), ("fc1_2", 4096, "relu"), ("fc2", 128, None))
# Keras layer name -> checkpoint variable scope.
CHECKPOINT_SCOPES = {
    "conv1": "vggish/conv1", "conv2": "vggish/conv2",
    "conv3_1": "vggish/conv3/conv3_1", "conv3_2": "vggish/conv3/conv3_2",
    "conv4_1": "vggish/conv4/conv4_1", "conv4_2": "vggish/conv4/conv4_2",
    "fc1_1": "vggish/fc1/fc1_1", "fc1_2": "vggish/fc1/fc1_2", "fc2": "vggish/fc2",
}
CONV_LAYERS = tuple(name for name, filters in CONV if filters)
FC_LAYERS = tuple(name for name, _, _ in FC)


def conv_stack(inputs):
    """(batch, 96, 64) log-mel -> (batch, 6, 4, 512) pool4 feature map."""
    x = layers.Reshape((96, 64, 1), name="to_image")(inputs)
    for name, filters in CONV:
        if filters:
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=name,
                              kernel_initializer="he_normal")(x)
        else:
            x = layers.MaxPooling2D(2, strides=2, padding="same", name=name)(x)
    return x


def fc_stack(feature_map):
    """pool4 map -> (flattened, fc1_2, embedding) tensors of the official fully connected part."""
    flat = layers.Flatten(name="pool4_flat")(feature_map)
    x = flat
    outputs = {}
    for name, units, activation in FC:
        x = layers.Dense(units, activation=activation, name=name)(x)
        outputs[name] = x
    return flat, outputs["fc1_2"], outputs["fc2"]


def embedding_model() -> keras.Model:
    """The official network: outputs pool4_flat, fc1_2 and the 128-d embedding."""
    inputs = keras.Input((96, 64), name="logmel")
    return keras.Model(inputs, fc_stack(conv_stack(inputs)), name="vggish")


def load_checkpoint(model: keras.Model, path: str | Path) -> list[str]:
    """Set every VGGish layer present in `model` from the TF1 checkpoint; returns their names."""
    import tensorflow as tf

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: VGGish checkpoint not found (set train.weights: none to train "
                        "from random weights, or let the download rule fetch it)")
    try:
        reader = tf.train.load_checkpoint(str(path))
    except Exception as err:  # noqa: BLE001 - TF raises several unrelated types here
        raise DataError(f"{path}: not a readable TF checkpoint ({type(err).__name__}); "
                        "delete it and download it again") from None
    available = reader.get_variable_to_shape_map()
    loaded = []
    for layer_name, scope in CHECKPOINT_SCOPES.items():
        try:
            layer = model.get_layer(layer_name)
        except ValueError:
            continue
        values = []
        for part, weight in (("weights", layer.kernel), ("biases", layer.bias)):
            name = f"{scope}/{part}"
            if name not in available:
                raise DataError(f"{path}: variable {name} missing: not a VGGish checkpoint")
            if tuple(available[name]) != tuple(weight.shape):
                raise DataError(f"{path}: {name} has shape {tuple(available[name])}, "
                                f"expected {tuple(weight.shape)}")
            values.append(reader.get_tensor(name))
        layer.set_weights(values)
        loaded.append(layer_name)
    return loaded


# --- the backbone contract (`backbones.Backbone.family`) ----------------------------------------

def backbone_outputs(logmel, names) -> dict:
    """VGGish's per-patch outputs `names` (of its registry entry's `outputs`) for a (96, 64)
    input."""
    feature_map = conv_stack(logmel)
    out = {}
    if "pool4_freq_mean" in names:
        out["pool4_freq_mean"] = AxisMean(axis=2, name="mean_over_freq")(feature_map)
    if "pool4_max" in names:
        out["pool4_max"] = layers.GlobalMaxPooling2D(name="pool_max")(feature_map)
    if "embedding" in names:
        out["embedding"] = fc_stack(feature_map)[2]
    return out


def backbone_model(spec, names) -> keras.Model:
    """The backbone alone (random weights from the caller's seed): a (96, 64) log-mel patch ->
    dict of the named outputs."""
    from . import front_end

    fe = front_end(spec.front_end)
    inputs = keras.Input((fe.patch_frames, fe.n_mels), name="logmel")
    return keras.Model(inputs, backbone_outputs(inputs, names), name="vggish_backbone")


def load_backbone(model: keras.Model, spec, weights: str, path) -> str | None:
    """The official checkpoint into the VGGish layers of `model` when `weights` names it;
    nothing for random weights."""
    if not spec.weights_file(weights):
        return None
    loaded = load_checkpoint(model, path)
    return f"VGGish weights loaded into {len(loaded)} layers from {path}"
