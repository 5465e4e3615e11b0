"""Getting the real data: MagnaTagATune and the official VGGish checkpoint.

Checksums: the MTT SHA-256 values are the published ones (`layout.MTT_SHA256`); `mtt.sha256`
in config overrides them (tests serve their own files). No checksum
is published for `vggish_model.ckpt`: the first verified download records its sha256 in
`<ckpt>.sha256` (sha256sum format), and the official smoke test's figures check the weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .atomic import atomic_path, write_text
from .config import MttSettings, VggishSettings
from .download import download, verify_sha256
from .errors import DataError
from .layout import MTT_FILES, MTT_SHA256

# Empty (0-byte) or undecodable in the official archive; extraction records them as failed.
MTT_KNOWN_BAD = {
    "35644": "6/norine_braun-now_and_zen-08-gently-117-146.mp3",
    "55753": "8/jacob_heringman-josquin_des_prez_lute_settings-19-gintzler__pater_noster-204-233.mp3",
    "57881": "9/american_baroque-dances_and_suites_of_rameau_and_couperin-25-le_petit_rien_"
             "xiveme_ordre_couperin-88-117.mp3",
}
# The official smoke test (vggish_smoke_test.py): 3 s of a 1 kHz sine of amplitude 1 generated
# at 16 kHz (np.arange(0, 3, 1/16000), no resampling), through the front end and the network;
# the embedding's mean and std must be within 10 % (relative) of these published figures.
SMOKE_MEAN, SMOKE_STD = 0.000657, 0.343
SMOKE_RTOL = 0.1


def _source(settings: MttSettings, name: str) -> str:
    return " (config mtt.sha256)" if name in settings.sha256 else " (published MTT checksum)"


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def download_mtt_file(name: str, dest: str | Path, settings: MttSettings) -> str:
    if name not in MTT_SHA256:
        raise DataError(f"{name}: not an MTT file (expected one of {', '.join(MTT_FILES)})")
    sha = settings.expected_sha256(name)
    return download([_join(m, name) for m in settings.mirrors], dest, sha, settings.download_settings,
                    hint=f" (expected sha256 {sha})")


def prepare_mtt_audio(parts: list[str | Path], target: str | Path, settings: MttSettings) -> int:
    """Verify the zip parts (hand-placed ones too) and extract them safely into `target`."""
    from .archive import extract_parts

    for part in parts:
        path = Path(part)
        if not path.is_file():
            raise DataError(f"{path}: MTT archive part not found")
        verify_sha256(path, settings.expected_sha256(path.name), _source(settings, path.name))
    return extract_parts(parts, target)


def prepare_mtt_table(src: str | Path, dest: str | Path, settings: MttSettings) -> None:
    """Verify a downloaded MTT csv and put it where the workflow reads it."""
    from .annotations import read_annotations

    src = Path(src)
    verify_sha256(src, settings.expected_sha256(src.name), _source(settings, src.name))
    if src.name == "annotations_final.csv":
        read_annotations(src)  # the strict parser: fails here, naming the line, if malformed
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def smoke_signal() -> np.ndarray:
    """The official smoke test's input: 3 s of a 1 kHz sine at 16 kHz, computed in float64."""
    t = np.arange(0, 3, 1 / 16000)
    return np.sin(2 * np.pi * 1000 * t)


def smoke_embedding_stats(ckpt: str | Path, waveform: np.ndarray | None = None) -> tuple[float, float]:
    """Mean and std of the VGGish embedding of `waveform` (16 kHz; default the smoke signal)."""
    from .frontend import frame_examples, log_mel
    from .vggish import embedding_model, load_checkpoint

    wave = smoke_signal() if waveform is None else waveform
    # the front end in float64, as the official code computes it (float32 differs by ~1e-4)
    examples = frame_examples(log_mel(wave, np.float64)).astype(np.float32)
    model = embedding_model()
    load_checkpoint(model, ckpt)
    emb = np.asarray(model.predict_on_batch(examples)[-1])  # the embedding
    return float(emb.mean()), float(emb.std())


def check_vggish(ckpt: str | Path, expected=(SMOKE_MEAN, SMOKE_STD)) -> tuple[float, float]:
    """The smoke test: a DataError (the file is kept) when the figures are off."""
    mean, std = smoke_embedding_stats(ckpt)
    if not np.allclose([mean, std], expected, rtol=SMOKE_RTOL, atol=0):
        raise DataError(
            f"{ckpt}: smoke test failed: embedding mean {mean:.6f}, std {std:.4f} on the 1 kHz "
            f"sine, expected {expected[0]} and {expected[1]} within 10 %: this is not the "
            f"published VGGish checkpoint (the file was kept; delete it to download again)")
    return mean, std


def download_vggish(dest: str | Path, settings: VggishSettings) -> str:
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
        sha = download([settings.url], dest, expected, settings.download_settings)
    if settings.smoke_test:
        check_vggish(dest)
    write_text(record, f"{sha}  {dest.name}\n")
    return sha


__all__ = ["MTT_KNOWN_BAD", "download_mtt_file", "prepare_mtt_audio", "prepare_mtt_table", "download_vggish",
           "check_vggish"]
