#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of ingestion under a real systemd (see lib.sh for how the
# container is booted and appwatch installed in it). With [Journal]
# Identifiers=aw-e2e and Units=aw-e2e-listed.service, and [Watch.shop]
# Path=/var/log/shop, it checks through appwatchctl incidents --json:
#   a) a template unit that fails with a Python traceback, with
#      OnFailure=appwatch-failure@%n.service: one incident, origin "unit",
#      app = the instance; the report unit succeeds. A unit that is also
#      listed in Units= is counted once (by the journal source);
#   b) systemd-cat -t aw-e2e -p err: an incident with origin "journal"; after
#      journalctl --rotate and a journald restart (vacuuming: the integration
#      test) a new
#      line is still read, and the old one not again;
#   c) the watched directory: appends, rotation by rename (with a late write
#      to the old file) and logrotate's copytruncate: the count is the
#      number of lines written, none lost or repeated; a line that was there
#      before the first start is not counted;
#   d) journalctl -u appwatch APPWATCH_SEVERITY=High names exactly the High
#      incidents;
#   e) resolve, then the same failure: New again, regression, and a
#      regression record in the journal;
#   f) appwatch.service and appwatch.socket stopped: appwatchctl run (by a
#      member of group appwatch) and the OnFailure= report spool their
#      submissions; after the start they are incidents and the spool is
#      empty.
#
# Needs root and systemd-nspawn (exit 77, skipped, otherwise). Environment:
# see lib.sh (APPWATCH_E2E_DESTDIR, APPWATCH_E2E_KEEP, APPWATCH_E2E_HOLD).

set -euo pipefail

MACHINE="aw-ingest-$$"
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SPOOL=/var/spool/appwatch
SHOP=/var/log/shop
SHOP_LINE="ERROR: shop checkout failed: payment backend returned 502"
SHOP_WRITES=0

# The OnFailure= report of a unit: appwatch-failure@UNIT.service.
report_unit() {
        printf 'appwatch-failure@%s.service\n' "$1"
}

report_stamp() {
        in_ct systemctl show -P ExecMainExitTimestampMonotonic "$(report_unit "$1")"
}

# Starts UNIT, which must fail, and waits for its OnFailure= report to
# finish; the report must succeed.
fail_unit() {
        local unit=$1 report stamp
        report=$(report_unit "$unit")
        stamp=$(report_stamp "$unit")
        if in_ct systemctl start "$unit" 2>/dev/null; then
                fail "$unit did not fail"
        fi
        [[ $(in_ct systemctl show -P Result "$unit") == exit-code ]] ||
                fail "$unit: Result=$(in_ct systemctl show -P Result "$unit"), expected exit-code"
        wait_for 300 '[[ $(report_stamp "$unit") != "$stamp" &&
                $(in_ct systemctl show -P ActiveState "$report") =~ ^(inactive|failed)$ ]]' ||
                fail "$report did not run after $unit failed" \
                        "($(in_ct systemctl show -P ActiveState,Result "$report" | tr '\n' ' '))"
        if [[ $(in_ct systemctl show -P Result "$report") != success ||
              $(in_ct systemctl show -P ExecMainStatus "$report") != 0 ]]; then
                in_ct journalctl --no-pager -q -o short-monotonic -u "$report"
                fail "$report failed: Result=$(in_ct systemctl show -P Result "$report")" \
                        "status $(in_ct systemctl show -P ExecMainStatus "$report") (its journal above)"
        fi
}

shop_write() { # FILE: appends SHOP_LINE to FILE in the watched directory
        in_ct_sh "echo '$SHOP_LINE' >>$SHOP/$1" || fail "cannot write $SHOP/$1"
        SHOP_WRITES=$((SHOP_WRITES + 1))
}

shop_count() {
        inc_field count app=shop "title=$SHOP_LINE"
}

wait_shop() { # WHAT: waits for the shop incident to count SHOP_WRITES
        wait_for 100 '[[ $(shop_count) == "$SHOP_WRITES" ]]' ||
                fail "$1: the shop incident counts '$(shop_count)', expected $SHOP_WRITES" \
                        "($(inc_count app=shop) shop incidents)"
}

# A failed check that later ones do not depend on: reported now, and the
# test fails at the end.
SOFT_FAILURES=()
soft_fail() {
        printf 'FAIL (continuing): %s\n' "$*"
        SOFT_FAILURES+=("$*")
}

