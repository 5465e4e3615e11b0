"""`tagbench <verb>`: the commands the Snakemake rules call, and that users can run by hand.

One module per stage registers its verbs (`add_verbs`); this module builds the parser and turns
errors a user can fix into one line, `tagbench: error: ...`, with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..core.errors import TagbenchError
from . import backbones, data, evaluate, features, predict, report, train

STAGES = (data, features, train, evaluate, report, predict, backbones)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tagbench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tagbench {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for stage in STAGES:
        stage.add_verbs(sub)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
    except TagbenchError as err:
        print(f"tagbench: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tagbench: interrupted", file=sys.stderr)
        return 130
    return status or 0
