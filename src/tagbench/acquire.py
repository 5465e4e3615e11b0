"""Getting the real data: MagnaTagATune and the official VGGish checkpoint.

Checksums: the MTT SHA-256 values below are the published ones (the jukemir project's asset
manifest); `mtt.sha256` in config overrides them (tests serve their own files). No checksum
is published for `vggish_model.ckpt`: the first verified download records its sha256 in
`<ckpt>.sha256` (sha256sum format), and the official smoke test's figures check the weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .config import MttSettings, VggishSettings
from .download import download, sha256_of, verify_sha256
from .errors import DataError

MTT_SHA256 = {
    "mp3.zip.001": "f857fe185968773058cc71662c2ef5d8f2d4b7338e3c122cfd52f82dcb9760b9",
    "mp3.zip.002": "fc2e1ec441755556ed1398b1808f1b08b6034372f8bc27394510c0c58cdb52ce",
    "mp3.zip.003": "83a689824c17e82f6eb81cdbc4e4ca239a4cfc1fb41f1a5c80b861caec90450f",
    "annotations_final.csv": "99b94e95825d4fa576386a5367b9c96e0ec636e9f9c240aceb492f4728f68c3c",
    "clip_info_final.csv": "cb6108a10d3a91f0bfd7d2fbec2382559d15f20c8d28093f14e12162a47a3e78",
}
MTT_FILES = tuple(MTT_SHA256)
MTT_PARTS = ("mp3.zip.001", "mp3.zip.002", "mp3.zip.003")
# Empty (0-byte) or undecodable in the official archive; extraction records them as failed.
MTT_KNOWN_BAD = {
    "35644": "6/norine_braun-now_and_zen-08-gently-117-146.mp3",
    "55753": "8/jacob_heringman-josquin_des_prez_lute_settings-19-gintzler__pater_noster-204-233.mp3",
    "57881": "9/american_baroque-dances_and_suites_of_rameau_and_couperin-25-le_petit_rien_"
             "xiveme_ordre_couperin-88-117.mp3",
}
# The official smoke test: 3 s of a 1 kHz sine (amplitude 1) sampled at 44.1 kHz, through the
# front end and the network; the embedding's mean and std with the published checkpoint.
SMOKE_MEAN, SMOKE_STD = 0.000657, 0.343
SMOKE_MEAN_ATOL, SMOKE_STD_RTOL = 0.01, 0.03


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
    tmp = Path(str(dest) + ".tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dest)


def smoke_embedding_stats(ckpt: str | Path) -> tuple[float, float]:
    """Mean and std of the VGGish embedding of the official smoke-test signal."""
    import soxr

    from .frontend import waveform_to_examples
    from .vggish import embedding_model, load_checkpoint

    rate, seconds = 44100, 3
    t = np.linspace(0, seconds, seconds * rate)
    wave = soxr.resample(np.sin(2 * np.pi * 1000 * t).astype(np.float32), rate, 16000, "HQ")
    model = embedding_model()
    load_checkpoint(model, ckpt)
    emb = np.asarray(model.predict(waveform_to_examples(wave), verbose=0)[-1])  # the embedding
    return float(emb.mean()), float(emb.std())


def check_vggish(ckpt: str | Path, expected=(SMOKE_MEAN, SMOKE_STD)) -> tuple[float, float]:
    """The smoke test: a DataError (the file is kept) when the figures are off."""
    mean, std = smoke_embedding_stats(ckpt)
    want_mean, want_std = expected
    if abs(mean - want_mean) > SMOKE_MEAN_ATOL or abs(std - want_std) > SMOKE_STD_RTOL * want_std:
        raise DataError(
            f"{ckpt}: smoke test failed: embedding mean {mean:.6f}, std {std:.4f} on the 1 kHz "
            f"sine, expected ~{want_mean} and ~{want_std}: this is not the published VGGish "
            f"checkpoint (the file was kept; delete it to download again)")
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
    tmp = record.with_name(record.name + ".tmp")
    tmp.write_text(f"{sha}  {dest.name}\n")
    tmp.replace(record)
    return sha


__all__ = ["MTT_FILES", "MTT_PARTS", "MTT_KNOWN_BAD", "MttSettings", "VggishSettings",
           "download_mtt_file", "prepare_mtt_audio", "prepare_mtt_table", "download_vggish",
           "check_vggish", "sha256_of"]
