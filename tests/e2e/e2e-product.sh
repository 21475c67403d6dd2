#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The whole product under a real systemd, as a user runs it (issue 11, item
# 7; see lib.sh for how the container is booted and appwatch installed).
# The fake Slack, Notion and (in mode "ai") Gemini run on the host's
# loopback; the secrets are systemd credentials and appwatch.env. After
# `systemctl enable --now appwatch`:
#   a) the three timers are listed by systemctl list-timers;
#   b) scenario 1 of the users' guide twice, with the fake flutter: a build
#      wrapped by `appwatchctl run` (app fl1), and a build unit with
#      OnFailure=appwatch-failure@%n.service (app fl2, verified with its
#      BuildCommand=): incident → analysis (the fake Gemini, or offline) →
#      flutter clean && flutter pub get as a transient unit as the app's
#      user → verification → Resolved;
#   c) a Python tool in a real venv misses a module: pip installs it from a
#      local wheel directory as the app's user, the script passes, Resolved;
#   d) Slack gets a message per incident and "자동 수정 완료" per fix, and
#      Notion holds one page per incident whose 상태 is Resolved;
#   e) systemctl start appwatch-check.service and appwatch-health.service
#      succeed; with an invalid Gemini key (mode "ai") the health check makes
#      one High incident "API 키 확인 필요", however often it runs;
#   f) systemctl start appwatch-report.service sends the daily report, whose
#      numbers are those of appwatchctl incidents;
#   g) journalctl -u appwatch APPWATCH_SEVERITY=High lists exactly the High
#      incidents.
# Mode "offline" runs the same with no AI key (the offline analyzer) and the
# fake Slack refusing connections for the whole run: nothing is lost, every
# message arrives once Slack is back, by itself.
# Only appwatch's units are judged.
#
# Usage: e2e-product.sh ai|offline. Needs root and systemd-nspawn (exit
# 77, skipped, otherwise). Environment: see lib.sh.

set -euo pipefail

MODE=${1:-ai}
[[ $MODE == ai || $MODE == offline ]] || { echo "usage: $0 ai|offline" >&2; exit 2; }
MACHINE="aw-product-$MODE-$$"
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APPS="fl1 fl2 pyapp"

status_of() { inc_field status app="$1"; }

resolved_all() {
        local app
        for app in $APPS; do
                [[ $(status_of "$app") == Resolved ]] || return 1
        done
}

diagnostics_extra() {
        local id kind
        log "---- appwatchctl incidents"
        awctl incidents 2>&1 | head -n 30 || :
        for id in $(inc_field id 2>/dev/null); do
                log "---- appwatchctl show $id"
                awctl show "$id" 2>&1 | tail -n 40 || :
        done
        if [[ -s $TMP/slack.json ]]; then
                log "---- fake slack: the messages' headers"
                fakes_eval '[m["blocks"][0]["text"]["text"] if m.get("blocks") else m.get("text", "")[:80] for m in slack["messages"]]' 2>&1 || :
        fi
        log "---- appwatchctl outbox"
        awctl outbox 2>&1 | tail -n 30 || :
        for kind in slack notion gemini; do
                [[ -s $TMP/$kind.json ]] || continue
                log "---- fake $kind: requests (method, path, status, error)"
                fake_ctl "$kind" GET /_fake/requests 2>&1 | python3 -c '
import json, sys
for r in json.load(sys.stdin)[-15:]:
    print(r["method"], r["path"][:40], r["status"], r["error"])' 2>&1 || :
        done
        log "---- journalctl -u appwatch-fix-* -u aw-build@* -u appwatch-failure@* -u appwatch-*.service"
        in_ct journalctl --no-pager --full -o short-monotonic -u 'appwatch-fix-*' -u 'aw-build@*' \
                -u 'appwatch-failure@*' -u appwatch-check.service -u appwatch-health.service \
                -u appwatch-report.service 2>&1 | tail -n 60 || :
}

e2e_init
e2e_build_install
start_fake slack
start_fake notion
[[ $MODE == ai ]] && start_fake gemini
WEBHOOK=$(fake_info slack webhook_url)
NOTION_URL=$(fake_info notion url)
NOTION_TOKEN=$(fake_info notion token)
NOTION_DB=$(fake_info notion database_id)
if [[ $MODE == offline ]]; then
        # Down before appwatch starts, and until the end.
        fake_ctl slack POST /_fake/outage '{"mode":"refuse"}' >/dev/null || fail "cannot take Slack down"
        log "the fake Slack refuses connections"
fi
e2e_boot
e2e_install
e2e_app_setup

# --- the secrets, the configuration, the apps ----------------------------------------

