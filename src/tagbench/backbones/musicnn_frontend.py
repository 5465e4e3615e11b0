"""musicnn's front end (Pons & Serra 2019), exact to the features its models were trained on.

16 kHz mono -> librosa's centred STFT (n_fft 512, hop 256, power 2) -> 96 Slaney mel bands
(Slaney norm) -> the power rounded to float16, as musicnn's own extractor does (and so the
reference batch) -> log10(10000 * x + 1) computed in float32 (NumPy 2 would keep musicnn's float16
there and overflow to inf above a power of 6.55) -> 187-frame patches (about 3 s).

Apart from the networks (`musicnn`) so that extraction imports no Keras and an edit to a network
does not make the features stale.
"""

from __future__ import annotations

import librosa
import numpy as np

from ..core.layout import SAMPLE_RATE

N_FFT = 512
HOP = 256
N_MELS = 96
LOG_SCALE = 10000.0
PATCH_FRAMES = 187  # 2.99 s
# Centred frames are 1 + n // HOP: this many samples give exactly one patch.
PATCH_SAMPLES = (PATCH_FRAMES - 1) * HOP  # 47,616
FLOAT16_MAX = float(np.finfo(np.float16).max)

PARAMS = {
    "sample_rate": SAMPLE_RATE, "n_fft": N_FFT, "hop": HOP, "n_mels": N_MELS, "centre": True,
    "power": 2.0, "mel_scale": "slaney", "mel_norm": "slaney", "power_storage": "float16",
    "log": "log10(10000 * x + 1), float32", "patch_frames": PATCH_FRAMES,
    "short_clips": "zero-padded at the end to one patch",
}


def log_mel(waveform: np.ndarray) -> np.ndarray:
    """16 kHz mono waveform -> (1 + n // 256, 96) float32 log-mel, as musicnn computed it.

    The mel power is rounded to float16 before the log because musicnn stored it so (without
    that rounding the reference batch differs by up to 2.1e-4); the log itself is float32, and a
    power beyond float16's range (only for samples far above full scale) is kept unrounded
    instead of becoming inf.
    """
    y = np.ascontiguousarray(waveform, dtype=np.float32)
    power = librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP,
                                           n_mels=N_MELS, power=2.0, center=True).T
    with np.errstate(over="ignore"):
        stored = power.astype(np.float16).astype(np.float32)
    stored = np.where(stored <= FLOAT16_MAX, stored, power)
    return np.log10(np.float32(LOG_SCALE) * stored + np.float32(1.0), dtype=np.float32)


def pad_to_patch(waveform: np.ndarray) -> np.ndarray:
    """Zero-pad at the end to PATCH_SAMPLES, so that a clip under 3 s gives one patch, not none."""
    if len(waveform) >= PATCH_SAMPLES:
        return waveform
    return np.pad(waveform, (0, PATCH_SAMPLES - len(waveform)))


def patches(logmel: np.ndarray, step: int = PATCH_FRAMES) -> np.ndarray:
    """(frames, 96) -> (n, 187, 96) patches every `step` frames; the incomplete tail is dropped.

    step = 187 (non-overlapping) is musicnn's reference. Fewer than 187 frames give no patch:
    `waveform_to_patches` pads the waveform first so that every clip gives at least one.
    """
    from . import patches as windows

    return windows(logmel, PATCH_FRAMES, step)


def waveform_to_patches(waveform: np.ndarray, step: int = PATCH_FRAMES) -> np.ndarray:
    """16 kHz waveform -> (n >= 1, 187, 96) float32 patches; a clip shorter than one patch is
    zero-padded at the end of the waveform to PATCH_SAMPLES (47,616 samples, 2.98 s)."""
    return patches(log_mel(pad_to_patch(waveform)), step)


def clip_log_mel(waveform: np.ndarray) -> np.ndarray:
    """A clip's log-mel as features store it: padded so that a clip shorter than one patch
    gives one (`backbones.log_mel`)."""
    return log_mel(pad_to_patch(waveform))
