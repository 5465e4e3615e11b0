"""Reassembling MTT-style split zips and extracting them safely."""

import io
import stat
import zipfile

import pytest

from tagbench.core.errors import DataError
from tagbench.data.archive import JoinedParts, extract_parts

FILES = {f"{h}/artist-album-01-song-{i}-{i + 29}.mp3": bytes([i]) * (5000 + 997 * i)
         for i, h in enumerate("0123456789abcdef")}


def split_zip(tmp_path, members, n_parts=3, name="mp3.zip"):
    """Write a zip of `members` (name -> bytes or ZipInfo, bytes) and cut it into n byte parts."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, data in members.items():
            zf.writestr(key, data)
    raw = buf.getvalue()
    size = -(-len(raw) // n_parts)
    parts = []
    for i in range(n_parts):
        part = tmp_path / f"{name}.{i + 1:03d}"
        part.write_bytes(raw[i * size:(i + 1) * size])
        parts.append(part)
    return parts


def test_joined_parts_read_and_seek_like_one_file(tmp_path):
    chunks = [b"abc", b"", b"defgh", b"ij"]
    paths = []
    for i, chunk in enumerate(chunks):
        paths.append(tmp_path / str(i))
        paths[-1].write_bytes(chunk)
    with JoinedParts(paths) as joined:
        assert joined.read() == b"abcdefghij"
        joined.seek(2)
        assert joined.read(4) == b"cdef"
        joined.seek(-3, io.SEEK_END)
        assert joined.read() == b"hij"


def test_split_archive_is_reassembled_and_extracted(tmp_path):
    parts = split_zip(tmp_path, FILES)
    target = tmp_path / "audio"
    assert extract_parts(parts, target) == len(FILES)
    for name, data in FILES.items():
        assert (target / name).read_bytes() == data
    assert not (tmp_path / "audio.partial").exists()


@pytest.mark.parametrize("evil", ["../escaped.mp3", "0/../../escaped.mp3", "/tmp/escaped.mp3",
                                  "C:/escaped.mp3"])
def test_members_escaping_the_target_refuse_the_whole_archive(tmp_path, evil):
    parts = split_zip(tmp_path, {**FILES, evil: b"evil"})
    target = tmp_path / "out" / "audio"
    with pytest.raises(DataError, match="unsafe"):
        extract_parts(parts, target)
    assert not target.exists() and not (tmp_path / "out" / "audio.partial").exists()
    assert not (tmp_path / "escaped.mp3").exists() and not (tmp_path / "out" / "escaped.mp3").exists()


def test_symlink_members_are_refused(tmp_path):
    link = zipfile.ZipInfo("0/link.mp3")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(link, "/etc/passwd")
    (tmp_path / "l.zip.001").write_bytes(buf.getvalue())
    with pytest.raises(DataError, match="symbolic link"):
        extract_parts([tmp_path / "l.zip.001"], tmp_path / "audio")
    assert not (tmp_path / "audio").exists()


def test_corrupt_member_fails_cleanly_and_keeps_the_parts(tmp_path):
    parts = split_zip(tmp_path, FILES)
    data = bytearray(parts[1].read_bytes())
    data[len(data) // 2] ^= 0xFF             # a flipped byte inside some member's data
    parts[1].write_bytes(bytes(data))
    target = tmp_path / "audio"
    with pytest.raises(DataError, match="not a valid zip archive") as err:
        extract_parts(parts, target)
    assert "mp3.zip.001, mp3.zip.002, mp3.zip.003" in str(err.value)
    assert not target.exists() and not (tmp_path / "audio.partial").exists()
    assert all(p.exists() for p in parts)


def test_missing_last_part_is_reported(tmp_path):
    parts = split_zip(tmp_path, FILES)
    with pytest.raises(DataError, match="not a valid zip archive"):
        extract_parts(parts[:2], tmp_path / "audio")
    with pytest.raises(DataError, match="archive part not found"):
        extract_parts([*parts[:2], tmp_path / "mp3.zip.009"], tmp_path / "audio")


def test_previous_extraction_is_replaced_whole(tmp_path):
    target = tmp_path / "audio"
    (target / "0").mkdir(parents=True)
    (target / "0" / "stale.mp3").write_bytes(b"old")
    extract_parts(split_zip(tmp_path, FILES), target)
    assert not (target / "0" / "stale.mp3").exists()
    assert sum(1 for p in target.rglob("*.mp3")) == len(FILES)
