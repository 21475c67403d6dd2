# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Shared plumbing of the end-to-end tests (sourced by tests/e2e/e2e-*.sh):
# boots the host's /usr in a throw-away systemd-nspawn container
# (--volatile=yes: / and /etc are a tmpfs, /usr is the host's, read-only),
# installs appwatch there the way a package would (units, sysusers.d,
# tmpfiles.d, catalog, config) and drives it with systemctl, journalctl and
# appwatchctl through nsenter.
#
# appwatch is built a second time with --prefix=/opt/appwatch (an
# incremental build kept in the build tree under tests/e2e/, shared by the
# tests, which therefore run one at a time), installed with DESTDIR, and the
# tree is bind-mounted read-only at /opt/appwatch in the container, since
# /usr there cannot be written to.
#
# A test sets MACHINE, sources this file, then calls
#   e2e_init              skip unless root and systemd-nspawn; traps, $TMP
#   e2e_build_install     build and install into $DEST (or use
#                         $APPWATCH_E2E_DESTDIR)
#   e2e_boot              boot the container; sets $LEADER
#   e2e_install           install appwatch in it (not started)
# and then uses in_ct / in_ct_sh / awctl / wait_for / fail. A test may define
# diagnostics_extra() to print more when it fails.
#
# Environment:
#   MESON_SOURCE_ROOT, MESON_BUILD_ROOT  set by meson test
#   APPWATCH_E2E_DESTDIR   use this installed tree instead of building one
#                          (must hold opt/appwatch/... and etc/appwatch/...)
#   APPWATCH_E2E_KEEP=1    keep the temporary directory for inspection
#   APPWATCH_E2E_HOLD=N    keep the container running N seconds before the
#                          teardown, to look around with nsenter

PREFIX=/opt/appwatch
# More systemd-nspawn options a test wants (e.g. --bind-ro=...).
E2E_NSPAWN_ARGS=()
START_TIME=$SECONDS
TMP=
NSPAWN_PID=
LEADER=

log() { printf '# %s\n' "$*"; }
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

# --- helpers ------------------------------------------------------------------

# Runs a command inside the container (all its namespaces, as root).
in_ct() {
        nsenter -t "$LEADER" -a -- "$@"
}

# Runs a command inside the container through a login-less shell, for pipes.
in_ct_sh() {
        nsenter -t "$LEADER" -a -- /bin/sh -c "$1"
}

