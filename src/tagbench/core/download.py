"""Downloads that survive flaky servers and moving hosts.

Mirrors are tried in order; an interrupted transfer resumes with an HTTP Range request instead
of starting over; the bytes go to `<name>.part` and are renamed only when whole and verified
(size, and sha256 where one is known). A checksum mismatch keeps the bad bytes beside the target
(`<name>.sha256-mismatch`) and fails with a message; nothing the user already has is deleted.
An unreachable host (no network, DNS failure, refused) moves on to the next mirror at once, so
an offline machine fails fast with the file to place by hand.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .digests import sha256_of
from .errors import DataError

CHUNK = 1 << 20


@dataclass(frozen=True)
class DownloadSettings:
    """How hard a download tries (config `download`): retries per mirror, seconds without data."""

    retries: int = 5
    timeout: float = 60.0
    backoff: float = 2.0
USER_AGENT = "tagbench (https://github.com/tagbench)"


class _Retry(Exception):
    """The transfer broke off; the same mirror may resume it."""


class _NextMirror(Exception):
    """This mirror cannot serve the file (unreachable, 404, wrong bytes)."""


def verify_sha256(path: Path, expected: str | None, source: str = "") -> str:
    """The file's sha256; a DataError naming the file if it differs from `expected`."""
    actual = sha256_of(path)
    if expected and actual != expected.lower():
        raise DataError(
            f"{path}: sha256 {actual} does not match the expected {expected}{source}; the file "
            f"was kept: replace it (or delete it to download again)")
    return actual


def _progress(total: int | None, initial: int, name: str):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=name, disable=not sys.stderr.isatty(), mininterval=1.0)


def _content_total(resp, offset: int) -> int | None:
    """Full file size from Content-Range (206) or Content-Length (200), if the server says."""
    content_range = resp.headers.get("Content-Range", "")
    if "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    length = resp.headers.get("Content-Length")
    return offset + int(length) if length is not None else None


def _transfer(url: str, part: Path, settings: DownloadSettings) -> None:
    """One request: append what the server sends to `part`, resuming from its size."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        resp = urllib.request.urlopen(request, timeout=settings.timeout)  # noqa: S310 - config URL
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left to send: the part is already whole
            return
        if err.code >= 500 or err.code == 429:
            raise _Retry(f"HTTP {err.code}") from None
        raise _NextMirror(f"HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise _Retry(f"timed out after {settings.timeout:g} s") from None
        raise _NextMirror(str(reason)) from None
    with resp:
        if resp.status == 206:
            start = resp.headers.get("Content-Range", "bytes 0-").split()[1].split("-")[0]
            if int(start) != offset:
                raise _NextMirror(f"server resumed at byte {start}, not {offset}")
            mode = "ab"
        else:  # 200: the server ignored the Range header; start over
            offset, mode = 0, "wb"
        total = _content_total(resp, offset)
        written = offset
        try:
            with open(part, mode) as out, _progress(total, offset, part.name[:-5]) as bar:
                while block := resp.read(CHUNK):
                    out.write(block)
                    written += len(block)
                    bar.update(len(block))
        except (http.client.IncompleteRead, ConnectionError, TimeoutError) as err:
            raise _Retry(f"connection dropped at byte {written} ({type(err).__name__})") from None
    if total is not None and written < total:
        raise _Retry(f"connection dropped at byte {written} of {total}")
    if total is not None and written > total:
        part.unlink()
        raise _NextMirror(f"server sent {written} bytes, more than the {total} it announced")


def download(urls: list[str], dest: str | Path, sha256: str | None, settings: DownloadSettings,
             hint: str = "") -> str:
    """Fetch `dest` from the first mirror that serves it whole and verified; returns its sha256.

    `hint` ends the offline error message (e.g. where the checksum came from).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures = []
    for url in urls:
        attempt = 0
        while True:
            try:
                _transfer(url, part, settings)
                break
            except _Retry as why:
                attempt += 1
                if attempt > settings.retries:
                    failures.append(f"{url}: {why} ({settings.retries} retries)")
                    url = None
                    break
                print(f"{dest.name}: {why}; resuming (retry {attempt}/{settings.retries})",
                      file=sys.stderr)
                time.sleep(settings.backoff * (attempt - 1))
            except _NextMirror as why:
                failures.append(f"{url}: {why}")
                url = None
                break
        if url is None:
            continue
        actual = sha256_of(part)
        if sha256 and actual != sha256.lower():
            bad = dest.with_name(dest.name + ".sha256-mismatch")
            os.replace(part, bad)
            failures.append(f"{url}: sha256 {actual} is not the expected {sha256} (kept as {bad})")
            continue
        os.replace(part, dest)
        return actual
    tried = "; ".join(failures) or "no mirror configured"
    raise DataError(f"could not download {dest.name} ({tried}). Without network access, copy the "
                    f"file to {dest} by hand and rerun{hint}")
