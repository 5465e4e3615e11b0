"""The train/valid/test split and the tag set, by one of five methods (`split.method`):

- `folder`: the report's 3/4-1/4: MTT's hex folders 0-b train, c-f test, a validation part
  carved out of train by track (`valid_fraction`);
- `standard`: the probing literature's folder split (musicnn, JukeMIR, MARBLE, CLMR): 0-b train,
  c valid, d-f test, the three known-bad clips (`layout.MTT_KNOWN_BAD`) left out;
- `lists`: the parts given as files of clip ids or audio paths (a published list-based split);
- `group`: a seeded random 3/4-1/4 by track, valid carved out of train;
- `kfold`: one fold of a cross-validation by track (`folds` x `repeats`, stratified over tags),
  valid carved out of the other folds; each fold is a sub-experiment of its own.

Clips of one track always stay on one side; `check_no_track_leak` proves it for every split
written. A track is what the annotations' optional `track` column says, or else what MTT's file
names say (same folder and file name before the final `-start-end`); when neither groups any
two clips, `split.json` says so (`tracks.grouped: false`) and nothing claims the guarantee.
MTT also holds `magnatune_compilation` copies of album clips under other folders: test clips
with such a twin in train or valid are counted (`twins`), and `split.drop_twins` leaves them
out. Output TSVs keep the annotations' clip order and are byte-identical for the same input
and seed; `split.json` records the method and its inputs (for `lists`, each file's sha256),
and travels on with the features into every model and metrics file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from ..core.atomic import write_text
from ..core.digests import sha256_of
from ..core.errors import DataError
from ..core.layout import MTT_KNOWN_BAD
from ..core.sealed import write_sealed
from ..core.tag_lists import read_tag_list, tag_set_digest
from ..settings.config import SplitSettings
from .annotations import Annotations

TRAIN_FOLDERS = set("0123456789ab")
TEST_FOLDERS = set("cdef")
STANDARD_FOLDERS = {"train": set("0123456789ab"), "valid": {"c"}, "test": set("def")}
_SEGMENT = re.compile(r"^(?P<track>.+)-\d+-\d+$")


def track_of(rel_path: str) -> str:
    """MTT track key: folder + file stem without its final `-start-end` (seconds)."""
    p = PurePosixPath(rel_path.replace("\\", "/"))
    m = _SEGMENT.match(p.stem)
    return str(p.parent / (m.group("track") if m else p.stem))


@dataclass(frozen=True)
class Split:
    parts: dict[str, np.ndarray]  # part -> row indices into the annotations, ascending
    tags: tuple[str, ...]
    tag_columns: np.ndarray  # column indices into annotations.labels, in `tags` order
    tracks: tuple[str, ...]
    provenance: dict = field(default_factory=dict)  # written as split.json


def _group_fraction(tracks: np.ndarray, candidates: np.ndarray, fraction: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Rows (from candidates) of a random set of whole tracks holding ~fraction of the clips."""
    unique = np.unique(tracks[candidates])
    order = rng.permutation(len(unique))
    counts = {t: 0 for t in unique}
    for t in tracks[candidates]:
        counts[t] += 1
    target = fraction * len(candidates)
    chosen, total = set(), 0
    for i in order:
        if total >= target:
            break
        chosen.add(unique[i])
        total += counts[unique[i]]
    return candidates[np.isin(tracks[candidates], list(chosen))]


def _folders(ann: Annotations, method: str, annotations_path: str) -> np.ndarray:
    folders = np.array([PurePosixPath(p).parts[0].lower() if "/" in p else "" for p in ann.paths])
    unknown = sorted(set(folders) - TRAIN_FOLDERS - TEST_FOLDERS)
    if unknown:
        raise DataError(
            f"{annotations_path}: split.method '{method}' needs MTT's hex folders 0-f as the "
            f"first path component, found {unknown[0]!r}; set split.method: group")
    return folders