diagnostics_extra() {
        log "---- appwatchctl incidents --json"
        awctl incidents --json 2>&1 | cut -c1-400 || :
        log "---- appwatchctl status --json"
        awctl status --json 2>&1 || :
        log "---- journalctl -u aw-e2e-* -u appwatch-failure@*"
        in_ct journalctl --no-pager --full -o short-monotonic -u 'aw-e2e-*' -u 'appwatch-failure@*' \
                2>&1 | tail -n 60 || :
        log "---- journalctl -t aw-e2e"
        in_ct journalctl --no-pager -o short-monotonic -t aw-e2e 2>&1 | tail -n 10 || :
        log "---- ls -la $SPOOL $SHOP"
        in_ct ls -la "$SPOOL" "$SHOP" 2>&1 || :
}

e2e_init
e2e_build_install
e2e_boot
e2e_install

# --- configuration and the test's units -------------------------------------------

ct_write /etc/appwatch/appwatch.conf.d/50-e2e-ingest.conf <<'EOF'
[Journal]
Identifiers=aw-e2e
Units=aw-e2e-listed.service

[Watch.shop]
Path=/var/log/shop
EOF
in_ct $PREFIX/bin/appwatchd --check-config >"$TMP/check-config.log" 2>&1 ||
        { cat "$TMP/check-config.log"; fail "appwatchd --check-config rejects the test configuration"; }

# Already there at the first start: old news, never counted.
in_ct_sh "mkdir -p $SHOP && echo 'ERROR: shop old news from before appwatch started' >$SHOP/shop.log" ||
        fail "cannot create $SHOP"

# A Python tool whose dependency is missing, whatever the host has
# installed: a real traceback ending in ModuleNotFoundError.
ct_write /run/aw-e2e/pytool.py <<'EOF'
import sys

sys.path[:] = []  # PyYAML is not installed for this tool
import yaml  # noqa: E402

print(yaml.safe_load("ok: 1"))
EOF
# A build unit, as a template: the incident's app is the instance.
ct_write /run/systemd/system/aw-e2e-build@.service <<'EOF'
[Unit]
Description=e2e build of %i
OnFailure=appwatch-failure@%n.service

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 -I /run/aw-e2e/pytool.py
EOF
# A unit the journal source reads ([Journal] Units=) that has the OnFailure=
# report as well: its failure must be counted once, not twice.
ct_write /run/systemd/system/aw-e2e-listed.service <<'EOF'
[Unit]
Description=e2e unit read by the journal source
OnFailure=appwatch-failure@%n.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "ERROR: listed unit broke"; exit 1'
EOF
in_ct systemctl daemon-reload || fail "systemctl daemon-reload failed"

log "systemctl enable --now appwatch"
in_ct systemctl enable --now appwatch.service || fail "systemctl enable --now appwatch failed"
[[ $(status_json sources.journal.identifiers) == '["aw-e2e"]' ]] ||
        fail "the daemon did not load the test configuration: identifiers $(status_json sources.journal.identifiers)"
[[ $(status_json ingest.journal_reader.active) == True ]] || fail "the journal source is not active"
[[ $(status_json ingest.watched.0.name) == shop ]] || fail "[Watch.shop] is not watched"
[[ $(inc_count) == 0 ]] || fail "incidents before anything failed: $(awctl incidents 2>&1)"

# --- a) a failed unit, through OnFailure=appwatch-failure@%n.service ----------------------

log "a) aw-e2e-build@pytool.service fails with a Python traceback"
fail_unit aw-e2e-build@pytool.service
# appwatchctl submit-unit returns once the incident is committed: no waiting.
[[ $(inc_count app=pytool) == 1 ]] ||
        fail "expected one incident of app pytool after the unit failed, found $(inc_count app=pytool)"
PY_ID=$(inc_field id app=pytool)
[[ $(inc_field origin id="$PY_ID") == unit ]] || fail "incident #$PY_ID has origin $(inc_field origin id="$PY_ID"), expected unit"
[[ $(inc_field count id="$PY_ID") == 1 ]] || fail "incident #$PY_ID counts $(inc_field count id="$PY_ID"), expected 1"
excerpt=$(show_field "$PY_ID" excerpt)
grep -q "ModuleNotFoundError: No module named 'yaml'" <<<"$excerpt" ||
        fail "incident #$PY_ID does not hold the traceback: $excerpt"
grep -q "Traceback (most recent call last)" <<<"$excerpt" ||
        fail "incident #$PY_ID holds only part of the traceback: $excerpt"
log "incident #$PY_ID: $(inc_field severity id="$PY_ID") $(inc_field category id="$PY_ID"):" \
        "$(inc_field title id="$PY_ID")"
