#!/usr/bin/env bash
# `statewave run` through PortAudio's JACK host API on a JACK server with the
# dummy driver (48 kHz, 128 frames: real-time pacing, no sound card) that
# this test starts and stops itself, driven by line commands on its stdin
# while jack_metro clicks feed its two channels and jack_rec records them
# with its outputs.
#
#   test_live_jack.sh STATEWAVE WAV_ALIGN MODEL_A MODEL_B MODEL_KNOB BAD_MODEL
#
# MODEL_A, MODEL_B: mono models (1 input) trained at 48 kHz; MODEL_KNOB: a
# model with one knob (trained at 44.1 kHz); BAD_MODEL: a file that does not
# load. The test writes its own presets (STATEWAVE_PRESETS): "Test
# Overdrive" (MODEL_A, unity), "Conv Wet" (MODEL_B, -3 dB in, +2 dB out,
# mix 0.7), "Knob LSTM" (MODEL_KNOB, knob at 0.25).
#
# One run, `statewave run --preset "Test Overdrive" --channels 2 --json`,
# in windows that must have no xrun (tests/common/jack_test_lib.sh: windows
# tried again when the machine itself stalls; the test skips, 77, only when
# every try of a window shows the machine stalling):
#  1. steady: the recorded output equals `statewave process --preset "Test
#     Overdrive"` of the recorded input (aligned by search: wav_align);
#  2. `model MODEL_B`: afterwards the output equals process --model MODEL_B
#     (the unity preset's gains and mix stay);
#  3. `preset Conv Wet`: equals process --preset "Conv Wet" (gains, mix);
#  4. `preset Knob LSTM`, `param 1=0.8`, then commands that must be refused
#     (a missing file, BAD_MODEL, an unknown preset, a knob the model does
#     not have, an unknown command) while the model keeps playing: equals
#     process --preset "Knob LSTM" --param 1=0.8;
#  5. `bypass on`: the output is the input exactly; `bypass off`, `reset`.
# Then `quit`: exit 0 and one JSON summary whose callbacks hold real-time
# pacing (375 a second at 48 kHz / 128), frames = callbacks x 128, the
# preset switches and refusals counted, and zero xruns when jackd logged
# none while it ran. Every command is answered on stderr. The audio
# thread's CPU time must stay under MAX_LOAD % of real time.
# Last, the xrun counter's self-check: statewave stopped for 0.2 s (and
# jack_cpu) must give an xrun in jackd's log naming it and a non-zero
# "xruns" in its summary.
#
# Exit status: 0 pass, 1 fail, 77 skip (a program missing, or a machine
# that cannot hold real time).

set -euo pipefail