def _list_parts(ann: Annotations, lists: dict[str, str]) -> dict[str, np.ndarray]:
    """Rows of each part named by its list file: one clip id or mp3_path per line; a line of
    tab-separated fields counts by its field that is an mp3_path (the other fields may be
    anything, e.g. sota-music-tagging-models' row indices, which are not clip ids). Unknown
    entries and clips in two parts are errors naming the file and line."""
    by_id = {cid: i for i, cid in enumerate(ann.clip_ids)}
    by_path = {p: i for i, p in enumerate(ann.paths)}
    owner: dict[int, tuple[str, int]] = {}
    parts = {}
    for part in ("train", "valid", "test"):
        path = Path(lists[part])
        if not path.is_file():
            raise DataError(f"{path}: split list not found (config split.lists.{part})")
        rows = []
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            fields = [f.strip() for f in line.split("\t") if f.strip()]
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) == 1:
                row = by_id.get(fields[0], by_path.get(fields[0]))
            else:
                row = next((by_path[f] for f in fields if f in by_path), None)
            if row is None:
                what = ("neither a clip_id nor an mp3_path" if len(fields) == 1 else
                        "a line with no mp3_path")
                raise DataError(f"{path}: line {n}: {line.strip()!r} is {what} of the "
                                "annotations (is the list for this dataset?)")
            if row in owner:
                other, other_line = owner[row]
                raise DataError(f"{path}: line {n}: clip {ann.clip_ids[row]} is already in the "
                                f"{other} list ({lists[other]} line {other_line})")
            owner[row] = (part, n)
            rows.append(row)
        if not rows:
            raise DataError(f"{path}: the {part} list names no clip")
        parts[part] = np.array(sorted(rows), dtype=int)
    return parts


COMPILATION_ARTIST = "magnatune_compilation"


def _twin_key(rel_path: str) -> tuple[bool, tuple[str, str, str]] | None:
    """(from a compilation?, (title, start, end)) of an MTT file name
    `artist-album-NN-title-start-end`; None for other names."""
    fields = PurePosixPath(rel_path.replace("\\", "/")).stem.split("-")
    if len(fields) < 6:
        return None
    return fields[0] == COMPILATION_ARTIST, ("-".join(fields[3:-2]), fields[-2], fields[-1])