[[ -z $(in_ct ls -A $SPOOL) ]] || fail "the report was spooled although appwatchd was up: $(in_ct ls -A $SPOOL)"

# This is also the first entry the journal source's matches select since it
# started: it must not be skipped.
log "a) aw-e2e-listed.service (also in Units=) fails"
fail_unit aw-e2e-listed.service
wait_for 50 'in_ct journalctl --no-pager -q -o cat -u appwatch.service |
        grep -q "Submission for aw-e2e-listed.service ignored"' ||
        fail "appwatchd did not log that it ignored the report of aw-e2e-listed.service"
if wait_for 100 '[[ $(inc_count app=aw-e2e-listed) -ge 1 ]]'; then
        LISTED=1
        [[ $(inc_count app=aw-e2e-listed) == 1 && $(inc_field count app=aw-e2e-listed) == 1 ]] ||
                fail "aw-e2e-listed.service failed once: $(inc_count app=aw-e2e-listed) incident(s)," \
                        "count $(inc_field count app=aw-e2e-listed | tr '\n' ' ')"
        [[ $(inc_field origin app=aw-e2e-listed) == journal ]] ||
                fail "aw-e2e-listed's incident has origin $(inc_field origin app=aw-e2e-listed), expected journal"
else
        # Independent of what follows: go on, and fail at the end.
        LISTED=0
        soft_fail "no incident for aw-e2e-listed.service: the journal source" \
                "($(status_json ingest.journal_reader)) skipped its line" \
                "'$(in_ct journalctl --no-pager -q -o cat _SYSTEMD_UNIT=aw-e2e-listed.service | head -n 1)'"
fi

# --- b) systemd-cat -----------------------------------------------------------------

log "b) systemd-cat -t aw-e2e -p err"
in_ct_sh 'echo "ERROR: something broke" | systemd-cat -t aw-e2e -p err' || fail "systemd-cat failed"
wait_for 100 '[[ $(inc_count app=aw-e2e) -ge 1 ]]' || fail "no incident for the systemd-cat line"
[[ $(inc_count app=aw-e2e) == 1 ]] || fail "$(inc_count app=aw-e2e) incidents for one systemd-cat line"
[[ $(inc_field origin app=aw-e2e) == journal ]] ||
        fail "the systemd-cat incident has origin $(inc_field origin app=aw-e2e), expected journal"
[[ $(inc_field title app=aw-e2e) == "ERROR: something broke" ]] ||
        fail "the systemd-cat incident's title is '$(inc_field title app=aw-e2e)'"

log "b) the journal is rotated and journald restarted: reading goes on"
in_ct_sh 'journalctl --rotate && systemctl restart systemd-journald' ||
        fail "rotating the journal failed"
in_ct_sh 'echo "ERROR: after the journal restart" | systemd-cat -t aw-e2e -p err' ||
        fail "systemd-cat failed"
wait_for 100 '[[ $(inc_count app=aw-e2e "title~after the journal restart") -ge 1 ]]' ||
        fail "no incident for a line written after journald restarted"
[[ $(inc_field count app=aw-e2e "title~something broke") == 1 ]] ||
        fail "the first systemd-cat line was read again after the journal rotation"

# --- c) the watched directory ---------------------------------------------------------

log "c) $SHOP: append"
shop_write shop.log
wait_shop "an appended line"

log "c) $SHOP: rotation by rename, with a last line from the old writer"
# The writer still holds the old file open when it is renamed, writes one
# more line to it, and only then moves on to the new shop.log.
in_ct_sh "set -e; cd $SHOP; exec 3>>shop.log; mv shop.log shop.log.1
        echo '$SHOP_LINE' >&3; exec 3>&-; : >shop.log" || fail "rotation failed"
SHOP_WRITES=$((SHOP_WRITES + 1))
shop_write shop.log
wait_shop "rotation by rename"

log "c) $SHOP: copytruncate, as logrotate does it"
truncations=$(status_json ingest.files.truncations)
in_ct_sh "set -e; cd $SHOP; mv shop.log.1 shop.log.2; cp shop.log shop.log.1; truncate -s0 shop.log" ||
        fail "copytruncate failed"
# A truncation followed by as many bytes as were there before cannot be
# told from no change at all: append once appwatchd saw the file shrink.
wait_for 100 '(( $(status_json ingest.files.truncations) > truncations ))' ||
        fail "appwatchd did not notice that shop.log was truncated"
