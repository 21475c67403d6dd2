#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of delivery under a real systemd (see lib.sh for how the
# container is booted and appwatch installed in it). The loopback fakes of
# Slack and Notion (tests/lib/fakes.py) run as processes on the host; the
# container shares the host's loopback, so appwatchd reaches them there.
# appwatch.service gets its secrets the way an administrator gives them:
# the Slack webhook URL and the Notion token as credentials in
# /etc/credstore (LoadCredential=), the database id in
# /etc/appwatch/appwatch.env (EnvironmentFile=), and [Notion] Endpoint= and
# FingerprintProperty= in a configuration drop-in. Then it checks:
#   a) a unit with OnFailure=appwatch-failure@%n.service fails: the fake
#      Slack accepts one Block Kit message about it, and the fake Notion
#      holds one page whose properties are the incident's; the incident
#      records the page id;
#   b) appwatchctl test-notify --notion inside the container: Slack and
#      Notion answer 200;
#   c) the fake Slack refuses connections (an outage) and another unit
#      fails: appwatchctl outbox lists the Slack row as pending and retried,
#      the status line of systemctl status appwatch shows the backlog, and
#      once Slack is back the message arrives by itself (no outbox retry)
#      and the outbox empties;
#   d) neither the webhook URL nor the Notion token appears in
#      journalctl -u appwatch, appwatchctl outbox or systemctl status.
# Only appwatch's units are judged.
#
# Needs root and systemd-nspawn (exit 77, skipped, otherwise). Environment:
# see lib.sh (APPWATCH_E2E_DESTDIR, APPWATCH_E2E_KEEP, APPWATCH_E2E_HOLD).

set -euo pipefail

MACHINE="aw-delivery-$$"
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


# --- the fakes, on the host ---------------------------------------------------------

slack_count() { fakes_eval 'len(slack["messages"])'; }
page_count() { fakes_eval 'len(pages)'; }

# --- the container ------------------------------------------------------------------

outbox_eval() { # EXPR over `rows` (appwatchctl outbox --json) and `delivery`
        local json
        json=$(awctl outbox --json) || return 1
        python3 -c '
import json, sys
d = json.loads(sys.argv[2])
rows, delivery = d["rows"], d["delivery"]
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (list, dict)) else v)' "$1" "$json"
}

status_line() { # the "Status:" line of systemctl status appwatch.service
        in_ct systemctl --no-pager --full status appwatch.service 2>/dev/null |
                sed -n 's/^ *Status: //p'
}

diagnostics_extra() {
        log "---- appwatchctl outbox"
        awctl outbox 2>&1 || :
        log "---- appwatchctl incidents --json"
        awctl incidents --json 2>&1 | cut -c1-300 || :
        local kind
        for kind in slack notion; do
                log "---- fake $kind: requests (method, path, status, error, fault)"
                fake_ctl "$kind" GET /_fake/requests 2>&1 | python3 -c '
import json, sys
for r in json.load(sys.stdin)[-20:]:
    print(r["method"], r["path"][:30], r["status"], r["error"], r["fault"])' 2>&1 || :
        done
        log "---- journalctl -u aw-e2e-* -u appwatch-failure@*"
        in_ct journalctl --no-pager --full -o short-monotonic -u 'aw-e2e-*' -u 'appwatch-failure@*' \
                2>&1 | tail -n 30 || :
}