in_ct_sh "umask 077 && mkdir -p /etc/credstore &&
        printf '%s' '$WEBHOOK' >/etc/credstore/appwatch.slack_webhook_url &&
        printf '%s\n' '$NOTION_TOKEN' >/etc/credstore/appwatch.notion_api_token &&
        printf 'NOTION_DATABASE_ID=%s\n' '$NOTION_DB' >/etc/appwatch/appwatch.env" ||
        fail "cannot write the credentials"
# [Slack] Endpoint=: the webhook is on loopback, which the health check
# accepts only when it is set (a real one is https://hooks.slack.com/...).
conf="[Slack]
Endpoint=$WEBHOOK

[Notion]
Endpoint=$NOTION_URL
FingerprintProperty=Fingerprint

[Fix]
TimeoutSec=2min

$(e2e_pyapp_section)
"
if [[ $MODE == ai ]]; then
        in_ct_sh "umask 077 && printf '%s' '$(fake_info gemini api_key)' >/etc/credstore/appwatch.gemini_api_key" ||
                fail "cannot write the Gemini key"
        conf+="
[Gemini]
Endpoint=$(fake_info gemini url)
"
        # What the model answers, per failure (the prompt contains the excerpt).
        fake_ctl gemini POST /_fake/gemini/rules '{"rules": [
            {"contains": "FAKE-FLUTTER", "answer": {"json": {"category": "flutter_build_cache",
             "cause": "The build cache is stale after a dependency change.",
             "fix_summary": "flutter clean, then flutter pub get.", "fix_id": "flutter_clean_pub_get",
             "confidence": 0.9, "details": "Rebuild from a clean tree."}}},
            {"contains": "awdemo", "answer": {"json": {"category": "python_missing_package",
             "cause": "The module awdemo is not installed in the venv.",
             "fix_summary": "pip install awdemo.", "fix_id": "pip_install",
             "confidence": 0.9, "details": "Install it into the app interpreter."}}}]}' >/dev/null ||
                fail "cannot script the fake Gemini"
fi
for app in fl1 fl2; do
        in_ct_sh "mkdir -p /srv/flutter-$app && chown $APPUSER: /srv/flutter-$app"
        conf+="
[App.$app]
Directory=/srv/flutter-$app
Kind=flutter
User=$APPUSER
Flutter=/srv/tools/flutter
BuildCommand=/srv/tools/flutter build apk
AutoFix=yes
"
done
ct_write /etc/appwatch/appwatch.conf.d/50-e2e-product.conf <<<"$conf"
e2e_fake_flutter_rules
# fl2's build is a unit that reports its own failure.
ct_write /etc/systemd/system/aw-build@.service <<EOF
[Unit]
Description=e2e: the Flutter build of %i
OnFailure=appwatch-failure@%n.service

[Service]
Type=oneshot
User=$APPUSER
WorkingDirectory=/srv/flutter-%i
ExecStart=/srv/tools/flutter build apk
EOF
in_ct systemctl daemon-reload || fail "daemon-reload failed"
in_ct $PREFIX/bin/appwatchd --check-config >"$TMP/check-config.log" 2>&1 ||
        { cat "$TMP/check-config.log"; fail "appwatchd --check-config rejects the test configuration"; }

log "systemctl enable --now appwatch"
in_ct systemctl enable --now appwatch.service >"$TMP/enable.log" 2>&1 ||
        { cat "$TMP/enable.log"; fail "systemctl enable --now appwatch failed"; }

# --- a) the timers ----------------------------------------------------------------------

timers=$(in_ct systemctl list-timers --all --no-legend --plain 'appwatch-*')
for t in appwatch-report.timer appwatch-check.timer appwatch-health.timer; do
        grep -q "$t" <<<"$timers" || fail "systemctl list-timers does not show $t: $timers"
        [[ $(in_ct systemctl is-active "$t") == active ]] || fail "$t is not active"
done

# --- b), c) three failures, three fixes ------------------------------------------------

log "b) fl1: flutter build apk under appwatchctl run, as $APPUSER"
if run_as_app fl1 /srv/flutter-fl1 /srv/tools/flutter build apk >"$TMP/fl1.log" 2>&1; then
        fail "the fl1 build did not fail"
fi
log "b) fl2: aw-build@fl2.service fails (OnFailure=appwatch-failure@%n.service)"
fail_unit aw-build@fl2.service
log "c) pyapp: a script in a venv misses a module"
if run_as_app pyapp /srv/pyapp /srv/pyapp/venv/bin/python main.py >"$TMP/py.log" 2>&1; then
        fail "main.py did not fail"
fi
wait_for 900 resolved_all ||
        fail "not all Resolved: fl1 '$(status_of fl1)', fl2 '$(status_of fl2)', pyapp '$(status_of pyapp)'"
