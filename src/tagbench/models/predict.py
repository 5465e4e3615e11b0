"""Tagging new audio with a trained model file: the model carries its tags, backbone and front end.

Each file goes through the same function as the training data (`audio.clip_logmel`, with the
front end and resampler stored in the model; any format and rate soundfile/librosa read; a
clip shorter than one patch is zero-padded), every non-overlapping patch of the backbone
(its own patch length) is scored, and the patch scores are pooled as the model
was evaluated (mean or max). A file that cannot be decoded gets an error and the others are
still tagged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import DataError, DecodeError, TagbenchError

AUDIO_SUFFIXES = {".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif",
                  ".aiff", ".au", ".wma"}
# Feature settings that are storage details, not the front end: they may differ.
STORAGE_KEYS = ("dtype", "resample")


@dataclass
class Tagged:
    """One audio file's tagging result: clip and per-patch scores, or the error that stopped it.

    `scores` and `patch_scores` are None when `error` is set (the file could not be decoded).
    """

    path: str
    scores: np.ndarray | None = None          # (n_tags,) clip scores
    patch_scores: np.ndarray | None = None    # (n_patches, n_tags), one row per patch
    patch_seconds: float = 0.96               # the backbone's patch length
    error: str | None = None

    def top(self, tags: list[str], k: int) -> list[tuple[str, float]]:
        """The `k` highest-scoring (tag, score) pairs, best first (ties in tag order)."""
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


def model_front_end(meta: dict, model_path) -> tuple[str, str]:
    """(front end, resampler) the model's features were made with; a front end whose settings
    differ from this tagbench's is an error (the model would see other features than it was
    trained on)."""
    from ..backbones import DEFAULT_FRONT_END, FRONT_ENDS, front_end_params
    from ..features.audio import RESAMPLERS

    trained = meta.get("feature_params", {})
    name = trained.get("front_end", DEFAULT_FRONT_END)  # models from before backbones had them
    if name not in FRONT_ENDS:
        raise DataError(f"{model_path}: trained on front end {name!r}, which this tagbench does "
                        f"not have ({', '.join(FRONT_ENDS)})")
    params = front_end_params(name)
    differ = [k for k in params if k in trained and k not in STORAGE_KEYS and trained[k] != params[k]]
    resample = trained.get("resample", "soxr_hq")  # models from before the setting existed
    if resample not in RESAMPLERS:
        differ.append(f"resample {resample!r}")
    if differ:
        raise DataError(f"{model_path}: trained on other front-end settings ({', '.join(differ)}) "
                        "than this tagbench computes; retrain it with this version")
    return name, resample


def tag_with_backbone(ref: str, paths, batch_size: int = 256, weights_path=None):
    """Tag audio files with a tagger backbone's own tags (its taggram, patch scores averaged
    per file, as a tagger's own CLI does), with no experiment run first. Returns and errors
    as `tag_files` (and a backbone with no tags of its own is an error)."""
    from .. import backbones
    from .runner import BackboneRunner, own_tags

    files = _files(paths)
    tags = own_tags(backbones.backbone(backbones.parse_cache_name(ref)[0]))  # before loading
    runner = BackboneRunner(ref, weights_path)
    return list(tags), _run_files(runner, files, "soxr_hq", batch_size, np.mean,
                                  lambda out: out["taggram"])


def _files(paths) -> list[Path]:
    files = collect_audio(paths)
    if not files:
        raise DataError(f"no audio files found in {', '.join(map(str, paths))}")
    return files


def _run_files(runner, files, resample: str, batch_size: int, pool, score) -> list[Tagged]:
    """Each file through a backbone runner, `score` (outputs -> patch scores), `pool`; a file
    that cannot be decoded gets its error and the others are still tagged."""
    results = []
    for path in files:
        item = Tagged(str(path), patch_seconds=runner.hop_seconds)  # one column per hop
        try:
            patches = runner.file_patches(path, resample)
        except (DecodeError, TagbenchError) as err:
            item.error = str(err)
        except (OSError, ValueError, RuntimeError) as err:  # anything else a decoder raises
            item.error = f"{path}: cannot decode audio ({type(err).__name__}: {err})"
        if item.error is None:
            item.patch_scores = np.asarray(score(runner.outputs(patches, str(path), batch_size)),
                                           np.float32)
            item.scores = pool(item.patch_scores, axis=0)
        results.append(item)
    return results


def _tag_head_only(model, meta: dict, model_path, files, batch_size: int):
    """A head-only model (a user's backbone): the backbone's outputs, then the head."""
    from .backbone_cache import plugin_weights
    from .inference import POOLS
    from .runner import BackboneRunner

    runner = BackboneRunner(meta["backbone"])
    if plugin_weights(runner.spec) != meta.get("backbone_weights"):
        raise DataError(f"{model_path}: trained on backbone {meta['backbone']} with other weights "
                        "or code than it has now: retrain the variant (rerun snakemake)")
    output = meta["backbone_output"]
    resample = meta.get("feature_params", {}).get("resample", "soxr_hq")
    return _run_files(runner, files, resample, batch_size, POOLS[meta.get("aggregate", "mean")],
                      lambda out: model.predict_on_batch(out[output]))


def tag_files(model_path, paths, batch_size: int = 256):
    """Tag audio files with a trained model file, as the model was evaluated.

    Each file gets the model's own front end and resampler, every non-overlapping patch is
    scored, and patch scores are pooled by the model's `aggregate` (mean or max). A file that
    cannot be decoded gets an `error`; the others are still tagged.

    Parameters
    ----------
    model_path : str or Path
        A tagbench `.keras` model file.
    paths : iterable of str or Path
        Audio files, or folders searched recursively for audio files.
    batch_size : int, optional
        Patches per model call.

    Returns
    -------
    tags : list of str
        The model's tags, in score-column order.
    results : list of Tagged
        One per file, in the order found (`collect_audio`).

    Raises
    ------
    DataError
        If no audio file is found, the model file cannot be loaded, or its front-end settings
        differ from this tagbench's.
    """
    from .. import backbones
    from ..features.audio import clip_logmel
    from .inference import POOLS, predict_patches
    from .networks import load_model

    files = _files(paths)
    model, meta = load_model(model_path)
    if meta.get("head_only"):
        return list(meta["tags"]), _tag_head_only(model, meta, model_path, files, batch_size)
    name, resample = model_front_end(meta, model_path)
    fe = backbones.front_end(name)
    pool = POOLS[meta.get("aggregate", "mean")]
    results = [Tagged(str(f), patch_seconds=fe.patch_seconds) for f in files]

    def patches():
        for item in results:
            try:
                yield backbones.patches(clip_logmel(item.path, resample, name), fe.patch_frames)
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
           {"path": r.path, "seconds": round(r.patch_seconds * len(r.patch_scores), 2),
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
    """Write each file's top-k tags to a file (atomically) or to standard output.

    Parameters
    ----------
    tags : list of str
        The model's tags (from `tag_files`).
    results : list of Tagged
        The files' results (from `tag_files`).
    top_k : int
        Tags per file.
    fmt : {"table", "csv", "json"}
        `table`: one tab-separated line per decoded file (failed files left out); `csv`: one row
        per (file, rank) plus one row with the error per failed file (`as_rows`); `json`: a
        list with each file's seconds and top tags, or its error. Any other value means table.
    out : str or None
        The output file; None writes to standard output.
    """
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
        from ..core.atomic import write_text

        write_text(out, buffer.getvalue())
    else:
        sys.stdout.write(buffer.getvalue())


def plot_taggram(tags: list[str], item: Tagged, out: str | Path, max_tags: int = 30) -> None:
    """Tags x time, one column per patch of the model's backbone (its own patch
    length); with many tags, the top ones by peak score."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..core.atomic import atomic_path

    scores = item.patch_scores
    order = np.argsort(-scores.max(axis=0), kind="stable")[:max_tags]
    seconds = item.patch_seconds * len(scores)
    fig, ax = plt.subplots(figsize=(min(16, 7 + 0.1 * len(scores)), 1.6 + 0.28 * len(order)))
    im = ax.imshow(scores[:, order].T, aspect="auto", cmap="magma", vmin=0, vmax=1,
                   interpolation="nearest", extent=(0, seconds, len(order) - 0.5, -0.5))
    ax.set_yticks(range(len(order)), [tags[i] for i in order], fontsize=9)
    ax.set_xlabel(f"time (s), one column per {item.patch_seconds:.2f} s patch")
    shown = "" if len(order) == len(tags) else f" (top {len(order)} of {len(tags)} tags by peak)"
    ax.set_title(f"Taggram of {textwrap.shorten(Path(item.path).name, 70)}{shown}", fontsize=10)
    fig.colorbar(im, ax=ax, label="tag score", pad=0.01)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
