#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of the installed units under a real systemd: boots the
# host's /usr in a throw-away systemd-nspawn container (--volatile=yes: / and
# /etc are a tmpfs, /usr is the host's, read-only), installs appwatch there
# the way a package would (units, sysusers.d, tmpfiles.d, catalog, config)
# and drives it with systemctl, journalctl and appwatchctl through nsenter.
#
# appwatch is built a second time with --prefix=/opt/appwatch (an
# incremental build kept in the build tree under tests/e2e/), installed with
# DESTDIR, and the tree is bind-mounted read-only at /opt/appwatch in the
# container, since /usr there cannot be written to.
#
# Needs root and systemd-nspawn (exit 77, skipped, otherwise). Environment:
#   MESON_SOURCE_ROOT, MESON_BUILD_ROOT  set by meson test
#   APPWATCH_E2E_DESTDIR   use this installed tree instead of building one
#                          (must hold opt/appwatch/... and etc/appwatch/...)
#   APPWATCH_E2E_KEEP=1    keep the temporary directory for inspection
#   APPWATCH_E2E_HOLD=N    keep the container running N seconds before the
#                          teardown, to look around with nsenter

set -euo pipefail

PREFIX=/opt/appwatch
MACHINE="aw-e2e-$$"
START_TIME=$SECONDS

log() { printf '# %s\n' "$*"; }
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

if [[ $EUID -ne 0 ]]; then
        skip "needs root"
fi
if ! command -v systemd-nspawn >/dev/null; then
        skip "systemd-nspawn not installed (package systemd-container)"
fi
if [[ ! -x /usr/lib/systemd/systemd && ! -x /lib/systemd/systemd ]]; then
        skip "no systemd to boot in the container"
fi

TMP=$(mktemp -d /tmp/appwatch-e2e.XXXXXX)
NSPAWN_PID=
LEADER=

# --- helpers ------------------------------------------------------------------

# Runs a command inside the container (all its namespaces, as root).
in_ct() {
        nsenter -t "$LEADER" -a -- "$@"
}

# Runs a command inside the container through a login-less shell, for pipes.
in_ct_sh() {
        nsenter -t "$LEADER" -a -- /bin/sh -c "$1"
}

diagnostics() {
        [[ -n $NSPAWN_PID ]] || return 0
        [[ -n $LEADER ]] && kill -0 "$LEADER" 2>/dev/null || {
                log "container is not running; its console:"
                sed 's/^/console: /' "$TMP/console.log" 2>/dev/null | tail -n 50 || :
                return 0
        }
        log "---- systemctl status appwatch.socket appwatch.service"
        in_ct systemctl --no-pager --full status appwatch.socket appwatch.service 2>&1 || :
        log "---- journalctl -u appwatch.socket -u appwatch.service"
        in_ct journalctl --no-pager --full -o short-monotonic \
                -u appwatch.socket -u appwatch.service 2>&1 | tail -n 80 || :
        log "---- systemctl --failed"
        in_ct systemctl --no-pager --failed 2>&1 || :
}

fail() {
        printf 'FAIL: %s\n' "$*"
        diagnostics
        exit 1
}

# Polls a shell condition (run on the host; use in_ct inside it) for up to
# $1 deciseconds.
wait_for() {
        local tries=$1
        shift
        while ((tries-- > 0)); do
                if eval "$@" >/dev/null 2>&1; then
                        return 0
                fi
                sleep 0.1
        done
        return 1
}

