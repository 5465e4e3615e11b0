"""Deformations of test audio, for scoring every variant on degraded clips (config `robustness`).

A deformation is a kind and a severity, named `kind=severity` (`noise_snr_db=20`;
`core.deformations`: the names, kinds and bounds): the name is part of the paths
(`test~noise_snr_db=20`), so each severity is its own set of jobs. Every kind is an
audiomentations transform (MIT) with its random range pinned to the severity and
applied always (p = 1), to mono audio at the front end's rate, after decoding and resampling and
before the front end:

| kind | transform | severity |
|---|---|---|
| `noise_snr_db` | AddGaussianSNR | signal-to-noise ratio, dB (white Gaussian noise) |
| `mp3_kbps` | Mp3Compression, LAME through lameenc (LGPL, a separate library) | bitrate, kbps |
| `lowpass_hz` | LowPassFilter, 24 dB/octave | cutoff, Hz (a band limit) |
| `reverb_rt60_s` | ApplyImpulseResponse on a generated impulse response | RT60, s |
| `gain_db` | Gain | gain, dB |
| `clip_percent` | ClippingDistortion | percent of samples clipped |
| `pitch_semitones` | PitchShift (signalsmith stretch) | semitones |

The impulse responses are generated, not recorded: a unit direct path followed by Gaussian noise
whose envelope falls 60 dB over RT60 (an exponential decay, a diffuse late tail without early
reflections), seeded by the RT60, written once per job to a temporary folder.

audiomentations draws from Python's and NumPy's global generators: each clip's deformation runs
with both seeded from sha256(clip id, deformation), and the caller's states restored after, so
a rerun gives byte-identical audio and features, whatever ran before.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import random
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..core.deformations import mp3_bitrates, parse
from ..core.errors import DataError


def check_rate(deformation: str, rate: int) -> None:
    """A bitrate LAME cannot encode at the audio's rate is one line (before any clip)."""
    kind, severity = parse(deformation)
    if kind == "mp3_kbps":
        allowed = mp3_bitrates(rate)
        if int(severity) != severity or int(severity) not in allowed:
            raise DataError(f"deformation {deformation}: LAME encodes {rate} Hz audio at "
                            f"{', '.join(map(str, allowed))} kbps, not {severity:g}")


# LAME's encoder delay (576 samples) plus the MP3 decoder's (529): what the MP3 round trip
# prepends, at any rate (measured: the decoded noise correlates best 1,105 samples late)
MP3_DELAY = 1105


@contextlib.contextmanager
def _seeded(clip_id: str, deformation: str):
    """Python's and NumPy's global generators seeded for one clip's deformation, restored
    after (audiomentations draws from both)."""
    seed = int.from_bytes(hashlib.sha256(f"{clip_id}\0{deformation}".encode()).digest()[:8], "big")
    py_state, np_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


@functools.cache
def _impulse_response(rt60: float, rate: int) -> str:
    """A generated room's impulse response as a WAV file (one per RT60 and rate and process)."""
    import soundfile as sf

    n = max(1, int(round(1.2 * rt60 * rate)))
    t = np.arange(n) / rate
    rng = np.random.default_rng(int(round(rt60 * 1e6)))
    ir = rng.normal(0, 1, n) * 10 ** (-3 * t / rt60)  # -60 dB at rt60
    ir[0] = 1.0 / 0.3  # the direct path, about 10 dB above the tail's first samples
    ir = (ir / np.max(np.abs(ir))).astype(np.float32)
    folder = Path(tempfile.mkdtemp(prefix="tagbench-ir-"))
    path = folder / f"rt60_{rt60:g}_{rate}.wav"
    sf.write(path, ir, rate, subtype="FLOAT")
    return str(path)


@functools.cache  # one per job and deformation: every clip's call re-draws its parameters
def _transform(kind: str, severity: float, rate: int):
    import audiomentations as am

    if kind == "noise_snr_db":
        return am.AddGaussianSNR(min_snr_db=severity, max_snr_db=severity, p=1.0)
    if kind == "mp3_kbps":
        import lameenc  # noqa: F401 - audiomentations imports it; here, its version is tracked

        with warnings.catch_warnings():  # lameenc is the LGPL route the project chose
            warnings.simplefilter("ignore")
            return am.Mp3Compression(min_bitrate=int(severity), max_bitrate=int(severity),
                                     backend="lameenc", preserve_delay=True, p=1.0)
    if kind == "lowpass_hz":
        return am.LowPassFilter(min_cutoff_freq=severity, max_cutoff_freq=severity,
                                min_rolloff=24, max_rolloff=24, p=1.0)
    if kind == "reverb_rt60_s":
        return am.ApplyImpulseResponse(ir_path=_impulse_response(severity, rate), p=1.0,
                                       leave_length_unchanged=True)
    if kind == "gain_db":
        return am.Gain(min_gain_db=severity, max_gain_db=severity, p=1.0)
    if kind == "clip_percent":
        return am.ClippingDistortion(min_percentile_threshold=int(round(severity)),
                                     max_percentile_threshold=int(round(severity)), p=1.0)
    import python_stretch  # noqa: F401 - what PitchShift runs; here, its version is tracked

    return am.PitchShift(min_semitones=severity, max_semitones=severity, p=1.0)


def deform(samples: np.ndarray, rate: int, deformation: str, clip_id: str) -> np.ndarray:
    """One clip's mono float32 samples at `rate`, deformed (same length; seeded by the clip).

    Raises
    ------
    DataError
        If the deformation is unknown or cannot apply at this rate (an MP3 bitrate).
    """
    kind, severity = parse(deformation)
    check_rate(deformation, rate)
    transform = _transform(kind, severity, rate)
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    with _seeded(clip_id, deformation), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = np.asarray(transform(samples=samples, sample_rate=rate), dtype=np.float32)
    out = out.reshape(-1)
    if kind == "mp3_kbps":  # aligned with the clean clip, as a gapless decoder would give it
        out = out[MP3_DELAY:]
    out = out[: len(samples)]
    if len(out) < len(samples):
        out = np.concatenate([out, np.zeros(len(samples) - len(out), np.float32)])
    if not np.isfinite(out).all():
        raise DataError(f"clip {clip_id}: deformation {deformation} gave non-finite samples")
    return out
