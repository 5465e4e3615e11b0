"""The MSD_musicnn backbone's speed against the project's VGGish backbone, in the same run.

    python benchmarks/musicnn_throughput.py     (~30 s)

Seconds of audio per CPU second (one process, one thread) of front end + network on the same
synthetic 29.1 s, 16 kHz clips held in memory (decoding is the same for both and left out), each
at its default hop: musicnn 9 non-overlapping 187-frame patches per clip, VGGish 30
non-overlapping 96-frame patches. Each clip's patches go through the network as one batch; the
clips alternate between the two backbones so that both see the same load on a shared machine.
Random weights for both (speed does not depend on them).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402
from common import machine, mtt_like_waves  # noqa: E402

CLIP_SECONDS = 29.1
RATE = 16000
N_CLIPS = 24


def synthetic_clips(n: int) -> list[np.ndarray]:
    """MTT-like clips (common.mtt_like_waves, benchmarks/extraction.py's) as float32."""
    return [w.astype(np.float32) for w in mtt_like_waves(n, CLIP_SECONDS, RATE)]


def main() -> None:
    from tagbench.core.runtime import configure_tensorflow

    configure_tensorflow(1)
    from tagbench.backbones import musicnn as mn
    from tagbench.backbones import musicnn_frontend as mf
    from tagbench.backbones import vggish_frontend as frontend
    from tagbench.models.networks import build_backbone

    pipelines = {
        "MSD_musicnn": (mf.waveform_to_patches, mn.build("MSD_musicnn")),
        "VGGish (build_backbone(0))": (
            lambda w: frontend.frame_examples(frontend.log_mel(frontend.pad_to_example(w))),
            build_backbone(0)),
    }
    clips = synthetic_clips(N_CLIPS)
    cpu = {name: [0.0, 0.0] for name in pipelines}   # front end, network
    wall = dict.fromkeys(pipelines, 0.0)
    n_patches = {}
    for front, net in pipelines.values():  # warm-up: imports, tracing, FFT plans
        net.predict_on_batch(front(clips[0]))
    for clip in clips:
        for name, (front, net) in pipelines.items():
            w0, t0 = time.perf_counter(), time.process_time()
            patches = front(clip)
            t1 = time.process_time()
            net.predict_on_batch(patches)
            cpu[name][0] += t1 - t0
            cpu[name][1] += time.process_time() - t1
            wall[name] += time.perf_counter() - w0
            n_patches[name] = len(patches)
    audio = N_CLIPS * CLIP_SECONDS
    print(machine())
    print(f"{N_CLIPS} synthetic clips of {CLIP_SECONDS} s ({audio:.0f} s of audio); one process, "
          "one thread; random weights")
    print("| backbone | patches / clip | audio s / CPU s: front end | network | front end + "
          "network | wall |\n|---|---|---|---|---|---|")
    rates = {}
    for name in pipelines:
        fe, nn = cpu[name]
        rates[name] = audio / (fe + nn)
        print(f"| {name} | {n_patches[name]} | {audio / fe:,.0f} | {audio / nn:,.1f} | "
              f"{rates[name]:,.1f} | {audio / wall[name]:,.1f} |")
    musicnn, vggish = rates.values()
    print(f"MSD_musicnn / VGGish, front end + network: {musicnn / vggish:.2f}x")


if __name__ == "__main__":
    main()