cleanup() {
        local rc=$?
        set +e
        if [[ -n $NSPAWN_PID ]] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
                if [[ -n ${APPWATCH_E2E_HOLD:-} ]]; then
                        log "holding the container for ${APPWATCH_E2E_HOLD}s:" \
                                "nsenter -t $LEADER -a journalctl -u appwatch"
                        sleep "$APPWATCH_E2E_HOLD"
                fi
                if [[ -n $LEADER ]]; then
                        in_ct systemctl poweroff --no-block >/dev/null 2>&1
                fi
                for _ in $(seq 100); do
                        kill -0 "$NSPAWN_PID" 2>/dev/null || break
                        sleep 0.1
                done
                if kill -0 "$NSPAWN_PID" 2>/dev/null; then
                        log "container did not power off; terminating systemd-nspawn"
                        kill -TERM "$NSPAWN_PID"
                        sleep 2
                        kill -KILL "$NSPAWN_PID" 2>/dev/null
                fi
                wait "$NSPAWN_PID" 2>/dev/null
        fi
        if [[ ${APPWATCH_E2E_KEEP:-0} == 1 ]]; then
                log "kept $TMP"
        else
                rm -rf "$TMP"
        fi
        log "finished in $((SECONDS - START_TIME)) s, exit $rc"
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build and install into a staging tree ----------------------------------

if [[ -n ${APPWATCH_E2E_DESTDIR:-} ]]; then
        DEST=$APPWATCH_E2E_DESTDIR
        log "using installed tree $DEST"
else
        : "${MESON_SOURCE_ROOT:?run this from meson test}"
        : "${MESON_BUILD_ROOT:?run this from meson test}"
        BUILD="$MESON_BUILD_ROOT/tests/e2e/prefix-build"
        DEST="$TMP/dest"
        if [[ ! -f $BUILD/build.ninja ]]; then
                log "configuring $BUILD (prefix $PREFIX)"
                meson setup "$BUILD" "$MESON_SOURCE_ROOT" \
                        --prefix="$PREFIX" --sysconfdir=/etc --localstatedir=/var \
                        -Dsystemdsystemunitdir="$PREFIX/lib/systemd/system" \
                        -Dsysusersdir="$PREFIX/lib/sysusers.d" \
                        -Dtmpfilesdir="$PREFIX/lib/tmpfiles.d" \
                        -Dcatalogdir="$PREFIX/lib/systemd/catalog" \
                        -Dtests=disabled >"$TMP/setup.log" 2>&1 ||
                        { cat "$TMP/setup.log"; rm -rf "$BUILD"; fail "meson setup failed"; }
        fi
        log "building and installing into $DEST"
        ninja -C "$BUILD" >"$TMP/build.log" 2>&1 || { tail -n 40 "$TMP/build.log"; fail "build failed"; }
        meson install -C "$BUILD" --no-rebuild --quiet --destdir "$DEST" >"$TMP/install.log" 2>&1 ||
                { cat "$TMP/install.log"; fail "meson install failed"; }
fi

for f in "$DEST$PREFIX/bin/appwatchd" "$DEST$PREFIX/bin/appwatchctl" \
         "$DEST$PREFIX/lib/systemd/system/appwatch.service" \
         "$DEST$PREFIX/lib/systemd/system/appwatch.socket" \
         "$DEST$PREFIX/lib/sysusers.d/appwatch.conf" \
         "$DEST$PREFIX/lib/tmpfiles.d/appwatch.conf" \
         "$DEST$PREFIX/lib/systemd/catalog/appwatch.catalog"; do
        [[ -e $f ]] || fail "not installed: $f"
done
grep -qx "ExecStart=$PREFIX/bin/appwatchd" "$DEST$PREFIX/lib/systemd/system/appwatch.service" ||
        fail "installed appwatch.service does not run $PREFIX/bin/appwatchd"

# --- boot ---------------------------------------------------------------------

log "booting container $MACHINE"
mkdir -p "$DEST/etc"
systemd-nspawn --quiet -D / --volatile=yes --boot --register=no --keep-unit \
        -M "$MACHINE" --console=read-only \
        --bind-ro="$DEST$PREFIX:$PREFIX" \
        --bind-ro="$DEST/etc:/run/appwatch-e2e-etc" \
        -- systemd.firstboot=off systemd.show_status=false \
        </dev/null >"$TMP/console.log" 2>&1 &
NSPAWN_PID=$!

# The container's PID 1 is the child of systemd-nspawn that runs systemd.
find_leader() {
        local pid
        for pid in $(ps -o pid= --ppid "$NSPAWN_PID"); do
                if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd ]]; then
                        LEADER=$pid
                        return 0
                fi
        done
        return 1
}
wait_for 200 find_leader || fail "the container's systemd did not start"
# is-system-running only answers once PID 1 is up; "degraded" is fine here
# (host units that make no sense in a container may fail).
wait_for 300 'timeout 30 nsenter -t "$LEADER" -a -- systemctl is-system-running --wait |
        grep -Eq "^(running|degraded)$"' ||
        fail "container did not finish booting: $(in_ct systemctl is-system-running 2>&1)"
log "container up after $((SECONDS - START_TIME)) s (leader pid $LEADER)"

# --- install the way a package would ---------------------------------------------