e2e_init
e2e_build_install
start_fake slack
start_fake notion
log "fake Slack on port $(cat "$TMP/slack.port"), fake Notion on port $(cat "$TMP/notion.port")"
WEBHOOK=$(fake_info slack webhook_url)
HOOK_TOKEN=${WEBHOOK##*/}
NOTION_URL=$(fake_info notion url)
NOTION_TOKEN=$(fake_info notion token)
NOTION_DB=$(fake_info notion database_id)
[[ -n $HOOK_TOKEN && -n $NOTION_TOKEN && -n $NOTION_DB ]] || fail "the fakes' info files are incomplete"
e2e_boot
e2e_install

# --- the secrets, the systemd way, and the configuration ----------------------------

in_ct_sh "umask 077 && mkdir -p /etc/credstore &&
        printf '%s' '$WEBHOOK' >/etc/credstore/appwatch.slack_webhook_url &&
        printf '%s\n' '$NOTION_TOKEN' >/etc/credstore/appwatch.notion_api_token &&
        printf 'NOTION_DATABASE_ID=%s\n' '$NOTION_DB' >/etc/appwatch/appwatch.env" ||
        fail "cannot write the credentials"
ct_write /etc/appwatch/appwatch.conf.d/50-e2e-delivery.conf <<EOF
[Notion]
Endpoint=$NOTION_URL
FingerprintProperty=Fingerprint
EOF
in_ct $PREFIX/bin/appwatchd --check-config >"$TMP/check-config.log" 2>&1 ||
        { cat "$TMP/check-config.log"; fail "appwatchd --check-config rejects the test configuration"; }

# A Python tool whose dependency is missing: a real traceback.
ct_write /run/aw-e2e/pytool.py <<'EOF'
import sys

sys.path[:] = []  # the module is not installed for this tool
import {MODULE}  # noqa: E402
EOF
ct_write /run/systemd/system/aw-e2e-deliver@.service <<'EOF'
[Unit]
Description=e2e build of %i, which fails
OnFailure=appwatch-failure@%n.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'sed "s/{MODULE}/%i_dep/" /run/aw-e2e/pytool.py >/run/aw-e2e/%i.py && exec /usr/bin/python3 -I /run/aw-e2e/%i.py'
EOF
in_ct systemctl daemon-reload || fail "daemon-reload failed"

log "systemctl enable --now appwatch"
in_ct systemctl enable --now appwatch.service >"$TMP/enable.log" 2>&1 ||
        { cat "$TMP/enable.log"; fail "systemctl enable --now appwatch failed"; }
[[ $(in_ct systemctl is-enabled appwatch.service) == enabled ]] || fail "appwatch.service is not enabled"
[[ $(in_ct systemctl is-active appwatch.service) == active ]] || fail "appwatch.service is not active"
[[ $(in_ct systemctl is-enabled appwatch.socket) == enabled ]] || fail "appwatch.socket is not enabled (Also=)"
# Both sinks configured from the credentials and the environment file.
[[ $(outbox_eval 'delivery["slack"]["state"]') == ok ]] ||
        fail "Slack is not configured from the credential: $(outbox_eval 'delivery["slack"]')"
[[ $(outbox_eval 'delivery["notion"]["state"]') == ok ]] ||
        fail "Notion is not configured: $(outbox_eval 'delivery["notion"]')"

# --- a) a failed unit reaches Slack and Notion ------------------------------------------

log "a) aw-e2e-deliver@shop.service fails"
fail_unit aw-e2e-deliver@shop.service
[[ $(inc_field id app=shop | wc -l) == 1 ]] || fail "expected one incident of app shop: $(awctl incidents 2>&1)"
ID=$(inc_field id app=shop)
SEVERITY=$(inc_field severity app=shop)
TITLE=$(show_field "$ID" title)
FINGERPRINT=$(show_field "$ID" fingerprint)
log "incident #$ID: $SEVERITY: $TITLE"
wait_for 300 '[[ $(slack_count) -ge 1 && $(page_count) -ge 1 ]]' ||
        fail "no Slack message and Notion page after 30 s: $(slack_count) message(s), $(page_count) page(s)"
# Every POST the webhook got was accepted, and the one message is about it.
[[ $(fakes_eval '[r["status"] for r in sreqs if r["method"] == "POST"]') == "[200]" ]] ||
        fail "Slack answered $(fakes_eval '[(r["status"], r["error"]) for r in sreqs]')"
fakes_eval 'slack["messages"][0]' >"$TMP/message.json"
python3 - "$TMP/message.json" "$TITLE" <<'EOF' || fail "the Slack message is not the incident's: $(cat "$TMP/message.json")"
import json, sys
m = json.load(open(sys.argv[1]))
blocks, title = m.get("blocks"), sys.argv[2]
assert isinstance(blocks, list) and blocks, "no blocks"
assert blocks[0]["type"] == "header", "the first block is %s" % blocks[0]["type"]
assert m.get("text"), "no text fallback"
s = json.dumps(m, ensure_ascii=False)
for want in ("shop", "No module named 'shop_dep'", "🟠"):
    assert want in s, "%r not in the message" % want
EOF
[[ $(page_count) == 1 ]] || fail "$(page_count) Notion pages for one incident"
PAGE_ID=$(fakes_eval 'pages[0]["id"]')
fakes_eval 'props(pages[0])' >"$TMP/page.json"
python3 - "$TMP/page.json" "$TITLE" "$SEVERITY" "$FINGERPRINT" "$(fakes_eval 'notion["data_source_id"]')" \
        "$(fakes_eval 'pages[0]["parent"]')" <<'EOF' || fail "the Notion page is wrong: $(cat "$TMP/page.json")"
import json, sys
p = json.load(open(sys.argv[1]))
title, severity, fp, ds, parent = sys.argv[2:7]
assert p["제목"] == title, p["제목"]
assert p["앱"] == "shop", p["앱"]
assert p["심각도"] == severity, p["심각도"]
assert p["상태"] == "New", p["상태"]
assert p["타입"], "no 타입"
assert p["발생시간"], "no 발생시간"
assert isinstance(p["자동수정가능"], bool)
assert p["Fingerprint"].startswith(fp + " shop@"), p["Fingerprint"]
assert json.loads(parent).get("data_source_id", "").replace("-", "") == ds.replace("-", ""), parent
EOF
wait_for 100 '[[ $(show_field "$ID" notion_page_id | tr -d -) == "$(tr -d - <<<"$PAGE_ID")" ]]' ||
        fail "incident #$ID records page '$(show_field "$ID" notion_page_id)', the fake made $PAGE_ID"
wait_for 100 '[[ $(outbox_eval "len(rows)") == 0 ]]' || fail "the outbox is not empty: $(awctl outbox)"

# --- b) test-notify ------------------------------------------------------------------------

log "b) appwatchctl test-notify --notion"
out=$(awctl test-notify --notion 2>&1) || fail "appwatchctl test-notify --notion failed: $out"
[[ $out != *"$HOOK_TOKEN"* && $out != *"$NOTION_TOKEN"* ]] || fail "test-notify prints a secret"
[[ $(grep -c "HTTP status: 200" <<<"$out") == 2 ]] || fail "test-notify did not report two 200s: $out"
[[ $(slack_count) == 2 ]] || fail "test-notify: the fake Slack holds $(slack_count) messages, expected 2"
fakes_eval 'json.dumps(slack["messages"][1], ensure_ascii=False)' | grep -q "Slack 연동 테스트" ||
        fail "the second Slack message is not the test alert"
[[ $(fakes_eval 'sorted(props(p)["앱"] for p in pages)') == '["Test", "shop"]' ]] ||
        fail "after test-notify the pages are $(fakes_eval '[props(p)["앱"] for p in pages]')"

# --- c) Slack down, then back ------------------------------------------------------------

log "c) the fake Slack refuses connections; aw-e2e-deliver@cart.service fails"
fake_ctl slack POST /_fake/outage '{"mode":"refuse"}' >/dev/null || fail "cannot start the Slack outage"
fail_unit aw-e2e-deliver@cart.service
CART=$(inc_field id app=cart)
[[ -n $CART ]] || fail "no incident of app cart"
# Notion is up: its page is made; the Slack row waits and is retried.
wait_for 300 '[[ $(fakes_eval "sorted(props(p)[\"앱\"] for p in pages)") == "[\"Test\", \"cart\", \"shop\"]" ]]' ||
        fail "the cart incident's Notion page was not made while Slack was down"
# shellcheck disable=SC2034 # read by wait_for's eval
SLACK_ROW_RETRIED="[[\"slack\", \"pending\", \"$CART\", true]]"
wait_for 300 '[[ $(outbox_eval "[(r[\"sink\"], r[\"state\"], r[\"incident\"], r[\"attempts\"] >= 2) for r in rows]") == "$SLACK_ROW_RETRIED" ]]' ||
        fail "appwatchctl outbox does not show the Slack row pending and retried: $(outbox_eval rows)"
out=$(awctl outbox) || fail "appwatchctl outbox failed"
log "appwatchctl outbox: $(tr '\n' '|' <<<"$out")"
grep -Eq "^[0-9]+ +slack +pending +$CART +new " <<<"$out" || fail "appwatchctl outbox does not list the row: $out"
grep -q "^Slack: retrying" <<<"$out" || fail "appwatchctl outbox does not say Slack is retrying: $out"
wait_for 100 '[[ $(status_line) == *", outbox 1 pending (oldest "* ]]' ||
        fail "the status line does not show the backlog: '$(status_line)'"
log "status line during the outage: $(status_line)"
[[ $(slack_count) == 2 ]] || fail "a message reached Slack during the outage"

log "c) the fake Slack is back"
fake_ctl slack DELETE /_fake/outage >/dev/null || fail "cannot end the Slack outage"
# No appwatchctl outbox retry: the backoff brings it (at most about 30 s
# after an outage this short).
wait_for 600 '[[ $(slack_count) == 3 ]]' ||
        fail "the cart message did not arrive within 60 s after Slack came back: $(awctl outbox)"
fakes_eval 'json.dumps(slack["messages"][2], ensure_ascii=False)' | grep -q "No module named 'cart_dep'" ||
        fail "the message after the outage is not about cart"
wait_for 100 '[[ $(outbox_eval "len(rows)") == 0 ]]' || fail "the outbox is not empty: $(awctl outbox)"
wait_for 100 '[[ $(status_line) != *outbox* ]]' ||
        fail "the status line still shows a backlog: '$(status_line)'"
[[ $(page_count) == 3 ]] || fail "$(page_count) Notion pages, expected 3 (shop, Test, cart)"

# --- d) no secret where people look ------------------------------------------------------

log "d) no secret in journalctl -u appwatch, appwatchctl outbox or systemctl status"
for what in "journalctl -u appwatch" "appwatchctl outbox" "appwatchctl status" "systemctl status"; do
        case $what in
        journalctl*) text=$(in_ct journalctl --no-pager -o verbose -u appwatch.service -u appwatch.socket \
                -u 'appwatch-failure@*' 2>&1) ;;
        "appwatchctl outbox") text=$(awctl outbox --json 2>&1) ;;
        "appwatchctl status") text=$(awctl status --json 2>&1) ;;
        *) text=$(in_ct systemctl --no-pager --full status appwatch.service 2>&1) ;;
        esac
        [[ -n $text ]] || fail "$what printed nothing"
        for secret in "$HOOK_TOKEN" "$NOTION_TOKEN"; do
                [[ $text != *"$secret"* ]] || fail "$what shows a secret (${secret:0:4}…)"
        done
done
# Nor did a secret leave as anything but its own header or URL.
[[ $(fake_ctl notion GET /_fake/requests | grep -c "$HOOK_TOKEN") == 0 ]] ||
        fail "the Slack webhook token was sent to Notion"

[[ $(in_ct systemctl is-active appwatch.service) == active ]] || fail "appwatch.service is not active"
[[ $(in_ct systemctl show -P NRestarts appwatch.service) == 0 ]] || fail "appwatchd restarted (crashed?)"
failed=$(in_ct systemctl list-units --failed --plain --no-legend --full 'appwatch*' | sed 's/ .*//' | paste -sd ' ')
[[ -z $failed ]] || fail "appwatch's units failed: $failed"
log "PASS"
