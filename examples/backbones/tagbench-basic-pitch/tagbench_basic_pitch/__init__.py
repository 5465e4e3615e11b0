"""Basic Pitch (Bittner et al., ICASSP 2022; Spotify, Apache-2.0) as a tagbench backbone.

The network transcribes notes: for 2 s of 22.05 kHz audio it gives 172 frames of note, onset
(88 piano keys) and pitch-contour (264 bins) posteriors. Its ONNX export ships in the
`basic-pitch==0.4.0` wheel, which is used here only as a container (fetched, checked, one
member extracted: `python -m tagbench_basic_pitch fetch`). A tagging head reads each output
averaged over the patch's frames: how much of each pitch sounds, starts, or bends in it.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS = "resources/basic_pitch/nmp.onnx"  # relative to the project (where snakemake runs)
WEIGHTS_SHA256 = "2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec"
# the ONNX graph's output names, in the order basic-pitch's own inference reads them
ONNX_OUTPUTS = {"note": "StatefulPartitionedCall:1", "onset": "StatefulPartitionedCall:2",
                "contour": "StatefulPartitionedCall:0"}


class BasicPitch:
    """The tagbench backbone contract (docs/backbones.md), as class attributes and two methods."""

    name = "basic_pitch"
    sample_rate = 22050
    input = "waveform"
    patch_seconds = 43844 / 22050  # the network's window: 2 s less one 256-sample hop
    outputs = {"note": (88,), "onset": (88,), "contour": (264,)}
    trained_on = {"dataset": "basic_pitch", "name": "GuitarSet, iKala, MAESTRO, MedleyDB-Pitch, "
                  "Slakh (note transcription; no tags)"}
    weights = {WEIGHTS: WEIGHTS_SHA256}

    def __init__(self, weights: dict[str, str]):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one job per core: the DAG runs jobs side by side
        self.session = onnxruntime.InferenceSession(
            str(Path(weights[WEIGHTS])), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, patches):
        """(n, 43844) float32 waveform windows -> each output's mean over the 172 frames."""
        import numpy as np

        names = list(ONNX_OUTPUTS)
        found = self.session.run([ONNX_OUTPUTS[k] for k in names],
                                 {self.input_name: patches[..., None]})
        return {k: np.asarray(v).mean(axis=1) for k, v in zip(names, found, strict=True)}
