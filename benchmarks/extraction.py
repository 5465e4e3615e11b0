"""Extraction speed: tagbench's decode + VGGish front end against baselines in the same run.

    python benchmarks/extraction.py [AUDIO_DIR]   (default: resources/demo/audio)

Prints seconds of audio per CPU second for decode only (soundfile.read), tagbench's
extraction (decode + front end), and a plain librosa pipeline (librosa.load +
librosa.feature.melspectrogram + framing, float32), with the ratios between them.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def cpu_seconds(fn, files) -> tuple[float, float]:
    t0 = time.process_time()
    audio = sum(fn(f) for f in files)
    return audio, time.process_time() - t0


def main() -> None:
    import librosa
    import soundfile as sf

    from tagbench import frontend
    from tagbench.audio import load_audio

    root = Path(sys.argv[1] if len(sys.argv) > 1 else "resources/demo/audio")
    files = sorted(root.rglob("*.mp3"))[:400]
    if not files:
        sys.exit(f"no mp3 files under {root}: run `make demo` first or pass a folder")

    def decode(f):
        x, sr = sf.read(f, dtype="float32")
        return len(x) / sr

    def tagbench_extract(f):
        x = load_audio(f)
        frontend.log_mel(frontend.pad_to_example(x))
        return len(x) / 16000

    def plain_librosa(f):
        x, sr = librosa.load(f, sr=16000)
        mel = librosa.feature.melspectrogram(y=x, sr=sr, n_fft=512, hop_length=160,
                                             win_length=400, n_mels=64, fmin=125, fmax=7500)
        np.log(mel.T.astype(np.float32) + 0.01)
        return len(x) / sr

    for fn in (decode, tagbench_extract, plain_librosa):  # warm-up: imports, caches
        fn(files[0])
    rates = {}
    for name, fn in (("decode only", decode), ("tagbench extract", tagbench_extract),
                     ("plain librosa", plain_librosa)):
        audio, cpu = cpu_seconds(fn, files)
        rates[name] = audio / cpu
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"librosa {librosa.__version__}, soundfile {sf.__version__}; {len(files)} files")
    print("| pipeline | audio s / CPU s |\n|---|---|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} |")
    print(f"tagbench / decode-only: {rates['tagbench extract'] / rates['decode only']:.2f}x")
    print(f"tagbench / plain librosa: {rates['tagbench extract'] / rates['plain librosa']:.2f}x")


if __name__ == "__main__":
    main()
