#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of the fix runner's unit runner (fix/runner.h,
# FIX_RUNNER_UNIT) under a real systemd (see lib.sh for the container).
# fix-runner-probe, built in this build tree (bind-mounted read-only into
# the container), runs a plan as appwatchd would and prints its
# FixRunResult as JSON. It runs as root with appwatchd's capability
# bounding set (CAP_DAC_READ_SEARCH only) and NoNewPrivileges, so systemd
# must accept the request from appwatchd as it really is. Checks:
#   a) a unit in appwatch-fix.slice runs as the plan's user (made with
#      useradd), in its directory, with exactly its environment (and the
#      variables systemd itself sets); a bare argv[0] is found in systemd's
#      path; $HOME and ${HOME} in an argv reach the program verbatim;
#   b) a failing step: exit-code with its status, the rest not run;
#   c) RuntimeMaxSec=: timeout;
#   d) the output tail is read back from the journal, bounded, and
#      journalctl -u UNIT shows it;
#   e) adopt: a unit still running when the probe exits is followed by a
#      new probe to its end (and has the plan's limits and sandbox as
#      systemd shows them); one that ended meanwhile (success or failure)
#      reports its Result=; an unknown one is "lost";
#   f) a name systemd already has: refused with EEXIST;
#   g) a cancelled run: systemd stops its unit;
#   h) the system bus closing ends a run as "lost" (ECONNRESET), its unit
#      running on.
#
# Needs root and systemd-nspawn (exit 77, skipped, otherwise).

# Literal $HOME and ${HOME} are the point of several checks here.
# shellcheck disable=SC2016

set -euo pipefail

MACHINE="aw-fixrun-$$"
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
: "${MESON_BUILD_ROOT:?run this from meson test}"
PROBE="$MESON_BUILD_ROOT/tests/e2e/fix-runner-probe"
[[ -x $PROBE ]] || fail "$PROBE is not built"
E2E_NSPAWN_ARGS=(--bind-ro="$MESON_BUILD_ROOT:$MESON_BUILD_ROOT")

e2e_build_install
e2e_boot
e2e_install

diagnostics_extra() {
        log "---- journalctl _SYSTEMD_SLICE=appwatch-fix.slice"
        in_ct journalctl --no-pager -o short-monotonic _SYSTEMD_SLICE=appwatch-fix.slice 2>&1 |
                tail -n 60 || :
        log "---- systemctl list-units 'appwatch-fix-*'"
        in_ct systemctl --no-pager list-units --all 'appwatch-fix-*' 2>&1 || :
}

# The probe as appwatchd runs: root, capabilities cut down to its bounding set.
probe() {
        in_ct setpriv --no-new-privs --inh-caps=-all --bounding-set=-all,+dac_read_search \
                "$PROBE" "$@"
}

jget() { # JSON KEY
        json_get "$2" <<<"$1"
}

expect() { # JSON KEY VALUE
        local got
        got=$(jget "$1" "$2") || fail "no $2 in $1"
        [[ $got == "$3" ]] || fail "$2 is '$got', expected '$3' (in $1)"
}

in_ct_sh "set -e
        useradd --create-home --shell /bin/sh fixer
        mkdir -p /srv/app
        chown fixer: /srv/app" || fail "cannot create the user fixer"
FIXER_UID=$(in_ct id -u fixer)
log "user fixer is uid $FIXER_UID"

# --- a) user, directory, environment, verbatim argv -------------------------------

U=appwatch-fix-app-1-1.service
out=$(probe start --unit "$U" --user fixer --dir /srv/app \
        --env 'PUB_CACHE=/srv/app/.pub' --env 'SPACED=a b  c' --env 'DOLLAR=$HOME' \
        -- id -un ';' /bin/pwd ';' env ';' /bin/echo '$HOME' '${HOME}' '$$' '%h') ||
        fail "probe a) failed: $out"
log "a) $out"
expect "$out" success True
expect "$out" result success
expect "$out" exit_status 0
expect "$out" unit "$U"
output=$(jget "$out" output)
mapfile -t lines <<<"$output"
[[ ${lines[0]} == fixer ]] || fail "ran as '${lines[0]}', not fixer"
[[ ${lines[1]} == /srv/app ]] || fail "ran in '${lines[1]}', not /srv/app"
[[ ${lines[-1]} == '$HOME ${HOME} $$ %h' ]] || fail "argv was expanded: '${lines[-1]}'"
env_lines=$(printf '%s\n' "${lines[@]:2:${#lines[@]}-3}")
for want in 'PUB_CACHE=/srv/app/.pub' 'SPACED=a b  c' 'DOLLAR=$HOME'; do
        grep -qxF -- "$want" <<<"$env_lines" || fail "environment lacks $want: $env_lines"
