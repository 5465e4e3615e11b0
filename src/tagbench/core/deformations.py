"""The names of deformations of test audio (config `robustness`): kinds, severity bounds, and the
`kind=severity` names that paths, tables and jobs use. Light (the Snakefile reads it); the audio
work is `features.deform`."""

from __future__ import annotations

import math

from .errors import ConfigError, DataError

SEPARATOR = "~"  # a deformed part: `test~noise_snr_db=20`
# kind -> (lowest, highest severity, what the severity is): what `configured` checks the config
# against (the schema only says "a list of numbers per kind")
KINDS = {
    "noise_snr_db": (-10.0, 80.0, "signal-to-noise ratio of added white noise, dB"),
    "mp3_kbps": (8.0, 320.0, "MP3 bitrate (LAME), kbps"),
    "lowpass_hz": (100.0, 20000.0, "low-pass cutoff, Hz"),
    "reverb_rt60_s": (0.05, 5.0, "reverberation time of a generated room, s"),
    "gain_db": (-40.0, 40.0, "gain, dB"),
    "clip_percent": (0.0, 90.0, "percent of samples clipped"),
    "pitch_semitones": (-12.0, 12.0, "pitch shift, semitones"),
}
# Bitrates LAME encodes, by MPEG version: below 32 kHz MPEG-2/2.5 (8-160), from 32 kHz MPEG-1
MP3_KBPS_LOW_RATES = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
MP3_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


def name(kind: str, severity: float) -> str:
    """The deformation's name, as paths and tables show it: `kind=severity` (`%g`)."""
    return f"{kind}={float(severity):g}"


def parse(deformation: str) -> tuple[str, float]:
    """(kind, severity) of a name; a DataError naming what is wrong."""
    kind, _, value = deformation.partition("=")
    try:
        severity = float(value)
    except ValueError:
        severity = math.nan
    if kind not in KINDS or not math.isfinite(severity):
        raise DataError(f"unknown deformation {deformation!r} (kind=severity, kinds: "
                        f"{', '.join(KINDS)})")
    return kind, severity


def configured(robustness: dict) -> tuple[str, ...]:
    """The names of the config's `robustness` (kind -> severities), in its order; an unknown
    kind or a severity out of range is one config-error line."""
    names = []
    for kind, severities in robustness.items():
        if kind not in KINDS:
            raise ConfigError(f"config key 'robustness.{kind}' is not known (allowed: "
                              f"{', '.join(KINDS)})")
        low, high, what = KINDS[kind]
        for severity in severities:
            if not low <= severity <= high:
                raise ConfigError(f"config key 'robustness.{kind}': {severity} is out of range "
                                  f"({what}: {low:g} to {high:g})")
            if kind in ("mp3_kbps", "clip_percent") and severity != int(severity):
                raise ConfigError(f"config key 'robustness.{kind}': {severity} is not a whole "
                                  "number")
            names.append(name(kind, severity))
    return tuple(dict.fromkeys(names))


def mp3_bitrates(rate: int) -> tuple[int, ...]:
    """The bitrates LAME encodes audio of this sample rate at."""
    return MP3_KBPS_LOW_RATES if rate < 32000 else MP3_KBPS


def check_bitrates(names, rates: dict[str, int]) -> None:
    """Each MP3 deformation must be a bitrate LAME encodes at the rate of every backbone that
    reads the deformed audio (`rates`: backbone -> Hz); one config-error line otherwise."""
    for deformation in names:
        kind, severity = parse(deformation)
        for backbone, rate in rates.items() if kind == "mp3_kbps" else ():
            if int(severity) not in mp3_bitrates(rate):
                raise ConfigError(
                    f"config key 'robustness.mp3_kbps': {severity:g} kbps is no bitrate LAME "
                    f"encodes {rate} Hz audio at (backbone {backbone}; it takes "
                    f"{', '.join(map(str, mp3_bitrates(rate)))})")


def split_part(part: str) -> tuple[str, str]:
    """A part's (split part, deformation): `test~noise_snr_db=20` -> (`test`, the name);
    `test` -> (`test`, "")."""
    base, _, deformation = part.partition(SEPARATOR)
    return base, deformation
