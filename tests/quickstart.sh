#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's quick start: appwatch's main job, from a build directory, on
# its embedded defaults (no configuration file, no API keys: the offline
# analyzer), without root or systemd. It
#   1. checks a Gradle log once with `appwatchctl scan` (no daemon needed);
#   2. starts appwatchd in the foreground on private directories under /tmp;
#   3. wraps a failing Python build with `appwatchctl run`: the failure is
#      detected, classified, fingerprinted, recorded and analysed;
#   4. runs the same build again (the incident's count goes up, no new one);
#   5. lists and shows the incident, then stops the daemon.
set -eu
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/appwatch-quickstart.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

# Running from a checkout: appwatchd and appwatchctl scan both use its rule
# catalogue (installed, they read /usr/share/appwatch/rules.d and
# /etc/appwatch/rules.d).
export APPWATCH_RULES_DIR="$src/etc/rules.d" APPWATCH_SPOOL_DIR="$work/spool"
ctl() { "$build/appwatchctl" --socket="$work/run/control.sock" "$@"; }

echo "==> appwatchctl scan: a one-off check of a failed Gradle build's log"
"$build/appwatchctl" scan --language=en "$src/tests/data/logs/flutter/gradle-exec-failed.log" || true

echo
echo "==> Starting appwatchd (embedded defaults, state in $work)"
CONFIGURATION_DIRECTORY="$work/etc" "$build/appwatchd" --foreground \
        --state-dir="$work/state" --runtime-dir="$work/run" 2>"$work/appwatchd.log" &
pid=$!
for _ in $(seq 100); do
        ctl ping >/dev/null 2>&1 && break
        sleep 0.1
done

echo
echo "==> appwatchctl run: a Python tool that fails (twice)"
for _ in 1 2; do
        ctl run --app tool -- python3 -c 'print("loading the camera module"); import cv2' || true
done

echo
echo "==> appwatchctl incidents"
ctl incidents
echo
echo "==> appwatchctl show 1"
for _ in $(seq 50); do
        ctl show --json 1 | grep -q '"analysis":"' && break
        sleep 0.1
done
ctl show 1

echo
echo "==> appwatchctl status"
ctl status

echo
echo "==> Stopping appwatchd; its log:"
kill -TERM $pid
wait $pid || true
pid=
cat "$work/appwatchd.log"
