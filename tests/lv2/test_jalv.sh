#!/usr/bin/env bash
# The Statewave LV2 plugins (mono, then stereo) in jalv, the console LV2 host,
# on a JACK server with the dummy driver (48 kHz, 128 frames: real-time
# pacing, no sound card) that this test starts and stops itself.
#
#   test_jalv.sh LV2_BUNDLE_PARENT STATEWAVE MODEL_B
#
# LV2_BUNDLE_PARENT: the folder holding statewave.lv2 (used in LV2_PATH);
# STATEWAVE: the statewave program (its `process` makes the reference audio);
# MODEL_B: a second mono model file (1 input), the one the model change loads.
#
# For each plugin, in windows that must have no xrun (see below):
#  1. steady run: jack_metro's clicks go through the plugin for 3 s; its
#     output, recorded by jack_rec beside its input, is not silence, is not
#     the dry input, and equals `statewave process` of the recorded input
#     with the default model;
#  2. model change while running, from jalv's console on stdin: a preset
#     naming MODEL_B (a state restore: the plugin loads it on the worker and
#     crossfades); afterwards the output equals `statewave process` with
#     MODEL_B;
#  3. control ports from the console: enabled = 0 (the output becomes the dry
#     input exactly), enabled = 1, mix = 0.5, mix = 1;
#  4. reloads: backend = 1 and backend = 0 (each reloads the playing model on
#     the worker), then the shipped default preset (back to the first model).
# jalv 1.6.6's console cannot send a patch:Set of the model parameter (its
# commands are help, controls, monitors, presets, preset URI, set, SYM = VAL),
# so the model change goes through presets, which restore state:state; the
# test's own preset bundle names MODEL_B.
#
# Xruns are counted in jackd's log, windows retried when the machine itself
# stalls, and the detector checked by a self-check (jalv stopped, jack_cpu):
# see tests/common/jack_test_lib.sh, which this test shares with the live
# suite. Apart from xruns, the plugin's audio thread (jalv's real-time JACK
# thread) must use under MAX_LOAD % of real time in every try.
#
# Exit status: 0 pass, 1 fail, 77 skip (a program missing, or a machine that
# cannot hold real time).

set -euo pipefail

# SW_TEST_HOST_PRELOAD: in a sanitizer build, the sanitizer's runtime, which
# the plugin expects in its host process; preloaded into the LV2 host
# programs (built without it) and nothing else. Empty otherwise.