def compilation_twins(paths, seen: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Test rows with a twin among `seen` (train and valid): the same title and segment, one
    of the two from a `magnatune_compilation` album (the same recording, so the test clip was
    heard in training or model selection)."""
    in_train: dict[tuple, set[bool]] = {}
    for r in seen:
        key = _twin_key(paths[r])
        if key:
            in_train.setdefault(key[1], set()).add(key[0])
    twins = []
    for r in test:
        key = _twin_key(paths[r])
        if key and (not key[0]) in in_train.get(key[1], ()):
            twins.append(r)
    return np.array(twins, dtype=int)


def _tracks(ann: Annotations) -> tuple[np.ndarray, dict]:
    """Each clip's track and how it was found (split.json's `tracks`)."""
    if ann.tracks is not None:
        tracks, source = np.array(ann.tracks, dtype=object), "the annotations' track column"
    else:
        tracks = np.array([track_of(p) for p in ann.paths], dtype=object)
        source = "file names (folder + name before the final -start-end)"
    n_tracks = len(set(tracks))
    return tracks, {"from": source, "n_tracks": n_tracks, "grouped": n_tracks < len(ann)}


def _tag_columns(ann: Annotations, settings: SplitSettings, train: np.ndarray,
                 annotations_path: str) -> np.ndarray:
    """Columns of the tag set: a named list (in its order), all tags with a train positive, or
    the top_n most frequent in train."""
    if settings.tag_list:
        wanted = read_tag_list(settings.tag_list)
        missing = [t for t in wanted if t not in ann.tags]
        if missing:
            raise DataError(f"tags.list {settings.tag_list}: {len(missing)} tag(s) not in "
                            f"{annotations_path or 'the annotations'}: {', '.join(missing[:5])}"
                            f"{' ...' if len(missing) > 5 else ''} (is the list for this dataset?)")
        return np.array([ann.tags.index(t) for t in wanted], dtype=int)
    positives = ann.labels[train].sum(axis=0, dtype=np.int64)  # signed: ranked by -count below
    present = np.flatnonzero(positives > 0)
    if settings.top_n is None:
        return present
    # Most frequent first; ties by column order, so the choice is deterministic.
    ranked = sorted(present, key=lambda c: (-positives[c], c))
    return np.array(sorted(ranked[: settings.top_n]), dtype=int)


def make_split(ann: Annotations, settings: SplitSettings, annotations_path: str = "") -> Split:
    """Split clips into train/valid/test by `settings.method` and choose the tag set.

    Clips of one track stay in one part (checked by `check_no_track_leak`); the same input and
    seed give the same split.

    Parameters
    ----------
    ann : Annotations
        The dataset's clips.
    settings : SplitSettings
        Method (`folder`, `standard`, `lists`, `group`), fractions, seed, tag list or `top_n`,
        `drop_twins`.
    annotations_path : str, optional
        Where `ann` was read from: names the dataset in the provenance and the file in errors.

    Returns
    -------
    Split
        Row indices per part, the tags and their columns, each clip's track, and the provenance
        written as `split.json`.

    Raises
    ------
    DataError
        If a part (or test after `drop_twins`) is empty, `folder`/`standard` meet a path whose
        first folder is not hex 0-f, a list file is missing or names an unknown clip, a track
        leaks across parts, a listed tag is unknown, or no tag has a positive train clip.
    """
    tracks, track_info = _tracks(ann)
    rows = np.arange(len(ann))
    rng = np.random.default_rng(settings.seed)
    # resources/{dataset}/annotations_final.csv
    provenance: dict = {"method": settings.method,
                        "dataset": Path(annotations_path).parent.name if annotations_path else ""}
    if settings.method in ("folder", "group"):
        if settings.method == "folder":
            folders = _folders(ann, "folder", annotations_path)
            test = rows[np.isin(folders, list(TEST_FOLDERS))]
            provenance["test_folders"] = "".join(sorted(TEST_FOLDERS))
        else:
            test = _group_fraction(tracks, rows, settings.test_fraction, rng)
            provenance.update(test_fraction=settings.test_fraction)
        train_all = np.setdiff1d(rows, test)
        if len(train_all) == 0 or len(test) == 0:
            raise DataError(f"{annotations_path}: the split leaves no clips in "
                            f"{'train' if len(train_all) == 0 else 'test'}; add clips or use "
                            "another method")
        valid = _group_fraction(tracks, train_all, settings.valid_fraction, rng)
        train = np.setdiff1d(train_all, valid)
        provenance.update(valid_fraction=settings.valid_fraction, seed=settings.seed)
        parts = {"train": train, "valid": np.sort(valid), "test": np.sort(test)}
    elif settings.method == "kfold":
        test = _kfold_test(ann, tracks, settings)
        train_all = np.setdiff1d(rows, test)
        valid = _group_fraction(tracks, train_all, settings.valid_fraction,
                                np.random.default_rng([settings.seed, settings.repeat,
                                                       settings.fold]))
        parts = {"train": np.setdiff1d(train_all, valid), "valid": np.sort(valid),
                 "test": np.sort(test)}
        provenance.update(folds=settings.folds, repeats=settings.repeats, fold=settings.fold,
                          repeat=settings.repeat, valid_fraction=settings.valid_fraction,
                          seed=settings.seed, stratified="tracks' tags, iterative "
                          "stratification (iterative-stratification's MultilabelStratifiedKFold)")
    elif settings.method == "standard":
        folders = _folders(ann, "standard", annotations_path)
        kept = ~np.isin(np.array(ann.clip_ids, dtype=object), list(MTT_KNOWN_BAD))
        parts = {part: rows[np.isin(folders, list(names)) & kept]
                 for part, names in STANDARD_FOLDERS.items()}
        provenance.update(folders={p: "".join(sorted(f)) for p, f in STANDARD_FOLDERS.items()},
                          excluded=sorted(set(MTT_KNOWN_BAD) & set(ann.clip_ids)))
    elif settings.method == "lists":
        parts = _list_parts(ann, settings.lists)
        provenance["lists"] = {p: {"path": str(settings.lists[p]),
                                   "sha256": sha256_of(settings.lists[p])} for p in parts}
    else:  # the schema refuses this; settings built by hand may not
        raise DataError(f"unknown split.method {settings.method!r}")
    empty = [p for p, idx in parts.items() if len(idx) == 0]
    if empty:
        raise DataError(f"{annotations_path}: split.method {settings.method} leaves no clips in "
                        f"{empty[0]}")
    check_no_track_leak(tracks, parts)
    twins = compilation_twins(ann.paths, np.concatenate([parts["train"], parts["valid"]]),
                              parts["test"])
    if settings.drop_twins and len(twins):
        parts["test"] = np.setdiff1d(parts["test"], twins)
        if not len(parts["test"]):
            raise DataError(f"{annotations_path}: split.drop_twins leaves no clips in test")
    provenance.update(tracks=track_info, twins={
        "test_clips_with_a_twin": int(len(twins)), "dropped": bool(settings.drop_twins),
        "rule": f"same title and segment in train or valid, one of the two from "
                f"{COMPILATION_ARTIST}"})
    # k folds share one tag set (every clip's), so that their figures average
    columns = _tag_columns(ann, settings, rows if settings.method == "kfold" else parts["train"],
                           annotations_path)
    if len(columns) == 0:
        raise DataError(f"{annotations_path}: no tag has a positive clip in the "
                        f"{'annotations' if settings.method == 'kfold' else 'train part'}")
    tags = tuple(ann.tags[c] for c in columns)
    provenance.update(top_n=None if settings.tag_list else settings.top_n, n_tags=len(columns),
                      tag_list=settings.tag_list, tags_sha256=tag_set_digest(tags),
                      sizes={p: int(len(idx)) for p, idx in parts.items()})
    return Split(parts, tags, np.asarray(columns), tuple(tracks), provenance)


def _kfold_test(ann: Annotations, tracks: np.ndarray, settings: SplitSettings) -> np.ndarray:
    """Rows of fold `settings.fold` of repeat `settings.repeat`: whole tracks, the folds
    stratified over the tags a track has (any of its clips), by iterative stratification
    (Sechidis et al. 2011; Szymanski & Kajdanowicz 2017), seeded by split.seed and the repeat."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    unique, index = np.unique(tracks.astype(str), return_inverse=True)
    if len(unique) < settings.folds:
        raise DataError(f"split.folds {settings.folds} needs at least as many tracks; the "
                        f"annotations have {len(unique)}: lower split.folds")
    by_track = np.zeros((len(unique), ann.labels.shape[1]), dtype=np.uint8)
    np.maximum.at(by_track, index, ann.labels)
    # (split.seed, repeat) as one seed: no two (seed, repeat) pairs draw the same folds
    state = int(np.random.SeedSequence([settings.seed, settings.repeat]).generate_state(1)[0])
    folds = MultilabelStratifiedKFold(n_splits=settings.folds, shuffle=True, random_state=state)
    _, test_tracks = list(folds.split(np.zeros(len(unique)), by_track))[settings.fold]
    return np.flatnonzero(np.isin(index, test_tracks))


