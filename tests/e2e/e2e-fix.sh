#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of the fixer under a real systemd (see lib.sh for how the
# container is booted and appwatch installed in it). appwatchd starts every
# fix and verification as a transient unit over the system bus, as the
# app's user. It checks:
#   a) pip: a script in a real venv (python3 -m venv) imports a module that
#      is not installed, under appwatchctl run as the app's user; appwatch
#      installs it from a local wheel directory (a wheel built here by hand:
#      METADATA, WHEEL, RECORD, the module; [App] Environment=PIP_NO_INDEX=1
#      PIP_FIND_LINKS=DIR) with `<venv python> -m pip install awdemo` in a
#      transient unit as that user, re-runs the script to verify, and the
#      incident is Resolved; the installed files belong to the app's user;
#   b) scenario 1 of the users' guide with the fake flutter: one app is
#      Resolved (flutter clean && flutter pub get, then the build passes),
#      one Manual Required (the build still fails), with both outputs in
#      appwatchctl show and the units' logs in journalctl -u UNIT;
#   c) a storm across 5 apps (2 failures each, every tool call 2 s): how
#      many fix units run at once (sampled with systemctl list-units), at
#      most one per app; the figure is printed as "storm: max N";
#   d) appwatchd restarted while a fix unit runs: the new appwatchd follows
#      the unit again (it is systemd's, it kept running), verifies, and the
#      incident is Resolved.
# Only appwatch's units are judged.
#
# Needs root and systemd-nspawn (exit 77, skipped, otherwise). Environment:
# see lib.sh (APPWATCH_E2E_DESTDIR, APPWATCH_E2E_KEEP, APPWATCH_E2E_HOLD).

set -euo pipefail

MACHINE="aw-fix-$$"
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STORM_APPS="st1 st2 st3 st4 st5"

status_of() { inc_field status app="$1"; }

