#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of the schedules under a real systemd (see lib.sh for how
# the container is booted and appwatch installed in it), with the loopback
# fake Slack on the host (the container shares its loopback):
#   a) systemctl enable --now appwatch enables and starts the three timers
#      (appwatch.service's Also=), and systemctl list-timers shows them with
#      a next elapse;
#   b) systemctl start appwatch-report.service (what the timer starts)
#      succeeds: the oneshot, sandboxed as the appwatch user, asks appwatchd
#      through the control socket, and the fake Slack receives the daily
#      report; a second start sends a second report that covers only the
#      time since the first;
#   c) appwatchd stopped and the socket left alone: the report service
#      starts it through socket activation (and, once appwatchctl has the
#      check and health verbs, their services run too);
#   d) appwatch.service made to fail for good (a configuration appwatchd
#      refuses, and StartLimitBurst=2 in a drop-in): its OnFailure=
#      appwatch-down.service posts exactly one "appwatch is down on HOST"
#      message, with appwatch.service's last lines.
# Only appwatch's units are judged.
#
# Needs root and systemd-nspawn (exit 77, skipped, otherwise). Environment:
# see lib.sh.

set -euo pipefail

MACHINE="aw-timers-$$"
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FAKES="${MESON_SOURCE_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}/tests/lib/fakes.py"
SLACK_PID=

start_slack() {
        python3 "$FAKES" slack --port-file "$TMP/slack.port" --info-file "$TMP/slack.json" \
                --log "$TMP/slack.requests" >"$TMP/slack.out" 2>&1 &
        SLACK_PID=$!
        wait_for 100 '[[ -s $TMP/slack.port ]]' ||
                fail "fake slack did not start: $(cat "$TMP/slack.out")"
}

stop_slack() {
        if [[ -n $SLACK_PID ]]; then
                kill -TERM "$SLACK_PID" 2>/dev/null && wait "$SLACK_PID" 2>/dev/null
        fi
        SLACK_PID=
}

# Prints an expression over the fake Slack's messages (python; `texts` is
# each message's fallback text and blocks as one string).
slack_eval() {
        local s
        s=$(python3 "$FAKES" ctl --info-file "$TMP/slack.json" GET /_fake/state) || return 1
        python3 -c '
import json, sys
msgs = json.loads(sys.argv[2])["messages"]
texts = [m.get("text", "") + json.dumps(m.get("blocks", []), ensure_ascii=False) for m in msgs]
v = eval(sys.argv[1])
print(json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v)' "$1" "$s"
}

reports() { slack_eval 'sum("daily report" in t for t in texts)'; }
downs() { slack_eval 'sum("appwatch is down on" in t for t in texts)'; }

diagnostics_extra() {
        log "---- systemctl list-timers --all"
        in_ct systemctl --no-pager list-timers --all 2>&1 || :
        log "---- journalctl -u appwatch-report -u appwatch-down"
        in_ct journalctl --no-pager --full -o short-monotonic -u appwatch-report.service \
                -u appwatch-down.service 2>&1 | tail -n 40 || :
        log "---- fake Slack messages"
        slack_eval 'texts' 2>&1 | cut -c1-2000 || :
}

e2e_init
trap 'rc=$?; set +e; stop_slack; (exit $rc); e2e_cleanup' EXIT
e2e_build_install
for u in appwatch-report.service appwatch-report.timer appwatch-check.service appwatch-check.timer \
         appwatch-health.service appwatch-health.timer appwatch-down.service; do
        [[ -e $DEST$PREFIX/lib/systemd/system/$u ]] || fail "not installed: $u"
done
start_slack
WEBHOOK=$(json_get webhook_url <"$TMP/slack.json")
e2e_boot
e2e_install
HOST=$(in_ct hostname)

in_ct_sh "umask 077 && mkdir -p /etc/credstore &&
        printf '%s' '$WEBHOOK' >/etc/credstore/appwatch.slack_webhook_url" ||
        fail "cannot write the credential"
ct_write /etc/appwatch/appwatch.conf.d/50-e2e-timers.conf <<'EOF2'
[Service]
Language=en
[Journal]
Enabled=no
EOF2

# --- a) enable --now brings the timers up ----------------------------------------------

log "systemctl enable --now appwatch"
in_ct systemctl enable --now appwatch.service >"$TMP/enable.log" 2>&1 ||
        { cat "$TMP/enable.log"; fail "systemctl enable --now appwatch failed"; }
for t in report check health; do
        [[ $(in_ct systemctl is-enabled "appwatch-$t.timer") == enabled ]] ||
                fail "appwatch-$t.timer is not enabled by systemctl enable appwatch"
        [[ $(in_ct systemctl is-active "appwatch-$t.timer") == active ]] ||
                fail "appwatch-$t.timer is not active after systemctl enable --now appwatch"
done
timers=$(in_ct systemctl --no-pager list-timers --all --no-legend --full)
for t in report check health; do
        grep -q "appwatch-$t.timer *appwatch-$t.service" <<<"$timers" ||
                { printf '%s\n' "$timers"; fail "list-timers does not show appwatch-$t.timer"; }
done
[[ $(in_ct systemctl show -P Persistent appwatch-report.timer) == yes ]] ||
        fail "appwatch-report.timer is not Persistent="
