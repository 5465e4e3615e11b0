import numpy as np
import pytest

from tagbench.annotations import Annotations
from tagbench.config import SplitSettings
from tagbench.errors import DataError
from tagbench.split import make_split, read_part, track_of, write_split


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
