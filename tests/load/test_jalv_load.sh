#!/usr/bin/env bash
# Load: the stereo plugin in jalv on a dummy JACK server at 64-frame blocks
# (48 kHz: 750 cycles a second) for 60 s, fed by jack_metro, while jalv's
# console applies 200 of the bundle's presets (every shipped preset in
# turn: a state restore each, the model loaded on the worker and
# crossfaded in) and triggers 100 resets (the reset port high, then low).
#
#   test_jalv_load.sh LV2_BUNDLE_PARENT PRESETS_DIR
#
# Checked: every preset's model is loaded (jalv's log shows the plugin's
# "loaded" line for each) and none refused; the plugin's audio thread (jalv's
# JACK thread) stays under MAX_LOAD % of real time; the plugin's client is
# not late more often than the machine makes any client late: xruns are
# attributed one late cycle at a time, against a control client and the
# machine's own rate measured first, as in tests/load/test_live_load.sh
# (see there and tests/common/jack_test_lib.sh).
#
# Exit status: 0 pass, 1 fail, 77 skip (a program missing).

set -euo pipefail

# SW_TEST_HOST_PRELOAD: in a sanitizer build, the sanitizer's runtime, which
# the plugin expects in its host process; preloaded into jalv (built without
# it) and nothing else. Empty otherwise.

if [ $# -ne 2 ]; then
  echo "usage: $0 LV2_BUNDLE_PARENT PRESETS_DIR" >&2
  exit 2
fi
bundle_parent=$(cd "$1" && pwd)
presets_dir=$(cd "$2" && pwd)

# shellcheck source=../common/jack_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common/jack_test_lib.sh"

require_programs jackd jalv jack_metro jack_cpu jack_connect jack_lsp

readonly STEREO=https://statewave.dev/plugins/stereo
readonly PERIOD=64
readonly WINDOW_SECONDS=60
readonly SWITCHES=200
readonly BASELINE=20
readonly TRIES=2
readonly MAX_LOAD=50
readonly CONTROL_LOAD=10  # percent of each cycle the control client busy-waits
readonly CONTROL_MARGIN=2
readonly CLIENT=sws

tmp=$(mktemp -d "${TMPDIR:-/tmp}/statewave-jalv-load.XXXXXX")
cleanup() {
  local status=$?
  set +e
  stop_jack_programs
  exec 3>&- 4>&-
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ] && [ -s "$tmp/jalv.log" ]; then
    echo "---- last lines of jalv.log"
    tail -n 20 "$tmp/jalv.log"
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

export LV2_PATH="$bundle_parent"
presets=()
for preset in "$presets_dir"/*.preset; do
  presets+=("$STEREO/presets/$(basename "$preset" .preset)")
done
[ "${#presets[@]}" -ge 2 ] || { echo "FAIL: fewer than two presets in $presets_dir"; exit 1; }

hold_cpu_idle_latency
start_jackd "statewave-jalv-load-$$" "$PERIOD"
jack_metro -n metro -b 600 -f 440 -A 0.25 -D 50 >"$tmp/metro.log" 2>&1 3>&- 4>&- &
client_pids+=($!)
jack_metro -n metro2 -b 450 -f 660 -A 0.3 -D 40 >"$tmp/metro2.log" 2>&1 3>&- 4>&- &
client_pids+=($!)
wait_ports metro:600_bpm metro2:450_bpm

start_control $((BASELINE + 5))
read -r base_events base_seconds <<<"$(machine_baseline "$BASELINE")"
stop_control
echo "note: the machine alone (the server, the click sources and the control, no jalv): $base_events xrun event(s) in $base_seconds s"

mkfifo "$tmp/ctl"
exec 3<>"$tmp/ctl"
LD_PRELOAD="${SW_TEST_HOST_PRELOAD:-}" jalv -x -n "$CLIENT" "$STEREO" <"$tmp/ctl" \
  >"$tmp/jalv.log" 2>&1 3>&- 4>&- &
jalv_pid=$!
client_pids+=("$jalv_pid")
wait_ports "$CLIENT:in_l" "$CLIENT:in_r" "$CLIENT:out_l" "$CLIENT:out_r"
jack_connect metro:600_bpm "$CLIENT:in_l"
jack_connect metro2:450_bpm "$CLIENT:in_r"
rt_pid=$jalv_pid
rt_tid=$(rt_thread_of "$jalv_pid")
# `presets` lists the presets, and so loads their data (see test_jalv.sh).
echo "presets" >&3
sleep 1
echo "ok: jalv plays $STEREO as JACK client $CLIENT at $PERIOD-frame blocks"

loads_before=$(grep -c "statewave: loaded" "$tmp/jalv.log" || true)
sent=0
passed=0
step=$(awk -v w="$WINDOW_SECONDS" -v n="$SWITCHES" 'BEGIN {printf "%.3f", w / n / 2}')
for try in $(seq "$TRIES"); do
  kill -0 "$jalv_pid" 2>/dev/null || { fail "jalv exited"; break; }
  start_control $((WINDOW_SECONDS + 15))
  offset=$(log_offset)
  ns0=$(thread_ns)
  t0=$(date +%s%N)
  for i in $(seq "$SWITCHES"); do
    # From the preset after the default's: each names another model than
    # the one playing, so each loads.
    echo "preset ${presets[$(((i + 1) % ${#presets[@]}))]}" >&3
    sent=$((sent + 1))
    sleep "$step"
    if [ $((i % 2)) -eq 0 ]; then
      echo "reset = 1" >&3
    else
      echo "reset = 0" >&3
    fi
    sleep "$step"
  done
  echo "reset = 0" >&3
  sleep 0.3
  ns1=$(thread_ns)
  t1=$(date +%s%N)
  load=""
  if [ -n "$ns0" ] && [ -n "$ns1" ]; then
    load=$(awk -v a="$ns0" -v b="$ns1" -v t="$((t1 - t0))" 'BEGIN {printf "%.1f", 100 * (b - a) / t}')
  fi
  echo "try $try: $SWITCHES presets and $((SWITCHES / 2)) resets over $WINDOW_SECONDS s"
  verdict=0
  judge_load_window "$CLIENT" "$offset" "$(((t1 - t0) / 1000000000))" "$load" || verdict=$?
  stop_control
  if [ "$verdict" -eq 0 ]; then
    passed=1
    echo "ok: $WINDOW_SECONDS s of $SWITCHES preset switches at $PERIOD-frame blocks: $LOAD_EVENTS xrun event(s), $LOAD_MACHINE showing the machine stall, $LOAD_OWN with the client late alone (the control: $CONTROL_OWN); the machine alone had $base_events in $base_seconds s"
    break
  fi
done
[ "$passed" -eq 1 ] || fail "in every try the client was late alone more often than $CONTROL_MARGIN x the control + $CONTROL_MARGIN"

for _ in $(seq 30); do # the last loads
  [ "$(($(grep -c "statewave: loaded" "$tmp/jalv.log" || true) - loads_before))" -ge "$sent" ] && break
  sleep 0.1
done
loads=$(($(grep -c "statewave: loaded" "$tmp/jalv.log" || true) - loads_before))
refusals=$(grep -c "running model is kept" "$tmp/jalv.log" || true)
echo "    the plugin logged $loads model loads for $sent presets, $refusals refusals"
[ "$loads" -eq "$sent" ] || fail "$loads model loads for $sent presets"
[ "$refusals" -eq 0 ] || fail "$refusals loads refused: $(grep 'running model is kept' "$tmp/jalv.log" | head -n 3)"
kill -0 "$jalv_pid" 2>/dev/null || fail "jalv exited"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
