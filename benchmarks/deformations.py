"""The cost of robustness: each deformation per audio second, against extraction itself.

    python benchmarks/deformations.py      (~1 min on 2 cores)

On 8 MTT-like clips of 29.1 s (`common.mtt_like_waves`, written as 32 kbps-like MP3 at 16 kHz,
as MTT's), in one run: the clean extraction job's work per clip (`audio.clip_logmel`: decode,
resample, VGGish log-mel) and, for each kind at a typical severity, the deformation alone
(`features.deform.deform` on the decoded clip), best of 3, single-threaded. Prints audio seconds
per CPU second and each deformation's cost as a fraction of extraction, and what one more
deformed test part adds for all of MTT's test part (the standard split's 4,332 test clips) and
for its whole 25,863 clips.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import best_of, machine, mtt_like_waves

SEVERITIES = ("noise_snr_db=10", "mp3_kbps=16", "mp3_kbps=64", "lowpass_hz=2000",
              "reverb_rt60_s=0.8", "gain_db=-12", "clip_percent=20", "pitch_semitones=2")
SECONDS, N_CLIPS = 29.1, 8
MTT_TEST_CLIPS, MTT_CLIPS = 4332, 25863


def main() -> None:
    import numpy as np
    import soundfile as sf

    from tagbench.features.audio import clip_logmel, load_audio
    from tagbench.features.deform import deform

    print(machine())
    work = Path(tempfile.mkdtemp(prefix="tagbench-deform-"))
    paths = []
    for i, wave in enumerate(mtt_like_waves(N_CLIPS, SECONDS)):
        paths.append(work / f"clip{i}.mp3")
        sf.write(paths[-1], wave.astype(np.float32), 16000, format="MP3")
    audio = [load_audio(p, "soxr_hq") for p in paths]
    total = N_CLIPS * SECONDS
    start = time.process_time()
    extract = best_of(3, lambda: [clip_logmel(p, "soxr_hq") for p in paths])
    print(f"extraction (decode, resample, VGGish log-mel): {total / extract:,.0f} audio s per s "
          f"({time.process_time() - start:.1f} CPU s for 3 rounds)")
    print("| deformation | audio s per s | cost / extraction | + per deformed MTT test part | "
          "+ for all of MTT |")
    print("|---|---|---|---|---|")
    for name in SEVERITIES:
        seconds = best_of(3, lambda name=name: [deform(x, 16000, name, f"c{i}")
                                                for i, x in enumerate(audio)])
        per_clip = (seconds + extract) / N_CLIPS  # the deformed part's extraction job, per clip
        print(f"| `{name}` | {total / seconds:,.0f} | {seconds / extract:.2f}x | "
              f"{per_clip * MTT_TEST_CLIPS / 60:.1f} CPU min | {per_clip * MTT_CLIPS / 60:.1f} "
              "CPU min |")


if __name__ == "__main__":
    main()
