#!/usr/bin/env bash
# The installed bundle: lv2_validate passes, lilv lists both plugins with
# their ports and presets, and lv2apply through the default model equals
# `statewave process` with the same model (within 1e-6).
#
# usage: test_bundle.sh BUILD_DIR LV2DIR STATEWAVE WAV_DIFF DEFAULT_MODEL
set -euo pipefail

# SW_TEST_HOST_PRELOAD: in a sanitizer build, the sanitizer's runtime, which
# the plugin expects in its host process; preloaded into the LV2 host
# programs (built without it) and nothing else. Empty otherwise.
build=$1 lv2dir=$2 statewave=$3 wav_diff=$4 default_model=$5
presets_dir=$(dirname "$default_model")

for tool in lv2_validate lv2ls lv2info lv2apply sox; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Install into a private root, exactly as `meson install` would.
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >/dev/null
bundle="$tmp/root$lv2dir/statewave.lv2"
[ -f "$bundle/manifest.ttl" ] || { echo "FAIL: no bundle at $bundle"; exit 1; }
export LV2_PATH="$tmp/root$lv2dir"

echo "# lv2_validate"
lv2_validate "$bundle"/*.ttl > "$tmp/validate.log" 2>&1 || {
  cat "$tmp/validate.log"; echo "FAIL: lv2_validate"; exit 1; }
grep -q "Found 0 errors" "$tmp/validate.log" || {
  cat "$tmp/validate.log"; echo "FAIL: lv2_validate reported errors"; exit 1; }

echo "# lv2ls / lv2info"
plugins=$(lv2ls)
for uri in https://statewave.dev/plugins/mono https://statewave.dev/plugins/stereo; do
  grep -qx "$uri" <<<"$plugins" || { echo "FAIL: lv2ls lacks $uri"; exit 1; }
  lv2info "$uri" > "$tmp/info.txt"
  for symbol in control notify input_gain output_gain mix knob1 knob2 knob3 \
                enabled reset backend latency model_inputs gpu_active; do
    grep -q "Symbol: *$symbol\$" "$tmp/info.txt" ||
      { echo "FAIL: $uri has no port $symbol"; exit 1; }
  done
  # Every preset in presets/ is an LV2 preset of both plugins.
  for preset in "$presets_dir"/*.preset; do
    name=$(sed -n 's/^ *"name": *"\(.*\)",*$/\1/p' "$preset")
    grep -q "^[[:space:]]*$name\$" "$tmp/info.txt" ||
      { echo "FAIL: $uri lists no preset '$name' ($preset)"; exit 1; }
  done
  grep -q "Has latency: *yes" "$tmp/info.txt" ||
    { echo "FAIL: $uri reports no latency port"; exit 1; }
done
grep -q "Symbol: *in_l\$" "$tmp/info.txt" && grep -q "Symbol: *out_r\$" "$tmp/info.txt" ||
  { echo "FAIL: the stereo plugin lacks in_l/out_r"; exit 1; }

echo "# lv2apply == statewave process"
sox -n -r 48000 -c 1 -b 32 -e floating-point "$tmp/in.wav" \
  synth 2 sine 110:1760 vol 0.7 2>/dev/null
LD_PRELOAD="${SW_TEST_HOST_PRELOAD:-}" lv2apply -i "$tmp/in.wav" -o "$tmp/plugin.wav" https://statewave.dev/plugins/mono
"$statewave" process -m "$default_model" -s float "$tmp/in.wav" "$tmp/engine.wav" >/dev/null
"$wav_diff" "$tmp/plugin.wav" "$tmp/engine.wav" 1e-6
# And it is not the dry signal.
if "$wav_diff" "$tmp/plugin.wav" "$tmp/in.wav" 0.01 >/dev/null; then
  echo "FAIL: the plugin's output is the input"; exit 1
fi
echo "ok"