want_source=offline
[[ $MODE == ai ]] && want_source=gemini
for app in $APPS; do
        id=$(inc_field id app="$app")
        [[ $(show_eval "$id" 'i["analysis_source"]') == "$want_source" ]] ||
                fail "$app's analysis is $(show_eval "$id" 'i["analysis_source"]'), not $want_source" \
                        "($(show_eval "$id" 'i["analysis_note"]'))"
        [[ $(show_eval "$id" 'a["state"]') == resolved ]] || fail "$app's attempt is $(show_eval "$id" 'a["state"]')"
        unit=$(show_eval "$id" 'a["unit"]')
        [[ $unit == appwatch-fix-$app-* ]] || fail "$app's fix ran as '$unit'"
done
# As the app's user, in its directory: what the fake flutter recorded of
# each fix step, and who owns what pip installed.
in_ct /usr/bin/python3 - "$APPUID" <<'EOF' || fail "a fix step did not run as $APPUSER in its app's directory"
import json, sys
steps = [json.loads(l) for l in open("/srv/tools/fake-tools.log") if l.strip()]
steps = [s for s in steps if s["argv"] in (["clean"], ["pub", "get"])]
assert len(steps) == 4, steps
for s in steps:
    assert s["uid"] == int(sys.argv[1]) and s["cwd"].startswith("/srv/flutter-fl"), s
EOF
owner=$(in_ct_sh "stat -c %U /srv/pyapp/venv/lib/python3*/site-packages/awdemo/__init__.py")
[[ $owner == "$APPUSER" ]] || fail "what pip installed belongs to '$owner'"
[[ $(show_eval "$(inc_field id app=fl2)" 'i["origin"]') == unit ]] || fail "fl2's incident is not from its unit"
[[ $(show_eval "$(inc_field id app=pyapp)" 'a["command_line"]') == "/srv/pyapp/venv/bin/python -m pip install awdemo" ]] ||
        fail "pyapp's fix ran $(show_eval "$(inc_field id app=pyapp)" 'a["command_line"]')"
run_as_app pyapp /srv/pyapp /srv/pyapp/venv/bin/python main.py >"$TMP/py2.log" 2>&1 ||
        fail "main.py still fails after the fix: $(cat "$TMP/py2.log")"
if [[ $MODE == ai ]]; then
        # One call per distinct failure: fl1 and fl2 fail alike (one
        # fingerprint), so the second is answered from the cache.
        calls=$(fakes_eval 'len(gemini["calls"])')
        distinct=$(inc_field fingerprint | sort -u | wc -l)
        [[ $calls == "$distinct" ]] || fail "the fake Gemini had $calls calls for $distinct distinct failures"
fi
[[ $(status_json fixes.runner) == units && $(status_json fixes.resolved) == 3 ]] ||
        fail "appwatchctl status: fixes $(awctl status --json | json_get fixes)"
log "three incidents Resolved by fixes ($want_source analysis)"

# --- e) the status and health checks ---------------------------------------------------

if [[ $MODE == ai ]]; then
        fake_ctl gemini POST /_fake/gemini/key_state '{"state":"invalid"}' >/dev/null
fi
for svc in appwatch-check.service appwatch-health.service appwatch-health.service; do
        in_ct systemctl start "$svc" || fail "$svc failed: $(in_ct journalctl --no-pager -q -o cat -u "$svc" | tail -n 5)"
        [[ $(in_ct systemctl show -P Result "$svc") == success ]] || fail "$svc: $(in_ct systemctl show -P Result "$svc")"
done
if [[ $MODE == ai ]]; then
        [[ $(inc_count app=appwatch "title~API 키 확인 필요") == 1 ]] ||
                fail "an invalid key is $(inc_count app=appwatch "title~API 키 확인 필요") incidents: $(awctl incidents 2>&1)"
        [[ $(inc_field severity app=appwatch "title~API 키 확인 필요") == High ]] || fail "the key incident is not High"
        [[ $(inc_field count app=appwatch "title~API 키 확인 필요") == 2 ]] ||
                fail "the key incident counts $(inc_field count app=appwatch "title~API 키 확인 필요"), not 2"
fi

# --- f) the daily report ------------------------------------------------------------------