diagnostics_extra() {
        log "---- appwatchctl incidents"
        awctl incidents 2>&1 | head -n 30 || :
        local id
        for id in $(awctl incidents --json 2>/dev/null | python3 -c '
import json, sys
print(" ".join(str(json.loads(l)["id"]) for l in sys.stdin if l.strip()))' 2>/dev/null); do
                log "---- appwatchctl show $id"
                awctl show "$id" 2>&1 | tail -n 40 || :
        done
        log "---- journalctl -u appwatch-fix-*"
        in_ct journalctl --no-pager --full -o short-monotonic -u 'appwatch-fix-*' 2>&1 | tail -n 60 || :
}

e2e_init
e2e_build_install
e2e_boot
e2e_install

# --- the app user, the apps, the tools ------------------------------------------------

e2e_app_setup

conf="[Fix]
TimeoutSec=2min

$(e2e_pyapp_section)
"
for app in fl1 fl2 rs $STORM_APPS; do
        in_ct_sh "mkdir -p /srv/flutter-$app && chown $APPUSER: /srv/flutter-$app"
        conf+="
[App.$app]
Directory=/srv/flutter-$app
Kind=flutter
User=$APPUSER
Flutter=/srv/tools/flutter
AutoFix=yes
"
done
ct_write /etc/appwatch/appwatch.conf.d/50-e2e-fix.conf <<<"$conf"
e2e_fake_flutter_rules
printf 'fail build\n' | ct_write /srv/flutter-fl2/.fake-flutter-control
in_ct $PREFIX/bin/appwatchd --check-config >"$TMP/check-config.log" 2>&1 ||
        { cat "$TMP/check-config.log"; fail "appwatchd --check-config rejects the test configuration"; }

log "systemctl enable --now appwatch"
in_ct systemctl enable --now appwatch.service >"$TMP/enable.log" 2>&1 ||
        { cat "$TMP/enable.log"; fail "systemctl enable --now appwatch failed"; }

# --- a) pip in a real venv ----------------------------------------------------------------

log "a) a missing module under appwatchctl run, as $APPUSER"
if run_as_app pyapp /srv/pyapp /srv/pyapp/venv/bin/python main.py >"$TMP/pyrun.log" 2>&1; then
        fail "main.py did not fail: $(cat "$TMP/pyrun.log")"
fi
wait_for 600 '[[ $(status_of pyapp) == Resolved ]]' ||
        fail "pyapp is '$(status_of pyapp)', not Resolved"
ID=$(inc_field id app=pyapp)
[[ $(show_eval "$ID" 'i["fix"]') == pip_install:awdemo ]] || fail "the fix is $(show_eval "$ID" 'i["fix"]')"
[[ $(show_eval "$ID" 'a["command_line"]') == "/srv/pyapp/venv/bin/python -m pip install awdemo" ]] ||
        fail "the fix ran $(show_eval "$ID" 'a["command_line"]')"
UNIT=$(show_eval "$ID" 'a["unit"]')
VUNIT=$(show_eval "$ID" 'a["verify_unit"]')
log "fix unit $UNIT, verification $VUNIT"
in_ct journalctl --no-pager -q -o cat -u "$UNIT" | grep -q "Successfully installed awdemo" ||
        fail "journalctl -u $UNIT does not show the install"
in_ct journalctl --no-pager -q -o cat -u "$VUNIT" | grep -q "ok 42" ||
        fail "journalctl -u $VUNIT does not show the script passing"
uid=$APPUID
# The unit's own processes (systemd's lines about it are PID 1's).
in_ct journalctl --no-pager -q -o json "_SYSTEMD_UNIT=$UNIT" | python3 -c '
import json, sys
uids = {json.loads(l).get("_UID") for l in sys.stdin if l.strip()}
# (journald may not tie every line of a short-lived process to its unit;
# the owner of the installed files below is the other witness.)
assert uids <= {sys.argv[1]}, uids' "$uid" || fail "$UNIT did not run as $APPUSER"
owner=$(in_ct_sh "stat -c %U /srv/pyapp/venv/lib/python3*/site-packages/awdemo/__init__.py")
[[ $owner == "$APPUSER" ]] || fail "the installed module belongs to '$owner'"
[[ $(show_eval "$ID" 'a["state"]') == resolved ]] || fail "attempt is $(show_eval "$ID" 'a["state"]')"

# --- b) scenario 1: one Resolved, one Manual Required ---------------------------------

log "b) flutter build apk fails in fl1 and fl2"
for app in fl1 fl2; do
        if run_as_app $app /srv/flutter-$app /srv/tools/flutter build apk >"$TMP/$app.log" 2>&1; then
                fail "the $app build did not fail"
        fi
done
wait_for 600 '[[ $(status_of fl1) == Resolved && $(status_of fl2) == "Manual Required" ]]' ||
        fail "fl1 is '$(status_of fl1)', fl2 '$(status_of fl2)'"
ID2=$(inc_field id app=fl2)
[[ $(show_eval "$ID2" 'a["verify_result"]') == "exit-code (status 1)" ]] ||
        fail "fl2's verification: $(show_eval "$ID2" 'a["verify_result"]')"
out=$(awctl show "$ID2")
if ! grep -q "Fix output:" <<<"$out" || ! grep -q "Verification output:" <<<"$out"; then
        fail "appwatchctl show lacks the outputs: $out"
fi
grep -q "journalctl -u appwatch-fix-fl2-" <<<"$out" || fail "appwatchctl show names no unit: $out"

# --- c) a storm across 5 apps --------------------------------------------------------------

log "c) storm: 2 failures in each of $STORM_APPS, every tool call 2 s"
for app in $STORM_APPS; do
        printf 'sleep 2\n' | ct_write /srv/flutter-$app/.fake-flutter-control
done
storm_pids=()
for app in $STORM_APPS; do
        for target in apk appbundle; do
                run_as_app "$app" "/srv/flutter-$app" /srv/tools/flutter build $target >/dev/null 2>&1 &
                storm_pids+=($!)
        done
done
max=0
settled() {
        local app s
        for app in $STORM_APPS; do
                s=$(inc_field status app="$app" | grep -Ec '^(Resolved|Manual Required)$') || :
                [[ $s == 2 ]] || return 1
        done
}
deadline=$((SECONDS + 300))
while ((SECONDS < deadline)); do
        n=$(in_ct systemctl list-units --plain --no-legend --state=activating,active \
                'appwatch-fix-st*' | wc -l)
        ((n > max)) && max=$n
        # Never two units of one app.
        dup=$(in_ct systemctl list-units --plain --no-legend --state=activating,active \
                'appwatch-fix-st*' | sed -E 's/^appwatch-fix-(st[0-9]+)-.*/\1/' | sort | uniq -d)
        [[ -z $dup ]] || fail "two fix units of app $dup at once"
        if ((n == 0)) && settled; then
                break
        fi
        sleep 0.1
done
# Only the builds: a bare wait would wait for systemd-nspawn too.
wait "${storm_pids[@]}" || :
settled || fail "the storm did not settle within 300 s"
log "storm: max $max fix units at once across 5 apps (10 incidents)"
((max >= 2)) || fail "the apps' fixes did not run side by side (max $max)"
((max <= 5)) || fail "more than one fix unit per app (max $max)"

# --- d) a restart while a fix runs -----------------------------------------------------------

log "d) appwatchd restarts while rs's fix unit runs"
printf 'sleep 4\n' | ct_write /srv/flutter-rs/.fake-flutter-control
run_as_app rs /srv/flutter-rs /srv/tools/flutter build apk >/dev/null 2>&1 || :
wait_for 300 '[[ -n $(in_ct systemctl list-units --plain --no-legend --state=activating,active "appwatch-fix-rs-*") ]]' ||
        fail "no fix unit of rs ran"
RS_UNIT=$(in_ct systemctl list-units --plain --no-legend --state=activating,active 'appwatch-fix-rs-*' | sed 's/ .*//')
in_ct systemctl restart appwatch.service || fail "systemctl restart appwatch failed"
[[ $(in_ct systemctl is-active "$RS_UNIT") =~ ^(active|activating|deactivating)$ ]] ||
        log "note: $RS_UNIT ended before appwatchd was back"
wait_for 600 '[[ $(status_of rs) == Resolved ]]' || fail "rs is '$(status_of rs)' after the restart, not Resolved"
journal_has -g "Following $RS_UNIT again" ||
        fail "the new appwatchd did not follow $RS_UNIT again: $(in_ct journalctl --no-pager -q -o cat -u appwatch -g rs | tail -n 5)"
RS_ID=$(inc_field id app=rs)
# The unit was the fix's or, if the restart came later, its verification's.
[[ $(show_eval "$RS_ID" 'a["state"]') == resolved &&
   $(show_eval "$RS_ID" "'$RS_UNIT' in (a['unit'], a['verify_unit'])") == True ]] ||
        fail "rs's attempt: $(show_eval "$RS_ID" 'a')"
log "d) $RS_UNIT followed again after the restart; Resolved"

[[ $(in_ct systemctl is-active appwatch.service) == active ]] || fail "appwatch.service is not active"
[[ $(in_ct systemctl show -P NRestarts appwatch.service) == 0 ]] || fail "appwatchd restarted (crashed?)"
failed=$(in_ct systemctl list-units --failed --plain --no-legend --full 'appwatch.*' | sed 's/ .*//' | paste -sd ' ')
[[ -z $failed ]] || fail "appwatch's units failed: $failed"
log "PASS"
