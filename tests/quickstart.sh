#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's quick start: runs appwatchd from a build directory on its
# embedded defaults (no configuration file, no API keys: the offline
# analyzer), in the foreground on private directories under /tmp, shows what
# it answers, and stops it. No root or systemd needed.
set -eu
build=${1:-build}
work=$(mktemp -d /tmp/appwatch-quickstart.XXXXXX)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT

ctl() { "$build/appwatchctl" --socket="$work/run/control.sock" "$@"; }

echo "==> Starting appwatchd (embedded defaults, state in $work)"
CONFIGURATION_DIRECTORY="$work/etc" "$build/appwatchd" --foreground \
        --state-dir="$work/state" --runtime-dir="$work/run" 2>"$work/appwatchd.log" &
pid=$!
for _ in $(seq 100); do
        ctl ping >/dev/null 2>&1 && break
        sleep 0.1
done

echo "==> appwatchctl status"
ctl status

echo "==> Stopping appwatchd"
kill -TERM $pid
wait $pid
echo "==> appwatchd's log"
cat "$work/appwatchd.log"
