"""Hydrogen drum kits -> a custom dataset: tags from instrument names, one clip per layer."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile as sf

from tagbench.cli import main
from tagbench.core.errors import DataError
from tagbench.data.annotations import read_annotations
from tagbench.data.custom import import_custom
from tagbench.data.drumkits import import_drumkits, tags_of


@pytest.mark.parametrize("name, tags", [  # names as the real kits spell them
    ("BassDrum", ("kick", "drum")),
    ("Kick (Tama Superstar 22\")", ("kick", "drum")),
    ("Pearl Side Stick", ("snare", "drum")),
    ("Rim Click (Pearl Free Floating Maple 14x3.5)", ("snare", "drum")),
    ("tomhi2", ("tom", "drum")),
    ("Floor Tom", ("tom", "drum")),
    ("Tambourine (Pearl PTM-10GH)", ("percussion",)),  # not a tom
    ("Sabian Hat Choke", ("hihat", "cymbal")),
    ("Closed HH", ("hihat", "cymbal")),
    ("Hi-Hat Semiopen (Paiste Alpha Metal edge 14\")", ("hihat", "cymbal")),
    ("Crash/Ride (Paiste Rude Crash/Ride 18\")", ("ride", "cymbal")),
    ("Paiste Bell", ("ride", "cymbal")),
    ("Cowbell", ("percussion",)),  # a bell, not the ride's
    ("Dununba1 Bell Mute", ("percussion",)),
    ("China (Paiste Alpha 18\")", ("crash", "cymbal")),
    ("Zildjian Splash Choke", ("crash", "cymbal")),
    ("Agogo Low (Pearl ECB-23)", ("percussion",)),
    ("Bell Tree", ("percussion",)),
    ("Tom Rim", ("tom", "drum")),
    ("FloorTom", ("tom", "drum")),
    ("Snare Snappy", ("snare", "drum")),
    ("redo super opaco", None),
    ("17", None),
])
def test_tags_come_from_the_instrument_name(name, tags):
    assert tags_of(name) == tags


def _wav(path, seconds=0.3, rate=44100, recording=None):
    """A decaying tone with a little noise: another recording for another file name (or for
    `recording`, the one of that name)."""
    import zlib

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32((recording or path.name).encode()))
    t = np.arange(int(44100 * seconds)) / 44100
    wave = (0.3 * np.sin(2 * np.pi * rng.uniform(100, 900) * t) + 0.05 * rng.normal(size=len(t)))
    wave = (wave * np.exp(-8 * t)).astype(np.float32)
    if rate != 44100:
        import soxr

        wave = soxr.resample(wave, 44100, rate)
    sf.write(path, wave, rate)


def _kits(root):
    """Two recorded kits (the old one-file-per-instrument layout and the layered, namespaced one)
    and a synthesized kit that is not imported."""
    old = root / "Millo-Drums_v.1"
    for name in ("bd.flac", "snare.flac", "crash.flac", "x.flac"):
        _wav(old / name)
    instrument = "<instrument><id>{}</id><filename>{}</filename><name>{}</name></instrument>"
    (old / "drumkit.xml").write_text(
        "<drumkit_info><name>Millo-Drums_v.1</name><author>emillo.net</author>"
        "<info>recording my ludwig set</info><licence>GPL</licence><instrumentList>"
        + instrument.format(0, "bd.flac", "Kick") + instrument.format(1, "snare.flac", "Snare Jazz")
        + instrument.format(2, "crash.flac", "Crash") + instrument.format(3, "crash.flac", "Crash Jazz")
        + instrument.format(4, "x.flac", "17") + "</instrumentList></drumkit_info>")
    new = root / "The Black Pearl 1.0"
    for name in ("hh1.wav", "hh2.wav", "bell.wav"):
        _wav(new / name)
    layer = "<layer><filename>{}</filename><min>0</min><max>1</max></layer>"
    (new / "drumkit.xml").write_text(
        '<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit"><name>The Black Pearl 1.0'
        "</name><author>Glen MacArthur</author><info>&lt;p&gt;A Sampled 5pc Pearl&lt;/p&gt;"
        "</info><license>GPL</license><instrumentList>"
        "<instrument><id>0</id><name>Sabian Hat Closed</name>"
        + layer.format("hh1.wav") + layer.format("hh2.wav") + "</instrument>"
        "<instrument><id>1</id><name>Paiste Bell</name>" + layer.format("bell.wav")
        + "</instrument><instrument><id>2</id><name>Cowbell</name>" + layer.format("gone.wav")
        + "</instrument></instrumentList></drumkit_info>")
    synth = root / "HardElectro1"
    _wav(synth / "k.wav")
    (synth / "drumkit.xml").write_text("<drumkit_info><instrumentList><instrument><id>0</id>"
                                       "<filename>k.wav</filename><name>Kick 1</name>"
                                       "</instrument></instrumentList></drumkit_info>")
    return ("Millo-Drums_v.1", "The Black Pearl 1.0")


def test_each_layer_of_a_tagged_instrument_is_a_clip_and_the_rest_is_listed(tmp_path):
    kits = _kits(tmp_path / "kits")
    ann, left_out, shared = import_drumkits(tmp_path / "kits", tmp_path / "out", kits)
    assert shared == []  # every file its own recording

    read = read_annotations(tmp_path / "out" / "annotations_final.csv")
    assert (read.clip_ids, read.paths, read.tags, read.tracks) == \
        (ann.clip_ids, ann.paths, ann.tags, ann.tracks)
    assert np.array_equal(read.labels, ann.labels)
    tagged = {cid: {t for t, v in zip(ann.tags, row, strict=True) if v}
              for cid, row in zip(ann.clip_ids, ann.labels, strict=True)}
    assert tagged == {
        "millo_drums_v_1_kick_0": {"kick", "drum"},
        "millo_drums_v_1_snare_jazz_0": {"snare", "drum"},
        "millo_drums_v_1_crash_0": {"crash", "cymbal"},
        "the_black_pearl_1_0_sabian_hat_closed_0": {"hihat", "cymbal"},
        "the_black_pearl_1_0_sabian_hat_closed_1": {"hihat", "cymbal"},
        "the_black_pearl_1_0_paiste_bell_0": {"ride", "cymbal"},
    }
    assert ann.tags == ("kick", "snare", "drum", "hihat", "ride", "crash", "cymbal")  # used only
    # both layers of one instrument are one track: the split keeps them together
    assert ann.tracks.count("The Black Pearl 1.0/Sabian Hat Closed") == 2
    assert "the_black_pearl_1_0_sabian_hat_closed_1" in ann.clip_ids
    assert ann.paths[ann.clip_ids.index("the_black_pearl_1_0_sabian_hat_closed_1")] \
        == "The Black Pearl 1.0/hh2.wav"
    assert sorted(left_out) == [
        ("Millo-Drums_v.1", "17", "no tag rule matches its name"),
        ("Millo-Drums_v.1", "Crash Jazz (crash.flac)", "file listed twice"),
        ("The Black Pearl 1.0", "Cowbell (gone.wav)", "file not in the kit"),
    ]
    assert not any("HardElectro1" in p for p in ann.paths)

    with open(tmp_path / "out" / "sources.csv", newline="") as fh:
        sources = list(csv.DictReader(fh))
    assert [(s["kit"], s["author"], s["licence"], s["clips"]) for s in sources] == [
        ("Millo-Drums_v.1", "emillo.net", "GPL", "3"),
        ("The Black Pearl 1.0", "Glen MacArthur", "GPL", "3")]
    assert sources[1]["description"] == "A Sampled 5pc Pearl"  # rich text read as words

    # the result is a custom dataset as it stands
    imported, missing = import_custom(tmp_path / "out" / "annotations_final.csv",
                                      tmp_path / "kits", tmp_path / "custom")
    assert len(imported) == 6 and missing == []


def test_one_recording_in_two_kits_makes_their_instruments_one_track(tmp_path):
    """A sample reused by another kit under another name, re-encoded at another rate and level
    (the Millo kits' cowbell): a file hash misses it, the waveform does not; both instruments'
    clips become one track, so the split keeps them on one side."""
    kits = _kits(tmp_path / "kits")
    millo, pearl = (tmp_path / "kits" / k for k in kits)
    _wav(pearl / "bell.wav", rate=48000, recording="cowbell")
    _wav(millo / "x.flac", recording="cowbell")
    xml = (millo / "drumkit.xml").read_text().replace("<name>17</name>", "<name>Cowbell</name>")
    (millo / "drumkit.xml").write_text(xml)
    ann, _, shared = import_drumkits(tmp_path / "kits", tmp_path / "out", kits)
    assert shared == [("Millo-Drums_v.1/x.flac", "The Black Pearl 1.0/bell.wav")]
    joined = "Millo-Drums_v.1/Cowbell + The Black Pearl 1.0/Paiste Bell"
    assert [ann.tracks[ann.paths.index(p)] for p in shared[0]] == [joined, joined]
    assert ann.tracks.count(joined) == 2
    assert len(set(ann.tracks)) == 5  # the other instruments keep their own tracks


def test_an_unchanged_import_leaves_the_files_alone(tmp_path):
    """`make drums` imports every time; the workflow must then see nothing new."""
    kits = _kits(tmp_path / "kits")
    import_drumkits(tmp_path / "kits", tmp_path / "out", kits)
    table = tmp_path / "out" / "annotations_final.csv"
    before = table.stat().st_mtime_ns
    import_drumkits(tmp_path / "kits", tmp_path / "out", kits)
    assert table.stat().st_mtime_ns == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "annotations_final.csv", "sources.csv"]
    (tmp_path / "kits" / "Millo-Drums_v.1" / "crash.flac").unlink()  # now a changed import
    import_drumkits(tmp_path / "kits", tmp_path / "out", kits)
    assert "millo_drums_v_1_crash_0" not in read_annotations(table).clip_ids


def test_two_instruments_with_one_clip_id_are_refused(tmp_path):
    kit = tmp_path / "kits" / "Millo-Drums_v.1"
    _wav(kit / "a.wav")
    _wav(kit / "b.wav")
    instrument = "<instrument><id>{}</id><filename>{}</filename><name>{}</name></instrument>"
    (kit / "drumkit.xml").write_text("<drumkit_info><instrumentList>"
                                     + instrument.format(0, "a.wav", "Tom 1")
                                     + instrument.format(1, "b.wav", "Tom-1")
                                     + "</instrumentList></drumkit_info>")
    with pytest.raises(DataError, match="clip id millo_drums_v_1_tom_1_0"):
        import_drumkits(tmp_path / "kits", tmp_path / "out", ("Millo-Drums_v.1",))


def test_bad_kit_folders_are_one_line_naming_them(tmp_path, capsys):
    kits = _kits(tmp_path / "kits")
    with pytest.raises(DataError, match="no kit folder 'ForzeeStereo'"):
        import_drumkits(tmp_path / "kits", tmp_path / "out", (*kits, "ForzeeStereo"))
    (tmp_path / "kits" / "The Black Pearl 1.0" / "drumkit.xml").write_text("<drumkit_info>")
    with pytest.raises(DataError, match=r"The Black Pearl 1.0/drumkit.xml: not readable XML"):
        import_drumkits(tmp_path / "kits", tmp_path / "out", kits)
    assert not (tmp_path / "out" / "annotations_final.csv").exists()

    assert main(["import-drumkits", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tagbench: error: ") and "drum kit folder not found" in err
    assert len(err.splitlines()) == 1
