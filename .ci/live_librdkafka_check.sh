#!/usr/bin/env bash
# The real-client check of `sharesim serve` (issue 9): installs confluent-kafka (librdkafka with its
# ShareConsumer) in a venv under the cargo target dir (no global state; reused while it has the pinned
# version), builds and starts the live broker on free ports, runs tests/live/librdkafka_check.py against
# it, stops the server and requires the oracle to pass the live trace. Bounded: every step has a timeout
# and the server is killed on exit. CI runs it after `cargo test` (.ci/run).
# Env: LIVE_BROKERS (default 1), LIVE_RECORDS (default 10000), LIVE_DEBUG=1 for librdkafka debug logs.
set -euo pipefail
cd "$(dirname "$0")/.."
brokers="${LIVE_BROKERS:-1}"
records="${LIVE_RECORDS:-10000}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "live check: $*" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-target}"
venv="$target/live-venv"
confluent="confluent-kafka==2.16.1"
if ! "$venv/bin/python" -c 'import confluent_kafka, sys; sys.exit(confluent_kafka.version()[0] != "2.16.1")' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "cannot create a Python venv at $venv (is python3-venv installed?)"
  timeout 300 "$venv/bin/pip" install -q --disable-pip-version-check "$confluent" \
    || fail "cannot install $confluent from PyPI into $venv"
fi
timeout 1800 cargo build --quiet --bin sharesim || fail "cannot build the sharesim binary"
bin="$target/debug/sharesim"
[ -x "$bin" ] || fail "no sharesim binary at $bin"

# Port 0: every listener takes a free port; the server prints the bootstrap servers it got.
# The group's share.auto.offset.reset=earliest is set by the client over the wire (IncrementalAlterConfigs).
"$bin" serve --brokers "$brokers" --port 0 --duration-s 600 --trace-out "$work/trace.jsonl" \
  >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
bootstrap=""
for _ in $(seq 1 300); do
  bootstrap="$(sed -n 's/.*bootstrap.servers=\([^ ]*\).*/\1/p' "$work/server.out" | head -n1)"
  [ -n "$bootstrap" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; fail "the server exited at start"; }
  sleep 0.1
done
[ -n "$bootstrap" ] || fail "the server did not start listening"
echo "live check: sharesim serve at $bootstrap ($brokers broker(s))"

debug=()
[ "${LIVE_DEBUG:-0}" = 1 ] && debug=(--debug)
replication=$(( brokers < 3 ? brokers : 3 ))
set +e
timeout 420 "$venv/bin/python" tests/live/librdkafka_check.py --bootstrap "$bootstrap" \
  --records "$records" --replication "$replication" "${debug[@]}" >"$work/client.out" 2>"$work/client.err"
client_status=$?
set -e
cat "$work/client.out"
# Stop the server: SIGTERM makes it judge the trace and print the verdicts.
kill -TERM "$server_pid"
for _ in $(seq 1 600); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
set +e
wait "$server_pid"
server_status=$?
set -e
server_pid=""
cat "$work/server.out"
if [ "$client_status" -ne 0 ]; then
  tail -n 60 "$work/client.err" >&2
  grep -v '^$' "$work/server.err" | tail -n 20 >&2
  fail "the client check failed (exit $client_status)"
fi
[ "$server_status" -eq 0 ] || fail "the oracle did not pass the live trace (exit $server_status)"
grep -q "oracle: PASSED" "$work/server.out" || fail "no oracle verdict in the server output"
echo "live check: passed"
