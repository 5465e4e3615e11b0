"""Recorded Hydrogen drum kits as a labelled set of real recordings, in the MTT layout.

Hydrogen's drum kits (Debian's `hydrogen-drumkits` package; each kit a folder with a
`drumkit.xml` that names every instrument and its sample files, one per velocity layer) are
recordings of real drums, cymbals and hand percussion, with an author and a licence per kit.
`import_drumkits` turns the kits that their own text says were recorded (`RECORDED_KITS`: the
synthesized ones and a kit of mixed found sounds are left out) into a custom dataset:

- one clip per sample file (a velocity layer of an instrument: a distinct recording);
- the tags from the instrument's name by `TAG_RULES` (first match wins; an instrument no rule
  matches is left out and listed): a piece (kick, snare, tom, hihat, ride, crash, percussion)
  and, for the kit's pieces, its kind (drum, cymbal), so a clip has one or two tags;
- `track` = kit/instrument, so the split keeps every layer of one instrument on one side (they
  are the same drum struck harder or softer: near-duplicates); instruments that share a
  recording under other file names in two kits (`same_recordings`: waveforms compared, not
  bytes) are one track;
- `sources.csv`: each kit's author, licence, clip count and its own description.
"""

from __future__ import annotations

import csv
import filecmp
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import numpy as np

from ..core.atomic import temporary_sibling
from ..core.errors import DataError
from .annotations import Annotations, write_annotations

# kit folder -> the words of its own drumkit.xml (or README) that say it was recorded
RECORDED_KITS = {
    "BJA_Pacific": "Pacific set sampled by Bransin James Anderson",
    "ColomboAcousticDrumkit": "wooden toms, snare and bassdrum (with their measurements)",
    "ForzeeStereo": "All drums were recorded",
    "Gimme A Hand 1.0": "An Assortment of Hand Percussion Instruments",
    "Millo-Drums_v.1": "created recording my ludwig set",
    "Millo_MultiLayered2": "multilayered version of a ludwig set",
    "Millo_MultiLayered3": "third version of a ludwig drumkit. Recorded at cricketstudios.it",
    "The Black Pearl 1.0": "A Sampled 5pc Pearl DX Series Drumkit",
    "circAfrique v4": "djembe, sangban, dununba and kenkeni strokes",
}
# left out: ElectricEmpireKit, HardElectro1, VariBreaks (synthesized, their text says),
# rumpf_kit_z01_h2 (analog drum-machine samples), Audiophob (found sounds from a sound site)

# (pattern on the lower-cased instrument name, tags); the order settles names that two match
TAG_RULES = (
    (r"djembe|sangban|dununba|kenkeni|cowbell|agogo|bell ?tree|clap|tambourine|maraca|bongo"
     r"|conga|cajon|clave|wood ?block|snaps?\b|waterglass|shaker|triangle", ("percussion",)),
    (r"\bhh\b|hi[- ]?hat|\bhat\b", ("hihat", "cymbal")),
    (r"ride|bell", ("ride", "cymbal")),  # a bell that is no percussion's is the ride's
    (r"crash|splash|china", ("crash", "cymbal")),
    (r"kick|bass ?drum", ("kick", "drum")),
    (r"\btom|(floor|hi|high|lo|low|mid)[ _-]?tom", ("tom", "drum")),  # before "rim": Tom Rim
    (r"snare|stick|\brim", ("snare", "drum")),
)
TAGS = ("kick", "snare", "tom", "drum", "hihat", "ride", "crash", "cymbal", "percussion")


def tags_of(instrument: str) -> tuple[str, ...] | None:
    """An instrument's tags by the first rule its name matches, or None (left out)."""
    name = instrument.lower()
    for pattern, tags in TAG_RULES:
        if re.search(pattern, name):
            return tags
    return None


@dataclass(frozen=True)
class Kit:
    folder: str
    name: str
    author: str
    licence: str
    info: str
    instruments: tuple[tuple[str, tuple[str, ...]], ...]  # (name, sample files in layer order)