def check_no_track_leak(tracks: np.ndarray, parts: dict[str, np.ndarray]) -> None:
    """Check that no track has clips in two parts.

    Parameters
    ----------
    tracks : ndarray
        Each clip's track, indexed by row.
    parts : dict of str to ndarray
        Part name -> row indices.

    Raises
    ------
    DataError
        Naming the first track found in two parts.
    """
    seen: dict[str, str] = {}
    for part, idx in parts.items():
        for t in sorted(set(tracks[idx])):
            if seen.setdefault(t, part) != part:
                raise DataError(f"track {t!r} is in both {seen[t]} and {part}: clips of one track "
                                "must stay in one part (the split leaks)")


def write_split(split: Split, ann: Annotations, out_dir: str | Path) -> None:
    """Write a split to `out_dir`: `{part}.tsv`, `tags.txt` and `split.json`.

    Each `{part}.tsv` has columns clip_id, track, mp3_path and one 0/1 column per selected tag,
    in annotation order; `split.json` holds `split.provenance` (the method and its inputs) and
    the sha256 of the other files (`core.sealed`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    header = "\t".join(["clip_id", "track", "mp3_path", *split.tags]) + "\n"
    for part, idx in split.parts.items():
        lines = [header]
        labels = ann.labels[np.ix_(idx, split.tag_columns)]
        for r, row in zip(idx, labels, strict=True):
            cells = [ann.clip_ids[r], split.tracks[r], ann.paths[r], *map(str, row)]
            lines.append("\t".join(cells) + "\n")
        write_text(out / f"{part}.tsv", "".join(lines))
    write_text(out / "tags.txt", "".join(t + "\n" for t in split.tags))
    # written last, sealed with the parts' sha256: a part changed on disk is an error
    write_sealed(out / "split.json", split.provenance,
                 [out / f"{p}.tsv" for p in split.parts] + [out / "tags.txt"])
