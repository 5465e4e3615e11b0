import numpy as np
import pytest

from tagbench.core.errors import DataError
from tagbench.data.annotations import Annotations
from tagbench.data.split import make_split, track_of, write_split
from tagbench.data.split_files import read_part
from tagbench.settings.config import SplitSettings


def fake_annotations(n_tracks=40, clips=3, folders=True, seed=0):
    rng = np.random.default_rng(seed)
    ids, paths, rows = [], [], []
    for t in range(n_tracks):
        folder = f"{t % 16:x}/" if folders else ""
        for c in range(clips):
            ids.append(str(len(ids) + 2))
            paths.append(f"{folder}artist_{t}-album-01-song_{t}-{c * 29}-{c * 29 + 29}.mp3")
            rows.append((rng.random(5) < [0.5, 0.3, 0.2, 0.1, 0.02]).astype(np.uint8))
    rows = np.array(rows)
    rows[:, 4] = 0  # a tag nobody has
    return Annotations(tuple(ids), tuple(paths), ("a", "b", "c", "d", "never"), rows)


def test_track_key_drops_segment_times():
    assert track_of("f/artist-album-01-song-30-59.mp3") == "f/artist-album-01-song"
    assert track_of("f/artist-album-01-song-0-29.mp3") == track_of("f/artist-album-01-song-30-59.mp3")
    assert track_of("plain.wav") == "plain"


def test_folder_split_uses_hex_folders():
    ann = fake_annotations()
    split = make_split(ann, SplitSettings(method="folder", valid_fraction=0.1))
    folders = lambda part: {ann.paths[i][0] for i in split.parts[part]}  # noqa: E731
    assert folders("test") == set("cdef")
    assert folders("train") | folders("valid") <= set("0123456789ab")
    assert sum(len(v) for v in split.parts.values()) == len(ann)


@pytest.mark.parametrize("method", ["folder", "group"])
def test_no_track_on_two_sides_and_fractions(method):
    ann = fake_annotations(n_tracks=80, folders=(method == "folder"))
    split = make_split(ann, SplitSettings(method=method, valid_fraction=0.2, seed=4))
    owner = {}
    for part, idx in split.parts.items():
        for i in idx:
            assert owner.setdefault(track_of(ann.paths[i]), part) == part
    test_share = len(split.parts["test"]) / len(ann)
    assert 0.2 <= test_share <= 0.3


