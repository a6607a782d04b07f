#!/usr/bin/env bash
# The CPU speed figures of issue 8: the standard set of `statewave bench`
# on the cpu backend (its SIMD kernels), on cpu-ref (the scalar reference),
# and on every kernel set this CPU has, repeated, with the machine and
# its load recorded; writes bench/results/<name>.json and .md. See
# bench/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/cpu_speed.sh [OPTION]...

Run the standard set of `statewave bench` (LSTM 40, GRU 40, LSTM 16,
LSTM 128, 2 x LSTM 64, each with a Dense head; LSTM 40 and LSTM 128 also at
2, 8 and 64 streams; 128-frame blocks at 48 kHz) --repeat times:
  cpu        the cpu backend, its kernels picked at run time for each
             engine (the model and the stream count may change the set)
  cpu-ref    the scalar reference, 1 stream
  cpu-fp16, cpu-bf16
             the cpu backend's compact modes (--weights fp16, bf16), 1 stream
  kernels    the cpu backend forced to each kernel set this CPU has
             (STATEWAVE_CPU_KERNELS), 1 stream
and write <out>/<name>.json (every line, the machine, the load averages)
and <out>/<name>.md (medians over the repeats).

Options:
  --repeat N         repeats of the whole set (default 3)
  --seconds S        audio per measurement (default 5)
  --statewave PATH   the program (default build/host/statewave)
  --out DIR          where the results go (default bench/results)
  --name NAME        file name (default <date>-cpu-simd)
  --max-load L       wait (up to --wait minutes) until the 1-minute load
                     average is at most L before starting (default 1.0);
                     the load is recorded either way
  --wait MINUTES     the most to wait for it (default 10)
  --note TEXT        a line about the machine for the summary
  -h, --help         print this help and exit

Runs at the caller's priority: run it un-niced on an idle machine. Needs
python3 (standard library) for the summary.
EOF
}

shell_words() {
  local arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./,=:+-]+$ ]]; then
      printf ' %s' "$arg"
    else
      printf " '%s'" "${arg//\'/\'\\\'\'}"
    fi
  done
}

root="$(cd "$(dirname "$0")/.." && pwd)"
repeat=3
seconds=5
statewave="$root/build/host/statewave"
out_dir="$root/bench/results"
date="$(date -u +%Y-%m-%d)"
name=""
max_load=1.0
wait_minutes=10
note=""
command_line="bench/cpu_speed.sh$(shell_words "$@")"

while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat="${2:?--repeat needs a number}"; shift 2 ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --statewave) statewave="${2:?--statewave needs a path}"; shift 2 ;;
    --out) out_dir="${2:?--out needs a folder}"; shift 2 ;;
    --name) name="${2:?--name needs a name}"; shift 2 ;;
    --max-load) max_load="${2:?--max-load needs a number}"; shift 2 ;;
    --wait) wait_minutes="${2:?--wait needs minutes}"; shift 2 ;;
    --note) note="${2?--note needs a text}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/cpu_speed.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
name="${name:-$date-cpu-simd}"
if ! [[ "$repeat" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench/cpu_speed.sh: --repeat '$repeat': expected a positive integer" >&2
  exit 2
fi
if [ ! -x "$statewave" ]; then
  echo "bench/cpu_speed.sh: $statewave: no such program; build it first" \
       "(meson setup build && ninja -C build) or name it with --statewave" >&2
  exit 1
fi

load1() { cut -d' ' -f1 /proc/loadavg; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Wait for a quiet machine; go on after --wait minutes, saying so.
waited=0
while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l > m) }'; do
  if [ "$waited" -ge $((wait_minutes * 60)) ]; then
    echo "bench/cpu_speed.sh: warning: load average $(loadavg) is above" \
         "$max_load after $wait_minutes min; measuring anyway" >&2
    break
  fi
  echo "bench/cpu_speed.sh: load average $(loadavg) above $max_load;" \
       "waiting" >&2
  sleep 30
  waited=$((waited + 30))
done

uptime_before="$(uptime)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$statewave" backends --json > "$work/backends.json"
# The kernel sets this CPU has, best first, from "this CPU has: avx2 sse2)".
read -r -a kernel_sets <<< "$("$statewave" backends |
  awk '$1 == "cpu" { sub(/.*this CPU has: */, ""); sub(/\).*/, ""); print }')"

manifest="$work/manifest.tsv"
: > "$manifest"
# One `statewave bench --json` run: REPEAT LABEL [VAR=VALUE] -- ARGS...
run() {
  local rep="$1" label="$2"
  shift 2
  local env=()
  while [ "$1" != "--" ]; do env+=("$1"); shift; done
  shift
  local file="$work/$rep-$label.jsonl"
  echo "[$rep/$repeat] ${env[*]:+${env[*]} }statewave bench $* --seconds $seconds --json" >&2
  local before
  before="$(loadavg)"
  env "${env[@]}" "$statewave" bench "$@" --seconds "$seconds" --json > "$file"
  printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$label" "$before" "$(loadavg)" \
    "$file" >> "$manifest"
}

for rep in $(seq 1 "$repeat"); do
  run "$rep" cpu -- --backend cpu
  run "$rep" cpu-ref -- --backend cpu-ref --streams 1
  # The compact modes (off by default), one stream.
  run "$rep" cpu-fp16 -- --backend cpu --streams 1 --weights fp16
  run "$rep" cpu-bf16 -- --backend cpu --streams 1 --weights bf16
  # Every set, the one the engines chose included: which that is depends
  # on the model and the stream count.
  for set in "${kernel_sets[@]}"; do
    run "$rep" "kernels-$set" STATEWAVE_CPU_KERNELS="$set" -- \
      --backend cpu --streams 1
  done
done

mkdir -p "$out_dir"
python3 "$root/bench/summarize_cpu.py" \
  --date "$date" \
  --commit "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" \
  --command "$command_line" --note "$note" --seconds "$seconds" \
  --repeat "$repeat" --backends "$work/backends.json" \
  --cpu-model "$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
  --nproc "$(nproc)" --kernel "$(uname -srm)" \
  --uptime "$uptime_before" --uptime-after "$(uptime)" \
  --waited "$waited" --max-load "$max_load" \
  --manifest "$manifest" \
  --json "$out_dir/$name.json" --markdown "$out_dir/$name.md"
echo "bench/cpu_speed.sh: wrote $out_dir/$name.json and .md" >&2