in_ct systemctl show -P TimersCalendar appwatch-report.timer | grep -q 'OnCalendar=\*-\*-\* 09:00:00' ||
        fail "appwatch-report.timer does not run at 09:00: $(in_ct systemctl show -P TimersCalendar appwatch-report.timer)"
log "the three timers are up: $(grep -c appwatch- <<<"$timers") listed"

# --- b) the report service sends the report --------------------------------------------

wait_for 100 'awctl ping' || fail "appwatchd does not answer"
log "systemctl start appwatch-report.service"
in_ct systemctl start appwatch-report.service ||
        fail "appwatch-report.service failed: $(in_ct journalctl --no-pager -q -o cat -u appwatch-report.service)"
[[ $(in_ct systemctl show -P Result appwatch-report.service) == success ]] ||
        fail "appwatch-report.service: Result=$(in_ct systemctl show -P Result appwatch-report.service)"
wait_for 200 '[[ $(reports) == 1 ]]' || fail "the fake Slack did not receive the report (has $(reports))"
slack_eval '[t for t in texts if "daily report" in t][0]' | grep -q 'Total errors: 0' ||
        fail "the report does not say 'Total errors: 0'"
log "the report arrived in Slack"
in_ct systemctl start appwatch-report.service || fail "the second report failed"
wait_for 200 '[[ $(reports) == 2 ]]' || fail "the second report did not arrive"
slack_eval '[t for t in texts if "daily report" in t][1]' | grep -q 'first report' &&
        fail "the second report covers the last 24 hours again, not the time since the first"

# The status check and the health check: their services run once the verbs
# exist (another part of issue 11); until then there is nothing to run.
for t in check health; do
        if ! awctl "$t" --help >/dev/null 2>&1; then
                log "appwatchctl has no '$t' verb yet: appwatch-$t.service not started"
                continue
        fi
        in_ct systemctl start "appwatch-$t.service" ||
                fail "appwatch-$t.service failed: $(in_ct journalctl --no-pager -q -o cat -u "appwatch-$t.service")"
        log "appwatch-$t.service ran: $(in_ct systemctl show -P Result "appwatch-$t.service")"
done

# --- c) socket activation ------------------------------------------------------------------

in_ct systemctl stop appwatch.service
[[ $(in_ct systemctl is-active appwatch.service) != active ]] || fail "appwatch.service did not stop"
in_ct systemctl start appwatch-report.service || fail "the report did not start appwatchd through its socket"
[[ $(in_ct systemctl is-active appwatch.service) == active ]] ||
        fail "appwatch.service was not socket-activated by the report"
wait_for 200 '[[ $(reports) == 3 ]]' || fail "the third report did not arrive"
log "socket activation: the report started appwatchd"

# --- d) appwatch fails for good: one message, without it ---------------------------------

[[ $(downs) == 0 ]] || fail "an 'appwatch is down' message before anything failed"
ct_write /etc/systemd/system/appwatch.service.d/50-e2e-start-limit.conf <<'EOF2'
[Unit]
StartLimitIntervalSec=60s
StartLimitBurst=2
[Service]
RestartSec=200ms
EOF2
# A value appwatchd refuses: it exits at start, every time.
ct_write /etc/appwatch/appwatch.conf.d/90-e2e-broken.conf <<'EOF2'
[Slack]
MinSeverity=Loud
EOF2
in_ct systemctl daemon-reload
log "restarting appwatch with a configuration it refuses"
in_ct systemctl restart appwatch.service 2>/dev/null && fail "appwatch.service started with a broken configuration"
# systemd 252 keeps Result=exit-code on the service; the start limit shows
# in its log and on the socket it stops.
wait_for 300 '[[ $(in_ct systemctl show -P ActiveState appwatch.service) == failed ]] &&
        in_ct journalctl --no-pager -q -o cat -u appwatch.service | grep -q "Start request repeated too quickly"' ||
        fail "appwatch.service did not hit its start limit: $(in_ct systemctl show -P ActiveState,Result appwatch.service)"
wait_for 300 '[[ $(downs) -ge 1 ]]' ||
        fail "no 'appwatch is down' message: $(in_ct journalctl --no-pager -q -o cat -u appwatch-down.service)"
sleep 3
[[ $(downs) == 1 ]] || fail "$(downs) 'appwatch is down' messages, expected exactly one"
slack_eval '[t for t in texts if "appwatch is down on" in t][0]' >"$TMP/down.txt"
grep -q "appwatch is down on $HOST" "$TMP/down.txt" || fail "the message does not name the host $HOST: $(cat "$TMP/down.txt")"
grep -q "Loud" "$TMP/down.txt" || fail "the message does not carry appwatch.service's last lines: $(cat "$TMP/down.txt")"
[[ $(in_ct systemctl show -P Result appwatch-down.service) == success ]] ||
        fail "appwatch-down.service: Result=$(in_ct systemctl show -P Result appwatch-down.service)"
grep -q "${WEBHOOK##*/}" "$TMP/down.txt" && fail "the webhook URL is in the message"
log "appwatch-down.service sent one message: $(cut -c1-120 "$TMP/down.txt")"
log "PASS"