in_ct_sh "set -e
        mkdir -p /etc/systemd/system
        cp $PREFIX/lib/systemd/system/appwatch.service $PREFIX/lib/systemd/system/appwatch.socket \
                /etc/systemd/system/
        cp -a /run/appwatch-e2e-etc/. /etc/
        # journalctl reads catalogs only from /usr/{local/,}lib/systemd/catalog,
        # which is read-only here: build the database in a scratch root from
        # a copy of those plus ours, and put it in place.
        cat=/run/appwatch-e2e-catalog
        mkdir -p \$cat/usr/lib/systemd/catalog \$cat/var/lib/systemd/catalog /var/lib/systemd/catalog
        cp /usr/lib/systemd/catalog/*.catalog $PREFIX/lib/systemd/catalog/appwatch.catalog \
                \$cat/usr/lib/systemd/catalog/
        journalctl --root=\$cat --update-catalog
        cp \$cat/var/lib/systemd/catalog/database /var/lib/systemd/catalog/database
        systemd-sysusers $PREFIX/lib/sysusers.d/appwatch.conf
        systemd-tmpfiles --create $PREFIX/lib/tmpfiles.d/appwatch.conf
        systemctl daemon-reload" || fail "installing into the container failed"

in_ct getent group appwatch >/dev/null || fail "systemd-sysusers did not create group appwatch"
in_ct getent passwd appwatch >/dev/null || fail "systemd-sysusers did not create user appwatch"
[[ $(in_ct stat -c %a /etc/appwatch/rules.d) == 755 ]] || fail "tmpfiles did not create /etc/appwatch/rules.d"

MID_STARTED=e25da710f0e04fb29ced892e3e57d031
MID_RELOADED=da3df9a867c246908e0b13fe858dba8b
MID_CONFIG_REJECTED=36aa99e033eb4a2f8003da1ef8670f4c
MID_STOPPING=42888aa8837f4425bcfa9385dbc37739
MID_INCIDENT=a0b02017ea2f4919842924bd58c5ac37
MID_INCIDENT_REGRESSION=bfe03c3e826e42d78b868730adfe9f31
MID_INCIDENT_STATUS=1aa644ee07f64b62aa05e4d0a0ea93e2
if [[ -n ${MESON_SOURCE_ROOT:-} && -f $MESON_SOURCE_ROOT/include/shared/catalog-ids.h ]]; then
        for name in STARTED RELOADED CONFIG_REJECTED STOPPING INCIDENT INCIDENT_REGRESSION \
                    INCIDENT_STATUS; do
                id=$(sed -n "s/^#define MESSAGE_ID_$name \"\\([0-9a-f]*\\)\"\$/\\1/p" \
                        "$MESON_SOURCE_ROOT/include/shared/catalog-ids.h")
                [[ -n $id ]] && printf -v "MID_$name" %s "$id"
        done
fi

journal_has() { # unit-scoped journal match, e.g. MESSAGE_ID=...
        [[ -n $(in_ct journalctl --no-pager -q -o cat -u appwatch.service "$@") ]]
}
status_json() { # prints one key path of appwatchctl status --json, e.g. counts.reloads
        local json
        json=$(in_ct $PREFIX/bin/appwatchctl status --json) || return 1
        python3 -c '
import json, sys
o = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    o = o[k]
print(o)' "$json" "$1"
}

# --- enable --now ----------------------------------------------------------------

# A short watchdog, so that a daemon that does not ping WATCHDOG=1 at
# WATCHDOG_USEC/2 is killed within the test (the unit's own is 30 s).
in_ct_sh 'mkdir -p /run/systemd/system/appwatch.service.d &&
        printf "[Service]\nWatchdogSec=2s\n" >/run/systemd/system/appwatch.service.d/50-e2e.conf &&
        systemctl daemon-reload' || fail "cannot add the watchdog drop-in"

# One credential present (inert on its own: Notion also needs a database
# id), the other two missing, which must not fail the unit.
in_ct_sh 'mkdir -p /etc/credstore && umask 077 &&
        printf e2e-dummy-token >/etc/credstore/appwatch.notion_api_token' ||
        fail "cannot write the test credential"

log "systemctl enable --now appwatch"
in_ct systemctl enable --now appwatch.service || fail "systemctl enable --now appwatch failed"
[[ $(in_ct systemctl is-enabled appwatch.socket) == enabled ]] ||
        fail "enabling appwatch.service did not enable appwatch.socket (Also=)"
in_ct systemctl is-active --quiet appwatch.socket || fail "appwatch.socket is not active"
in_ct systemctl is-active --quiet appwatch.service || fail "appwatch.service is not active"

sock_ok() {
        [[ $(in_ct stat -c '%F %a %U:%G' /run/appwatch/control.sock) == "socket 660 root:appwatch" ]]
}
sock_ok || fail "control socket: $(in_ct stat -c '%F %a %U:%G' /run/appwatch/control.sock 2>&1)"

# Type=notify: "active" already means READY=1 came; STATUS= may follow it.
wait_for 50 '[[ -n $(in_ct systemctl show -P StatusText appwatch.service) ]]' ||
        fail "appwatch.service has no StatusText"
log "StatusText: $(in_ct systemctl show -P StatusText appwatch.service)"

MAINPID=$(in_ct systemctl show -P MainPID appwatch.service)
[[ $MAINPID -gt 0 ]] || fail "no MainPID"

creds=/run/credentials/appwatch.service
[[ $(in_ct cat $creds/notion_api_token 2>&1) == e2e-dummy-token ]] ||
        fail "LoadCredential= did not pass /etc/credstore/appwatch.notion_api_token"
in_ct test ! -e $creds/gemini_api_key || fail "a missing credential appeared"

wait_for 50 journal_has "MESSAGE_ID=$MID_STARTED" ||
        fail "journalctl -u appwatch has no start-up record (MESSAGE_ID=$MID_STARTED)"
log "start-up record: $(in_ct journalctl --no-pager -q -o cat -u appwatch.service "MESSAGE_ID=$MID_STARTED" | tail -n 1)"
in_ct journalctl --no-pager -q -x -u appwatch.service "MESSAGE_ID=$MID_STARTED" |
        grep -q 'Subject: appwatch started' || fail "journalctl -x shows no catalog text for the start-up record"

# --- hardening: it runs under it, and the sandbox is really there -----------------

log "checking the sandbox of pid $MAINPID"
status=$(in_ct cat "/proc/$MAINPID/status")
grep -Eq '^NoNewPrivs:\s+1$' <<<"$status" || fail "NoNewPrivileges= is not in effect"
grep -Eq '^Seccomp:\s+2$' <<<"$status" || fail "SystemCallFilter= is not in effect"
capbnd=$(awk '/^CapBnd:/ { print $2 }' <<<"$status")
# CAP_DAC_READ_SEARCH(2) CAP_KILL(5) CAP_SETGID(6) CAP_SETUID(7)
[[ $capbnd == 00000000000000e4 ]] || fail "CapabilityBoundingSet is $capbnd, expected 00000000000000e4"
[[ $(in_ct stat -c '%a %U' /var/lib/appwatch) == "700 root" ]] ||
        fail "/var/lib/appwatch: $(in_ct stat -c '%a %U' /var/lib/appwatch)"
[[ $(in_ct stat -c '%a' /var/lib/appwatch/appwatch.db) == 600 ]] ||
        fail "appwatch.db mode $(in_ct stat -c '%a' /var/lib/appwatch/appwatch.db), expected 600"
# ProtectSystem=strict: / is read-only in the service's mount namespace, but
# its state directory is not.
in_ct nsenter -t "$MAINPID" -m -- /bin/sh -c 'touch /etc/appwatch-e2e 2>/dev/null' &&
        fail "ProtectSystem=strict is not in effect (/etc writable)"
in_ct nsenter -t "$MAINPID" -m -- /bin/sh -c 'touch /var/lib/appwatch/.e2e && rm /var/lib/appwatch/.e2e' ||
        fail "StateDirectory is not writable for the service"
score=$(in_ct systemd-analyze security --no-pager appwatch.service 2>/dev/null |
        sed -n 's/.*Overall exposure level for appwatch.service: \([0-9.]*\).*/\1/p')