def test_same_seed_gives_byte_identical_files(tmp_path):
    ann = fake_annotations(folders=False)
    spec = SplitSettings(method="group", seed=7)
    write_split(make_split(ann, spec), ann, tmp_path / "a")
    write_split(make_split(ann, spec), ann, tmp_path / "b")
    write_split(make_split(ann, SplitSettings(method="group", seed=8)), ann, tmp_path / "c")
    for name in ("train.tsv", "valid.tsv", "test.tsv", "tags.txt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "test.tsv").read_bytes() != (tmp_path / "c" / "test.tsv").read_bytes()


def test_tag_selection():
    ann = fake_annotations()
    assert make_split(ann, SplitSettings()).tags == ("a", "b", "c", "d")  # 'never' dropped
    assert make_split(ann, SplitSettings(top_n=2)).tags == ("a", "b")


def test_part_file_round_trip(tmp_path):
    ann = fake_annotations()
    split = make_split(ann, SplitSettings())
    write_split(split, ann, tmp_path)
    part = read_part(tmp_path / "test.tsv")
    assert part.tags == list(split.tags)
    assert part.clip_ids == [ann.clip_ids[i] for i in split.parts["test"]]
    assert (part.labels == ann.labels[np.ix_(split.parts["test"], split.tag_columns)]).all()


def test_folder_method_on_flat_layout_explains_the_fix():
    with pytest.raises(DataError, match="split.method: group"):
        make_split(fake_annotations(folders=False), SplitSettings(method="folder"))


def test_standard_split_is_the_probing_literatures_folders_without_the_bad_clips():
    from tagbench.core.layout import MTT_KNOWN_BAD

    ann = fake_annotations(n_tracks=64)
    # give three clips the known-bad ids (they are in train, valid and test folders)
    ids = list(ann.clip_ids)
    for bad, folder in zip(MTT_KNOWN_BAD, "6cd", strict=True):
        ids[next(i for i, p in enumerate(ann.paths) if p.startswith(folder + "/"))] = bad
    ann = Annotations(tuple(ids), ann.paths, ann.tags, ann.labels)
    split = make_split(ann, SplitSettings(method="standard"))
    folders = {part: {ann.paths[i][0] for i in idx} for part, idx in split.parts.items()}
    assert folders == {"train": set("0123456789ab"), "valid": {"c"}, "test": set("def")}
    kept = {ann.clip_ids[i] for idx in split.parts.values() for i in idx}
    assert kept.isdisjoint(MTT_KNOWN_BAD) and len(kept) == len(ann) - 3
    assert split.provenance["method"] == "standard"
    assert split.provenance["excluded"] == sorted(MTT_KNOWN_BAD)
    assert split.provenance["sizes"] == {p: len(v) for p, v in split.parts.items()}


def write_lists(tmp_path, ann, parts, by="id"):
    files = {}
    for part, rows in parts.items():
        entries = [ann.clip_ids[r] if by == "id" else ann.paths[r] for r in rows]
        files[part] = tmp_path / f"{part}.txt"
        files[part].write_text("\n".join(entries) + "\n")
    return {p: str(f) for p, f in files.items()}


@pytest.mark.parametrize("by", ["id", "path"])
def test_list_split_takes_the_parts_from_files_and_records_their_checksums(tmp_path, by):
    ann = fake_annotations(n_tracks=32)
    reference = make_split(ann, SplitSettings(method="group", seed=1))
    lists = write_lists(tmp_path, ann, reference.parts, by)
    split = make_split(ann, SplitSettings(method="lists", lists=lists))
    for part in ("train", "valid", "test"):
        assert list(split.parts[part]) == list(reference.parts[part])
    from tagbench.data.split import sha256_of

    assert split.provenance["lists"]["test"] == {"path": lists["test"],
                                                 "sha256": sha256_of(lists["test"])}


def test_list_split_errors_name_the_file_and_line(tmp_path):
    ann = fake_annotations(n_tracks=32)
    parts = make_split(ann, SplitSettings(method="group", seed=1)).parts
    lists = write_lists(tmp_path, ann, parts)
    with open(lists["valid"], "a") as fh:
        fh.write("no-such-clip\n")
    with pytest.raises(DataError, match=r"valid.txt: line \d+: 'no-such-clip' is neither a "
                                        "clip_id nor an mp3_path"):
        make_split(ann, SplitSettings(method="lists", lists=lists))
    lists = write_lists(tmp_path, ann, {**parts, "test": np.concatenate(
        [parts["test"], parts["train"][:1]])})
    with pytest.raises(DataError, match=r"test.txt: line \d+: clip \S+ is already in the train "
                                        "list"):
        make_split(ann, SplitSettings(method="lists", lists=lists))
    # one clip of a train track moved to test: the track would straddle the parts
    moved = parts["train"][0]
    lists = write_lists(tmp_path, ann, {"train": parts["train"][1:], "valid": parts["valid"],
                                        "test": np.concatenate([parts["test"], [moved]])})
    with pytest.raises(DataError, match="is in both train and test: clips of one track"):
        make_split(ann, SplitSettings(method="lists", lists=lists))


def test_split_json_travels_into_the_shards(tmp_path):
    import json

    ann = fake_annotations(n_tracks=16)
    split = make_split(ann, SplitSettings(method="standard"), "resources/mtt/annotations_final.csv")
    write_split(split, ann, tmp_path)
    saved = json.loads((tmp_path / "split.json").read_text())
    assert saved["method"] == "standard" and saved["dataset"] == "mtt"
    assert saved["n_tags"] == len(split.tags)


def test_list_lines_with_an_index_field_count_by_their_path(tmp_path):
    """sota-music-tagging-models' lines are `row-index<TAB>path`; the index may be another
    clip's id, and must not be taken for one."""
    ann = fake_annotations(n_tracks=32)
    parts = make_split(ann, SplitSettings(method="group", seed=1)).parts
    lists = {}
    for part, rows in parts.items():
        lists[part] = str(tmp_path / f"{part}.txt")
        # the first field is a valid clip id of some *other* clip
        lines = [f"{ann.clip_ids[(r + 1) % len(ann)]}\t{ann.paths[r]}" for r in rows]
        (tmp_path / f"{part}.txt").write_text("\n".join(lines) + "\n")
    split = make_split(ann, SplitSettings(method="lists", lists=lists))
    assert all(list(split.parts[p]) == list(parts[p]) for p in parts)


def test_settings_a_method_does_not_read_leave_its_split_as_it_is():
    standard = SplitSettings(method="standard", seed=3, valid_fraction=0.3)
    assert standard.for_method() == SplitSettings(method="standard").for_method()
    folder = SplitSettings(method="folder", seed=3)
    assert folder.for_method() != SplitSettings(method="folder").for_method()
    assert SplitSettings(method="folder", test_fraction=0.5).for_method() == \
        SplitSettings(method="folder").for_method()


def test_a_track_column_groups_clips_that_file_names_do_not(tmp_path):
    """A custom dataset with its own names: without a track column every clip is its own
    track (said in split.json, never claimed as a guarantee); with one, a group split keeps
    each recording's excerpts on one side."""
    from tagbench.data.annotations import read_annotations, write_annotations

    ann = fake_annotations(n_tracks=30, folders=False)
    song = [i // 3 for i in range(len(ann))]
    renamed = Annotations(ann.clip_ids, tuple(f"take{i:03d}.wav" for i in range(len(ann))),
                          ann.tags, ann.labels)
    loose = make_split(renamed, SplitSettings(method="group", seed=1))
    assert loose.provenance["tracks"]["grouped"] is False
    assert loose.provenance["tracks"]["n_tracks"] == len(ann)

    path = tmp_path / "ann.csv"
    write_annotations(path, Annotations(renamed.clip_ids, renamed.paths, renamed.tags,
                                        renamed.labels, tuple(f"song{s}" for s in song)))
    with_tracks = read_annotations(path)
    assert with_tracks.tags == ann.tags and with_tracks.tracks[:4] == ("song0",) * 3 + ("song1",)
    split = make_split(with_tracks, SplitSettings(method="group", seed=1))
    info = split.provenance["tracks"]
    assert info == {"from": "the annotations' track column", "n_tracks": 30, "grouped": True}
    owner = {}
    for part, idx in split.parts.items():
        for i in idx:
            assert owner.setdefault(song[i], part) == part
    write_split(split, with_tracks, tmp_path / "s")
    assert set(read_part(tmp_path / "s" / "test.tsv").tracks) <= {f"song{s}" for s in song}


def test_compilation_twins_are_counted_and_can_be_dropped():
    """MTT's magnatune_compilation copies: a test clip whose recording (title and segment) is
    in train under the compilation's name was seen in training."""
    paths = ("0/artist_a-album_x-01-blue_song-0-29.mp3", "1/artist_b-album_y-02-red_song-0-29.mp3",
             "d/magnatune_compilation-best_of-05-blue_song-0-29.mp3",   # twin of a train clip
             "e/magnatune_compilation-best_of-06-red_song-30-59.mp3",   # other segment: no twin
             "f/artist_c-album_z-03-green_song-0-29.mp3")
    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 1]], np.uint8)
    ann = Annotations(tuple(map(str, range(5))), paths, ("a", "b"), labels)
    kept = make_split(ann, SplitSettings(method="folder", valid_fraction=0.01))
    assert kept.provenance["twins"]["test_clips_with_a_twin"] == 1
    assert 2 in kept.parts["test"]
    dropped = make_split(ann, SplitSettings(method="folder", valid_fraction=0.01, drop_twins=True))
    assert 2 not in dropped.parts["test"] and dropped.provenance["twins"]["dropped"] is True
    assert sorted(dropped.parts["test"]) == [3, 4]


