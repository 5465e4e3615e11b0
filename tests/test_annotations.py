import numpy as np
import pytest

from tagbench.core.errors import DataError
from tagbench.data.annotations import Annotations, read_annotations, write_annotations

HEADER = '"clip_id"\t"guitar"\t"no voice"\t"mp3_path"\n'


def write(tmp_path, text):
    path = tmp_path / "annotations_final.csv"
    path.write_text(text)
    return path


def test_round_trip_in_mtt_quoting(tmp_path):
    ann = Annotations(("2", "6"), ("f/a-b-01-c-0-29.mp3", "0/x-y-02-z-30-59.mp3"),
                      ("guitar", "no voice"), np.array([[1, 0], [0, 1]], np.uint8))
    path = tmp_path / "a.csv"
    write_annotations(path, ann)
    assert path.read_text().splitlines()[0] == HEADER.strip()
    back = read_annotations(path)
    assert back.clip_ids == ann.clip_ids and back.tags == ann.tags
    assert (back.labels == ann.labels).all()


@pytest.mark.parametrize("text, message", [
    ('"clip_id"\t"guitar"\n"2"\t"1"\n', "no 'mp3_path' column"),
    (HEADER + '"2"\t"1"\t"yes"\t"f/a-0-29.mp3"\n', "line 2, column 'no voice'"),
    (HEADER + '"2"\t"1"\t"0"\t"a/x-0-29.mp3"\n"2"\t"0"\t"1"\t"b/y-0-29.mp3"\n',
     "clip_id 2 appears more than once"),
    (HEADER + '"2"\t"1"\t"0"\t"a/x-0-29.mp3"\t"extra"\t"cells"\n', "line 2: 6 cells where the header has 4"),
])
def test_malformed_annotations_are_named(tmp_path, text, message):
    with pytest.raises(DataError, match=message) as err:
        read_annotations(write(tmp_path, text))
    assert "annotations_final.csv" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_annotations(tmp_path / "none.csv")