done
# Nothing but the plan's and what systemd sets for every service with User=.
extra=$(sed -e '/^PUB_CACHE=/d' -e '/^SPACED=/d' -e '/^DOLLAR=/d' \
        -e '/^\(PATH\|LANG\|HOME\|LOGNAME\|USER\|SHELL\|INVOCATION_ID\|JOURNAL_STREAM\|SYSTEMD_EXEC_PID\|TMPDIR\)=/d' \
        <<<"$env_lines")
[[ -z $extra ]] || fail "environment has more than the plan's: $extra"
grep -qx 'HOME=/home/fixer' <<<"$env_lines" || fail "HOME is not fixer's: $env_lines"
# In the slice, as that user; the journal has it under the unit's name.
# (journald may miss a quickly exiting process's cgroup, and with it the
# slice, on some of its lines: the slices named are judged.)
slices() {
        in_ct journalctl --no-pager -q -o json -u "$U" _UID="$FIXER_UID" | python3 -c '
import json, sys
s = {json.loads(l).get("_SYSTEMD_SLICE") for l in sys.stdin if l.strip()}
s.discard(None)
print(" ".join(sorted(s)))'
}
wait_for 50 '[[ -n $(slices) ]]' || fail "no journal entry of $U by uid $FIXER_UID names its slice"
slice=$(slices)
[[ $slice == appwatch-fix.slice ]] || fail "$U ran in slice '$slice'"
in_ct journalctl --no-pager -q -o cat -u "$U" | grep -qxF '$HOME ${HOME} $$ %h' ||
        fail "journalctl -u $U does not show its output"
# Let go of once read: no unit left behind.
wait_for 50 '[[ $(in_ct systemctl show -P LoadState "$U") == not-found ]]' ||
        fail "$U is still loaded after its result was read: $(in_ct systemctl show -P ActiveState "$U")"

# --- b) a failing step --------------------------------------------------------------

U=appwatch-fix-app-2-1.service
out=$(probe start --unit "$U" --user fixer --dir /srv/app \
        -- /bin/echo before ';' /bin/sh -c 'echo failing >&2; exit 7' ';' /bin/echo after) ||
        fail "probe b) failed: $out"
log "b) $out"
expect "$out" success False
expect "$out" result exit-code
expect "$out" exit_status 7
[[ $(jget "$out" output) == $'before\nfailing' ]] ||
        fail "b) output is '$(jget "$out" output)'"
wait_for 50 '[[ $(in_ct systemctl show -P LoadState "$U") == not-found ]]' ||
        fail "$U is still loaded (failed units are reset once read)"

# --- c) RuntimeMaxSec= ----------------------------------------------------------------

U=appwatch-fix-app-3-1.service
t0=$SECONDS
out=$(probe start --unit "$U" --user fixer --dir /srv/app --timeout-ms 1500 \
        -- /bin/sh -c 'echo sleeping; exec sleep 60' ';' /bin/echo never) ||
        fail "probe c) failed: $out"
log "c) $out ($((SECONDS - t0)) s)"
expect "$out" result timeout
expect "$out" success False
[[ $(jget "$out" output) == sleeping ]] || fail "c) output is '$(jget "$out" output)'"
((SECONDS - t0 < 30)) || fail "c) the timeout took $((SECONDS - t0)) s"

# --- d) a bounded tail ---------------------------------------------------------------

U=appwatch-fix-app-4-1.service
out=$(probe start --unit "$U" --user fixer --dir /srv/app -- seq 1 20000) ||
        fail "probe d) failed: $out"
output=$(jget "$out" output)
len=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["output"].encode()))' "$out")
log "d) result $(jget "$out" result), $len bytes of output, last line $(tail -n 1 <<<"$output")"
expect "$out" result success
((len <= 16384 && len > 16000)) || fail "d) the tail is $len bytes"
[[ $(tail -n 1 <<<"$output") == 20000 ]] || fail "d) the tail does not end with 20000"

# --- e) adopt -------------------------------------------------------------------------

U=appwatch-fix-app-5-1.service
out=$(probe start --unit "$U" --user fixer --dir /srv/app --exit-after-ms 1000 \
        --memory-max 268435456 --cpu-quota-usec 500000 --timeout-ms 120000 \
        -- /bin/sh -c 'echo started; sleep 4; echo adopted-done') || fail "probe e) failed: $out"
expect "$out" detached True
[[ $(in_ct systemctl show -P ActiveState "$U") == activating ]] ||
        fail "$U is $(in_ct systemctl show -P ActiveState "$U") after the probe let go of it"
# The plan's limits and sandbox, as systemd has them.
props=$(in_ct systemctl show -p Type,Slice,User,WorkingDirectory,MemoryMax,CPUQuotaPerSecUSec \
        -p NoNewPrivileges,PrivateTmp,TimeoutStartUSec,RemainAfterExit,StandardOutput "$U")
for want in Type=oneshot Slice=appwatch-fix.slice User=fixer WorkingDirectory=/srv/app \
            MemoryMax=268435456 CPUQuotaPerSecUSec=500ms NoNewPrivileges=yes PrivateTmp=yes \
            TimeoutStartUSec=2min RemainAfterExit=yes StandardOutput=journal; do
        grep -qxF "$want" <<<"$props" || fail "e) $U lacks $want: $(paste -sd ' ' <<<"$props")"
