#!/usr/bin/env bash
# `statewave devices` and `statewave run` as a user meets them: when things
# are missing or wrong, the rate rule, --block, the terminal, and the
# server failing, on a dummy JACK server this test starts itself:
#
#   test_live_cli.sh STATEWAVE MODEL_48K MODEL_44K
#
#  - no JACK server: `devices` lists the other host APIs and says how to
#    start one; `run --host-api jack` exits 1 naming the host APIs found and
#    what to start (jackd -d dummy ...); ALSA's null device (not paced):
#    `run` at the model's training rate, or at --rate with a warning;
#  - with the server: `devices` (text and JSON) shows JACK's "system"
#    device, 2 in, 2 out, 48000 Hz; a bad device name, an unknown host API,
#    a missing preset, a bad model file, a rate the server does not run at,
#    more channels than the device has: exit 1 with a message saying what
#    was found; bad flags: exit 2 with the usage;
#  - the rate rule: a model trained at 48 kHz runs at 48 kHz, said at start;
#    a model trained at 44.1 kHz runs at JACK's 48 kHz with a warning naming
#    both rates; a --block other than JACK's period is honoured (callbacks
#    of that size, paced at rate / block a second);
#  - on a terminal (a pty from script(1)): the status line, the keys n, p,
#    b, r, q and Ctrl-C, each answered, exit 0, and the terminal's settings
#    (canonical mode, echo) back afterwards;
#  - the server stalling (no callback for 3 s) or going away while
#    statewave plays: exit 1 saying the audio stream stopped.
#
# Exit status: 0 pass, 1 fail, 77 skip (jackd missing).

set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 STATEWAVE MODEL_48K MODEL_44K" >&2
  exit 2
fi
absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
statewave=$(absolute "$1")
model=$(absolute "$2")
model_44k=$(absolute "$3")

# shellcheck source=../common/jack_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common/jack_test_lib.sh"
require_programs jackd jack_lsp

