"""Tagging new audio with a trained model file: the model carries its tags and feature settings.

Each file goes through the same function as the training data (`audio.clip_logmel`, with the
resampler stored in the model; any format and rate soundfile/librosa read; shorter than 0.96 s
is zero-padded), every non-overlapping 0.96 s
patch is scored, and the patch scores are pooled as the model was evaluated (mean or max).
A file that cannot be decoded gets an error and the others are still tagged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError, DecodeError, TagbenchError

AUDIO_SUFFIXES = {".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif",
                  ".aiff", ".au", ".wma"}
# Front-end settings a model depends on; storage details (dtype) may differ.
FEATURE_KEYS = ("sample_rate", "window", "hop", "n_fft", "n_mels", "f_min", "f_max",
                "log_offset", "example_frames", "window_type", "mel_scale")


@dataclass
class Tagged:
    path: str
    scores: np.ndarray | None = None          # (n_tags,) clip scores
    patch_scores: np.ndarray | None = None    # (n_patches, n_tags), one row per 0.96 s
    error: str | None = None

    def top(self, tags: list[str], k: int) -> list[tuple[str, float]]:
        order = np.argsort(-self.scores, kind="stable")[:k]
        return [(tags[i], float(self.scores[i])) for i in order]


def collect_audio(paths) -> list[Path]:
    """Files as given, plus the audio files found under any folder (recursively, sorted)."""
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*")
                            if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        else:
            found.append(path)
    return found


def model_resampler(meta: dict, model_path) -> str:
    """The resampler the model's features were made with; a front end that differs from this
    tagbench's is an error (the model would see other features than it was trained on)."""
    from .audio import RESAMPLERS
    from .frontend import PARAMS

    trained = meta.get("feature_params", {})
    differ = [k for k in FEATURE_KEYS if k in trained and trained[k] != PARAMS[k]]
    resample = trained.get("resample", "soxr_hq")  # models from before the setting existed
    if resample not in RESAMPLERS:
        differ.append(f"resample {resample!r}")
    if differ:
        raise DataError(f"{model_path}: trained on other front-end settings ({', '.join(differ)}) "
                        "than this tagbench computes; retrain it with this version")
    return resample


def tag_files(model_path, paths, batch_size: int = 256):
    """(tag names, [Tagged per file]) for every audio file under `paths`."""
    from .audio import clip_logmel
    from .frontend import frame_examples
    from .inference import POOLS, predict_patches
    from .models import load_model

    files = collect_audio(paths)
    if not files:
        raise DataError(f"no audio files found in {', '.join(map(str, paths))}")
    model, meta = load_model(model_path)
    resample = model_resampler(meta, model_path)
    pool = POOLS[meta.get("aggregate", "mean")]
    results = [Tagged(str(f)) for f in files]

    def patches():
        for item in results:
            try:
                yield frame_examples(clip_logmel(item.path, resample))
            except (DecodeError, TagbenchError) as err:
                item.error = str(err)
            except (OSError, ValueError, RuntimeError) as err:  # anything else a decoder raises
                item.error = f"{item.path}: cannot decode audio ({type(err).__name__}: {err})"

    ok = iter(results)
    for scores in predict_patches(model, patches(), batch_size):
        item = next(ok)
        while item.error is not None:
            item = next(ok)
        item.patch_scores, item.scores = scores, pool(scores, axis=0)
    return list(meta["tags"]), results


def as_rows(tags: list[str], results: list[Tagged], top_k: int) -> list[dict]:
    """Long format: one row per (file, rank), and one row with the error for a failed file."""
    rows = []
    for item in results:
        if item.error:
            rows.append({"path": item.path, "rank": None, "tag": None, "score": None,
                         "error": item.error})
            continue
        for rank, (tag, score) in enumerate(item.top(tags, top_k), start=1):
            rows.append({"path": item.path, "rank": rank, "tag": tag, "score": round(score, 4),
                         "error": None})
    return rows


def as_json(tags: list[str], results: list[Tagged], top_k: int) -> str:
    out = [{"path": r.path, "error": r.error} if r.error else
           {"path": r.path, "seconds": round(0.96 * len(r.patch_scores), 2),
            "tags": {t: round(s, 4) for t, s in r.top(tags, top_k)}}
           for r in results]
    return json.dumps(out, indent=2)


def as_table(tags: list[str], results: list[Tagged], top_k: int) -> str:
    lines = []
    for item in results:
        if item.error:
            continue
        top = "  ".join(f"{t} {s:.2f}" for t, s in item.top(tags, top_k))
        lines.append(f"{item.path}\t{top}")
    return "\n".join(lines)


def write_predictions(tags: list[str], results: list[Tagged], top_k: int, fmt: str,
                      out: str | None) -> None:
    """The top-k tags as `table` (tab-separated, files that decoded), `csv` (`as_rows`) or
    `json`, to the file `out` (written atomically) or to standard output."""
    import csv
    import io
    import sys

    buffer = io.StringIO()
    if fmt == "json":
        print(as_json(tags, results, top_k), file=buffer)
    elif fmt == "csv":
        writer = csv.DictWriter(buffer, ["path", "rank", "tag", "score", "error"])
        writer.writeheader()
        writer.writerows(as_rows(tags, results, top_k))
    elif any(r.error is None for r in results):
        print(as_table(tags, results, top_k), file=buffer)
    if out:
        from .atomic import write_text

        write_text(out, buffer.getvalue())
    else:
        sys.stdout.write(buffer.getvalue())