# appwatchctl inside the container, as root.
awctl() {
        in_ct "$PREFIX/bin/appwatchctl" "$@"
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
        if declare -F diagnostics_extra >/dev/null; then
                diagnostics_extra || :
        fi
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

e2e_cleanup() {
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
        stop_fakes
        if [[ -n $TMP ]]; then
                if [[ ${APPWATCH_E2E_KEEP:-0} == 1 ]]; then
                        log "kept $TMP"
                else
                        rm -rf "$TMP"
                fi
        fi
        log "finished in $((SECONDS - START_TIME)) s, exit $rc"
        exit "$rc"
}

e2e_init() {
        : "${MACHINE:?set MACHINE before e2e_init}"
        if [[ $EUID -ne 0 ]]; then
                skip "needs root"
        fi
        if ! command -v systemd-nspawn >/dev/null; then
                skip "systemd-nspawn not installed (package systemd-container)"
        fi
        if [[ ! -x /usr/lib/systemd/systemd && ! -x /lib/systemd/systemd ]]; then
                skip "no systemd to boot in the container"
        fi
        command -v python3 >/dev/null || skip "python3 not installed"
        TMP=$(mktemp -d /tmp/appwatch-e2e.XXXXXX)
        trap e2e_cleanup EXIT
        trap 'exit 130' INT TERM
}

# --- build and install into a staging tree ----------------------------------

e2e_build_install() {
        local build f
        if [[ -n ${APPWATCH_E2E_DESTDIR:-} ]]; then
                DEST=$APPWATCH_E2E_DESTDIR
                log "using installed tree $DEST"
        else
                : "${MESON_SOURCE_ROOT:?run this from meson test}"
                : "${MESON_BUILD_ROOT:?run this from meson test}"
                build="$MESON_BUILD_ROOT/tests/e2e/prefix-build"
                DEST="$TMP/dest"
                if [[ ! -f $build/build.ninja ]]; then
                        log "configuring $build (prefix $PREFIX)"
                        meson setup "$build" "$MESON_SOURCE_ROOT" \
                                --prefix="$PREFIX" --sysconfdir=/etc --localstatedir=/var \
                                -Dsystemdsystemunitdir="$PREFIX/lib/systemd/system" \
                                -Dsysusersdir="$PREFIX/lib/sysusers.d" \
                                -Dtmpfilesdir="$PREFIX/lib/tmpfiles.d" \
                                -Dcatalogdir="$PREFIX/lib/systemd/catalog" \
                                -Dtests=disabled >"$TMP/setup.log" 2>&1 ||
                                { cat "$TMP/setup.log"; rm -rf "$build"; fail "meson setup failed"; }
                fi
                log "building and installing into $DEST"
                ninja -C "$build" >"$TMP/build.log" 2>&1 || { tail -n 40 "$TMP/build.log"; fail "build failed"; }
                meson install -C "$build" --no-rebuild --quiet --destdir "$DEST" >"$TMP/install.log" 2>&1 ||
                        { cat "$TMP/install.log"; fail "meson install failed"; }
        fi

        for f in "$DEST$PREFIX/bin/appwatchd" "$DEST$PREFIX/bin/appwatchctl" \
                 "$DEST$PREFIX/lib/systemd/system/appwatch.service" \
                 "$DEST$PREFIX/lib/systemd/system/appwatch.socket" \
                 "$DEST$PREFIX/lib/systemd/system/appwatch-failure@.service" \
                 "$DEST$PREFIX/lib/systemd/system/appwatch-fix.slice" \
                 "$DEST$PREFIX/lib/sysusers.d/appwatch.conf" \
                 "$DEST$PREFIX/lib/tmpfiles.d/appwatch.conf" \
                 "$DEST$PREFIX/lib/systemd/catalog/appwatch.catalog"; do
                [[ -e $f ]] || fail "not installed: $f"
        done
        grep -qx "ExecStart=$PREFIX/bin/appwatchd" "$DEST$PREFIX/lib/systemd/system/appwatch.service" ||
                fail "installed appwatch.service does not run $PREFIX/bin/appwatchd"
        grep -qx "ExecStart=$PREFIX/bin/appwatchctl submit-unit %i" \
                "$DEST$PREFIX/lib/systemd/system/appwatch-failure@.service" ||
                fail "installed appwatch-failure@.service does not run $PREFIX/bin/appwatchctl submit-unit %i"
}

# --- boot ---------------------------------------------------------------------

# The container's PID 1 is the child of systemd-nspawn that runs systemd.
# Found through /proc, not ps: procps is not in a minimal Debian.
find_leader() {
        local status pid ppid
        for status in /proc/[0-9]*/status; do
                ppid=$(sed -n 's/^PPid:[[:space:]]*//p' "$status" 2>/dev/null) || continue
                [[ $ppid == "$NSPAWN_PID" ]] || continue
                pid=${status#/proc/}
                pid=${pid%/status}
                if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd ]]; then
                        LEADER=$pid
                        return 0
                fi
        done
        return 1
}

# A unit that is not ours and fails at every boot. Booting the host's /usr
# starts the services the host has installed (with an empty /etc, systemd
# enables them by preset on this first boot), and any of them may fail in a
# container, which makes the boot "degraded". The tests are judged by
# appwatch's units alone, so every boot carries one such failure on purpose,
# and e2e_boot checks that it happened. It comes in through
# /etc/systemd/system.attached, a directory of PID 1's unit search path that
# nothing else uses here, so /etc/systemd/system stays writable.
UNRELATED_UNIT=aw-e2e-unrelated-failure.service