log "systemd-analyze security (live unit): ${score:-?}"

# What later fix runs need from the same sandbox (DESIGN §3: as the app's
# user, never root): a copy of the unit running a probe instead of
# appwatchd, with the ReadWritePaths= drop-in the unit's comments suggest.
log "probing the sandbox for the fix runner's needs"
in_ct_sh 'set -e
        mkdir -p /home/e2e-app && chown 65534:65534 /home/e2e-app && chmod 0700 /home/e2e-app
        cat >/run/appwatch-e2e-probe.sh <<"EOF"
set -eu
fail() { echo "PROBE FAIL: $*"; exit 1; }
# root without CAP_DAC_OVERRIDE, but CAP_DAC_READ_SEARCH reads a 0700 app dir
ls /home/e2e-app >/dev/null || fail "cannot read a 0700 app directory"
# the journal files belong to root: no SupplementaryGroups=systemd-journal
[ -n "$(journalctl -q -n 1 -o cat)" ] || fail "cannot read the journal"
# drop to the app user the way a fix runner would; the kernel clears every
# capability on setresuid() away from root
caps=$(setpriv --reuid=nobody --regid=nogroup --init-groups -- \
        sh -c "touch /home/e2e-app/fixed && grep ^CapEff: /proc/self/status")
case $caps in *0000000000000000) ;; *) fail "fix child kept capabilities: $caps" ;; esac
test -O /home/e2e-app/fixed && fail "fix child wrote as root"
# ProtectHome=read-only outside ReadWritePaths= (root owns /home)
touch /home/e2e-x 2>/dev/null && fail "/home is writable"
# a timed-out fix running as another user can be killed (CAP_KILL)
setpriv --reuid=65534 --regid=65534 --clear-groups -- sleep 60 &
sleep 0.2
kill -KILL $! || fail "cannot kill the fix child"
wait $! 2>/dev/null || :
echo PROBE OK
EOF
        sed -e "s|^ExecStart=.*|ExecStart=/bin/sh /run/appwatch-e2e-probe.sh|" \
            -e "s|^Type=notify|Type=oneshot|" -e "/^ExecReload=/d" -e "/^WatchdogSec=/d" \
            -e "/^Restart/d" -e "/^Requires=/d" -e "/^After=appwatch.socket/d" \
            -e "s|^ProtectHome=read-only|&\nReadWritePaths=/home/e2e-app|" \
            /etc/systemd/system/appwatch.service >/run/systemd/system/appwatch-e2e-probe.service
        systemctl daemon-reload' || fail "cannot set up the sandbox probe"
