"""The speed cost of TensorFlow op determinism (on in every tagbench job), same run.

    python benchmarks/determinism.py     (~2 min)

Each condition runs in a fresh process (TensorFlow can switch op determinism on, not off): the
demo's frozen vggish_2fc trained for 40 steps of 32 through the backbone, and its head alone
for 400 steps on cached-output-shaped arrays (what a frozen variant trains on); best of 3 each.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from common import machine


def measure(deterministic: bool) -> dict:
    import numpy as np

    if deterministic:
        from tagbench.core.runtime import configure_tensorflow

        configure_tensorflow(2)
    else:  # configure_tensorflow's thread settings, without op determinism
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(2)
    from tagbench.models.networks import build_head, build_model
    from tagbench.models.train import compile_model
    from tagbench.settings.config import TrainSettings

    spec = TrainSettings(finetune=False, head=(256,), batch_size=32)
    rng = np.random.default_rng(0)
    out = {}
    for name, model, shape, steps in (
            ("through the backbone", build_model(spec, 50), (96, 64), 40),
            ("head on cached outputs", build_head(spec, 50), (6, 512), 400)):
        compile_model(model, spec, 50)
        x = rng.standard_normal((steps * 32, *shape)).astype(np.float32)
        y = (rng.random((steps * 32, 50)) < 0.1).astype(np.float32)
        model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
            best = min(best, time.perf_counter() - t0)
        out[name] = steps * 32 / best
    return out


def main() -> None:
    if len(sys.argv) > 1:
        print(json.dumps(measure(sys.argv[1] == "on")))
        return
    rates = {}
    for mode in ("off", "on"):
        proc = subprocess.run([sys.executable, __file__, mode], capture_output=True, text=True,
                              check=True)
        rates[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(machine())
    print("| training, patches/s | op determinism off | on (tagbench) | cost |\n|---|---|---|---|")
    for name in rates["on"]:
        off, on = rates["off"][name], rates["on"][name]
        print(f"| {name} | {off:,.0f} | {on:,.0f} | {(off / on - 1) * 100:+.1f} % time |")


if __name__ == "__main__":
    main()
