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
def held_stderr(keep=lambda line: True):
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines():
                if keep(line):
                    print(line, file=sys.stderr)


def silenced_stderr():
    """Drop everything C code prints on fd 2 in the block (decoders: the error says it all)."""
    return held_stderr(keep=lambda line: False)