if ! in_ct systemctl start appwatch-e2e-probe.service; then
        in_ct journalctl --no-pager -q -o cat -u appwatch-e2e-probe.service
        fail "the sandbox of appwatch.service does not allow what fixes need (probe above)"
fi
in_ct journalctl --no-pager -q -o cat -u appwatch-e2e-probe.service | grep -qx 'PROBE OK' ||
        fail "sandbox probe did not finish"

# --- the control socket -----------------------------------------------------------

out=$(in_ct $PREFIX/bin/appwatchctl status 2>&1) || fail "appwatchctl status failed: $out"
grep -q '^Version:' <<<"$out" || fail "appwatchctl status printed no Version: line: $out"
grep -q '^State:' <<<"$out" || fail "appwatchctl status printed no State: line: $out"
json=$(in_ct $PREFIX/bin/appwatchctl status --json 2>&1) || fail "appwatchctl status --json failed: $json"
python3 -c '
import json, sys
o = json.loads(sys.argv[1])
missing = {"version", "uptime_usec", "config", "sources", "queues", "counts"} - o.keys()
sys.exit("missing keys: %s" % sorted(missing) if missing else 0)' "$json" ||
        fail "appwatchctl status --json: $json"
# Only root and the appwatch group may connect (SocketMode=0660).
in_ct setpriv --reuid=65534 --regid=65534 --clear-groups -- \
        $PREFIX/bin/appwatchctl status >/dev/null 2>&1 &&
        fail "a user outside the appwatch group could use the control socket"
out=$(in_ct setpriv --reuid=65534 --regid=65534 --groups=appwatch -- \
        $PREFIX/bin/appwatchctl status 2>&1) ||
        fail "a member of the appwatch group cannot use the control socket: $out"

# --- reload ----------------------------------------------------------------------

log "systemctl reload appwatch"
in_ct systemctl reload appwatch.service || fail "systemctl reload appwatch failed"
wait_for 50 journal_has "MESSAGE_ID=$MID_RELOADED" ||
        fail "no reload record (MESSAGE_ID=$MID_RELOADED) after systemctl reload"
wait_for 50 '[[ $(in_ct systemctl is-active appwatch.service) == active ]]' ||
        fail "appwatch.service is $(in_ct systemctl is-active appwatch.service) after reload"
[[ $(in_ct systemctl show -P MainPID appwatch.service) == "$MAINPID" ]] ||
        fail "reload restarted the daemon instead of reloading it"
