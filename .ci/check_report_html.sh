#!/usr/bin/env bash
# Renders the HTML reports in headless Chromium and checks that they render, log no console errors and show
# their pictures: a run's report.html (inline SVG charts with drawn marks), and every committed study page of
# the scenario library plus its index. Installs Chromium if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
out=target/ci-report
rm -rf "$out"
mkdir -p "$out"
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-dev-shm-usage
       --disable-quic --no-first-run --disable-component-update --disable-sync
       --enable-logging=stderr --v=0)
fail() { echo "report html check: $*" >&2; exit 1; }
count() { { grep -o "$1" "$2" || true; } | wc -l; }
# render HTML_FILE NAME: the rendered DOM in $out/NAME.dom.html; fails on console errors.
render() {
  local html log="$out/$2.chromium.log"
  html="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
  chromium "${flags[@]}" --user-data-dir="$out/profile" --dump-dom "file://$html" >"$out/$2.dom.html" 2>"$log"
  [ -s "$out/$2.dom.html" ] || fail "$1 rendered nothing"
  if grep -E 'CONSOLE|Uncaught|ERROR:.*(html|svg)' "$log" | grep -vi 'dbus\|gpu\|sandbox'; then
    fail "console errors in $1 (above)"
  fi
}

cargo run --quiet -- run scenarios/quickstart.json --seed 1 --out "$out/run" >/dev/null
render "$out/run/report.html" run
dom="$out/run.dom.html"
chromium "${flags[@]}" --user-data-dir="$out/profile" --window-size=1000,4000 --screenshot="$out/report.png" \
  "file://$(pwd)/$out/run/report.html" >/dev/null 2>>"$out/run.chromium.log"
svgs=$(count '<svg' "$dom"); lanes=$(count 'class="lane ' "$dom")
bars=$(count 'class="bar"' "$dom"); lines=$(count 'class="series"' "$dom")
[ "$svgs" -ge 6 ] || fail "expected at least 6 charts in the rendered DOM, found $svgs"
[ "$lanes" -gt 0 ] && [ "$bars" -gt 0 ] && [ "$lines" -gt 0 ] || fail "empty charts ($lanes lanes, $bars bars, $lines lines)"
[ -s "$out/report.png" ] || fail "no screenshot"
echo "report html check: run report: $svgs charts, $lanes swimlane segments, $bars bars, $lines lines; screenshot $out/report.png"

# The library: each study page shows one chart per plotted metric, each with drawn marks (bars or heat-map
# cells), and the index links every study.
studies=0
for page in reports/library/*/study.html; do
  name=$(basename "$(dirname "$page")")
  render "$page" "study-$name"
  dom="$out/study-$name.dom.html"
  plots=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["study"]["plots"]))' \
    "scenarios/library/$name.json")
  charts=$(count '<svg' "$dom"); marks=$(( $(count 'class="bar"' "$dom") + $(count 'class="cell"' "$dom") ))
  [ "$charts" -ge "$plots" ] || fail "$page: $plots plotted metrics but $charts charts"
  [ "$plots" -eq 0 ] || [ "$marks" -gt 0 ] || fail "$page: charts without bars or cells"
  studies=$((studies + 1))
done
[ "$studies" -gt 0 ] || fail "no study pages under reports/library"
render reports/library/index.html library-index
links=$(count 'href="[a-z_]*/study.html"' "$out/library-index.dom.html")
[ "$links" -eq "$studies" ] || fail "the library index links $links study pages, expected $studies"
echo "report html check: library: $studies study pages render with their charts; the index links all of them"
