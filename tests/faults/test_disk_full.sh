#!/usr/bin/env bash
# Saving a model onto a full disk: `statewave convert` (sw_model_save) into
# a 64 KiB tmpfs with 8 KiB left. The write must fail with a message naming
# the file and the reason, leave nothing behind (no partial file, no
# temporary), and leave an older file of that name as it was; with room
# again the same save works and loads back.
#
#   test_disk_full.sh STATEWAVE MODEL SMALL_MODEL
#
# MODEL is larger than 8 KiB (so the write fails midway), SMALL_MODEL is the
# older file. Mounting a tmpfs needs root, or a user namespace where that is
# allowed (unshare -rm); otherwise the test skips (77), saying so.

set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 STATEWAVE MODEL SMALL_MODEL" >&2
  exit 2
fi
statewave=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
model=$2
small=$3

# Without root, try again in a user and mount namespace of our own.
if [ "$(id -u)" -ne 0 ] && [ -z "${SW_DISK_FULL_IN_NAMESPACE:-}" ]; then
  if command -v unshare >/dev/null && unshare -rm true 2>/dev/null; then
    SW_DISK_FULL_IN_NAMESPACE=1 exec unshare -rm bash "$0" "$statewave" "$model" "$small"
  fi
  echo "SKIP: mounting a small tmpfs needs root or user namespaces (unshare -rm), and neither is available"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/statewave-disk-full.XXXXXX")
full="$tmp/full"
mkdir "$full"
cleanup() {
  local status=$?
  umount "$full" 2>/dev/null || true
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT

if ! mount -t tmpfs -o size=64k tmpfs "$full" 2>"$tmp/mount.log"; then
  echo "SKIP: cannot mount a 64 KiB tmpfs here: $(cat "$tmp/mount.log")"
  exit 77
fi

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

cp "$small" "$full/older.json"
# Leave 8 KiB: the model's write starts, then fails.
free_kib=$(df -k --output=avail "$full" | tail -n 1 | tr -d ' ')
dd if=/dev/zero of="$full/ballast" bs=1k count=$((free_kib - 8)) status=none 2>/dev/null || true
echo "# $(df -k --output=avail "$full" | tail -n 1 | tr -d ' ') KiB free on the tmpfs; the model is $(($(stat -c %s "$model") / 1024)) KiB"

# Writing a new file, in each format.
for to in rtneural guitarml; do
  status=0
  "$statewave" convert --to "$to" "$model" "$full/new.json" >"$tmp/out.log" 2>&1 || status=$?
  message=$(cat "$tmp/out.log")
  if [ "$status" -ne 1 ]; then
    fail "convert --to $to onto a full disk exited $status: $message"
  elif ! grep -q "$full/new.json" <<<"$message" || ! grep -qi "no space left" <<<"$message"; then
    fail "convert --to $to onto a full disk: the message does not name the file and the reason: $message"
  else
    echo "ok: convert --to $to onto a full disk: exit 1: $message"
  fi
  left=$(cd "$full" && ls -A | grep -v -x -e ballast -e older.json || true)
  [ -z "$left" ] || fail "convert --to $to onto a full disk left files behind: $left"
done

# Replacing an older file of the same name: it stays as it was.
status=0
"$statewave" convert "$model" "$full/older.json" >"$tmp/out.log" 2>&1 || status=$?
if [ "$status" -ne 1 ]; then
  fail "replacing a file on a full disk exited $status"
elif cmp -s "$small" "$full/older.json"; then
  echo "ok: replacing a file on a full disk fails and the older file is untouched"
else
  fail "the older file changed when replacing it failed"
fi
"$statewave" info "$full/older.json" >/dev/null 2>&1 || fail "the older file no longer loads"

# With room again, the same save works and loads back.
rm -f "$full/ballast"
if "$statewave" convert "$model" "$full/new.json" >"$tmp/out.log" 2>&1 &&
   "$statewave" info "$full/new.json" >/dev/null 2>&1; then
  echo "ok: with room again the save works and loads back"
else
  fail "with room again the save failed: $(cat "$tmp/out.log")"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
