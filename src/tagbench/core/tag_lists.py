"""Named tag sets: a config's `tags.list` (a shipped list by name, or a file of tag names) and
the digest that says which tag set a split used.

A split records `tags_sha256` (of its tags as a set), so a published row scored on the
literature's top-50 is shown beside an experiment only when the experiment scored those very
tags, not merely as many. Light (standard library only): the Snakefile resolves list paths.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from .errors import DataError

SHIPPED_DIR = Path(__file__).with_name("shipped_tag_lists")


def shipped() -> dict[str, Path]:
    """Name -> file of the tag lists shipped with tagbench (`mtt_top50`: musicnn's MTT top-50)."""
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.txt"))}


def list_path(name_or_path: str) -> Path:
    """The file of a shipped list's name, or the path itself."""
    return shipped().get(name_or_path, Path(name_or_path))


def read_tag_list(name_or_path: str) -> list[str]:
    """Tag names in file order: one per line; blank lines and `#` comments skipped."""
    path = list_path(name_or_path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: tag list not found (config tags.list: a file of tag names, "
                        f"one per line, or a shipped list: {', '.join(shipped())})") from None
    tags = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not tags:
        raise DataError(f"{path}: the tag list names no tag")
    if len(set(tags)) != len(tags):
        dup = next(t for t in tags if tags.count(t) > 1)
        raise DataError(f"{path}: tag {dup!r} is listed twice")
    return tags


def tag_set_digest(tags) -> str:
    """16 hex digits naming a set of tags (order does not matter, case does)."""
    return hashlib.sha256("\n".join(sorted(tags)).encode()).hexdigest()[:16]


@functools.cache
def _shipped_digests() -> dict[str, str]:
    """Digest -> name of each shipped list (read once: the leaderboard asks for every row)."""
    return {tag_set_digest(read_tag_list(name)): name for name in shipped()}


def tag_set_name(digest: str) -> str | None:
    """The shipped list with this digest, if any."""
    return _shipped_digests().get(digest)
