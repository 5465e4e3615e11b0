"""Decoding any audio file to the front end's input: mono float32 at its rate (16 kHz for the
built-ins, a user's backbone's own).

Decoded as float (never int16: int16 clips decoded peaks above 1.0 and changes MTT log-mels by
up to 0.15), down-mixed by channel mean, resampled once with soxr when not already at the rate
(MTT is 16 kHz: no resampling happens there for the built-ins). soundfile (libsndfile) reads WAV/FLAC/OGG/MP3;
other formats fall back to librosa's audioread path. `clip_logmel` adds a backbone's front end.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from ..core.errors import DecodeError
from ..core.layout import SAMPLE_RATE
from ..core.stderr_filter import silenced_stderr

RESAMPLERS = {"soxr_hq": "HQ", "soxr_vhq": "VHQ"}


def _decode(path: Path) -> tuple[np.ndarray, int]:
    try:
        data, rate = sf.read(path, dtype="float32")
        return (data.mean(axis=1, dtype=np.float32) if data.ndim == 2 else data), int(rate)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as sf_err:
        first_error = sf_err
    try:  # formats libsndfile does not know (m4a, ...) via audioread
        import warnings

        import librosa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data, rate = librosa.load(path, sr=None, mono=True, dtype=np.float32)
        return data, int(rate)
    except Exception:  # noqa: BLE001 - report the libsndfile reason, it is the informative one
        reason = str(first_error)
        if "does not exist" in reason:  # libsndfile's words for a stream it cannot find
            reason = "no decodable audio stream: truncated or not an audio file"
        raise DecodeError(f"{path}: cannot decode audio ({reason})") from None


def load_audio(path: str | Path, resample: str, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode an audio file to mono float32 samples at `rate` (default 16 kHz).

    Parameters
    ----------
    path : str or Path
        Any format soundfile reads (WAV/FLAC/OGG/MP3), else what librosa's audioread can.
    resample : {"soxr_hq", "soxr_vhq"}
        The soxr quality used when the file is not at `rate`.
    rate : int, optional
        The sample rate wanted.

    Returns
    -------
    ndarray
        float32 samples, channels averaged.

    Raises
    ------
    DecodeError
        Naming the file, if it is missing, empty, undecodable, has no samples, or has NaN/inf.
    """
    path = Path(path)
    if not path.is_file():
        raise DecodeError(f"{path}: audio file not found")
    if path.stat().st_size == 0:
        raise DecodeError(f"{path}: empty file (0 bytes)")
    with silenced_stderr():  # libmpg123 prints resync notes for every damaged frame
        samples, file_rate = _decode(path)
    if samples.size == 0:
        raise DecodeError(f"{path}: no audio samples")
    if not np.isfinite(np.sum(samples, dtype=np.float64)):  # one NaN/inf makes the sum one
        raise DecodeError(f"{path}: decoded samples contain NaN or infinity")
    if file_rate != rate:
        import soxr

        samples = soxr.resample(samples, file_rate, rate, quality=RESAMPLERS[resample])
    return np.ascontiguousarray(samples, dtype=np.float32)


def clip_logmel(path: str | Path, resample: str, front_end: str | None = None,
                deformation: str = "", clip_id: str = "") -> np.ndarray:
    """Decode an audio file and compute a backbone front end's log-mel (for a waveform front
    end, its samples at the front end's rate, as (samples, 1)).

    The one path from a file to features, for extraction and prediction alike.

    Parameters
    ----------
    path : str or Path
        The audio file (see `load_audio`).
    resample : {"soxr_hq", "soxr_vhq"}
        The soxr quality used when the file is not at the front end's rate.
    front_end : str, optional
        The backbone front end (`backbones.FRONT_ENDS`), the default backbone's by default.
    deformation : str, optional
        A deformation (`core.deformations` name) applied to the decoded audio, seeded by
        `clip_id` (`features.deform`); "" for the clean clip.

    Returns
    -------
    ndarray
        (frames, n_mels) float32; at least one patch, since short clips are padded with silence.

    Raises
    ------
    DecodeError
        If the file cannot be decoded (see `load_audio`).
    """
    from .. import backbones

    front_end = front_end or backbones.DEFAULT_FRONT_END
    rate = backbones.front_end(front_end).sample_rate
    samples = load_audio(path, resample, rate)
    if deformation:
        from .deform import deform

        samples = deform(samples, rate, deformation, clip_id)
    return backbones.log_mel(front_end, samples)
