"""VGGish's weights: the official checkpoint, downloaded (or a hand-placed file verified) and
checked by the official smoke test; the workflow's job for it (`steps`, `run_step`).

No checksum is published for `vggish_model.ckpt`: the first verified download records its
sha256 in `<ckpt>.sha256` (sha256sum format), and the official smoke test's figures check the
weights themselves. Light at import (the Snakefile reads `steps`): NumPy and TensorFlow load
when a check runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.atomic import write_text
from ..core.download import DownloadSettings, download, verify_sha256
from ..core.errors import DataError

SECTION = "vggish"  # its config section: url, sha256, smoke_test

# The official smoke test (vggish_smoke_test.py): 3 s of a 1 kHz sine of amplitude 1 generated
# at 16 kHz (np.arange(0, 3, 1/16000), no resampling), through the front end and the network;
# the embedding's mean and std must be within 10 % (relative) of these published figures.
SMOKE_MEAN, SMOKE_STD = 0.000657, 0.343
SMOKE_RTOL = 0.1


@dataclass(frozen=True)
class CheckpointSettings:
    """The checkpoint's source (config `vggish`) and the download knobs (config `download`)."""

    url: str = ""
    sha256: str | None = None
    smoke_test: bool = True
    download: DownloadSettings = DownloadSettings()


def smoke_signal():
    """The official smoke test's input: 3 s of a 1 kHz sine at 16 kHz, computed in float64."""
    import numpy as np

    t = np.arange(0, 3, 1 / 16000)
    return np.sin(2 * np.pi * 1000 * t)


def smoke_embedding_stats(ckpt: str | Path, waveform=None) -> tuple[float, float]:
    """Mean and std of the VGGish embedding of `waveform` (16 kHz; default the smoke signal)."""
    import numpy as np

    from .vggish import embedding_model, load_checkpoint
    from .vggish_frontend import frame_examples, log_mel

    wave = smoke_signal() if waveform is None else waveform
    # the front end in float64, as the official code computes it (float32 differs by ~1e-4)
    examples = frame_examples(log_mel(wave, np.float64)).astype(np.float32)
    model = embedding_model()
    load_checkpoint(model, ckpt)
    emb = np.asarray(model.predict_on_batch(examples)[-1])  # the embedding
    return float(emb.mean()), float(emb.std())


def check_vggish(ckpt: str | Path, expected=(SMOKE_MEAN, SMOKE_STD)) -> tuple[float, float]:
    """The smoke test: a DataError (the file is kept) when the figures are off."""
    import numpy as np

    mean, std = smoke_embedding_stats(ckpt)
    if not np.allclose([mean, std], expected, rtol=SMOKE_RTOL, atol=0):
        raise DataError(
            f"{ckpt}: smoke test failed: embedding mean {mean:.6f}, std {std:.4f} on the 1 kHz "
            f"sine, expected {expected[0]} and {expected[1]} within 10 %: this is not the "
            f"published VGGish checkpoint (the file was kept; delete it to download again)")
    return mean, std


def download_vggish(dest: str | Path, settings: CheckpointSettings) -> str:
    """Download (or verify a hand-placed) checkpoint, record its sha256, run the smoke test."""
    dest = Path(dest)
    record = dest.with_name(dest.name + ".sha256")
    expected = settings.sha256
    if not expected and record.is_file():
        expected = record.read_text().split()[0]
    if dest.is_file():
        sha = verify_sha256(dest, expected, f" (from {'config' if settings.sha256 else record})")
    else:
        if not settings.url:
            raise DataError(f"{dest}: no VGGish checkpoint and no vggish.url in config to fetch "
                            f"it from; copy vggish_model.ckpt there by hand")
        sha = download([settings.url], dest, expected, settings.download)
    if settings.smoke_test:
        check_vggish(dest)
    write_text(record, f"{sha}  {dest.name}\n")
    return sha


# --- the workflow's job (`backbones.weight_steps`) ----------------------------------------------

def steps(section: dict) -> list:
    """The one job: the checkpoint where the registry's vggish entry loads it from."""
    from . import BACKBONES, WeightStep

    return [WeightStep("download_vggish", __name__.split(".", 1)[1], SECTION,
                       (BACKBONES["vggish"].weights_file("vggish"),), rerun_on_code=False,
                       downloads=True)]


def run_step(step, section: dict, download: dict) -> str:
    """Download or verify the checkpoint, record its sha256, run the smoke test (`section`:
    url, sha256, smoke_test); returns what the log says."""
    from ..core.runtime import configure_tensorflow

    settings = CheckpointSettings(**section, download=DownloadSettings(**download))
    configure_tensorflow(2)
    (dest,) = step.outputs
    sha = download_vggish(dest, settings)
    checked = "smoke test passed" if settings.smoke_test else "smoke test off (vggish.smoke_test)"
    return f"{dest}: sha256 {sha}; {checked}"