[[ $(status_json counts.reloads) == 1 ]] || fail "the daemon counts $(status_json counts.reloads) reloads, expected 1"

log "systemctl reload appwatch with a broken configuration"
in_ct_sh 'mkdir -p /etc/appwatch/appwatch.conf.d &&
        printf "[App.e2e]\nAutoFix=yes\n" >/etc/appwatch/appwatch.conf.d/50-e2e-broken.conf' ||
        fail "cannot write the broken configuration"
in_ct systemctl reload appwatch.service || fail "systemctl reload appwatch (broken config) failed"
wait_for 50 journal_has "MESSAGE_ID=$MID_CONFIG_REJECTED" ||
        fail "no config-rejected record (MESSAGE_ID=$MID_CONFIG_REJECTED) for a broken configuration"
# READY=1 must follow RELOADING=1 on this path too, or the unit hangs in "reloading".
wait_for 50 '[[ $(in_ct systemctl is-active appwatch.service) == active ]]' ||
        fail "appwatch.service is $(in_ct systemctl is-active appwatch.service) after a rejected reload"
[[ $(status_json counts.reloads_rejected) == 1 ]] || fail "the daemon did not count the rejected reload"
in_ct rm /etc/appwatch/appwatch.conf.d/50-e2e-broken.conf

# --- watchdog ---------------------------------------------------------------------

# Give the 2 s watchdog time to fire if the daemon did not ping.
up_usec=$(status_json uptime_usec)
((up_usec < 2500000)) && sleep "$(awk -v u="$up_usec" 'BEGIN { printf "%.1f", (2500000 - u) / 1e6 }')"
[[ $(in_ct systemctl show -P MainPID appwatch.service) == "$MAINPID" ]] ||
        fail "appwatchd was restarted (watchdog?)"
in_ct systemctl is-active --quiet appwatch.service || fail "appwatch.service died (watchdog?)"

# --- stop, then socket activation --------------------------------------------------

log "systemctl stop appwatch"
in_ct systemctl stop appwatch.service 2>/dev/null || fail "systemctl stop appwatch failed"
state=$(in_ct systemctl is-active appwatch.service) || :
[[ $state == inactive ]] || fail "appwatch.service is $state after stop, expected inactive"
[[ $(in_ct systemctl show -P Result appwatch.service) == success ]] ||
        fail "appwatch.service stopped with result $(in_ct systemctl show -P Result appwatch.service)"
journal_has "MESSAGE_ID=$MID_STOPPING" || fail "no stopping record (MESSAGE_ID=$MID_STOPPING)"
in_ct systemctl is-active --quiet appwatch.socket || fail "appwatch.socket stopped with the service"
sock_ok || fail "control socket file gone or changed after stopping the service"

log "appwatchctl status with the service stopped (socket activation)"
out=$(in_ct $PREFIX/bin/appwatchctl status 2>&1) || fail "appwatchctl status (activation) failed: $out"
grep -q '^Version:' <<<"$out" || fail "appwatchctl status (activation) printed no Version: line: $out"
in_ct systemctl is-active --quiet appwatch.service || fail "appwatch.service was not socket-activated"
newpid=$(in_ct systemctl show -P MainPID appwatch.service)
[[ $newpid -gt 0 && $newpid != "$MAINPID" ]] || fail "no new daemon after activation (MainPID $newpid)"
[[ $(status_json socket_activated) == True ]] || fail "the daemon did not take the socket from systemd"
[[ $(in_ct systemctl show -P NRestarts appwatch.service) == 0 ]] || fail "the daemon restarted (crashed?)"
# Warnings and errors other than the provoked rejection and incident records
# (the daemon may find failures in the container's own journal).
unexpected=$(in_ct journalctl --no-pager -q -o json -u appwatch.service -p warning |
        python3 -c '
import json, sys
expected = set(sys.argv[1:])
for line in sys.stdin:
    e = json.loads(line)
    msg = e.get("MESSAGE", "")
    if e.get("MESSAGE_ID") in expected or "e2e-broken" in msg or "AutoFix=yes" in msg:
        continue
    print(msg)' "$MID_CONFIG_REJECTED" "$MID_INCIDENT" "$MID_INCIDENT_REGRESSION" "$MID_INCIDENT_STATUS")
[[ -z $unexpected ]] || fail "appwatchd logged unexpected warnings: $unexpected"

log "PASS"