def test_a_named_tag_list_sets_the_tags_and_their_digest(tmp_path):
    from tagbench.core.tag_lists import read_tag_list, tag_set_digest

    ann = fake_annotations()
    listed = tmp_path / "tags.txt"
    listed.write_text("# my tags\nc\na\n\nnever\n")
    split = make_split(ann, SplitSettings(tag_list=str(listed)))
    assert split.tags == ("c", "a", "never")  # the list's order; a tag with no positive stays
    assert split.provenance["tags_sha256"] == tag_set_digest(["a", "c", "never"])
    assert split.provenance["tag_list"] == str(listed)
    # top_n ranks by train frequency: the digest tells it apart from a named set of as many
    top = make_split(ann, SplitSettings(top_n=3))
    assert top.provenance["n_tags"] == 3 and top.provenance["tags_sha256"] != split.provenance["tags_sha256"]
    listed.write_text("a\nrock\npop\n")
    with pytest.raises(DataError, match=r"2 tag\(s\) not in .*rock, pop"):
        make_split(ann, SplitSettings(tag_list=str(listed)))
    mtt = read_tag_list("mtt_top50")
    assert len(mtt) == 50 and mtt[:3] == ["guitar", "classical", "slow"]


def test_kfold_folds_partition_the_tracks_stratified_over_tags():
    """Every clip is in exactly one fold's test part, whole tracks at a time; every fold shares
    one tag set and holds each tag's positives in about its share; the same seed gives the same
    folds and another repeat other ones."""
    ann = fake_annotations(n_tracks=60)
    settings = SplitSettings(method="kfold", folds=5, repeats=2, valid_fraction=0.15, seed=3)
    splits = {name: make_split(ann, settings.for_fold(name)) for name in settings.fold_names}
    assert list(splits) == [f"r{r}f{k}" for r in range(2) for k in range(5)]
    tests = [splits[f"r0f{k}"].parts["test"] for k in range(5)]
    assert sorted(np.concatenate(tests).tolist()) == list(range(len(ann)))
    tracks = [{track_of(ann.paths[i]) for i in t} for t in tests]
    assert sum(map(len, tracks)) == len(set().union(*tracks)) == 60
    for split in splits.values():  # no track leaks inside a fold either
        owner = {}
        for part, idx in split.parts.items():
            for i in idx:
                assert owner.setdefault(track_of(ann.paths[i]), part) == part
        assert split.tags == ("a", "b", "c", "d")
        assert split.provenance["method"] == "kfold"
    positives = ann.labels[:, :4].sum(axis=0)
    for t in tests:  # stratified: each fold within a track's clips of a fifth of the positives
        assert np.all(np.abs(ann.labels[t, :4].sum(axis=0) - positives / 5) <= 3 + positives * 0.05)
    again = make_split(ann, settings.for_fold("r0f2"))
    assert np.array_equal(again.parts["test"], tests[2])
    assert not np.array_equal(splits["r1f2"].parts["test"], tests[2])


def test_kfold_needs_as_many_tracks_as_folds():
    ann = fake_annotations(n_tracks=3)
    with pytest.raises(DataError, match="split.folds 5 needs at least as many tracks; the "
                                        "annotations have 3"):
        make_split(ann, SplitSettings(method="kfold", folds=5).for_fold("r0f0"))
