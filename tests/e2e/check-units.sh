#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Static checks of the files in systemd/, as built. No root, no booted
# systemd needed.
#
#   check-units.sh verify   UNIT...
#       systemd-analyze verify on the units (appwatch.service first), with
#       the Exec*= commands of appwatchd and appwatchctl pointed at the
#       built $APPWATCHD and $APPWATCHCTL; any output at all (unknown keys,
#       bad values, missing binaries, ordering cycles) fails. A template
#       (NAME@.service) is verified as an instance.
#   check-units.sh security UNIT THRESHOLD
#       systemd-analyze security --offline=yes; fails when the overall
#       exposure is above THRESHOLD (e.g. 2.5), so hardening cannot regress
#       unnoticed. A template is measured as an instance.
#   check-units.sh catalog  CATALOG IDS_HEADER
#       compiles the catalog like journalctl --update-catalog and checks
#       that every MESSAGE_ID in the header has an English and a Korean
#       entry, and that the catalog has no entry for an unknown ID.

set -euo pipefail

skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }

command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The name a unit file is verified or measured under: templates as an
# instance whose name has an escape and an '@' in it, as OnFailure=
# appwatch-failure@%n.service gives for a template build unit.
instance_name() {
        local name=${1##*/}
        if [[ $name == *@.* ]]; then
                name="${name%%@.*}@build@e2e\\x2dapp.service.${name##*@.}"
        fi
        printf '%s\n' "$name"
}

case ${1:-} in
verify)
        shift
        : "${APPWATCHD:?}" "${APPWATCHCTL:?}"
        [[ -x $APPWATCHD ]] || fail "$APPWATCHD is not built"
        [[ -x $APPWATCHCTL ]] || fail "$APPWATCHCTL is not built"
        # The unit names must stay appwatch*: the socket activates the
        # service of the same name.
        names=()
        for unit in "$@"; do
                file=${unit##*/}
                sed -e "s|^\(Exec[A-Za-z]*=[-+!@:]*\)/[^ ]*/appwatchd\b|\1$APPWATCHD|" \
                    -e "s|^\(Exec[A-Za-z]*=[-+!@:]*\)/[^ ]*/appwatchctl\b|\1$APPWATCHCTL|" \
                        "$unit" >"$TMP/$file"
                if grep -E '^Exec[A-Za-z]*=[-+!@:]*/[^ ]*/appwatch(d|ctl)\b' "$TMP/$file" |
                                grep -Fv -e "$APPWATCHD" -e "$APPWATCHCTL"; then
                        fail "$file runs an appwatch binary that is not the built one (above)"
                fi
                names+=("$(instance_name "$file")")
        done
        grep -q "^ExecStart=$APPWATCHD\$" "$TMP/appwatch.service" || fail "no ExecStart=.../appwatchd in appwatch.service"
        rc=0
        out=$(cd "$TMP" && SYSTEMD_UNIT_PATH="$TMP:" SYSTEMD_LOG_LEVEL=notice \
                systemd-analyze verify --man=yes "${names[@]}" 2>&1) || rc=$?
        if [[ $rc -ne 0 || -n $out ]]; then
                printf '%s\n' "$out"
                fail "systemd-analyze verify: exit $rc, output above"
        fi
        echo "systemd-analyze verify: clean (${names[*]})"
        ;;
security)
        unit=$2 threshold=$3
        name=$(instance_name "$unit")
        cp "$unit" "$TMP/$name"
        out=$(systemd-analyze security --offline=yes --no-pager "$TMP/$name" 2>&1) ||
                { printf '%s\n' "$out"; fail "systemd-analyze security failed"; }
        score=$(NAME=$name awk '{ i = index($0, "Overall exposure level for " ENVIRON["NAME"] ": ")
                if (i) { $0 = substr($0, i); print $6 } }' <<<"$out")
        [[ -n $score ]] || { printf '%s\n' "$out"; fail "no overall exposure level in the output"; }
        grep '✗' <<<"$out" || :
        echo "overall exposure of $name: $score (threshold $threshold)"
        awk -v s="$score" -v t="$threshold" 'BEGIN { exit !(s <= t) }' ||
                fail "$name exposure $score is above $threshold"
        ;;
catalog)
        catalog=$2 header=$3
        command -v journalctl >/dev/null || skip "journalctl not installed"
        mkdir -p "$TMP/usr/lib/systemd/catalog" "$TMP/var/lib/systemd/catalog"
        cp "$catalog" "$TMP/usr/lib/systemd/catalog/appwatch.catalog"
        out=$(SYSTEMD_LOG_LEVEL=debug journalctl --root="$TMP" --update-catalog 2>&1) ||
                { printf '%s\n' "$out"; fail "update-catalog failed"; }
        if grep -Eiq 'warning|invalid|failed|ignoring' <<<"$out"; then
                printf '%s\n' "$out"
                fail "journalctl --update-catalog complained"
        fi
        items=$(sed -n 's/.*: wrote \([0-9]*\) items.*/\1/p' <<<"$out")
        [[ -s $TMP/var/lib/systemd/catalog/database ]] || fail "no catalog database written"
        mapfile -t ids < <(sed -n 's/^#define MESSAGE_ID_[A-Z0-9_]* "\([0-9a-f]\{32\}\)"$/\1/p' "$header")
        ((${#ids[@]} > 0)) || fail "no MESSAGE_ID_* in $header"
        # The catalog source is simple enough to check directly: "-- ID" and
        # "-- ID LANG" headers, each followed by a Subject: line.
        mapfile -t entries < <(sed -n 's/^-- \([0-9a-f]\{32\}\)\( [a-zA-Z_@]*\)\{0,1\}$/\1\2/p' "$catalog")
        for id in "${ids[@]}"; do
                printf '%s\n' "${entries[@]}" | grep -qx "$id" || fail "no English catalog entry for $id"
                printf '%s\n' "${entries[@]}" | grep -qx "$id ko" || fail "no Korean catalog entry for $id"
        done
        ((items == ${#entries[@]})) || fail "journalctl compiled ${items:-no} entries of ${#entries[@]}"
        for e in "${entries[@]}"; do
                printf '%s\n' "${ids[@]}" | grep -qx "${e%% *}" || fail "catalog entry for unknown ID $e"
        done
        # journalctl must have compiled every entry (a malformed one is skipped
        # with a warning, or aborts the file).
        listed=$(journalctl --root="$TMP" --list-catalog 2>/dev/null | grep -c ' appwatch: ' || :)
        ((listed == ${#ids[@]})) || fail "journalctl lists $listed appwatch entries, expected ${#ids[@]}"
        if grep -n '^-- ' "$catalog" | grep -Ev '^[0-9]+:-- [0-9a-f]{32}( [a-zA-Z_@]+)?$'; then
                fail "bad catalog entry headers (above)"
        fi
        # (mawk has no {n} intervals; the headers are checked above.)
        awk '/^-- / { want = 1; next }
             want && /^Subject: / { want = 0; next }
             want { print "entry without Subject: near line " NR; bad = 1; want = 0 }
             END { exit bad }' "$catalog" || fail "malformed catalog entries"
        echo "catalog: ${#ids[@]} IDs, ${#entries[@]} entries"
        ;;
*)
        echo "usage: $0 verify UNIT... | security UNIT THRESHOLD | catalog CATALOG IDS_HEADER" >&2
        exit 2
        ;;
esac
