#!/usr/bin/env bash
# statewave presets: one line per preset, name first, and --json with every
# field; a broken preset file is reported, the others still listed.
# usage: test_presets_cli.sh STATEWAVE PRESETS_DIR
set -euo pipefail
statewave=$1 presets_dir=$2
export STATEWAVE_PRESETS=$presets_dir

count=$(ls "$presets_dir"/*.preset | wc -l)
text=$("$statewave" presets)
for preset in "$presets_dir"/*.preset; do
  name=$(sed -n 's/^ *"name": *"\(.*\)",*$/\1/p' "$preset")
  grep -q "^$name  " <<<"$text" || { echo "FAIL: no line starting with '$name'"; echo "$text"; exit 1; }
done
json=$("$statewave" presets --json)
[ "$(grep -o '"name":' <<<"$json" | wc -l)" -eq "$count" ] ||
  { echo "FAIL: --json lists $(grep -o '"name":' <<<"$json" | wc -l) presets, expected $count"; exit 1; }
for field in id description model input_gain_db output_gain_db mix knobs sample_rate esr; do
  grep -q "\"$field\":" <<<"$json" || { echo "FAIL: --json lacks $field"; exit 1; }
done

# A broken preset beside good ones: a warning naming it, the rest listed.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$presets_dir"/default-overdrive.* "$tmp"/
echo '{"name": 3}' > "$tmp/broken.preset"
STATEWAVE_PRESETS=$tmp "$statewave" presets > "$tmp/out" 2> "$tmp/err"
grep -q "broken.preset" "$tmp/err" && grep -q '"name"' "$tmp/err" ||
  { echo "FAIL: the broken preset is not reported by file and field:"; cat "$tmp/err"; exit 1; }
grep -q "^Default Overdrive" "$tmp/out" || { echo "FAIL: good preset not listed"; exit 1; }
# --preset with an unknown name lists the presets there.
if "$statewave" process --preset nonesuch /dev/null /dev/null 2> "$tmp/err"; then
  echo "FAIL: an unknown preset was accepted"; exit 1
fi
grep -q "Default Overdrive" "$tmp/err" || { echo "FAIL: the error does not list the presets"; cat "$tmp/err"; exit 1; }
echo ok