if [ $# -ne 3 ]; then
  echo "usage: $0 LV2_BUNDLE_PARENT STATEWAVE MODEL_B" >&2
  exit 2
fi
bundle_parent=$(cd "$1" && pwd)
statewave=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
model_b=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")

# shellcheck source=../common/jack_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common/jack_test_lib.sh"

require_programs jackd jalv jack_metro jack_rec jack_connect jack_lsp sox
for file in "$bundle_parent/statewave.lv2/manifest.ttl" "$statewave" "$model_b"; do
  if [ ! -e "$file" ]; then
    echo "FAIL: $file is missing" >&2
    exit 1
  fi
done

readonly MONO=https://statewave.dev/plugins/mono
readonly STEREO=https://statewave.dev/plugins/stereo
readonly TRIES=5
readonly MAX_LOAD=50 # percent of real time the plugin's audio thread may use

tmp=$(mktemp -d "${TMPDIR:-/tmp}/statewave-jalv.XXXXXX")

cleanup() {
  local status=$?
  set +e
  stop_jack_programs # jalv, jack_metro, jack_rec, then jackd
  exec 3>&- 4>&-
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    for log in jackd.log jalv-sw.log jalv-sws.log; do
      if [ -s "$tmp/$log" ]; then
        echo "---- last lines of $log"
        tail -n 25 "$tmp/$log"
      fi
    done
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---------------------------------------------------------------- audio ----

# Check recording $1 (channels: the n inputs, then the n outputs) of an
# n-channel ($2) plugin against `statewave process` with model $3, from
# $4 seconds on; $5 names the check. Also: not silence, not the dry input.
check_against_model() {
  local rec=$1 n=$2 model=$3 from=$4 what=$5
  local dry="$tmp/dry.wav" ref="$tmp/ref.wav" merged="$tmp/merged.wav"
  local dry_channels="" c
  for c in $(seq "$n"); do dry_channels+="$c "; done
  # shellcheck disable=SC2086
  sox -V1 "$rec" "$dry" remix $dry_channels
  "$statewave" process --model "$model" --block 128 -s float "$dry" "$ref" >/dev/null
  sox -V1 -M "$rec" "$ref" "$merged"
  for c in $(seq "$n"); do
    local wet=$((n + c)) refc=$((2 * n + c))
    local rms dry_diff ref_diff
    rms=$(stat_of "$rec" "$wet" "$from" | awk '{print $3}')
    dry_diff=$(peak_of "$rec" "$wet,${c}v-1" "$from")
    ref_diff=$(peak_of "$merged" "$wet,${refc}v-1" "$from")
    echo "    $what, channel $c: output RMS $rms; largest difference from the dry input $dry_diff, from statewave process $ref_diff"
    below 0.01 "$rms" || fail "$what, channel $c: the output is silent (RMS $rms)"
    below 0.01 "$dry_diff" || fail "$what, channel $c: the output is the dry input (largest difference $dry_diff)"
    below "$ref_diff" 0.001 || fail "$what, channel $c: the output is not the model's (largest difference from statewave process $ref_diff)"
  done
}

# Check recording $1 (n = $2 channels in, n out) is the dry input from $3 s on.
check_dry() {
  local rec=$1 n=$2 from=$3 what=$4 c
  for c in $(seq "$n"); do
    local diff rms
    diff=$(peak_of "$rec" "$((n + c)),${c}v-1" "$from")
    rms=$(stat_of "$rec" "$((n + c))" "$from" | awk '{print $3}')
    echo "    $what, channel $c: output RMS $rms; largest difference from the dry input $diff"
    below 0.01 "$rms" || fail "$what, channel $c: the output is silent (RMS $rms)"
    below "$diff" 0.0001 || fail "$what, channel $c: bypass does not play the dry input (largest difference $diff)"
  done
}

# ---------------------------------------------------------------- setup ----

hold_cpu_idle_latency

# A preset bundle naming MODEL_B for each plugin (URIs that jalv's `preset`
# command parses: letters, digits and _:/-.#).
mkdir -p "$tmp/lv2/statewave-test.lv2"
model_b_name=$(basename "$model_b")
cp "$model_b" "$tmp/lv2/statewave-test.lv2/$model_b_name"
cat >"$tmp/lv2/statewave-test.lv2/manifest.ttl" <<EOF
@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix pset: <http://lv2plug.in/ns/ext/presets#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix state: <http://lv2plug.in/ns/ext/state#> .

<urn:statewave-test:mono-b>
	a pset:Preset ;
	lv2:appliesTo <$MONO> ;
	rdfs:label "Model B" ;
	state:state [ <https://statewave.dev/plugins#model> <$model_b_name> ] .

<urn:statewave-test:stereo-b>
	a pset:Preset ;
	lv2:appliesTo <$STEREO> ;
	rdfs:label "Model B" ;
	state:state [ <https://statewave.dev/plugins#model> <$model_b_name> ] .
EOF
export LV2_PATH="$tmp/lv2:$bundle_parent"

start_jackd "statewave-jalv-$$"

# jalv reads console commands from a FIFO that this shell keeps open (fd 3),
# so its stdin never ends while the test runs. The programs started in the
# background do not inherit fds 3 and 4 (3>&- 4>&-): the QoS request ends
# with this shell.
mkfifo "$tmp/ctl"
exec 3<>"$tmp/ctl"
command_jalv() {
  echo "    jalv> $*"
  echo "$*" >&3
}

jack_metro -n metro -b 600 -f 440 -A 0.25 -D 50 >"$tmp/metro.log" 2>&1 3>&- 4>&- &
client_pids+=($!)
jack_metro -n metro2 -b 450 -f 660 -A 0.3 -D 40 >"$tmp/metro2.log" 2>&1 3>&- 4>&- &
client_pids+=($!)
wait_ports metro:600_bpm metro2:450_bpm

# --------------------------------------------------------------- a plugin ----

# Globals of the plugin under test, set by start_plugin.
client="" jalv_pid="" channels=0 inputs=() outputs=() sources=() uri=""
default_preset="" b_preset="" loads=0 playing=default

start_plugin() {
  uri=$1 client=$2
  if [ "$uri" = "$MONO" ]; then
    channels=1 inputs=("$client:in") outputs=("$client:out")
    sources=(metro:600_bpm)
    default_preset="$MONO/presets/default-overdrive"
    b_preset=urn:statewave-test:mono-b
  else
    channels=2 inputs=("$client:in_l" "$client:in_r")
    outputs=("$client:out_l" "$client:out_r")
    sources=(metro:600_bpm metro2:450_bpm)
    default_preset="$STEREO/presets/default-overdrive"
    b_preset=urn:statewave-test:stereo-b
  fi
  LD_PRELOAD="${SW_TEST_HOST_PRELOAD:-}" jalv -x -n "$client" "$uri" <"$tmp/ctl" >"$tmp/jalv-$client.log" 2>&1 3>&- 4>&- &
  jalv_pid=$!
  client_pids+=("$jalv_pid")
  playing=default
  wait_ports "${inputs[@]}" "${outputs[@]}"
  # jalv's one real-time thread is JACK's process thread, which runs the
  # plugin: its CPU time is the window's load (thread_ns).
  rt_pid=$jalv_pid
  rt_tid=$(rt_thread_of "$jalv_pid")
  if [ -z "$rt_tid" ]; then
    echo "note: no real-time thread in jalv; its CPU load is not measured"
  fi
  local i
  for i in "${!inputs[@]}"; do
    jack_connect "${sources[$i]}" "${inputs[$i]}"
  done
  # `presets` lists the presets, and so loads their data (the shipped ones
  # live in presets.ttl, which lilv reads only on demand): without it
  # `preset URI` finds no state for them and silently does nothing.
  command_jalv presets
  echo "ok: jalv plays $uri as JACK client $client"
}

alive() {
  kill -0 "$jalv_pid" 2>/dev/null || {
    echo "FAIL: jalv ($client) exited"
    exit 1
  }
}

# Record the inputs and the outputs for $2 seconds into $1 (in the
# background when $3 is "&": the pid is left in rec_pid).
record() {
  local file=$1 seconds=$2
  if [ "${3:-}" = "&" ]; then
    jack_rec -f "$file" -d "$seconds" -b 32 "${sources[@]}" "${outputs[@]}" \
      >"$tmp/rec.log" 2>&1 3>&- 4>&- &
    rec_pid=$!
    client_pids+=("$rec_pid")
  else
    jack_rec -f "$file" -d "$seconds" -b 32 "${sources[@]}" "${outputs[@]}" \
      >"$tmp/rec.log" 2>&1 3>&- 4>&-
    check_recorder
  fi
}

check_recorder() {
  if grep -q overrun "$tmp/rec.log"; then
    fail "jack_rec: $(cat "$tmp/rec.log")"
  fi
}

# Wait until jalv's log shows $1 more "statewave: loaded" lines than `loads`
# (3 s at most).
wait_loads() {
  local want=$((loads + $1)) now=0
  for _ in $(seq 30); do
    now=$(grep -c "statewave: loaded" "$tmp/jalv-$client.log" || true)
    [ "$now" -ge "$want" ] && break
    sleep 0.1
  done
  loads=$now
  [ "$now" -ge "$want" ] || fail "$client: the plugin did not report $1 model load(s) (jalv log: $(tail -n 3 "$tmp/jalv-$client.log" | tr '\n' '|'))"
}

# Whether the plugin's last "statewave: loaded" line names file $1 ($2 says
# what asked for it).
last_load_is() {
  local last
  last=$(grep "statewave: loaded" "$tmp/jalv-$client.log" | tail -n 1)
  grep -qF "$1" <<<"$last" ||
    fail "$client: $2 did not load $1 (last load: ${last:-none})"
}

# Apply a preset: $1 "default" (the shipped one) or "b" (the test's, naming
# MODEL_B); the model loads on the worker and crossfades in.
apply_preset() {
  loads=$(grep -c "statewave: loaded" "$tmp/jalv-$client.log" || true)
  if [ "$1" = b ]; then
    command_jalv "preset $b_preset"
    wait_loads 1
    last_load_is "statewave-test.lv2/$model_b_name" "the preset naming model B"
  else
    command_jalv "preset $default_preset"
    wait_loads 1
    last_load_is "statewave.lv2/default-overdrive.json" "the shipped preset"
  fi
  playing=$1
}

# Preparations (outside the windows): the model a window starts from.
playing_default() { [ "$playing" = default ] || apply_preset default; }
playing_b() { [ "$playing" = b ] || apply_preset b; }

# Window: a steady run of the default model.
window_steady() {
  alive
  record "$tmp/steady.wav" 3
  alive
  if try_is_clean; then
    check_against_model "$tmp/steady.wav" "$channels" \
      "$bundle_parent/statewave.lv2/default-overdrive.json" 1 "$client, default model"
  fi
}

# Window: the model changes to MODEL_B through a preset while recording.
window_model_change() {
  alive
  record "$tmp/changed.wav" 2 "&"
  sleep 0.3
  apply_preset b
  wait "$rec_pid" || fail "jack_rec failed"
  forget_pid "$rec_pid"
  check_recorder
  alive
  if try_is_clean; then
    # The swap happens at about 0.3 s; the new model's state has settled
    # long before 1 s.
    check_against_model "$tmp/changed.wav" "$channels" "$model_b" 1 \
      "$client, model B after the preset"
  fi
}

# Window: control ports changed from the console.
window_controls() {
  alive
  # Bypass: a ramp to exactly the input.
  command_jalv "enabled = 0"
  sleep 0.1
  record "$tmp/bypass.wav" 1
  if try_is_clean; then
    check_dry "$tmp/bypass.wav" "$channels" 0.2 "$client, enabled = 0"
  fi
  command_jalv "enabled = 1"
  command_jalv "mix = 0.5"
  sleep 0.3
  command_jalv "mix = 1"
  sleep 0.2
  alive
}

# Window: reloads on the worker: the backend port (each change reloads the
# playing model, MODEL_B), then the shipped preset (back to the first model).
window_reloads() {
  alive
  loads=$(grep -c "statewave: loaded" "$tmp/jalv-$client.log" || true)
  command_jalv "backend = 1"
  wait_loads 1
  last_load_is "statewave-test.lv2/$model_b_name" "backend = 1"
  command_jalv "backend = 0"
  wait_loads 1
  last_load_is "statewave-test.lv2/$model_b_name" "backend = 0"
  apply_preset default
  sleep 0.3
  alive
}

stop_plugin() {
  stop_pid "$jalv_pid"
  forget_pid "$jalv_pid"
}

# ------------------------------------------------------------------ run ----

for plugin in "$MONO sw" "$STEREO sws"; do
  read -r plugin_uri plugin_client <<<"$plugin"
  start_plugin "$plugin_uri" "$plugin_client"
  run_window "$client: 3 s steady run" "$client" : window_steady
  run_window "$client: model change by preset" "$client" playing_default window_model_change
  run_window "$client: control changes" "$client" : window_controls
  run_window "$client: model reloads (backend port, shipped preset)" "$client" playing_b window_reloads
  if [ "$client" = sw ]; then
    self_check "$client" "$jalv_pid"
  fi
  stop_plugin
done

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
if [ "${#inconclusive[@]}" -gt 0 ]; then
  echo "SKIP: this machine could not hold real time in: $(printf '%s; ' "${inconclusive[@]}")"
  exit 77
fi
echo "all checks passed"