def _text(element, tag: str) -> str:
    found = element.find(tag)
    return found.text.strip() if found is not None and found.text else ""


def _slug(text: str) -> str:
    """A clip id safe as a file name: lower case, runs of other characters as one `_`."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _plain(text: str) -> str:
    """drumkit.xml's info is often Qt rich text: its words, on one line."""
    return " ".join(re.sub(r"<[^>]+>|p, li \{[^}]*\}", " ", unescape(text)).split())


def read_kit(folder: Path) -> Kit:
    """One kit's drumkit.xml: its instruments and their files (old and new Hydrogen layouts:
    a file per instrument, or layers)."""
    xml = folder / "drumkit.xml"
    if not xml.is_file():
        raise DataError(f"{folder}: no drumkit.xml (not a Hydrogen drum kit folder)")
    try:
        root = ET.parse(xml).getroot()
    except ET.ParseError as err:
        raise DataError(f"{xml}: not readable XML ({err})") from None
    for element in root.iter():  # newer kits name an XML namespace: drop it
        element.tag = element.tag.rpartition("}")[2]
    instruments = []
    for instrument in root.iter("instrument"):
        files = [_text(e, "filename") for e in instrument.iter("layer")]
        if not files and _text(instrument, "filename"):
            files = [_text(instrument, "filename")]
        files = [f for f in files if f]
        if files:
            instruments.append((_text(instrument, "name"), tuple(files)))
    licence = _text(root, "license") or _text(root, "licence")
    return Kit(folder.name, _text(root, "name") or folder.name, _text(root, "author"),
               licence, _plain(_text(root, "info")), tuple(instruments))


def import_drumkits(kits_dir: str | Path, out: str | Path,
                    kits: tuple[str, ...] = tuple(RECORDED_KITS)
                    ) -> tuple[Annotations, list, list]:
    """Write `out/annotations_final.csv` (paths relative to `kits_dir`, the dataset's
    `custom.audio_dir`) and `out/sources.csv`. Returns the annotations, the instruments left
    out as (kit, instrument, why), and the clips that are one recording (`same_recordings`: a
    tuple of paths each, their instruments one track)."""
    kits_dir = Path(kits_dir)
    if not kits_dir.is_dir():
        raise DataError(f"{kits_dir}: drum kit folder not found (install Debian's "
                        "hydrogen-drumkits, or see docs/results.md, 'Real recordings')")
    absent = [k for k in kits if not (kits_dir / k).is_dir()]
    if absent:
        raise DataError(f"{kits_dir}: no kit folder {', '.join(map(repr, absent))} "
                        "(hydrogen-drumkits 2017.09.19 has them)")
    ids, paths, tracks, rows, left_out, sources = [], [], [], [], [], []
    seen: set[str] = set()
    for folder in kits:
        kit = read_kit(kits_dir / folder)
        count = 0
        for instrument, files in kit.instruments:
            tags = tags_of(instrument)
            if tags is None:
                left_out.append((folder, instrument, "no tag rule matches its name"))
                continue
            for layer, name in enumerate(files):
                rel = f"{folder}/{name}"
                if rel in seen:  # one recording listed twice: keep its first labels
                    left_out.append((folder, f"{instrument} ({name})", "file listed twice"))
                    continue
                if not (kits_dir / rel).is_file():  # Debian's repack removed a few
                    left_out.append((folder, f"{instrument} ({name})", "file not in the kit"))
                    continue
                seen.add(rel)
                ids.append(_slug(f"{folder}-{instrument}-{layer}"))
                paths.append(rel)
                tracks.append(f"{folder}/{instrument}")
                rows.append([tag in tags for tag in TAGS])
                count += 1
        sources.append((folder, kit.author, kit.licence, count, RECORDED_KITS.get(folder, ""),
                        kit.info))
    if not ids:
        raise DataError(f"{kits_dir}: the kits {', '.join(kits)} hold no instrument a tag "
                        "rule matches")
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise DataError(f"{kits_dir}: two instruments give the clip id {twice} (names that "
                        "differ only in punctuation); rename one in its drumkit.xml")
    # (the layers of one instrument are often one recording at other gains: one track already)
    groups = [g for g in same_recordings(kits_dir, paths) if len({tracks[i] for i in g}) > 1]
    shared = [tuple(paths[i] for i in sorted(g)) for g in groups]
    tracks = _merged_tracks(tracks, groups)
    labels = np.asarray(rows, dtype=np.uint8)
    used = labels.any(axis=0)
    ann = Annotations(tuple(ids), tuple(paths), tuple(t for t, u in zip(TAGS, used, strict=True) if u),
                      labels[:, used], tuple(tracks))
    out = Path(out)
    _replace_if_changed(out / "annotations_final.csv", lambda tmp: write_annotations(tmp, ann))

    def write_sources(tmp):
        with open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["kit", "author", "licence", "clips", "recorded", "description"])
            writer.writerows(sources)

    _replace_if_changed(out / "sources.csv", write_sources)
    return ann, left_out, shared


