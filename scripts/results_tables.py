"""Put the result tables of finished runs into the docs, stamped with the commit, the machine
and the date, so that no figure in the docs is typed by hand.

    python scripts/results_tables.py [EXPERIMENT ...]   (default: every results/*/report/)

Each table an experiment's report rules wrote goes between its markers on its page (appended at
the end when the page has none), under a line naming where it came from:
`results/{experiment}/report/comparison.md` between `<!-- results:{experiment} -->` and
`<!-- /results:{experiment} -->` of docs/results.md, and `robustness.md` (config `robustness`)
between `<!-- robustness:{experiment} -->` and `<!-- /robustness:{experiment} -->` of
docs/statistics.md. A robustness table older than the run's clean summaries (a later `make demo`
does not rebuild it) is left out, with a line saying so, and so is its figure; a block whose
table and its time are what the page holds already is left as it is, so a new commit alone
rewrites nothing. The demo's figure beside each table (`FIGURES`) is copied into docs/ with it.
`make docs` runs it after `make demo`.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# a report's table -> (its marker, the page that shows it, the heading it gets when appended)
TABLES = {
    "comparison.md": ("results", ROOT / "docs" / "results.md", "`{}`, as last run"),
    "robustness.md": ("robustness", ROOT / "docs" / "statistics.md",
                      "`{}` on degraded audio, as last run"),
}
# a report's table -> the summaries it was written from (glob below results/{experiment}/eval/)
SUMMARIES = {"comparison.md": "*/metrics.json", "robustness.md": "*/robustness/*/metrics.json"}
# a report's table -> the demo's figure that docs/ shows beside it (its report/ and docs/ names)
FIGURES = {"comparison.md": ("forest.png", "demo_forest.png"),
           "robustness.md": ("robustness.png", "robustness_demo.png")}


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


def _report(experiment: str, name: str) -> Path:
    return ROOT / "results" / experiment / "report" / name


def summaries(experiment: str, name: str) -> list[Path]:
    return sorted((ROOT / "results" / experiment / "eval").glob(SUMMARIES[name]))


def summarized_by(experiment: str, name: str) -> str:
    """The code that summarized what the table shows (its summaries record it), or ""."""
    import json

    for path in summaries(experiment, name):
        return json.loads(path.read_text()).get("summarized_by", "")
    return ""


def stale(experiment: str, name: str) -> bool:
    """Whether a table besides the comparison is older than the clean summaries: a robustness
    table left from before the last `make demo` (which does not rebuild it) no longer
    describes the run's models."""
    table = _report(experiment, name)
    clean = summaries(experiment, "comparison.md")
    return (name != "comparison.md" and bool(clean)
            and table.stat().st_mtime < max(p.stat().st_mtime for p in clean))


def block(experiment: str, name: str, marker: str) -> str:
    table = _report(experiment, name)
    written = datetime.datetime.fromtimestamp(table.stat().st_mtime, datetime.UTC)
    code = summarized_by(experiment, name)
    # the file's own title, if any, would be a heading of the page: the stamp names the file
    body = re.sub(r"\A# [^\n]*\n+", "", table.read_text().strip())
    return (f"<!-- {marker}:{experiment} -->\n"
            f"`results/{experiment}/report/{name}` as written {written:%Y-%m-%d %H:%M} UTC"
            f"{f' ({code})' if code else ''}, put here at commit {commit()} on {machine()} "
            "(`scripts/results_tables.py`):\n\n"
            f"{body}\n<!-- /{marker}:{experiment} -->")


def _unplaced(block_text: str) -> str:
    return re.sub(r", put here at commit .*? on .*? \(`scripts/results_tables.py`\)", "", block_text)


def stamp(text: str, experiment: str, name: str) -> str:
    """The page's text with the experiment's table put between its markers (or appended)."""
    marker, _, heading = TABLES[name]
    new = block(experiment, name, marker)
    marked = re.compile(rf"<!-- {marker}:{re.escape(experiment)} -->.*?"
                        rf"<!-- /{marker}:{re.escape(experiment)} -->", re.S)
    old = marked.search(text)
    if old:
        # the same table from the same run: keep the commit it was first put here at
        if _unplaced(old.group(0)) == _unplaced(new):
            return text
        return marked.sub(lambda _: new, text)
    return text.rstrip() + f"\n\n### {heading.format(experiment)}\n\n{new}\n"


def main(experiments: list[str]) -> int:
    if not experiments:
        experiments = sorted(p.parent.parent.name
                             for p in (ROOT / "results").glob("*/report/comparison.md"))
    if not experiments:
        print("no results/*/report/comparison.md: run snakemake first", file=sys.stderr)
        return 1
    for name, (_, page, _) in TABLES.items():
        text = before = page.read_text()
        for experiment in experiments:
            if not _report(experiment, name).is_file():
                continue
            if stale(experiment, name):
                print(f"results/{experiment}/report/{name} is older than the run's summaries: "
                      f"left out of {page.relative_to(ROOT)} (rerun its config first)",
                      file=sys.stderr)
                continue
            text = stamp(text, experiment, name)
            print(f"{page.relative_to(ROOT)}: {experiment}'s {name}")
            figure, shown = FIGURES[name]
            if experiment == "demo" and _report(experiment, figure).is_file():
                shutil.copyfile(_report(experiment, figure), ROOT / "docs" / shown)
                print(f"docs/{shown}")
        if text != before:
            page.write_text(text if text.endswith("\n") else text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