in_ct systemctl start appwatch-report.service || fail "appwatch-report.service failed"
report_row() { # the recorded report, as JSON: its window and numbers
        in_ct /usr/bin/python3 -c '
import json, sqlite3
db = sqlite3.connect("file:/var/lib/appwatch/appwatch.db?mode=ro", uri=True)
row = db.execute("SELECT window_start, window_end, body FROM reports ORDER BY id DESC LIMIT 1").fetchone()
print(json.dumps({"start": row[0], "end": row[1], "body": row[2]}))'
}
report=$(report_row) || fail "no report recorded"
# appwatchctl incidents counts what was last seen in the same window.
python3 - "$report" "$(awctl incidents --json)" <<'EOF' || fail "the report's numbers are not appwatchctl incidents'"
import json, re, sys
rep = json.loads(sys.argv[1])
incs = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
window = [i for i in incs if rep["start"] <= i["last_seen"] < rep["end"]]
assert window, "no incident in the report's window"
body = rep["body"]
total = int(re.search(r"총 오류: (\d+)", body).group(1))
fixed = int(re.search(r"자동 수정: (\d+)", body).group(1))
manual = int(re.search(r"수동 필요: (\d+)", body).group(1))
assert total == len(window), (total, len(window), body)
assert fixed == sum(i["status"] == "Resolved" and i["app"] != "appwatch" for i in window), (fixed, body)
assert manual == sum(i["status"] == "Manual Required" for i in window), (manual, body)
for sev in ("Low", "Medium", "High", "Critical"):
    m = re.search(r"%s: (\d+)" % sev, body)
    n = sum(i["severity"] == sev for i in window)
    assert (int(m.group(1)) if m else 0) == n, (sev, n, body)
EOF
log "f) the report's numbers are appwatchctl incidents': $(json_get body <<<"$report" | grep -o '총 오류: [0-9]*')"

# --- g) the High incidents in the journal -----------------------------------------------

if [[ -n $(high_incidents | tr -d ' ') ]]; then
        wait_for 50 '[[ $(high_journal) == "$(high_incidents)" ]]' ||
                fail "journalctl APPWATCH_SEVERITY=High lists incidents $(high_journal)," \
                        "appwatchctl incidents has High ones $(high_incidents)"
elif [[ $MODE == ai ]]; then
        fail "no High incident (the invalid key should be one)"
fi

# --- d) Slack and Notion --------------------------------------------------------------

if [[ $MODE == offline ]]; then
        [[ $(fakes_eval 'len(slack["messages"])') == 0 ]] || fail "Slack got messages while it was down"
        pending=$(awctl outbox --json | python3 -c '
import json, sys
print(sum(r["sink"] == "slack" for r in json.load(sys.stdin)["rows"]))')
        ((pending > 0)) || fail "nothing waits for Slack in the outbox"
        log "d) $pending Slack rows wait; Slack comes back"
        fake_ctl slack DELETE /_fake/outage >/dev/null
fi
slack_done() { # every Slack row of the outbox delivered
        awctl outbox --json | python3 -c '
import json, sys
sys.exit(any(r["sink"] == "slack" for r in json.load(sys.stdin)["rows"]))'
}
wait_for 2400 slack_done || fail "the outbox still holds Slack rows: $(awctl outbox 2>&1 | tail -n 5)"
for app in $APPS; do
        wait_for 100 "[[ \$(fakes_eval 'sum(\"$app\" in t and \"자동 수정 완료\" in t for t in texts)') -ge 1 ]]" ||
                fail "no 자동 수정 완료 message for $app"
done
[[ $(fakes_eval 'sum("일일 리포트" in t for t in texts)') == 1 ]] || fail "the daily report did not reach Slack once"
if [[ $MODE == ai ]]; then
        [[ $(fakes_eval 'sum("API 키 확인 필요" in t for t in texts)') -ge 1 ]] || fail "no Slack alert for the key"
fi
wait_for 300 "[[ \$(fakes_eval 'sorted(props(p)[\"앱\"] for p in pages if props(p)[\"상태\"] == \"Resolved\")') == *fl1*fl2*pyapp* ]]" ||
        fail "Notion pages: $(fakes_eval '[(props(p)["앱"], props(p)["상태"]) for p in pages]')"
for app in $APPS; do
        [[ $(fakes_eval "sum(props(p)[\"앱\"] == \"$app\" for p in pages)") == 1 ]] ||
                fail "$(fakes_eval "sum(props(p)[\"앱\"] == \"$app\" for p in pages)") Notion pages for $app"
done
log "d) Slack: $(fakes_eval 'len(slack["messages"])') messages; Notion: $(fakes_eval 'len(pages)') pages"

# --- nothing of ours failed --------------------------------------------------------------

[[ $(in_ct systemctl is-active appwatch.service) == active ]] || fail "appwatch.service is not active"
[[ $(in_ct systemctl show -P NRestarts appwatch.service) == 0 ]] || fail "appwatchd restarted (crashed?)"
failed=$(in_ct systemctl list-units --failed --plain --no-legend --full 'appwatch*' | sed 's/ .*//' | paste -sd ' ')
[[ -z $failed ]] || fail "appwatch's units failed: $failed"
log "PASS ($MODE)"
