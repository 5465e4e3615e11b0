"""Holding back what C libraries print on the process's stderr (file descriptor 2).

TensorFlow's start-up notices and the MP3 decoder's resync notes are written by C code straight
to fd 2, past Python's sys.stderr, and would bury the one-line error a user needs. `held_stderr`
sends fd 2 to a temporary file for the duration of a block and then passes on only the lines
`keep` accepts.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


@contextlib.contextmanager
def _stderr_to(fd: int):
    """Point fd 2 at `fd` for the block, then back."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(fd, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def held_stderr(keep=lambda line: True):
    with tempfile.TemporaryFile() as held:
        try:
            with _stderr_to(held.fileno()):
                yield
        finally:
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines():
                if keep(line):
                    print(line, file=sys.stderr)


@contextlib.contextmanager
def silenced_stderr():
    """Drop everything C code prints on fd 2 in the block (decoders: the error says it all).
    Straight to the null device: this runs once per decoded file."""
    with open(os.devnull, "wb") as null, _stderr_to(null.fileno()):
        yield
