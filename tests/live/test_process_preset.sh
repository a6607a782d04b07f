#!/usr/bin/env bash
# `statewave process --preset NAME` against what the preset means, computed
# another way:
#  - a preset at unity (0 dB, mix 1, no knobs) gives the same samples as
#    --model;
#  - a knob position p gives the same samples as --model --param 1=V with
#    V = min + p (max - min) (a 0..1 knob here), and --param after --preset
#    moves the knob the same way;
#  - input gain G_in, output gain G_out and mix m: dry (1 - m) + m G_out
#    model(G_in dry), made with sox (gain, mix) around --model, within 1e-5;
#  - an unknown preset exits 1 listing the presets; --model with --preset
#    exits 2.
#
#   test_process_preset.sh STATEWAVE WAV_ALIGN IN.wav MODEL MODEL_KNOB
#
# Exit status: 0 pass, 1 fail, 77 skip (sox missing).

set -euo pipefail

if [ $# -ne 5 ]; then
  echo "usage: $0 STATEWAVE WAV_ALIGN IN.wav MODEL MODEL_KNOB" >&2
  exit 2
fi
statewave=$1 wav_align=$2 input=$3 model=$4 model_knob=$5
command -v sox >/dev/null 2>&1 || { echo "SKIP: sox is not installed"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/statewave-preset.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

export STATEWAVE_PRESETS="$tmp/presets"
mkdir -p "$STATEWAVE_PRESETS"
cp "$model" "$STATEWAVE_PRESETS/m.json"
cp "$model_knob" "$STATEWAVE_PRESETS/k.json"
echo '{"name": "Unity", "model": "m.json", "input_gain_db": 0, "output_gain_db": 0, "mix": 1}' \
  >"$STATEWAVE_PRESETS/unity.preset"
echo '{"name": "Knob Quarter", "model": "k.json", "knobs": [0.25]}' >"$STATEWAVE_PRESETS/knob.preset"
echo '{"name": "Blend", "model": "m.json", "input_gain_db": -6, "output_gain_db": 3, "mix": 0.6}' \
  >"$STATEWAVE_PRESETS/blend.preset"

sox -V1 "$input" -e floating-point -b 32 "$tmp/in.wav" trim 0 1.5
run() { "$statewave" process "$@" >"$tmp/log" 2>&1 || { fail "statewave process $*: $(cat "$tmp/log")"; return 1; }; }
# Whether two files hold the same samples (their headers differ: a float
# WAV's PEAK chunk has a time stamp).
same_samples() {
  "$wav_align" "$1" 1 "$2" 1 0 0 | grep -q "^lag 0 frames, largest difference 0,"
}

# Unity preset = the model alone, byte for byte.
run --preset Unity -s float "$tmp/in.wav" "$tmp/unity.wav" &&
  run --model "$model" -s float "$tmp/in.wav" "$tmp/model.wav" &&
  if same_samples "$tmp/unity.wav" "$tmp/model.wav"; then
    echo "ok: --preset Unity gives the samples of --model"
  else
    fail "--preset Unity differs from --model"
  fi

# Knob positions: the preset's, and --param after --preset.
run --preset "Knob Quarter" -s float "$tmp/in.wav" "$tmp/knob.wav" &&
  run --model "$model_knob" --param 1=0.25 -s float "$tmp/in.wav" "$tmp/knob_ref.wav" &&
  if same_samples "$tmp/knob.wav" "$tmp/knob_ref.wav"; then
    echo "ok: --preset with knob position 0.25 gives the samples of --param 1=0.25"
  else
    fail "--preset \"Knob Quarter\" differs from --model --param 1=0.25"
  fi
run --preset "Knob Quarter" --param 1=0.75 -s float "$tmp/in.wav" "$tmp/knob2.wav" &&
  run --model "$model_knob" --param 1=0.75 -s float "$tmp/in.wav" "$tmp/knob2_ref.wav" &&
  if same_samples "$tmp/knob2.wav" "$tmp/knob2_ref.wav"; then
    echo "ok: --preset then --param 1=0.75 gives the samples of --model --param 1=0.75"
  else
    fail "--preset \"Knob Quarter\" --param 1=0.75 differs from --model --param 1=0.75"
  fi

# Gains and mix, made another way: sox scales the input by -6 dB, the model
# runs alone, sox mixes 0.4 dry + 0.6 x (+3 dB) wet.
g_out=$(awk 'BEGIN {printf "%.9f", 0.6 * 10 ^ (3 / 20)}')
sox -V1 -D "$tmp/in.wav" -e floating-point -b 32 "$tmp/scaled.wav" vol -6dB
if run --model "$model" -s float "$tmp/scaled.wav" "$tmp/wet.wav" &&
  run --preset Blend -s float "$tmp/in.wav" "$tmp/blend.wav"; then
  sox -V1 -D -m -v 0.4 "$tmp/in.wav" -v "$g_out" "$tmp/wet.wav" -e floating-point -b 32 "$tmp/expected.wav"
  out=$("$wav_align" "$tmp/blend.wav" 1 "$tmp/expected.wav" 1 0 0)
  largest=$(awk '{gsub(",", ""); print $6}' <<<"$out")
  if awk -v d="$largest" 'BEGIN {exit !(d < 1e-5)}'; then
    echo "ok: --preset Blend (-6 dB in, +3 dB out, mix 0.6) = 0.4 dry + 0.6 x 1.41 x model(0.5 dry): $out"
  else
    fail "--preset Blend is not the preset's gains and mix around the model: $out"
  fi
fi

# Errors.
status=0
"$statewave" process --preset "No Such" "$tmp/in.wav" "$tmp/x.wav" 2>"$tmp/err" || status=$?
if [ "$status" -eq 1 ] && grep -q "no preset \"No Such\" in $STATEWAVE_PRESETS; there are: \"Blend\" (blend)" "$tmp/err"; then
  echo "ok: an unknown preset: exit 1, $(head -n 1 "$tmp/err")"
else
  fail "an unknown preset: exit $status, $(cat "$tmp/err")"
fi
status=0
"$statewave" process --preset Unity --model "$model" "$tmp/in.wav" "$tmp/x.wav" 2>"$tmp/err" || status=$?
if [ "$status" -eq 2 ] && grep -q "give --model or --preset, not both" "$tmp/err"; then
  echo "ok: --preset with --model: exit 2"
else
  fail "--preset with --model: exit $status, $(head -n 2 "$tmp/err")"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
