"""The VGGish log-mel front end, reproduced exactly (see tests/data/README.md for the proof).

16 kHz mono; frames of 400 samples every 160 (25 ms / 10 ms) with a periodic Hann window,
zero-padded at the end to a 512-point real FFT; magnitude; VGGish's own mel matrix (64 HTK-mel
bands, 125-7500 Hz, triangles linear in mel, no normalisation, DC bin zeroed); log(mel + 0.01).
Everything is one batched float32 FFT (scipy.fft) and one matrix product per clip: no
per-frame Python.
"""

from __future__ import annotations

import functools
import json

import librosa
import numpy as np
import scipy.fft

from ..core.layout import EXAMPLE_FRAMES, SAMPLE_RATE  # 96 frames, 0.96 s; 16 kHz

WINDOW = 400
HOP = 160
N_FFT = 512
N_MELS = 64
F_MIN = 125.0
F_MAX = 7500.0
LOG_OFFSET = 0.01
# Samples that give exactly one example: 1 + (n - 400) // 160 == 96.
EXAMPLE_SAMPLES = WINDOW + (EXAMPLE_FRAMES - 1) * HOP  # 15,600
FRAME_BLOCK = 256  # frames per FFT block in log_mel

PARAMS = {
    "sample_rate": SAMPLE_RATE, "window": WINDOW, "hop": HOP, "n_fft": N_FFT,
    "n_mels": N_MELS, "f_min": F_MIN, "f_max": F_MAX, "log_offset": LOG_OFFSET,
    "example_frames": EXAMPLE_FRAMES, "window_type": "periodic hann", "mel_scale": "htk",
    "short_clips": "zero-padded at the end to one example",
}


def params_json(**extra) -> str:
    return json.dumps({**PARAMS, **extra}, sort_keys=True)


@functools.cache
def mel_matrix() -> np.ndarray:
    """(257, 64) float32: VGGish's mel weights, computed on each FFT bin's mel value."""
    bins_hz = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    bins_mel = librosa.hz_to_mel(bins_hz, htk=True)
    edges = np.linspace(librosa.hz_to_mel(F_MIN, htk=True), librosa.hz_to_mel(F_MAX, htk=True),
                        N_MELS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (center - lower)
    falling = (upper - bins_mel[:, None]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights.astype(np.float32)


@functools.cache
def _window() -> np.ndarray:
    n = np.arange(WINDOW)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / WINDOW)).astype(np.float32)  # periodic Hann


@functools.cache
def _fft_window() -> np.ndarray:
    """The Hann window followed by 112 zeros: windowing 512-sample frames with it equals
    zero-padding each windowed 400-sample frame to the FFT size, without the copy."""
    return np.concatenate([_window(), np.zeros(N_FFT - WINDOW, np.float32)])


@functools.cache
def _mel_band() -> tuple[slice, np.ndarray]:
    """The FFT bins with a non-zero mel weight, and the matrix rows for them."""
    used = np.flatnonzero(mel_matrix().any(axis=1))
    rows = slice(int(used[0]), int(used[-1]) + 1)
    return rows, np.ascontiguousarray(mel_matrix()[rows])


def pad_to_example(waveform: np.ndarray) -> np.ndarray:
    """Zero-pad at the end so that a clip shorter than 0.96 s gives one example, not none."""
    if len(waveform) >= EXAMPLE_SAMPLES:
        return waveform
    return np.pad(waveform, (0, EXAMPLE_SAMPLES - len(waveform)))


def log_mel(waveform: np.ndarray, dtype=np.float32) -> np.ndarray:
    """16 kHz mono float waveform -> (frames, 64) log-mel, frames = 1 + (n-400)//160.

    float32 (the default) for features; float64 reproduces the official code's arithmetic (the
    smoke test). Returns zero frames for fewer than 400 samples; `pad_to_example` keeps them.
    """
    x = np.ascontiguousarray(waveform, dtype=dtype)
    if len(x) < WINDOW:
        return np.zeros((0, N_MELS), dtype)
    n_frames = 1 + (len(x) - WINDOW) // HOP
    padded = np.zeros(HOP * (n_frames - 1) + N_FFT, dtype)
    padded[:len(x)] = x[:len(padded)]
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    rows, weights = _mel_band()
    weights, window = weights.astype(dtype, copy=False), _fft_window().astype(dtype, copy=False)
    out = np.empty((n_frames, N_MELS), dtype)
    block = np.empty((min(n_frames, FRAME_BLOCK), N_FFT), dtype)
    # Blocks of frames keep the temporaries in cache and reuse their memory: a whole 29 s clip
    # at once spends as long in page faults on fresh 6 MB arrays as in the FFT (benchmarks/).
    for start in range(0, n_frames, FRAME_BLOCK):
        stop = min(n_frames, start + FRAME_BLOCK)
        windowed = np.multiply(frames[start:stop], window, out=block[:stop - start])
        # scipy's pocketfft keeps float32 and is ~3x faster than numpy.fft here
        spectrum = scipy.fft.rfft(windowed, axis=1, workers=1, overwrite_x=True)
        np.matmul(np.abs(spectrum[:, rows]), weights, out=out[start:stop])
    return np.log(np.add(out, dtype(LOG_OFFSET), out=out), out=out)


def frame_examples(logmel: np.ndarray, step: int = EXAMPLE_FRAMES) -> np.ndarray:
    """(frames, 64) -> (n, 96, 64) examples every `step` frames; the incomplete tail is dropped."""
    from . import patches

    return patches(logmel, EXAMPLE_FRAMES, step)


def waveform_to_examples(waveform: np.ndarray) -> np.ndarray:
    """The official function's contract: 16 kHz waveform -> (n, 96, 64) float32 examples."""
    return frame_examples(log_mel(waveform))


def clip_log_mel(waveform: np.ndarray) -> np.ndarray:
    """A clip's log-mel as features store it: padded so that a clip shorter than one example
    gives one (`backbones.log_mel`)."""
    return log_mel(pad_to_example(waveform))