make_unrelated_unit() { # DIR: writes the unit and its wants symlink into DIR
        mkdir -p "$1/multi-user.target.wants"
        cat >"$1/$UNRELATED_UNIT" <<'EOF'
[Unit]
Description=e2e: a unit that is not appwatch's and fails at boot

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "ERROR: not appwatch, failing on purpose" >&2; exit 3'
EOF
        ln -sf "../$UNRELATED_UNIT" "$1/multi-user.target.wants/$UNRELATED_UNIT"
}

# Waits, up to 120 s, until the boot's job queue has run empty
# (is-system-running --wait returns) and prints the state: "running", or
# "degraded" when some unit failed. Before PID 1 answers, systemctl prints
# "offline" or nothing, and this tries again.
boot_settled_state() {
        local deadline=$((SECONDS + 120)) state=
        while ((SECONDS < deadline)) && kill -0 "$LEADER" 2>/dev/null; do
                # It exits non-zero on "degraded": only the printed state counts.
                state=$(timeout 100 nsenter -t "$LEADER" -a -- \
                        systemctl is-system-running --wait 2>/dev/null) || :
                case $state in
                running | degraded | maintenance | stopping)
                        printf '%s\n' "$state"
                        return 0
                        ;;
                esac
                sleep 0.2
        done
        printf '%s\n' "${state:-offline}"
        return 1
}

e2e_boot() {
        local state failed
        log "booting container $MACHINE"
        mkdir -p "$DEST/etc"
        make_unrelated_unit "$TMP/unrelated-units"
        systemd-nspawn --quiet -D / --volatile=yes --boot --register=no --keep-unit \
                -M "$MACHINE" --console=read-only \
                --bind-ro="$DEST$PREFIX:$PREFIX" \
                --bind-ro="$DEST/etc:/run/appwatch-e2e-etc" \
                --bind-ro="$TMP/unrelated-units:/etc/systemd/system.attached" \
                "${E2E_NSPAWN_ARGS[@]}" \
                -- systemd.firstboot=off systemd.show_status=false \
                </dev/null >"$TMP/console.log" 2>&1 &
        NSPAWN_PID=$!

        wait_for 200 find_leader || fail "the container's systemd did not start"
        state=$(boot_settled_state) || fail "container did not finish booting: state '$state'"
        # Whatever failed is not ours (appwatch is installed after the boot,
        # and the tests check its units): logged, never judged.
        failed=$(in_ct systemctl list-units --failed --plain --no-legend --full 2>/dev/null |
                sed 's/ .*//' | paste -sd ' ')
        log "container up after $((SECONDS - START_TIME)) s (leader pid $LEADER): $state;" \
                "failed units, not ours, ignored: ${failed:-none}"
        [[ $state == running || $state == degraded ]] || fail "container is $state after booting"
        # Without the planted failure this boot would prove nothing about
        # ignoring units that are not ours.
        [[ $(in_ct systemctl show -P Result "$UNRELATED_UNIT") == exit-code && $state == degraded ]] ||
                fail "$UNRELATED_UNIT did not fail at boot" \
                        "(Result=$(in_ct systemctl show -P Result "$UNRELATED_UNIT" 2>&1), state $state)"
}

# --- install the way a package would ---------------------------------------------

e2e_install() {
        in_ct_sh "set -e
                mkdir -p /etc/systemd/system
                # Every unit of ours: appwatch.service names the timers (Also=)
                # and appwatch-down.service (OnFailure=); fixes run in appwatch-fix.slice.
                cp $PREFIX/lib/systemd/system/appwatch* /etc/systemd/system/
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
        [[ $(in_ct stat -c '%a %U:%G' /var/spool/appwatch) == "3770 root:appwatch" ]] ||
                fail "tmpfiles: /var/spool/appwatch is $(in_ct stat -c '%a %U:%G' /var/spool/appwatch 2>&1)"
}

# --- journal and status -------------------------------------------------------------