shop_write shop.log
wait_for 100 '(( $(shop_count) >= SHOP_WRITES ))' ||
        fail "copytruncate: the line appended to the truncated shop.log was not counted" \
                "(count $(shop_count), expected $SHOP_WRITES)"
# The tailer hands out lines at once (the count follows after the
# detector's idle timeout): by now it has read everything written before the
# last line. Every line it read was written once by this test; the copy
# that copytruncate leaves in the watched directory holds lines counted
# already, from shop.log.
lines=$(status_json ingest.files.lines)
if [[ $lines != "$SHOP_WRITES" ]]; then
        soft_fail "$SHOP: appwatchd read $lines lines, $SHOP_WRITES were written; after" \
                "'mv shop.log.1 shop.log.2; cp shop.log shop.log.1; truncate -s0 shop.log'" \
                "the copy shop.log.1 was read as a new file"
fi
[[ $(inc_count app=shop) == 1 ]] || fail "$(inc_count app=shop) shop incidents, expected 1"
[[ $(inc_field origin app=shop) == file ]] || fail "the shop incident has origin $(inc_field origin app=shop), expected file"

# --- e) resolve, then the same failure again: a regression ----------------------------------

log "e) appwatchctl resolve $PY_ID, then aw-e2e-build@pytool.service fails again"
awctl resolve "$PY_ID" >/dev/null || fail "appwatchctl resolve $PY_ID failed"
[[ $(inc_field status id="$PY_ID") == Resolved ]] ||
        fail "incident #$PY_ID is $(inc_field status id="$PY_ID") after resolve"
fail_unit aw-e2e-build@pytool.service
[[ $(inc_count app=pytool) == 1 ]] || fail "the same failure opened a new incident instead of reopening #$PY_ID"
[[ $(show_field "$PY_ID" status) == New ]] || fail "incident #$PY_ID is $(show_field "$PY_ID" status) after it recurred, expected New"
[[ $(show_field "$PY_ID" regression) == True ]] || fail "incident #$PY_ID is not flagged as a regression"
[[ $(show_field "$PY_ID" regressions) == 1 ]] || fail "incident #$PY_ID counts $(show_field "$PY_ID" regressions) regressions, expected 1"
[[ $(show_field "$PY_ID" count) == 2 ]] || fail "incident #$PY_ID counts $(show_field "$PY_ID" count), expected 2"
wait_for 50 journal_has "MESSAGE_ID=$MID_INCIDENT_REGRESSION" "APPWATCH_INCIDENT=$PY_ID" ||
        fail "no regression record (MESSAGE_ID=$MID_INCIDENT_REGRESSION) for incident #$PY_ID"
wait_for 50 journal_has "MESSAGE_ID=$MID_INCIDENT_STATUS" "APPWATCH_INCIDENT=$PY_ID" "APPWATCH_STATUS=Resolved" ||
        fail "no status record (MESSAGE_ID=$MID_INCIDENT_STATUS) for resolving incident #$PY_ID"
in_ct journalctl --no-pager -q -x -u appwatch.service "MESSAGE_ID=$MID_INCIDENT_REGRESSION" |
        grep -q "Subject: appwatch incident $PY_ID is back" ||
        fail "journalctl -x shows no catalog text for the regression record"

# --- f) the spool, while appwatch is stopped -------------------------------------------------

log "f) appwatch.service and appwatch.socket stopped"
in_ct systemctl stop appwatch.socket appwatch.service || fail "cannot stop appwatch"
for u in appwatch.socket appwatch.service; do
        state=$(in_ct systemctl is-active "$u") || :
        [[ $state == inactive ]] || fail "$u is $state after stop"
done
in_ct test ! -e /run/appwatch/control.sock || fail "the control socket is still there"

# As an unprivileged member of group appwatch, which the spool lets in: the
# daemon takes a spooled file only from an owner /etc/group makes a member.
in_ct_sh "sed -i -E '/^appwatch:/{s/:\$/:nobody/;t;s/\$/,nobody/}' /etc/group" ||
        fail "cannot add nobody to group appwatch"
in_ct_sh "getent group appwatch | grep -q nobody" || fail "nobody is not in group appwatch"
rc=0
out=$(in_ct setpriv --reuid=65534 --regid=65534 --groups=appwatch -- \
        $PREFIX/bin/appwatchctl run --app spooled -- sh -c 'echo "ERROR: offline failure"; exit 2' 2>&1) ||
        rc=$?
