"""Extraction speed: tagbench's decode + VGGish front end + HDF5 write against baselines.

    python benchmarks/extraction.py [AUDIO_DIR]    (default: generated MTT-like clips; ~1 min)

Without AUDIO_DIR it writes 40 MTT-like clips (29.1 s, 16 kHz mono MP3) to a temporary
folder. Prints seconds of audio per CPU second (one process, one BLAS thread) for:
- decode only (soundfile.read): the floor any extractor pays;
- tagbench extraction: decode + front end + writing an HDF5 shard (extract_shard);
- a plain librosa pipeline: librosa.load + librosa.feature.melspectrogram + log + framing;
and the resampling choice on 44.1 kHz stereo input (soxr HQ, the default, vs VHQ).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from common import machine, mtt_like_waves  # noqa: E402


def make_clips(folder: Path, n: int = 40, seconds: float = 29.1, rate: int = 16000,
               channels: int = 1, fmt: str = "MP3") -> list[Path]:
    import soundfile as sf

    files = []
    for i, wave in enumerate(mtt_like_waves(n, seconds, rate)):
        data = np.tile(wave[:, None], (1, channels)) if channels > 1 else wave
        path = folder / f"{i % 16:x}" / f"artist-album-01-clip{i}-0-29.{fmt.lower()}"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, data.astype(np.float32), rate, format=fmt)
        files.append(path)
    return files


def cpu_rate(fn, files) -> float:
    fn(files[0])  # warm-up: imports, caches, FFT plans
    t0 = time.process_time()
    audio = sum(fn(f) for f in files)
    return audio / (time.process_time() - t0)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tagbench-extract-") as folder:
        run(Path(folder))


def run(tmp: Path) -> None:
    import librosa
    import soundfile as sf

    from tagbench.features.audio import load_audio
    from tagbench.features.shards import extract_shard
    from tagbench.settings.config import FeatureSettings

    if len(sys.argv) > 1:
        files = sorted(Path(sys.argv[1]).rglob("*.mp3"))[:400]
        root = Path(sys.argv[1])
    else:
        root = tmp / "audio"
        files = make_clips(root)
    tsv = tmp / "part.tsv"
    tsv.write_text("clip_id\ttrack\tmp3_path\tt\n" + "".join(
        f"{i}\t{i}\t{f.relative_to(root)}\t1\n" for i, f in enumerate(files)))

    def decode(f):
        x, sr = sf.read(f, dtype="float32")
        return len(x) / sr

    def plain_librosa(f):
        x, sr = librosa.load(f, sr=16000)
        mel = librosa.feature.melspectrogram(y=x, sr=sr, n_fft=512, hop_length=160,
                                             win_length=400, n_mels=64, fmin=125, fmax=7500)
        logmel = np.log(mel.T.astype(np.float32) + 0.01)
        np.lib.stride_tricks.sliding_window_view(logmel, 96, axis=0)[::96].copy()
        return len(x) / sr

    rates = {"decode only (soundfile.read)": cpu_rate(decode, files),
             "plain librosa (load + melspectrogram)": cpu_rate(plain_librosa, files)}
    total = sum(decode(f) for f in files)
    t0 = time.process_time()
    extract_shard(tsv, root, 0, 1, tmp / "shard.h5", FeatureSettings())
    rates["tagbench extraction (decode + front end + HDF5)"] = total / (time.process_time() - t0)

    hi = make_clips(tmp / "hi", n=8, rate=44100, channels=2, fmt="WAV")
    resample = {name: cpu_rate(lambda f, q=q: len(load_audio(f, q)) / 16000, hi)
                for name, q in (("soxr HQ (default)", "soxr_hq"), ("soxr VHQ", "soxr_vhq"))}
    resample["decode only, 44.1 kHz stereo"] = cpu_rate(decode, hi)

    print(machine())
    print(f"{len(files)} files, {total:,.0f} s of audio; one process, one BLAS thread")
    print("| pipeline | audio s / CPU s |\n|---|---|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} |")
    ours = rates["tagbench extraction (decode + front end + HDF5)"]
    print(f"tagbench / decode only: {ours / rates['decode only (soundfile.read)']:.2f}x "
          f"(target >= 0.5x)")
    print(f"tagbench / plain librosa: {ours / rates['plain librosa (load + melspectrogram)']:.2f}x "
          f"(target >= 1.5x)")
    print("| 44.1 kHz stereo WAV -> 16 kHz mono | audio s / CPU s |\n|---|---|")
    for name, rate in resample.items():
        print(f"| {name} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