MID_STARTED=e25da710f0e04fb29ced892e3e57d031
MID_RELOADED=da3df9a867c246908e0b13fe858dba8b
MID_CONFIG_REJECTED=36aa99e033eb4a2f8003da1ef8670f4c
MID_STOPPING=42888aa8837f4425bcfa9385dbc37739
MID_INCIDENT=a0b02017ea2f4919842924bd58c5ac37
MID_INCIDENT_REGRESSION=bfe03c3e826e42d78b868730adfe9f31
MID_INCIDENT_STATUS=1aa644ee07f64b62aa05e4d0a0ea93e2
MID_CURSOR_RESET=4ce037b6b6394f2e9bddf529e8248cc0
if [[ -n ${MESON_SOURCE_ROOT:-} && -f $MESON_SOURCE_ROOT/include/shared/catalog-ids.h ]]; then
        for name in STARTED RELOADED CONFIG_REJECTED STOPPING INCIDENT INCIDENT_REGRESSION \
                    INCIDENT_STATUS CURSOR_RESET; do
                id=$(sed -n "s/^#define MESSAGE_ID_$name \"\\([0-9a-f]*\\)\"\$/\\1/p" \
                        "$MESON_SOURCE_ROOT/include/shared/catalog-ids.h")
                [[ -n $id ]] && printf -v "MID_$name" %s "$id"
        done
fi

journal_has() { # unit-scoped journal match, e.g. MESSAGE_ID=...
        [[ -n $(in_ct journalctl --no-pager -q -o cat -u appwatch.service "$@") ]]
}

# Prints one key path of a JSON document given on stdin (e.g. counts.reloads,
# config_files); lists and objects as JSON.
json_get() {
        python3 -c '
import json, sys
o = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    o = o[int(k)] if isinstance(o, list) else o[k]
print(json.dumps(o) if isinstance(o, (list, dict)) else o)' "$1"
}

status_json() { # prints one key path of appwatchctl status --json, e.g. counts.reloads
        local json
        json=$(awctl status --json) || return 1
        json_get "$1" <<<"$json"
}

# --- helpers shared by the scenario tests ---------------------------------------

# Writes standard input to a file in the container.
ct_write() { # PATH
        in_ct /bin/sh -c 'mkdir -p "${1%/*}" && cat >"$1"' sh "$1"
}

# Prints FIELD of each incident that matches every KEY=VALUE (exact) and
# KEY~VALUE (substring), one a line, in id order.
inc_field() { # FIELD [KEY=VALUE | KEY~VALUE]...
        local json
        json=$(awctl incidents --json) || return 1
        python3 -c '
import json, sys
field, conds = sys.argv[1], sys.argv[2:]
for line in sys.stdin:
    if not line.strip():
        continue
    i = json.loads(line)
    ok = True
    for c in conds:
        if "~" in c and ("=" not in c or c.index("~") < c.index("=")):
            k, v = c.split("~", 1)
            ok = ok and v in str(i.get(k))
        else:
            k, v = c.split("=", 1)
            got = i.get(k)
            ok = ok and (str(got).lower() if isinstance(got, bool) else str(got)) == v
    if ok:
        print(i.get(field))' "$@" <<<"$json"
}

inc_count() { # the number of incidents matching the conditions of inc_field
        inc_field id "$@" | wc -l
}

show_field() { # ID KEY.PATH: one field of appwatchctl show --json ID
        local json
        json=$(awctl show --json "$1") || return 1
        json_get "$2" <<<"$json"
}

# Prints EXPR over `i` (appwatchctl show --json ID) and `a`, its last fix
# attempt.
show_eval() { # ID EXPR
        local json
        json=$(awctl show --json "$1") || return 1
        python3 -c '
import json, sys
i = json.loads(sys.argv[2])
a = (i.get("fix_attempts") or [{}])[-1]
v = eval(sys.argv[1])
print(json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v)' "$2" "$json"
}

report_unit() { # UNIT: its OnFailure= report unit
        printf 'appwatch-failure@%s.service\n' "$1"
}

