"""Put the result tables of finished runs into docs/results.md, stamped with the commit, the
machine and the date, so that no figure in the docs is typed by hand.

    python scripts/results_tables.py [EXPERIMENT ...]   (default: every results/*/report/)

Each experiment's `results/{experiment}/report/comparison.md` (what its report rule wrote) goes
between the markers `<!-- results:{experiment} -->` and `<!-- /results:{experiment} -->` of
docs/results.md (appended at the end when the page has none), under a line naming where it came
from. `make docs` runs it after `make demo`.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "results.md"


def machine() -> str:
    """The CPU, cores and Python of this machine (the run's, when called after it)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def commit() -> str:
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    return head + (" (with uncommitted changes)" if git("status", "--porcelain", "src").strip()
                   else "")


def summarized_by(experiment: str) -> str:
    """The code that summarized the run (its summaries record it), or "" if none says."""
    import json

    for path in sorted((ROOT / "results" / experiment / "eval").glob("*/metrics.json")):
        return json.loads(path.read_text()).get("summarized_by", "")
    return ""


def block(experiment: str) -> str:
    table = ROOT / "results" / experiment / "report" / "comparison.md"
    written = datetime.datetime.fromtimestamp(table.stat().st_mtime, datetime.UTC)
    code = summarized_by(experiment)
    return (f"<!-- results:{experiment} -->\n"
            f"`results/{experiment}/report/comparison.md` as written {written:%Y-%m-%d %H:%M} UTC"
            f"{f' ({code})' if code else ''}, put here at commit {commit()} on {machine()} "
            "(`scripts/results_tables.py`):\n\n"
            f"{table.read_text().strip()}\n<!-- /results:{experiment} -->")


def main(experiments: list[str]) -> int:
    if not experiments:
        experiments = sorted(p.parent.parent.name
                             for p in (ROOT / "results").glob("*/report/comparison.md"))
    if not experiments:
        print("no results/*/report/comparison.md: run snakemake first", file=sys.stderr)
        return 1
    text = PAGE.read_text()
    for experiment in experiments:
        new = block(experiment)
        marked = re.compile(rf"<!-- results:{re.escape(experiment)} -->.*?"
                            rf"<!-- /results:{re.escape(experiment)} -->", re.S)
        if marked.search(text):
            text = marked.sub(lambda _, new=new: new, text)
        else:
            text = text.rstrip() + f"\n\n### `{experiment}`, as last run\n\n{new}\n"
        print(f"docs/results.md: {experiment}")
    PAGE.write_text(text if text.endswith("\n") else text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
