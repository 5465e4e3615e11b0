#!/usr/bin/env bash
# Regenerate what docs/ shows from a finished `make demo` (run in the project folder): the
# configuration reference, the result tables (stamped) with the demo's forest plot and (when
# that config has run) its robustness figure, and screenshots of the HTML report at
# 1440 x 900 and at a phone's width (390 x 844). Needs Debian's chromium for the screenshots
# (apt-get install chromium); the rest needs only the venv.
#   make docs
set -euo pipefail
python="${PYTHON:-.venv/bin/python}"
"$python" scripts/config_reference.py
"$python" scripts/results_tables.py
bash scripts/report_screenshot.sh docs/report_overview.png
WINDOW=390,844 bash scripts/report_screenshot.sh docs/report_phone.png
echo "docs: configuration.md, results.md, statistics.md, demo_forest.png, robustness_demo.png (when run), report_overview.png, report_phone.png"