# Starts UNIT, which must fail, and waits for its OnFailure= report to
# finish; the report must succeed (it returns once the incident is
# committed).
fail_unit() { # UNIT
        local unit=$1 report stamp
        report=$(report_unit "$unit")
        # shellcheck disable=SC2034 # read by wait_for's eval
        stamp=$(in_ct systemctl show -P ExecMainExitTimestampMonotonic "$report")
        if in_ct systemctl start "$unit" 2>/dev/null; then
                fail "$unit did not fail"
        fi
        wait_for 300 '[[ $(in_ct systemctl show -P ExecMainExitTimestampMonotonic "$report") != "$stamp" &&
                $(in_ct systemctl show -P ActiveState "$report") =~ ^(inactive|failed)$ ]]' ||
                fail "$report did not run after $unit failed"
        [[ $(in_ct systemctl show -P Result "$report") == success ]] ||
                fail "$report failed: $(in_ct journalctl --no-pager -q -o cat -u "$report")"
}

# --- the loopback fakes (tests/lib/fakes.py), as processes on the host ----------
# The container shares the host's loopback, so appwatchd reaches them there.

FAKES="${MESON_SOURCE_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}/tests/lib/fakes.py"
FAKE_PIDS=()

start_fake() { # KIND [ARGS...]: starts fakes.py KIND; its info in $TMP/KIND.json
        local kind=$1
        shift
        python3 "$FAKES" "$kind" --port-file "$TMP/$kind.port" --info-file "$TMP/$kind.json" \
                --log "$TMP/$kind.requests" "$@" >"$TMP/$kind.out" 2>&1 &
        FAKE_PIDS+=($!)
        wait_for 100 '[[ -s $TMP/$kind.port ]]' ||
                fail "fake $kind did not start: $(cat "$TMP/$kind.out")"
}

stop_fakes() {
        local pid
        for pid in "${FAKE_PIDS[@]}"; do
                kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        done
        FAKE_PIDS=()
}

fake_ctl() { # KIND METHOD PATH [BODY]: the fake's control API
        local kind=$1
        shift
        python3 "$FAKES" ctl --info-file "$TMP/$kind.json" "$@"
}

fake_info() { # KIND KEY: a value of the fake's info file
        json_get "$2" <"$TMP/$1.json"
}

# Prints an expression over the fakes' state (python), with `slack`,
# `notion` and `gemini` the GET /_fake/state documents of those running
# (else None), `sreqs` the Slack requests, `texts` each Slack message's
# text and blocks as one string, `pages` Notion's pages not in the trash,
# and props(page) a page's properties as plain values; e.g.
# len(slack["messages"]).
fakes_eval() { # EXPR
        local k docs=()
        for k in slack notion gemini; do
                if [[ -s $TMP/$k.json ]]; then
                        docs+=("$(fake_ctl "$k" GET /_fake/state)") || return 1
                else
                        docs+=(null)
                fi
        done
        if [[ -s $TMP/slack.json ]]; then
                docs+=("$(fake_ctl slack GET /_fake/requests)") || return 1
        else
                docs+=(null)
        fi
        python3 -c '
import json, sys
slack, notion, gemini, sreqs = (json.loads(a) for a in sys.argv[2:6])

def text(rt):
    return "".join(t.get("plain_text") or t.get("text", {}).get("content", "") for t in rt)

def props(page):
    out = {}
    for name, v in page["properties"].items():
        t = v["type"]
        val = v.get(t)
        if t in ("title", "rich_text"):
            out[name] = text(val)
        elif t in ("select", "status"):
            out[name] = val["name"] if val else None
        elif t == "date":
            out[name] = val["start"] if val else None
        else:
            out[name] = val
    return out

texts = [m.get("text", "") + json.dumps(m.get("blocks", []), ensure_ascii=False)
         for m in (slack or {}).get("messages", [])]
pages = [p for p in (notion or {}).get("pages", []) if not p.get("in_trash")]
v = eval(sys.argv[1])
print(json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v)' \
                "$1" "${docs[@]}"
}

# --- an app user with a Python venv, a local wheel and the fake flutter --------

APPUSER=awapp
APPUID=
APPGID=

