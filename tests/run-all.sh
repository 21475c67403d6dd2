#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs appwatch's whole test suite, as CI does:
#   1. a gcc build with -Dwerror=true, every suite (unit, integration,
#      fuzz-regress, e2e under real systemd in systemd-nspawn);
#   2. a clang build with -Dwerror=true and ASan+UBSan, the unit and
#      fuzz-regress suites again, and the hardening integration tests;
#   3. the C unit tests of the gcc build once more under valgrind.
# Ends with one line "N passed, N failed, N skipped" and exits non-zero when
# anything failed. Build directories: build-test/ and build-asan/ (kept, so a
# second run is incremental).
set -u
cd "$(dirname "$0")/.."

status=0
setup() {
        local dir=$1; shift
        if [ -d "$dir" ]; then
                meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
        else
                meson setup "$dir" "$@" || return 1
        fi
}

run_build() {
        local dir=$1 cc=$2; shift 2
        local opts=("-Dwerror=true" "${@:1:$#-1}")
        local suites=${*: -1}
        echo "=== $dir: $cc ${opts[*]}"
        rm -f "$dir/meson-logs/testlog.json"
        if ! CC=$cc setup "$dir" "${opts[@]}" || ! meson compile -C "$dir"; then
                echo "BUILD FAILED: $dir" >&2
                build_failures=$((build_failures + 1))
                return
        fi
        local args=()
        for s in $suites; do args+=(--suite "$s"); done
        meson test -C "$dir" --print-errorlogs --num-processes 2 "${args[@]}" || status=1
}

build_failures=0
run_build build-test gcc "unit integration fuzz-regress e2e"
run_build build-asan clang -Db_sanitize=address,undefined -Db_lundef=false "unit fuzz-regress"
# The hardening tests feed the daemon what others control: run them on the
# sanitized daemon too.
rm -f build-asan/meson-logs/testlog-hardening.json
if [ -x build-asan/appwatchd ]; then
        echo "=== build-asan: integration-hardening under ASan+UBSan"
        meson test -C build-asan --print-errorlogs --num-processes 2 --logbase testlog-hardening \
                integration-hardening || status=1
fi
rm -f build-test/meson-logs/testlog-valgrind.json
if command -v valgrind >/dev/null; then
        echo "=== build-test: unit tests under valgrind"
        meson test -C build-test --setup valgrind --print-errorlogs --num-processes 2 \
                --suite unit --no-suite systemd || status=1
fi

# meson's own summary is per build; add them up into one line.
python3 - "$build_failures" build-test build-asan <<'PY'
import json, os, sys
passed = failed = skipped = 0
failed += int(sys.argv[1])
logs = [os.path.join(d, "meson-logs", n) for d in sys.argv[2:]
        for n in ("testlog.json", "testlog-valgrind.json", "testlog-hardening.json")]
for path in logs:
    if not os.path.exists(path):
        continue
    for line in open(path):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
sys.exit(1 if failed else 0)
PY
[ $? -eq 0 ] || status=1
exit $status