if [ $# -ne 6 ]; then
  echo "usage: $0 STATEWAVE WAV_ALIGN MODEL_A MODEL_B MODEL_KNOB BAD_MODEL" >&2
  exit 2
fi
absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
statewave=$(absolute "$1")
wav_align=$(absolute "$2")
model_a=$(absolute "$3")
model_b=$(absolute "$4")
model_knob=$(absolute "$5")
bad_model=$(absolute "$6")

# shellcheck source=../common/jack_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common/jack_test_lib.sh"

require_programs jackd jack_metro jack_rec jack_connect jack_disconnect jack_lsp sox

readonly TRIES=4
readonly MAX_LOAD=50      # percent of real time statewave's audio thread may use
readonly TOLERANCE=0.001  # largest difference from statewave process
readonly CLIENT=statewave # the JACK client name statewave run takes

tmp=$(mktemp -d "${TMPDIR:-/tmp}/statewave-live.XXXXXX")
run_pid=""

cleanup() {
  local status=$?
  set +e
  stop_jack_programs
  exec 3>&- 4>&-
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    for log in jackd.log run.log check.log; do
      if [ -s "$tmp/$log" ]; then
        echo "---- last lines of $log"
        tail -n 30 "$tmp/$log"
      fi
    done
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ------------------------------------------------------------- presets ----

export STATEWAVE_PRESETS="$tmp/presets"
mkdir -p "$STATEWAVE_PRESETS"
cp "$model_a" "$STATEWAVE_PRESETS/a.json"
cp "$model_b" "$STATEWAVE_PRESETS/b.json"
cp "$model_knob" "$STATEWAVE_PRESETS/knob.json"
cat >"$STATEWAVE_PRESETS/test-overdrive.preset" <<EOF
{"name": "Test Overdrive", "model": "a.json"}
EOF
cat >"$STATEWAVE_PRESETS/conv-wet.preset" <<EOF
{"name": "Conv Wet", "model": "b.json", "input_gain_db": -3,
 "output_gain_db": 2, "mix": 0.7}
EOF
cat >"$STATEWAVE_PRESETS/knob-lstm.preset" <<EOF
{"name": "Knob LSTM", "model": "knob.json", "knobs": [0.25]}
EOF

# ---------------------------------------------------------- statewave ----

inputs=("$CLIENT:in_0" "$CLIENT:in_1") # PortAudio numbers JACK ports from 0
outputs=("$CLIENT:out_0" "$CLIENT:out_1")
sources=(metro:600_bpm metro2:450_bpm)

# Start `statewave run` with arguments "$@", stdin from the FIFO on fd 3,
# the JSON summary to $tmp/run.json, stderr to $tmp/run.log; connect the
# clicks to its inputs instead of the server's capture ports.
start_statewave() {
  "$statewave" run "$@" <"$tmp/ctl" >"$tmp/run.json" 2>"$tmp/run.log" 3>&- 4>&- &
  run_pid=$!
  client_pids+=("$run_pid")
  wait_ports "${inputs[@]}" "${outputs[@]}"
  rt_pid=$run_pid
  rt_tid=$(rt_thread_of "$run_pid")
  [ -n "$rt_tid" ] || echo "note: no real-time thread in statewave; its CPU load is not measured"
  local i
  for i in 0 1; do
    jack_disconnect "system:capture_$((i + 1))" "${inputs[$i]}" 2>/dev/null || true
    jack_connect "${sources[$i]}" "${inputs[$i]}"
  done
}

alive() {
  kill -0 "$run_pid" 2>/dev/null || {
    echo "FAIL: statewave run exited"
    cat "$tmp/run.log"
    exit 1
  }
}

# Lines of the run's stderr that answer command $1 with $2 (ok|refused):
# "statewave: ok: CMD" or "statewave: ok: CMD: ..." (fixed strings).
answers() {
  awk -v p="statewave: $2: $1" \
    'index($0, p) == 1 && (length($0) == length(p) || substr($0, length(p) + 1, 1) == ":") {n++} END {print n + 0}' \
    "$tmp/run.log"
}

# Send line command $1 and wait (5 s at most) for its answer, which must be
# $2 (ok or refused).
command_run() {
  local cmd=$1 want=$2 other before
  other=$([ "$want" = ok ] && echo refused || echo ok)
  before=$(answers "$cmd" "$want")
  local before_other
  before_other=$(answers "$cmd" "$other")
  echo "    statewave run> $cmd"
  echo "$cmd" >&3
  for _ in $(seq 50); do
    [ "$(answers "$cmd" "$want")" -gt "$before" ] && {
      grep -F "statewave: $want: $cmd" "$tmp/run.log" | tail -n 1 | sed 's/^/      /'
      return 0
    }
    [ "$(answers "$cmd" "$other")" -gt "$before_other" ] && break
    sleep 0.1
  done
  fail "'$cmd' was not answered '$want' (last lines: $(tail -n 3 "$tmp/run.log" | tr '\n' '|'))"
}

# Record the inputs and the outputs for $2 seconds into $1.
record() {
  jack_rec -f "$1" -d "$2" -b 32 "${sources[@]}" "${outputs[@]}" \
    >"$tmp/rec.log" 2>&1 3>&- 4>&-
  if grep -q overrun "$tmp/rec.log"; then
    fail "jack_rec: $(cat "$tmp/rec.log")"
  fi
}

# Check recording $1 (channels: 2 inputs, then 2 outputs) against
# `statewave process` ARGS... of its inputs from 1 s on; $2 names it.
check_against() {
  local rec=$1 what=$2
  shift 2
  local dry="$tmp/dry.wav" ref="$tmp/ref.wav"
  sox -V1 "$rec" "$dry" remix 1 2
  "$statewave" process "$@" -s float "$dry" "$ref" >"$tmp/check.log" 2>&1 ||
    { fail "$what: statewave process $* failed: $(cat "$tmp/check.log")"; return; }
  local c
  for c in 1 2; do
    local out lag largest rms dry_diff
    out=$("$wav_align" "$rec" $((2 + c)) "$ref" "$c" 1 1024) ||
      { fail "$what: wav_align failed"; return; }
    read -r lag largest rms <<<"$(awk '{print $2, $6, $8}' <<<"${out//,/}")"
    dry_diff=$(peak_of "$rec" "$((2 + c)),${c}v-1" 1)
    echo "    $what, channel $c: $out; largest difference from the dry input $dry_diff"
    below 0.01 "$rms" || fail "$what, channel $c: the output is silent (RMS $rms)"
    below 0.01 "$dry_diff" || fail "$what, channel $c: the output is the dry input"
    below "$largest" "$TOLERANCE" ||
      fail "$what, channel $c: not statewave process $* (largest difference $largest at lag $lag)"
  done
}

# ------------------------------------------------------------- windows ----

switches=0 # "ok: ...: playing" answers after the start

window_steady() {
  alive
  record "$tmp/steady.wav" 2.5
  alive
  if try_is_clean; then
    check_against "$tmp/steady.wav" "preset Test Overdrive" \
      --preset "Test Overdrive"
  fi
}

window_model() {
  alive
  command_run "model $model_b" ok
  switches=$((switches + 1))
  record "$tmp/model.wav" 2.5
  if try_is_clean; then
    check_against "$tmp/model.wav" "model B" --model "$model_b"
  fi
}

window_preset_gains() {
  alive
  command_run "preset Conv Wet" ok
  switches=$((switches + 1))
  record "$tmp/conv.wav" 2.5
  if try_is_clean; then
    check_against "$tmp/conv.wav" "preset Conv Wet" --preset "Conv Wet"
  fi
}

refused=0
window_knob_and_refusals() {
  alive
  command_run "preset Knob LSTM" ok
  switches=$((switches + 1))
  command_run "param 1=0.8" ok
  command_run "model $tmp/no-such-model.json" refused
  command_run "model $bad_model" refused
  command_run "preset No Such Preset" refused
  command_run "param 9=1" refused
  command_run "frobnicate" refused
  refused=$((refused + 5))
  record "$tmp/knob.wav" 2.5
  if try_is_clean; then
    check_against "$tmp/knob.wav" "preset Knob LSTM, knob 1 at 0.8, after refusals" \
      --preset "Knob LSTM" --param 1=0.8
  fi
}

window_bypass() {
  alive
  command_run "bypass on" ok
  sleep 0.1
  record "$tmp/bypass.wav" 1
  if try_is_clean; then
    local c diff
    for c in 1 2; do
      diff=$(peak_of "$tmp/bypass.wav" "$((2 + c)),${c}v-1" 0.1)
      echo "    bypass on, channel $c: largest difference from the dry input $diff"
      below "$diff" 0.000001 || fail "bypass on, channel $c: the output is not the input (largest difference $diff)"
    done
  fi
  command_run "bypass off" ok
  command_run "reset" ok
}

# ------------------------------------------------------------------ run ----

hold_cpu_idle_latency
start_jackd "statewave-live-$$"
jack_metro -n metro -b 600 -f 440 -A 0.25 -D 50 >"$tmp/metro.log" 2>&1 3>&- 4>&- &
client_pids+=($!)
jack_metro -n metro2 -b 450 -f 660 -A 0.3 -D 40 >"$tmp/metro2.log" 2>&1 3>&- 4>&- &
client_pids+=($!)
wait_ports "${sources[@]}"

# statewave reads its commands from a FIFO this shell keeps open (fd 3).
mkfifo "$tmp/ctl"
exec 3<>"$tmp/ctl"

run_offset=$(log_offset)
start_statewave --preset "Test Overdrive" --channels 2 --json
echo "ok: statewave run plays as JACK client $CLIENT: $(head -n 1 "$tmp/run.log")"
grep -q "48000 Hz (the model's training rate)" "$tmp/run.log" ||
  fail "the start message does not say the stream runs at the model's rate"

run_window "steady, preset Test Overdrive" "$CLIENT" : window_steady
run_window "model change" "$CLIENT" : window_model
run_window "preset with gains and mix" "$CLIENT" : window_preset_gains
run_window "knob preset, param, refused commands" "$CLIENT" : window_knob_and_refusals
run_window "bypass, reset" "$CLIENT" : window_bypass

grep -q "warning: .*knob.json was trained at 44100 Hz but the stream runs at 48000 Hz" "$tmp/run.log" ||
  fail "no warning that the knob model was trained at 44.1 kHz"
grep -q "refused: model $bad_model: $bad_model" "$tmp/run.log" ||
  fail "the refusal of $bad_model does not name the file"
grep -q "refused: preset No Such Preset: no preset \"No Such Preset\" in $STATEWAVE_PRESETS; there are: \"Conv Wet\"" "$tmp/run.log" ||
  fail "the refusal of an unknown preset does not list the presets"

command_run quit ok
status=0
for _ in $(seq 50); do
  kill -0 "$run_pid" 2>/dev/null || break
  sleep 0.1
done
wait "$run_pid" || status=$?
forget_pid "$run_pid"
run_log_offset_end=$(log_offset)
[ "$status" -eq 0 ] || fail "statewave run exited with $status after quit"

# The summary.
summary=$(cat "$tmp/run.json")
echo "    summary: $summary"
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$summary"; }
for key in callbacks xruns max_dsp_load preset_switches frames seconds sample_rate; do
  [ -n "$(field "$key")" ] || fail "the JSON summary has no \"$key\""
done
callbacks=$(field callbacks)
frames=$(field frames)
seconds=$(field seconds)
rate=$(awk -v c="$callbacks" -v s="$seconds" 'BEGIN {printf "%.1f", c / s}')
echo "    pacing: $callbacks callbacks in $seconds s: $rate a second (48000 / 128 = 375)"
awk -v r="$rate" 'BEGIN {exit !(r > 375 * 0.97 && r < 375 * 1.03)}' ||
  fail "callbacks are not paced in real time: $rate a second"
[ "$frames" = "$((callbacks * 128))" ] || fail "frames $frames is not callbacks x 128"
[ "$(field max_callback_frames)" = 128 ] || fail "callbacks were not 128 frames (JACK's period)"
[ "$(field preset_switches)" = "$switches" ] ||
  fail "preset_switches is $(field preset_switches), expected $switches"
[ "$(field refused)" = "$refused" ] || fail "refused is $(field refused), expected $refused"
[ "$(field end)" = '"quit"' ] || fail "the summary's end is $(field end), not quit"
log_xruns=$(tail -c +"$((run_offset + 1))" "$tmp/jackd.log" | head -c "$((run_log_offset_end - run_offset))" |
  grep -cE 'XRun' || true)
if [ "$log_xruns" -eq 0 ]; then
  [ "$(field xruns)" = 0 ] || fail "xruns $(field xruns) in the summary, none in jackd's log"
  echo "ok: zero xruns over the whole run (and none in jackd's log)"
else
  echo "note: jackd logged $log_xruns xrun report(s) while statewave ran (windows above say whose); the summary counts $(field xruns)"
fi
below "$(field max_dsp_load)" 1 || echo "note: the largest DSP load of one callback was $(field max_dsp_load) (a stall of the machine)"

# The xrun counter's self-check: statewave stopped, and jack_cpu.
start_statewave --preset "Test Overdrive" --channels 2 --json --seconds 3
self_check "$CLIENT" "$run_pid"
wait "$run_pid" || fail "statewave run --seconds 3 exited with $?"
forget_pid "$run_pid"
summary=$(cat "$tmp/run.json")
if [ "$(field xruns)" -ge 1 ] && [ "$(field end)" = '"seconds"' ]; then
  echo "ok: xrun counter self-check: the summary counts $(field xruns) xrun(s) after statewave was stopped for 0.2 s"
else
  fail "xrun counter self-check: the summary of the stopped run says xruns $(field xruns), end $(field end)"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
if [ "${#inconclusive[@]}" -gt 0 ]; then
  echo "SKIP: this machine could not hold real time in: $(printf '%s; ' "${inconclusive[@]}")"
  exit 77
fi
echo "all checks passed"
