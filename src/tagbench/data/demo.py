"""The demo dataset: synthetic music in MTT layout, made offline and deterministically.

Each synthetic "track" draws instruments (drums, bass, piano-like, strings-like, synth lead,
noise texture), a tempo and a loudness; its clips are consecutive segments sharing those tags,
named like MTT (`{hex folder}/{artist}-{album}-{NN}-{title}-{start}-{end}.mp3`) and stored as
16 kHz mono MP3. Every tag is audible, so a model can learn it; tag frequencies are uneven
like MTT's. Same settings and seed -> the same annotations and the same audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from ..core.layout import SAMPLE_RATE
from ..settings.config import DemoSettings
from .annotations import Annotations, write_annotations

INSTRUMENTS = {"drums": 0.55, "bass": 0.45, "piano": 0.35, "strings": 0.25, "synth": 0.2,
               "noise": 0.12}
TAGS = (*INSTRUMENTS, "fast", "slow", "loud", "quiet")
SCALE = np.array([0, 2, 3, 5, 7, 8, 10])  # natural minor, in semitones


def _hz(midi: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69) / 12)


def _harmonic(freq: float, n: int, harmonics: int, t: np.ndarray, odd_only=False) -> np.ndarray:
    ks = np.arange(1, harmonics + 1)
    if odd_only:
        ks = ks[ks % 2 == 1]
    ks = ks[ks * freq < SAMPLE_RATE / 2 - 200]
    return (np.sin(2 * np.pi * freq * np.outer(ks, t[:n])) / ks[:, None]).sum(axis=0)


class _Track:
    """One synthetic track: its tags and how to render any of its segments."""

    def __init__(self, rng: np.random.Generator):
        self.instruments = [name for name, p in INSTRUMENTS.items() if rng.random() < p]
        if not set(self.instruments) - {"noise"}:
            self.instruments.append(str(rng.choice(["drums", "bass", "piano", "strings", "synth"])))
        tempo = rng.choice(["fast", "slow", "mid"], p=[0.3, 0.3, 0.4])
        self.bpm = {"fast": rng.uniform(160, 190), "slow": rng.uniform(50, 62),
                    "mid": rng.uniform(95, 115)}[tempo]
        # Fast tracks play eighth notes: ~6 onsets/s against ~1/s for slow ones, so the tempo
        # is audible within a single 0.96 s patch.
        self.subdivision = 2 if tempo == "fast" else 1
        level = rng.choice(["loud", "quiet", "mid"], p=[0.25, 0.25, 0.5])
        self.peak = {"loud": rng.uniform(0.75, 0.95), "quiet": rng.uniform(0.02, 0.04),
                     "mid": rng.uniform(0.18, 0.3)}[level]
        self.root = int(rng.integers(0, 12))
        self.tags = {*self.instruments, *([tempo] if tempo != "mid" else []),
                     *([level] if level != "mid" else [])}

    def render(self, seconds: float, rng: np.random.Generator) -> np.ndarray:
        n = int(round(seconds * SAMPLE_RATE))
        t = np.arange(n) / SAMPLE_RATE
        out = np.zeros(n)
        beat = 60.0 / self.bpm / self.subdivision
        onsets = np.arange(rng.uniform(0, beat), seconds, beat)

        def note(start_s, length_s, wave, decay=None):
            i0 = int(start_s * SAMPLE_RATE)
            m = min(int(length_s * SAMPLE_RATE), n - i0)
            if m <= 0:
                return
            env = np.exp(-t[:m] / decay) if decay else np.minimum(1.0, t[:m] / 0.02)
            out[i0:i0 + m] += wave(m) * env

        degree = lambda: SCALE[rng.integers(0, len(SCALE))]  # noqa: E731
        for name in self.instruments:
            if name == "drums":
                for k, s in enumerate(onsets):
                    sweep = 2 * np.pi * np.cumsum(45 + 90 * np.exp(-t / 0.04)) / SAMPLE_RATE
                    note(s, 0.25, lambda m, sw=sweep: 0.9 * np.sin(sw[:m]), decay=0.12)
                    hat = lambda m: 0.35 * np.diff(rng.standard_normal(m + 1))  # noqa: E731
                    note(s + beat / 2, 0.06, hat, decay=0.015)
                    if k % 2:
                        note(s, 0.15, lambda m: 0.4 * rng.standard_normal(m), decay=0.05)
            elif name == "bass":
                for s in onsets:
                    f = _hz(36 + self.root + degree())
                    note(s, beat, lambda m, f=f: 0.5 * _harmonic(f, m, 6, t), decay=beat / 1.5)
            elif name == "piano":
                for s in onsets[rng.random(len(onsets)) < 0.8]:
                    f = _hz(60 + self.root + degree())
                    note(s, 0.9, lambda m, f=f: 0.35 * _harmonic(f, m, 8, t), decay=0.35)
            elif name == "strings":
                chord = [48 + self.root + d for d in (0, 7, 15, 19)]
                vibrato = 0.004 * np.sin(2 * np.pi * 5.5 * t)
                # bowed pulses on the beat grid, so strings carry the tempo too
                pulse = np.exp(-((t - onsets[0]) % beat) / 0.12)
                attack = np.minimum(1.0, t / 0.4) * (0.55 + 0.45 * pulse)
                for midi in chord:
                    phase = 2 * np.pi * np.cumsum(_hz(midi) * (1 + vibrato)) / SAMPLE_RATE
                    ks = np.arange(1, 9)[:, None]
                    out += 0.12 * attack * (np.sin(ks * phase) / ks).sum(axis=0)
            elif name == "synth":
                for s in np.arange(onsets[0], seconds, beat / 2):
                    f = _hz(72 + self.root + degree())
                    note(s, beat / 2 * 0.7, lambda m, f=f: 0.2 * _harmonic(f, m, 15, t, True))
            elif name == "noise":
                white = rng.standard_normal(n)
                out += 0.25 * np.convolve(white, np.ones(8) / 8, mode="same")
        out += 0.002 * rng.standard_normal(n)  # a noise floor, as in any recording
        return (out * self.peak / max(np.abs(out).max(), 1e-9)).astype(np.float32)


def make_demo(out_dir: str | Path, settings: DemoSettings) -> Annotations:
    """Make the synthetic demo dataset in MTT layout under `out_dir`.

    Writes `audio/{hex folder}/*.mp3` (16 kHz mono) and `annotations_final.csv`; the same
    settings give the same files.

    Parameters
    ----------
    out_dir : str or Path
        The dataset folder.
    settings : DemoSettings
        Number of tracks, clips per track, clip length and seed.

    Returns
    -------
    Annotations
        The clips written, with the demo's tags (instruments, fast/slow, loud/quiet).
    """
    from concurrent.futures import ThreadPoolExecutor

    out = Path(out_dir)
    rng = np.random.default_rng(settings.seed)
    ids, paths, rows = [], [], []
    # MP3 encoding (libsndfile, outside the GIL) runs beside the rendering of the next clips,
    # which share one random stream and so stay in order
    with ThreadPoolExecutor(max_workers=2) as encoder:
        encoded = list(_render_all(out, settings, rng, ids, paths, rows, encoder))
    for future in encoded:
        future.result()
    ann = Annotations(tuple(ids), tuple(paths), TAGS, np.array(rows, dtype=np.uint8))
    write_annotations(out / "annotations_final.csv", ann)
    return ann


def _render_all(out: Path, settings: DemoSettings, rng, ids, paths, rows, encoder):
    """Render every clip in order and hand each to `encoder` to write (yields the futures)."""
    for t in range(settings.n_tracks):
        track = _Track(rng)
        folder = f"{t % 16:x}"
        stem = f"demo_artist_{t // 4:02d}-demo_album_{t // 2:02d}-{t % 2 + 1:02d}-track_{t:03d}"
        for c in range(settings.clips_per_track):
            start = int(c * settings.clip_seconds)
            end = int((c + 1) * settings.clip_seconds)
            rel = f"{folder}/{stem}-{start}-{end}.mp3"
            target = out / "audio" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            yield encoder.submit(sf.write, target, track.render(settings.clip_seconds, rng),
                                 SAMPLE_RATE, format="MP3")
            ids.append(str(len(ids) + 1))
            paths.append(rel)
            rows.append([int(tag in track.tags) for tag in TAGS])
