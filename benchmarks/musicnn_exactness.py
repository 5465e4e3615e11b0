"""How exactly the Keras musicnn port computes what the original trained graphs computed.

    python benchmarks/musicnn_exactness.py     (~10 s; needs resources/musicnn/ from make setup
                                                and ../shared/reference/musicnn/)

Prints, per model and output, the max abs and max relative difference (|d| / max(|ref|, 1e-3))
to the golden tensors (joram_{MODEL}.npz, made by the original graphs under TF 2.21), the front
end's difference on the reference clip, MTT_musicnn's clip-level top 10, and how far MSD_vgg is
off with the pooling musicnn's models.py builds (which loads its weights without complaint).
The tolerances are those tests/test_musicnn.py asserts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from common import ROOT, machine

REFERENCE = ROOT.parent / "shared" / "reference" / "musicnn"
TOLERANCE = {"max_pool": "1e-3 rel"}  # every other output: 1e-5 abs


def main() -> None:
    from tagbench.core.runtime import configure_tensorflow

    configure_tensorflow(None)
    from tagbench.backbones import musicnn as mn
    from tagbench.backbones import musicnn_frontend as mf
    from tagbench.backbones import musicnn_weights as mw
    from tagbench.features.audio import load_audio

    wheel = ROOT / "resources" / "musicnn" / mw.WHEEL_NAME
    print(machine())
    print("| model | output | max abs diff | max rel diff | tolerance |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="tagbench-musicnn-") as tmp:
        for name in mn.MODELS:
            model = mn.pretrained(name, mw.unpack_weights(wheel, Path(tmp), name))
            ref = np.load(REFERENCE / f"joram_{name}.npz")
            got = model.predict_on_batch(ref["batch"])
            for key, value in got.items():
                diff = np.abs(value - ref[key].reshape(value.shape))
                rel = (diff / np.maximum(np.abs(ref[key].reshape(value.shape)), 1e-3)).max()
                print(f"| {name} | {key} | {diff.max():.2g} | {rel:.2g} | "
                      f"{TOLERANCE.get(key, '1e-5 abs')} |")
            if name == "MSD_vgg":
                wrong = mn.build_vgg(mn.MTT_VGG_POOLS, name)
                mn.load_weights(wrong, Path(tmp) / name / mw.PREFIX)
                off = np.abs(wrong.predict_on_batch(ref["batch"])["taggram"] - ref["taggram"]).max()
            if name == "MTT_musicnn":
                mean = got["taggram"].mean(axis=0)
                top = ", ".join(f"{mn.MODELS[name].tags[i]} {mean[i]:.4f}" for i in np.argsort(-mean)[:10])
    clip = REFERENCE / "joram-moments_of_clarity-08-solipsism-59-88.mp3"
    batch = mf.waveform_to_patches(load_audio(clip, "soxr_hq"))
    ref = np.load(REFERENCE / "joram_MTT_musicnn.npz")["batch"]
    print(f"front end (audio.load_audio soxr_hq + musicnn.waveform_to_patches) vs the reference "
          f"batch: shape {batch.shape}, max abs diff {np.abs(batch - ref).max():.3g}")
    print(f"MSD_vgg with models.py's pooling (4x1/2x2 first): max taggram diff {off:.2f}")
    print(f"MTT_musicnn top 10 (mean taggram over the 9 patches): {top}")


if __name__ == "__main__":
    main()