# Creates $APPUSER (in group appwatch, so that appwatchctl run may submit),
# /srv/wheels with a wheel of the module awdemo built by hand (METADATA,
# WHEEL, RECORD: no internet, no build tools), a venv at /srv/pyapp/venv
# whose script /srv/pyapp/main.py imports awdemo (declared in its
# requirements.txt), and the fake flutter at
# /srv/tools/flutter (and as dart next to it).
e2e_app_setup() {
        local src="${MESON_SOURCE_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}"
        in_ct_sh "set -e
                useradd -m -d /home/$APPUSER -s /bin/sh $APPUSER
                usermod -aG appwatch $APPUSER
                mkdir -p /srv/pyapp /srv/wheels /srv/tools
                chown $APPUSER: /srv/pyapp /srv/tools" || fail "cannot create the app user and directories"
        APPUID=$(in_ct id -u "$APPUSER")
        APPGID=$(in_ct id -g "$APPUSER")
        in_ct setpriv --reuid="$APPUID" --regid="$APPGID" --init-groups \
                /usr/bin/python3 -m venv /srv/pyapp/venv >"$TMP/venv.log" 2>&1 ||
                { cat "$TMP/venv.log"; fail "python3 -m venv failed (Debian: install python3-venv)"; }
        in_ct /usr/bin/python3 - <<'PY' || fail "cannot build the wheel"
import base64, hashlib, zipfile
files = {
    "awdemo/__init__.py": b"VALUE = 42\n",
    "awdemo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: awdemo\nVersion: 1.0\n",
    "awdemo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: appwatch-e2e\n"
                                  b"Root-Is-Purelib: true\nTag: py3-none-any\n",
}
record = ""
for name, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record += "%s,sha256=%s,%d\n" % (name, digest, len(data))
record += "awdemo-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile("/srv/wheels/awdemo-1.0-py3-none-any.whl", "w") as z:
    for name, data in files.items():
        z.writestr(name, data)
    z.writestr("awdemo-1.0.dist-info/RECORD", record)
PY
        in_ct chmod -R a+rX /srv/wheels
        printf 'import awdemo\nprint("ok", awdemo.VALUE)\n' | ct_write /srv/pyapp/main.py
        # Declared: appwatch installs a module by itself only then.
        printf 'awdemo>=1.0\n' | ct_write /srv/pyapp/requirements.txt
        ct_write /srv/tools/flutter <"$src/tests/lib/fake-flutter"
        in_ct_sh "chmod 755 /srv/tools/flutter && ln -s flutter /srv/tools/dart &&
                chown -R $APPUSER: /srv/pyapp /srv/tools"
}

# The [App.pyapp] section of e2e_app_setup's venv: pip from the local wheel
# directory only (PIP_* from the app's configuration, never from a log).
e2e_pyapp_section() {
        cat <<EOF
[App.pyapp]
Directory=/srv/pyapp
Kind=python
User=$APPUSER
Python=/srv/pyapp/venv/bin/python
AutoFix=yes
Environment=PIP_NO_INDEX=1 PIP_FIND_LINKS=/srv/wheels PIP_DISABLE_PIP_VERSION_CHECK=1
EOF
}

# Installs tests/lib/fake-flutter.rules in the container's rules.d.
e2e_fake_flutter_rules() {
        local src="${MESON_SOURCE_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}"
        ct_write /etc/appwatch/rules.d/50-fake-flutter.rules <"$src/tests/lib/fake-flutter.rules"
}

# appwatchctl run --app APP as $APPUSER in DIR (setpriv, not runuser: the
# container's /etc/pam.d is empty).
run_as_app() { # APP DIR COMMAND...
        local app=$1 dir=$2
        shift 2
        in_ct_sh "cd '$dir' && HOME=/home/$APPUSER exec setpriv --reuid=$APPUID --regid=$APPGID \
                --init-groups $PREFIX/bin/appwatchctl run --app $app -- $*"
}

# The High incidents, as appwatchctl lists them and as the journal's
# records say (journalctl -u appwatch APPWATCH_SEVERITY=High): ids, sorted.
high_incidents() { inc_field id severity=High | sort -n | tr '\n' ' '; }
high_journal() {
        in_ct journalctl --no-pager -q -o json -u appwatch APPWATCH_SEVERITY=High |
                python3 -c '
import json, sys
print(" ".join(str(i) for i in sorted({int(json.loads(l)["APPWATCH_INCIDENT"]) for l in sys.stdin if l.strip()})), end=" ")'
}
