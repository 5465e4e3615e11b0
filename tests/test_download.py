"""Downloads against a local HTTP server: resume, mirrors, checksums, offline, progress."""

import hashlib
import io
import sys

import numpy as np
import pytest

from tagbench.core.download import DownloadSettings, download
from tagbench.core.errors import DataError

from .conftest import closed_port_url

FAST = DownloadSettings(retries=3, timeout=5, backoff=0)
BODY = np.random.default_rng(0).bytes(3_000_000)
SHA = hashlib.sha256(BODY).hexdigest()


def test_plain_download_is_verified_and_leaves_no_part(file_server, tmp_path):
    file_server.files["/f.bin"] = BODY
    dest = tmp_path / "f.bin"
    assert download([file_server.url + "/f.bin"], dest, SHA, FAST) == SHA
    assert dest.read_bytes() == BODY
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_dropped_connections_resume_with_range_requests(file_server, tmp_path):
    file_server.files["/f.bin"] = BODY
    file_server.drops["/f.bin"] = [1_000_000, 700_000]   # two hang-ups, then whole
    dest = tmp_path / "f.bin"
    download([file_server.url + "/f.bin"], dest, SHA, FAST)
    assert dest.read_bytes() == BODY
    ranges = [rng for _, rng, _ in file_server.log]
    assert ranges == [None, "bytes=1000000-", "bytes=1700000-"]
    assert file_server.sent == len(BODY)    # nothing was sent twice


def test_a_part_left_by_an_earlier_run_is_resumed(file_server, tmp_path):
    file_server.files["/f.bin"] = BODY
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(BODY[:2_500_000])
    download([file_server.url + "/f.bin"], dest, SHA, FAST)
    assert dest.read_bytes() == BODY
    assert file_server.log == [("/f.bin", "bytes=2500000-", 206)]


def test_a_complete_part_is_finished_without_refetching(file_server, tmp_path):
    file_server.files["/f.bin"] = BODY
    (tmp_path / "f.bin.part").write_bytes(BODY)
    download([file_server.url + "/f.bin"], tmp_path / "f.bin", SHA, FAST)
    assert file_server.log == [("/f.bin", f"bytes={len(BODY)}-", 416)]
    assert (tmp_path / "f.bin").read_bytes() == BODY


def test_server_without_range_support_starts_over(file_server, tmp_path):
    file_server.files["/f.bin"] = BODY
    file_server.ignore_range = True
    (tmp_path / "f.bin.part").write_bytes(b"x" * 1000)  # stale bytes must not survive
    download([file_server.url + "/f.bin"], tmp_path / "f.bin", SHA, FAST)
    assert (tmp_path / "f.bin").read_bytes() == BODY


def test_mirrors_are_tried_in_order(file_server, tmp_path):
    file_server.files["/b/f.bin"] = BODY
    urls = [closed_port_url(), file_server.url + "/a/f.bin", file_server.url + "/b/f.bin"]
    download(urls, tmp_path / "f.bin", SHA, FAST)
    assert [(p, s) for p, _, s in file_server.log] == [("/a/f.bin", 404), ("/b/f.bin", 200)]


def test_checksum_mismatch_keeps_bytes_and_tries_next_mirror(file_server, tmp_path):
    file_server.files["/bad/f.bin"] = BODY[:-1] + b"\0"
    dest = tmp_path / "f.bin"
    with pytest.raises(DataError, match="sha256 .* is not the expected") as err:
        download([file_server.url + "/bad/f.bin"], dest, SHA, FAST)
    assert "f.bin.sha256-mismatch" in str(err.value)
    assert not dest.exists()
    assert (tmp_path / "f.bin.sha256-mismatch").stat().st_size == len(BODY)
    file_server.files["/good/f.bin"] = BODY
    download([file_server.url + "/bad/f.bin", file_server.url + "/good/f.bin"], dest, SHA, FAST)
    assert dest.read_bytes() == BODY


def test_offline_fails_fast_and_says_where_to_put_the_file(tmp_path, monkeypatch):
    dest = tmp_path / "mtt" / "mp3.zip.001"
    from tagbench.core import download as downloading

    waits = []
    monkeypatch.setattr(downloading.time, "sleep", waits.append)
    with pytest.raises(DataError) as err:
        download([closed_port_url(), "http://no-such-host.invalid/mp3.zip.001"], dest, SHA,
                 DownloadSettings(retries=5, timeout=30, backoff=1))
    assert waits == []  # refused and unknown hosts are not retried: offline fails at once
    message = str(err.value)
    assert "could not download mp3.zip.001" in message and "refused" in message.lower()
    assert f"copy the file to {dest} by hand" in message
    assert "\n" not in message


def test_retries_run_out_on_a_server_that_always_hangs_up(file_server, tmp_path):
    file_server.files["/f.bin"] = BODY
    file_server.drops["/f.bin"] = [0] * 10
    with pytest.raises(DataError, match=r"connection dropped .*\(3 retries\)"):
        download([file_server.url + "/f.bin"], tmp_path / "f.bin", SHA, FAST)
    assert len(file_server.log) == 4


def test_progress_bar_on_a_terminal(file_server, tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    file_server.files["/f.bin"] = BODY
    download([file_server.url + "/f.bin"], tmp_path / "f.bin", SHA, FAST)
    assert "f.bin" in term.getvalue() and "100%" in term.getvalue()