done
out=$(probe adopt --unit "$U") || fail "probe adopt failed: $out"
log "e) adopted: $out"
expect "$out" result success
[[ $(jget "$out" output) == $'started\nadopted-done' ]] || fail "e) output is '$(jget "$out" output)'"

U=appwatch-fix-app-5-2.service
out=$(probe start --unit "$U" --user fixer --dir /srv/app --exit-after-ms 500 \
        -- /bin/sh -c 'sleep 1; echo quick') || fail "probe e2) failed: $out"
wait_for 100 '[[ $(in_ct systemctl show -P SubState "$U") == exited ]]' ||
        fail "$U did not end: $(in_ct systemctl show -P ActiveState,SubState "$U")"
out=$(probe adopt --unit "$U") || fail "probe adopt e2) failed: $out"
log "e2) ended while nobody watched: $out"
expect "$out" result success
[[ $(jget "$out" output) == quick ]] || fail "e2) output is '$(jget "$out" output)'"

U=appwatch-fix-app-5-3.service
out=$(probe start --unit "$U" --user fixer --dir /srv/app --exit-after-ms 500 \
        -- /bin/sh -c 'sleep 1; exit 3') || fail "probe e3) failed: $out"
wait_for 100 '[[ $(in_ct systemctl show -P ActiveState "$U") == failed ]]' ||
        fail "$U did not fail: $(in_ct systemctl show -P ActiveState,SubState "$U")"
out=$(probe adopt --unit "$U") || fail "probe adopt e3) failed: $out"
log "e3) failed while nobody watched: $out"
expect "$out" result exit-code
expect "$out" exit_status 3

out=$(probe adopt --unit appwatch-fix-app-5-9.service) || fail "probe adopt e4) failed: $out"
log "e4) unknown: $out"
expect "$out" result lost
expect "$out" error ENOENT

# --- f) a name systemd has ------------------------------------------------------------

U=appwatch-fix-app-6-1.service
out=$(probe start --unit "$U" --user fixer --dir /srv/app --exit-after-ms 500 -- /bin/sleep 60) ||
        fail "probe f) failed: $out"
out=$(probe start --unit "$U" --user fixer --dir /srv/app -- /bin/echo second) ||
        fail "probe f) second start failed: $out"
log "f) $out"
expect "$out" result refused
expect "$out" error EEXIST
note=$(jget "$out" note)
[[ $note == *"$U"*org.freedesktop.systemd1.UnitExists* ]] || fail "f) note is '$note'"
in_ct systemctl stop "$U"

# --- g) cancel: systemd stops the unit -----------------------------------------------

U=appwatch-fix-app-7-1.service
out=$(probe start --unit "$U" --user fixer --dir /srv/app --cancel-after-ms 1000 \
        -- /bin/sh -c 'echo running; exec sleep 60') || fail "probe g) failed: $out"
expect "$out" cancelled True
wait_for 100 '[[ $(in_ct systemctl show -P ActiveState "$U") != activating ]]' ||
        fail "$U still runs after the cancel"
log "g) cancelled: $U is $(in_ct systemctl show -P ActiveState,LoadState "$U" | paste -sd /)"
in_ct journalctl --no-pager -q -o cat -u "$U" | grep -qx running || fail "g) $U never ran"
# SIGTERM ended its step: systemd keeps it failed with Result=signal, as an
# adopt reports (and then resets it).
[[ $(in_ct systemctl show -P Result "$U") == signal ]] ||
        fail "g) $U has Result=$(in_ct systemctl show -P Result "$U")"
out=$(probe adopt --unit "$U") || fail "probe adopt g) failed: $out"
expect "$out" result signal
expect "$out" exit_status 15
wait_for 50 '[[ $(in_ct systemctl show -P LoadState "$U") == not-found ]]' ||
        fail "$U is still loaded after the adopt read it"

# --- h) the system bus goes away ------------------------------------------------------

U=appwatch-fix-app-8-1.service
probe start --unit "$U" --user fixer --dir /srv/app -- /bin/sleep 30 >"$TMP/h.out" 2>&1 &
h_pid=$!
wait_for 100 '[[ $(in_ct systemctl show -P ActiveState "$U") == activating ]]' ||
        fail "h) $U did not start"
in_ct systemctl kill --kill-who=main --signal=KILL dbus.service || fail "h) cannot kill dbus-daemon"
wait_for 100 '! kill -0 $h_pid' || fail "h) the probe did not notice the bus closing"
wait "$h_pid" || :
out=$(cat "$TMP/h.out")
log "h) $out"
out=$(tail -n 1 <<<"$out")
expect "$out" result lost
expect "$out" error ECONNRESET
[[ $(in_ct systemctl show -P ActiveState "$U") == activating ]] ||
        fail "h) $U did not keep running without the bus"

log "all fix-runner checks passed"