[[ $rc == 2 ]] || fail "appwatchctl run exited $rc, expected the command's 2: $out"
grep -q "ERROR: offline failure" <<<"$out" || fail "appwatchctl run did not show the command's output: $out"
grep -q "saved to $SPOOL/" <<<"$out" || fail "appwatchctl run did not say it spooled: $out"
log "appwatchctl run: $(grep 'saved to' <<<"$out")"
# And the OnFailure= report, as user appwatch.
fail_unit aw-e2e-build@offline.service
in_ct journalctl --no-pager -q -o cat -u "$(report_unit aw-e2e-build@offline.service)" |
        grep -q "saved to $SPOOL/" || fail "the OnFailure= report did not spool"
spooled=$(in_ct_sh "cd $SPOOL && stat -c '%U:%G %a %n' -- *")
log "spooled: $(tr '\n' ';' <<<"$spooled")"
[[ $(grep -c '\.json$' <<<"$spooled") == 2 ]] || fail "expected two spooled submissions: $spooled"
grep -q '^nobody:appwatch ' <<<"$spooled" || fail "appwatchctl run's spool file is not nobody:appwatch: $spooled"
grep -q '^appwatch:appwatch ' <<<"$spooled" || fail "the report's spool file is not appwatch:appwatch: $spooled"

log "f) appwatch.socket and appwatch.service started again"
in_ct systemctl start appwatch.socket appwatch.service || fail "cannot start appwatch again"
# The spool is read before READY=1: no waiting.
[[ $(inc_count app=spooled) == 1 ]] || fail "the spooled run is not an incident ($(inc_count app=spooled) of app spooled)"
[[ $(inc_field origin app=spooled) == run ]] || fail "the spooled run has origin $(inc_field origin app=spooled)"
[[ $(inc_field title app=spooled) == "ERROR: offline failure" ]] ||
        fail "the spooled run's incident is '$(inc_field title app=spooled)'"
[[ $(inc_count app=offline origin=unit) == 1 ]] || fail "the spooled OnFailure= report is not an incident"
[[ -z $(in_ct ls -A $SPOOL) ]] || fail "the spool is not empty after the start: $(in_ct ls -A $SPOOL)"

# --- d) the journal records name exactly the High incidents -----------------------------------

log "d) journalctl -u appwatch APPWATCH_SEVERITY=High"
[[ -n $(high_incidents | tr -d ' ') ]] || fail "no High incidents to compare"
wait_for 50 '[[ $(high_journal) == "$(high_incidents)" ]]' ||
        fail "journalctl APPWATCH_SEVERITY=High lists incidents $(high_journal)," \
                "appwatchctl incidents has High ones $(high_incidents)"
log "High incidents: $(high_incidents)(all: $(inc_field id | sort -n | tr '\n' ' '))"
for id in $(high_incidents); do
        journal_has "MESSAGE_ID=$MID_INCIDENT" "APPWATCH_INCIDENT=$id" ||
                fail "no new-incident record (MESSAGE_ID=$MID_INCIDENT) for incident #$id"
done

# --- everything exactly once -------------------------------------------------------------

log "final counts"
[[ $(shop_count) == "$SHOP_WRITES" ]] ||
        soft_fail "the shop incident counts $(shop_count), but the line was written $SHOP_WRITES times"
[[ $(inc_count "title~old news") == 0 ]] || fail "a line written before the first start was counted"
[[ $(inc_field count id="$PY_ID") == 2 ]] || fail "incident #$PY_ID counts $(inc_field count id="$PY_ID"), expected 2"
if ((LISTED)); then
        [[ $(inc_field count app=aw-e2e-listed) == 1 ]] ||
                fail "aw-e2e-listed's incident counts $(inc_field count app=aw-e2e-listed)"
fi
[[ $(inc_field count app=aw-e2e "title~something broke") == 1 ]] ||
        fail "the systemd-cat incident counts $(inc_field count app=aw-e2e "title~something broke")"
# pytool, aw-e2e-listed, aw-e2e (twice: before and after journald restarted), shop, spooled, offline
[[ $(inc_count) == $((6 + LISTED)) ]] ||
        fail "expected $((6 + LISTED)) incidents, found $(inc_count): $(inc_field app | tr '\n' ' ')"
[[ $(in_ct systemctl show -P NRestarts appwatch.service) == 0 ]] || fail "appwatchd restarted (crashed?)"

if ((${#SOFT_FAILURES[@]} > 0)); then
        fail "${#SOFT_FAILURES[@]} check(s) failed above; first: ${SOFT_FAILURES[0]}"
fi
log "PASS"
