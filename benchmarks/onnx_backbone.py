"""A built-in as a user's ONNX backbone: MSD_musicnn exported with tf2onnx, run by onnxruntime
beside the Keras graph the cache rule runs, on the same patches, in the same run.

Prints the largest difference of each cached output and the patches per second of both
(single-threaded, as one cache job of two on 2 cores; best of 3), and their ratio. tf2onnx is
no tagbench dependency (its metadata pins an old protobuf, though 1.17.0 converts TF 2.21 here):

    .venv/bin/pip install --no-deps --target .venv/tf2onnx tf2onnx==1.17.0 onnx==1.23.2
    PYTHONPATH=.venv/tf2onnx .venv/bin/python benchmarks/onnx_backbone.py [OUT.onnx]

With OUT.onnx it also writes the export and its sidecar there (what the DAG parity run used).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import ROOT, best_of, machine

CLIP = ROOT.parent / "shared/reference/musicnn/joram-moments_of_clarity-08-solipsism-59-88.mp3"
SIDECAR = """\
# MSD_musicnn exported from tagbench's Keras port with tf2onnx (benchmarks/onnx_backbone.py)
name: msd_musicnn_onnx
sample_rate: 16000
input: musicnn
outputs: {max_pool: {size: 753}, mean_pool: {size: 753}, penultimate: {size: 200},
          taggram: {size: 50}}
trained_on: {dataset: msd, name: Million Song Dataset (7digital previews)}
"""


def main(out: Path) -> None:
    import numpy as np
    import tensorflow as tf
    import tf2onnx

    from tagbench.backbones import log_mel, patches
    from tagbench.core.runtime import configure_tensorflow
    from tagbench.features.audio import load_audio

    configure_tensorflow(1)
    from tagbench.models.networks import build_backbone, load_backbone_weights
    from tagbench.models.runner import BackboneRunner

    weights = ROOT / "resources/musicnn/MSD_musicnn/variables.index"
    model = build_backbone(backbone="MSD_musicnn")
    load_backbone_weights(model, "MSD_musicnn", "none", weights)
    signature = (tf.TensorSpec((None, 187, 96), tf.float32, name="logmel"),)
    tf2onnx.convert.from_function(tf.function(lambda x: model(x, training=False)),
                                  input_signature=signature, opset=17, output_path=str(out))
    out.with_suffix(".yaml").write_text(SIDECAR)

    x = patches(log_mel("musicnn", load_audio(CLIP, "soxr_hq")), 187)
    x = np.concatenate([x] * 8)[:64]  # 64 patches of a real clip: one full cache batch
    keras_run = BackboneRunner("MSD_musicnn", weights)
    onnx_run = BackboneRunner(str(out))
    a, b = keras_run.outputs(x, "clip"), onnx_run.outputs(x, "clip")
    print(machine())
    print(f"{len(x)} patches of {CLIP.name}")
    for name in a:
        print(f"  {name}: max abs difference {np.abs(a[name] - b[name]).max():.2e} "
              f"(largest value {np.abs(a[name]).max():.2f})")
    keras_s = best_of(3, lambda: keras_run.outputs(x, "clip"))
    onnx_s = best_of(3, lambda: onnx_run.outputs(x, "clip"))
    print(f"TensorFlow (Keras graph, 1 thread): {len(x) / keras_s:.1f} patches/s")
    print(f"onnxruntime (ONNX export, 1 thread): {len(x) / onnx_s:.1f} patches/s")
    print(f"ratio onnxruntime / TensorFlow: {keras_s / onnx_s:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]).resolve())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp) / "msd_musicnn.onnx")