SAME_RECORDING = 0.99  # correlation of two clips' first 0.25 s from their onset, at 16 kHz
_FINGERPRINT_SAMPLES = 4000


def _fingerprint(path: Path) -> np.ndarray:
    """A clip's first 0.25 s from its onset (the first sample above 5 % of its peak), mono at
    16 kHz, to unit norm: equal for one recording whatever its file, rate or level."""
    import soundfile as sf
    import soxr

    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if rate != 16000:
        mono = soxr.resample(mono, rate, 16000)
    peak = np.abs(mono).max() if len(mono) else 0.0
    if peak == 0:
        return np.zeros(_FINGERPRINT_SAMPLES, np.float32)
    onset = int(np.argmax(np.abs(mono) > 0.05 * peak))
    head = np.zeros(_FINGERPRINT_SAMPLES, np.float32)
    part = mono[onset:onset + _FINGERPRINT_SAMPLES]
    head[:len(part)] = part
    return head / np.linalg.norm(head)


def same_recordings(kits_dir: str | Path, paths) -> list[set[int]]:
    """Groups of clips (indices into `paths`, under `kits_dir`) that are one recording: their
    fingerprints correlate above `SAME_RECORDING`. Kits reuse samples under other names (the
    Millo kits are versions of one Ludwig set), and a file hash misses a re-encoded copy; such a
    pair in train and test would score a recording the model heard."""
    prints = np.stack([_fingerprint(Path(kits_dir) / p) for p in paths])
    labels = _components(len(paths), np.argwhere(np.triu(prints @ prints.T, k=1) > SAME_RECORDING))
    groups = [set(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)]
    return [g for g in groups if len(g) > 1]


def _components(n: int, pairs) -> np.ndarray:
    """Each of n items' connected component, given the linked (i, j) pairs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _merged_tracks(tracks: list[str], groups: list[set[int]]) -> list[str]:
    """Each clip's track, the tracks (instruments) that share a recording joined into one
    (`kitA/Cowbell + kitB/Cowbell`), so the split keeps all their layers on one side."""
    names = sorted(set(tracks))
    index = {t: i for i, t in enumerate(names)}
    links = [(index[tracks[i]], index[tracks[j]]) for g in groups for i in g for j in g]
    labels = _components(len(names), links)
    joined = {c: " + ".join(t for t, label in zip(names, labels, strict=True) if label == c)
              for c in set(labels)}
    return [joined[labels[index[t]]] for t in tracks]


def _replace_if_changed(path: Path, write) -> None:
    """`write(tmp)` to a hidden sibling, renamed over `path` only if the bytes differ: an
    unchanged import leaves the file (and its time) alone, so the workflow that reads it has
    nothing to rerun; a failed one leaves the old file."""
    tmp = temporary_sibling(path)
    try:
        write(tmp)
        if not (path.is_file() and filecmp.cmp(tmp, path, shallow=False)):
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
