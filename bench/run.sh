#!/usr/bin/env bash
# Runs the figures of issue 4 with `statewave bench` for each backend asked
# for, and writes bench/results/<date>-<host>.json (every report) and .md (a
# summary). See bench/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/run.sh [OPTION]...

Measure, for each backend:
  latency   LSTM-40, 1 stream, blocks of 64, 128 and 256 frames at 48 kHz
  streams   the largest LSTM-128 stream count in real time (256-frame blocks)
  units     the largest single-stream LSTM in real time (128-frame blocks)
and write bench/results/<date>-<host>.json and .md.

Options:
  --backend LIST     comma-separated backends: cpu, cudnn, fused, auto
                     (default cpu); one that is not usable here is skipped,
                     with the reason in the summary
  --pipelined        measure each figure in pipelined streaming as well
  --seconds S        audio per measurement (default 5)
  --statewave PATH   the program (default build/host/statewave)
  --out DIR          where the results go (default bench/results)
  --host NAME        the name in the file names (default: hostname -s)
  --note TEXT        a line about the machine for the summary
  -h, --help         print this help and exit

Needs python3 (standard library) to write the summary.
EOF
}

# The arguments as a shell would take them back, quoted only where needed.
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
backends="cpu"
modes=("synchronous")
seconds="5"
statewave="$root/build/host/statewave"
out_dir="$root/bench/results"
host="$(hostname -s)"
note=""
command_line="bench/run.sh$(shell_words "$@")"

while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backends="${2:?--backend needs a list}"; shift 2 ;;
    --pipelined) modes=("synchronous" "pipelined"); shift ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --statewave) statewave="${2:?--statewave needs a path}"; shift 2 ;;
    --out) out_dir="${2:?--out needs a folder}"; shift 2 ;;
    --host) host="${2:?--host needs a name}"; shift 2 ;;
    --note) note="${2?--note needs a text}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if [ ! -x "$statewave" ]; then
  echo "bench/run.sh: $statewave: no such program; build it first" \
       "(meson setup build && ninja -C build) or name it with --statewave" >&2
  exit 1
fi

date="$(date -u +%Y-%m-%d)"
commit="$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
manifest="$work/manifest.tsv"
: > "$manifest"
"$statewave" backends --json > "$work/backends.json"
cut -d' ' -f1-3 /proc/loadavg > "$work/load-before" 2>/dev/null || true

# One `statewave bench --json` run: FIGURE BACKEND MODE ARGS...
run() {
  local figure="$1" backend="$2" mode="$3"
  shift 3
  local args=("$@" --backend "$backend" --seconds "$seconds" --json)
  if [ "$mode" = pipelined ]; then
    args+=(--pipelined)
  fi
  local file
  file="$work/$(wc -l < "$manifest")-$figure-$backend-$mode.json"
  echo "statewave bench ${args[*]}" >&2
  "$statewave" bench "${args[@]}" > "$file"
  printf '%s\t%s\t%s\t%s\n' "$figure" "$backend" "$mode" "$file" >> "$manifest"
}

IFS=',' read -r -a backend_list <<< "$backends"
for backend in "${backend_list[@]}"; do
  # "NAME built yes|no usable yes|no DETAIL": skip what cannot run here, so
  # no CPU figure is ever filed under a GPU backend's name.
  usable="$("$statewave" backends | awk -v b="$backend" '$1 == b { print $5 }')"
  if [ -z "$usable" ]; then
    echo "bench/run.sh: unknown backend '$backend'; expected auto, cpu," \
         "cudnn or fused" >&2
    exit 2
  fi
  if [ "$usable" != yes ]; then
    echo "bench/run.sh: skipping $backend: not usable here" >&2
    printf 'skipped\t%s\t-\t-\n' "$backend" >> "$manifest"
    continue
  fi
  for mode in "${modes[@]}"; do
    for block in 64 128 256; do
      run latency "$backend" "$mode" --lstm 40 --block "$block"
    done
    run streams "$backend" "$mode" --lstm 128 --block 256 --max-streams
    run units "$backend" "$mode" --lstm 16 --block 128 --max-units
  done
done

cut -d' ' -f1-3 /proc/loadavg > "$work/load-after" 2>/dev/null || true
mkdir -p "$out_dir"
python3 "$root/bench/summarize.py" \
  --date "$date" --host "$host" --commit "$commit" \
  --command "$command_line" --note "$note" \
  --seconds "$seconds" --backends "$work/backends.json" \
  --load-before "$(cat "$work/load-before" 2>/dev/null || true)" \
  --load-after "$(cat "$work/load-after" 2>/dev/null || true)" \
  --manifest "$manifest" \
  --json "$out_dir/$date-$host.json" --markdown "$out_dir/$date-$host.md"
echo "bench/run.sh: wrote $out_dir/$date-$host.json and .md" >&2
