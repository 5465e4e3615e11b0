#!/usr/bin/env bash
# Render the HTML report and screenshot it in headless Chromium (a laptop-sized window), to
# look at what a reader sees (WINDOW=W,H for another size). Needs Debian's chromium (apt-get install chromium).
#   scripts/report_screenshot.sh [OUT_PNG]       (run in the project folder after `make demo`)
set -euo pipefail
out="${1:-results/report.png}"
snakemake="${SNAKEMAKE:-.venv/bin/snakemake}"
"$snakemake" --cores 1 --report results/report.html --report-stylesheet workflow/report/report.css
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size="${WINDOW:-1440,900}" --hide-scrollbars \
  --virtual-time-budget=15000 --screenshot="$out" "file://$PWD/results/report.html" 2>/dev/null
echo "report: results/report.html, screenshot: $out"
