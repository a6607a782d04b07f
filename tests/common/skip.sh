#!/usr/bin/env bash
# A test that cannot run in this build: says why (its arguments) and exits
# 77, which Meson counts as skipped.
echo "SKIP: $*"
exit 77
