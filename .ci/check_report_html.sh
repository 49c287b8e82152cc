#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium and checks that it renders, logs no console errors and
# shows its pictures (inline SVG charts with drawn marks). Installs Chromium if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
out=target/ci-report
rm -rf "$out"
cargo run --quiet -- run scenarios/quickstart.json --seed 1 --out "$out/run" >/dev/null
html="$(pwd)/$out/run/report.html"
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-dev-shm-usage
       --enable-logging=stderr --v=0)
chromium "${flags[@]}" --dump-dom "file://$html" >"$out/dom.html" 2>"$out/chromium.log"
chromium "${flags[@]}" --window-size=1000,4000 --screenshot="$out/report.png" "file://$html" \
  >/dev/null 2>>"$out/chromium.log"
svgs=$(grep -o '<svg' "$out/dom.html" | wc -l)
lanes=$(grep -o 'class="lane ' "$out/dom.html" | wc -l)
bars=$(grep -o 'class="bar"' "$out/dom.html" | wc -l)
lines=$(grep -o 'class="series"' "$out/dom.html" | wc -l)
fail() { echo "report html check: $*" >&2; exit 1; }
[ "$svgs" -ge 6 ] || fail "expected at least 6 charts in the rendered DOM, found $svgs"
[ "$lanes" -gt 0 ] && [ "$bars" -gt 0 ] && [ "$lines" -gt 0 ] || fail "empty charts ($lanes lanes, $bars bars, $lines lines)"
if grep -E 'CONSOLE|Uncaught|ERROR:.*(html|svg)' "$out/chromium.log" | grep -vi 'dbus\|gpu\|sandbox'; then
  fail "console errors (above)"
fi
[ -s "$out/report.png" ] || fail "no screenshot"
echo "report html check: $svgs charts, $lanes swimlane segments, $bars bars, $lines lines; screenshot $out/report.png"