tmp=$(mktemp -d "${TMPDIR:-/tmp}/statewave-live-cli.XXXXXX")
cleanup() {
  local status=$?
  set +e
  stop_jack_programs
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

export STATEWAVE_PRESETS="$tmp/presets"
mkdir -p "$STATEWAVE_PRESETS"
cp "$model" "$STATEWAVE_PRESETS/m.json"
cp "$model_44k" "$STATEWAVE_PRESETS/k.json"
echo '{"name": "Alpha", "model": "m.json"}' >"$STATEWAVE_PRESETS/alpha.preset"
echo '{"name": "Beta", "model": "k.json", "mix": 0.5}' >"$STATEWAVE_PRESETS/beta.preset"

# Run statewave with "$@" (stdin closed, 10 s at most); expect exit status
# $1 and stderr matching every extended regex in the array `patterns`.
patterns=()
expect() {
  local want=$1
  shift
  local status=0
  timeout 10 "$statewave" "$@" </dev/null >"$tmp/out" 2>"$tmp/err" || status=$?
  local ok=1 pattern
  [ "$status" -eq "$want" ] || ok=0
  for pattern in "${patterns[@]}"; do
    grep -qE -- "$pattern" "$tmp/err" "$tmp/out" || { ok=0; echo "    missing: $pattern"; }
  done
  if [ "$ok" -eq 1 ]; then
    echo "ok: statewave $* -> $status: $(head -c 300 "$tmp/err" | head -n 1)"
  else
    fail "statewave $*: exit $status (expected $want); stderr: $(head -c 1500 "$tmp/err")"
  fi
  patterns=()
}

# -------------------------------------------------------- no server ----

export JACK_NO_START_SERVER=1 JACK_NO_AUDIO_RESERVATION=1
export JACK_DEFAULT_SERVER="statewave-none-$$"

patterns=("ALSA \(alsa\)" "no audio device found; JACK shows up only while a JACK server runs")
expect 0 devices
patterns=('"host_apis"' '"id":[[:space:]]*"alsa"')
expect 0 devices --json
patterns=("no host API 'jack'" "PortAudio found ALSA \(alsa\)" "start one, e.g. 'jackd -d dummy -r 48000 -p 128'")
expect 1 run --model "$model" --host-api jack --seconds 1
patterns=("no audio device" "jackd -d dummy")
expect 1 run --model "$model" --seconds 1

# ALSA's null device (an .asoundrc in a private HOME), which takes any rate
# (it is not paced: a smoke test of the ALSA host API and the rate rule).
mkdir -p "$tmp/alsa-home"
printf 'pcm.!default { type null }\nctl.!default { type hw card 0 }\n' >"$tmp/alsa-home/.asoundrc"
patterns=("ALSA \(alsa\), the default: 1 device" "default .* 44100 Hz")
HOME="$tmp/alsa-home" expect 0 devices
patterns=("through ALSA \(alsa\): default, 48000 Hz \(the model's training rate\)" '"sample_rate":48000' '"host_api":"ALSA"')
HOME="$tmp/alsa-home" expect 0 run --model "$model" --host-api alsa --seconds 0.3 --json
patterns=("44100 Hz \(as asked with --rate\)" "warning: .* was trained at 48000 Hz but the stream runs at 44100 Hz; no resampling is done")
HOME="$tmp/alsa-home" expect 0 run --model "$model" --host-api alsa --rate 44100 --seconds 0.3

# ------------------------------------------------------- bad usage ----

patterns=("give --model or --preset, not both" "Usage: statewave run")
expect 2 run --model "$model" --preset Alpha
patterns=("missing --model FILE or --preset NAME")
expect 2 run
patterns=("--block '0': expected an integer in 1..65536")
expect 2 run --model "$model" --block 0
patterns=("--channels '65': expected an integer in 1..64")
expect 2 run --model "$model" --channels 65
patterns=("--seconds '-1'")
expect 2 run --model "$model" --seconds -1
patterns=("--backend 'tpu'")
expect 2 run --model "$model" --backend tpu
patterns=("unexpected argument 'extra'")
expect 2 devices extra

# Files are checked before any device is opened.
patterns=("--preset Nothing Like It: no preset \"Nothing Like It\" in $STATEWAVE_PRESETS; there are: \"Alpha\" \(alpha\), \"Beta\" \(beta\)")
expect 1 run --preset "Nothing Like It"
patterns=("$tmp/none.json: cannot open")
expect 1 run --model "$tmp/none.json"

# ------------------------------------------------------ with a server ----

start_jackd "statewave-errors-$$"

patterns=("JACK Audio Connection Kit \(jack\)" "system +2 in +2 out +48000 Hz")
expect 0 devices
patterns=('"id":[[:space:]]*"jack"' '"name":[[:space:]]*"system"' '"inputs":[[:space:]]*2' '"default_sample_rate":[[:space:]]*48000')
expect 0 devices --json

patterns=("no audio device 'no-such-card'" "JACK Audio Connection Kit \(jack\): 0 \"system\"")
expect 1 run --model "$model" --device no-such-card --seconds 1
patterns=("no audio device 'no-such-card' in JACK Audio Connection Kit")
expect 1 run --model "$model" --host-api jack --device no-such-card --seconds 1
patterns=("no host API 'coreaudio'" "PortAudio found .*JACK Audio Connection Kit \(jack\)")
expect 1 run --model "$model" --host-api coreaudio --seconds 1
patterns=("system \(JACK Audio Connection Kit\) cannot run at 44100 Hz; it runs at 48000 Hz")
expect 1 run --model "$model" --host-api jack --rate 44100 --seconds 1
patterns=("system has 2 inputs and system has 2 outputs; --channels 3 needs 3 of each")
expect 1 run --model "$model" --host-api jack --channels 3 --seconds 1

# The rate rule, and a device index.
patterns=("playing .* through JACK Audio Connection Kit \(jack\): system, 48000 Hz \(the model's training rate\)")
expect 0 run --model "$model" --host-api jack --device 0 --seconds 0.5
patterns=("48000 Hz \(the device's rate: it cannot run at the model's 44100 Hz\)"
  "warning: .* was trained at 44100 Hz but JACK Audio Connection Kit runs at 48000 Hz \(JACK runs at its server's rate\); no resampling is done")
expect 0 run --model "$model_44k" --seconds 0.5

# A block other than JACK's period: PortAudio adapts; callbacks of 256
# frames, 187.5 a second.
patterns=('"block":256' '"max_callback_frames":256' '"end":"seconds"')
expect 0 run --model "$model" --host-api jack --block 256 --seconds 2 --json
summary=$(cat "$tmp/out")
callbacks=$(sed -n 's/.*"callbacks":\([0-9]*\).*/\1/p' <<<"$summary")
seconds=$(sed -n 's/.*"seconds":\([0-9.e+-]*\).*/\1/p' <<<"$summary")
per_second=$(awk -v c="$callbacks" -v s="$seconds" 'BEGIN {printf "%.1f", c / s}')
if awk -v r="$per_second" 'BEGIN {exit !(r > 187.5 * 0.95 && r < 187.5 * 1.05)}'; then
  echo "ok: --block 256: $callbacks callbacks in $seconds s, $per_second a second"
else
  fail "--block 256: $per_second callbacks a second, expected about 187.5"
fi

# On a terminal: script(1) runs statewave on a pty whose input is a FIFO
# (fd 5) and afterwards prints the pty's settings.
if command -v script >/dev/null 2>&1; then
  mkfifo "$tmp/keys"
  exec 5<>"$tmp/keys"
  # Send keys $2... to the pty of `statewave run $1` (a quoted argument
  # string), 0.6 s apart; the output (pty) goes to $tmp/tty.
  on_terminal() {
    local args=$1 status=0 key
    shift
    script -qec "\"$statewave\" run $args; echo; stty -a" /dev/null <&5 >"$tmp/tty" 2>&1 &
    local pid=$!
    client_pids+=("$pid")
    sleep 1.2
    for key in "$@"; do
      printf '%b' "$key" >&5
      sleep 0.6
    done
    wait "$pid" || status=$?
    forget_pid "$pid"
    tr '\r' '\n' <"$tmp/tty" >"$tmp/tty.txt"
    return "$status"
  }
  tty_ok() {
    local pattern
    for pattern in "$@"; do
      grep -qE -- "$pattern" "$tmp/tty.txt" || { fail "on a terminal: no line matching: $pattern"; return 1; }
    done
  }
  status=0
  on_terminal "--model '$model' --host-api jack --seconds 20" n p b b r q || status=$?
  if [ "$status" -eq 0 ] &&
    tty_ok "keys: n/p or arrows: next/previous preset" \
      "^in +(-inf|-?[0-9.]+) dB \[[#.]{10}\] +out .* DSP +[0-9]+% \(max +[0-9]+%\) +xruns [0-9]+ " \
      "ok: key 'n': playing preset \"Alpha\"" "ok: key 'p': playing preset \"Beta\"" \
      "ok: key 'b': bypass on" "BYPASS" "ok: key 'b': bypass off" \
      "ok: key 'r': the state of every stream is reset" "ok: key 'q'" \
      "[0-9.]+ s: [0-9]+ callbacks" \
      " icanon .* echo | echo .* icanon "; then
    echo "ok: on a terminal: status line, keys n p b b r q answered, exit 0, the terminal restored"
  else
    [ "$status" -eq 0 ] || fail "on a terminal: exit $status: $(tail -n 5 "$tmp/tty.txt")"
  fi
  status=0
  on_terminal "--model '$model' --host-api jack --seconds 20" '\003' || status=$?
  if [ "$status" -eq 0 ] && tty_ok "stopping on SIGINT" " icanon .* echo | echo .* icanon "; then
    echo "ok: on a terminal: Ctrl-C stops it (exit 0) and the terminal is restored"
  else
    [ "$status" -eq 0 ] || fail "on a terminal, Ctrl-C: exit $status: $(tail -n 5 "$tmp/tty.txt")"
  fi
  exec 5>&-
else
  echo "note: script(1) is not installed: the terminal checks are not run"
fi

# The server stalls (stopped for 4 s) while statewave plays: after 3 s
# without a callback it stops with an error.
timeout 20 "$statewave" run --model "$model" --host-api jack </dev/null >"$tmp/out" 2>"$tmp/err" &
victim=$!
client_pids+=("$victim")
wait_ports statewave:in_0
sleep 0.5
kill -STOP "$jackd_pid"
sleep 4
kill -CONT "$jackd_pid"
status=0
wait "$victim" || status=$?
forget_pid "$victim"
if [ "$status" -eq 1 ] && grep -q "the audio stream stopped: no callback for 3" "$tmp/err"; then
  echo "ok: the JACK server stalled for 4 s: exit 1, \"$(grep "audio stream stopped" "$tmp/err")\""
else
  fail "the JACK server stalled for 4 s: exit $status; stderr: $(cat "$tmp/err")"
fi

# The server goes away while statewave plays: it stops with an error.
timeout 20 "$statewave" run --model "$model" --host-api jack </dev/null >"$tmp/out" 2>"$tmp/err" &
victim=$!
client_pids+=("$victim")
wait_ports statewave:in_0
stop_pid "$jackd_pid"
jackd_pid=""
status=0
wait "$victim" || status=$?
forget_pid "$victim"
if [ "$status" -eq 1 ] && grep -q "the audio stream stopped" "$tmp/err"; then
  echo "ok: the JACK server stopped while playing: exit 1, \"$(grep "audio stream stopped" "$tmp/err")\""
else
  fail "the JACK server stopped while playing: exit $status; stderr: $(cat "$tmp/err")"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
