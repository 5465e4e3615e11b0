"""An ONNX file as a backbone: how a PyTorch or JAX model gets in without tagbench depending on
either (export it to ONNX; onnxruntime runs it).

`train.backbone: models/my_model.onnx` needs a sidecar YAML beside it, `models/my_model.yaml`,
with the contract's fields (docs/backbones.md):

    name: my_model
    sample_rate: 22050
    input: waveform            # the graph's input is (batch, samples) or (batch, samples, 1)
    patch_seconds: 2.0
    hop_seconds: 2.0           # optional
    outputs:                   # tagbench name -> the graph's output and the per-patch size
      embedding: {onnx: "output_0", size: 512, reduce: mean}   # reduce: over axis 1 (time)
    trained_on: unknown        # or {dataset: ..., name: ..., folders: ...}, or none
    sha256: ...                # optional: the .onnx file's (else computed on each load)

The sidecar and the ONNX file's sha256 are what its results are stale against.
"""

from __future__ import annotations

from pathlib import Path

from ..core.digests import sha256_of
from ..core.errors import DataError

REDUCE = ("mean", "max", "none")


def sidecar_of(path: Path) -> Path:
    return path.with_suffix(".yaml")


def onnx_class(ref: str) -> type:
    """A backbone class (the contract of `plugins`) for an ONNX file and its sidecar."""
    import yaml

    path = Path(ref)
    sidecar = sidecar_of(path)
    if not path.is_file():
        raise DataError(f"backbone {ref!r}: ONNX file not found")
    if not sidecar.is_file():
        raise DataError(f"backbone {ref!r}: no sidecar {sidecar} (rate, input, patch, outputs, "
                        "trained_on: docs/backbones.md)")
    try:
        meta = yaml.safe_load(sidecar.read_text()) or {}
    except yaml.YAMLError as err:
        raise DataError(f"{sidecar}: not YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("outputs"), dict):
        raise DataError(f"{sidecar}: needs an outputs mapping (name: {{onnx, size, reduce}})")
    graph_outputs = {}
    for name, out in meta["outputs"].items():
        if not isinstance(out, dict) or not isinstance(out.get("size"), int) \
                or out.get("reduce", "none") not in REDUCE:
            raise DataError(f"{sidecar}: outputs.{name} needs size (an integer), optionally onnx "
                            f"(the graph's output name) and reduce ({', '.join(REDUCE)})")
        graph_outputs[name] = (str(out.get("onnx", name)), out.get("reduce", "none"))
    onnx_sha = meta.get("sha256") or sha256_of(path)

    class OnnxBackbone:
        name = meta.get("name")
        sample_rate = meta.get("sample_rate")
        input = meta.get("input")
        patch_seconds = meta.get("patch_seconds")
        hop_seconds = meta.get("hop_seconds")
        outputs = {k: (v["size"],) for k, v in meta["outputs"].items()}
        tags = meta.get("tags")
        trained_on = meta.get("trained_on")
        weights = {str(path): onnx_sha}
        tagbench_code = (sidecar,)

        def __init__(self, weights):
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            self.session = onnxruntime.InferenceSession(weights[str(path)], options,
                                                        providers=["CPUExecutionProvider"])
            first = self.session.get_inputs()[0]
            self.input_name, self.input_rank = first.name, len(first.shape)

        def __call__(self, patches):
            import numpy as np

            x = patches[..., None] if self.input_rank == patches.ndim + 1 else patches
            names = list(graph_outputs)
            found = self.session.run([graph_outputs[k][0] for k in names], {self.input_name: x})
            out = {}
            for k, value in zip(names, found, strict=True):
                reduce = graph_outputs[k][1]
                value = np.asarray(value)
                out[k] = value.mean(axis=1) if reduce == "mean" else \
                    value.max(axis=1) if reduce == "max" else value
            return out

    return OnnxBackbone
