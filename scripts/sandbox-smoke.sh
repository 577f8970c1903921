#!/bin/sh
# Runs the installed daemon the way pare.service confines it, as far as that can be
# done without systemd as PID 1, and checks it works: a fresh network namespace
# (PrivateNetwork=), an unprivileged user with no capabilities and no_new_privs
# (User=, CapabilityBoundingSet=, NoNewPrivileges=), notify over AF_UNIX; under strace,
# every system call it makes must be allowed by the unit's SystemCallFilter=, every
# file it writes must be inside its state folder (ProtectSystem=strict), and no
# mapping may be writable and executable (MemoryDenyWriteExecute=).
#
#   sudo scripts/sandbox-smoke.sh        (needs root, unshare, setpriv, strace,
#                                         python3, systemd-analyze; PARE_BIN as for
#                                         install.sh)
set -eu
cd "$(dirname "$0")/.."
PARE_BIN="${PARE_BIN:-target/release/pare}"
[ -x "$PARE_BIN" ] || cargo build --release --quiet
user=65534

root=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$root"
}
trap cleanup EXIT
chmod 0755 "$root"
DESTDIR="$root" PARE_BIN="$PARE_BIN" scripts/install.sh >/dev/null
state="$root/var/lib/pare"
config="$root/etc/pare/pare.toml"
# The installed config, moved into the temporary root.
sed -i -e "s|\"/var/lib/pare/|\"$state/|" -e "s|^rules = \"|rules = \"$root|" \
    -e "s|^local_rules = \"|local_rules = \"$root|" "$config"
# What systemd does for StateDirectory=: the folders, owned by the service's user.
for d in "" /inbox /outbox /failed; do
    install -d -m 0770 -o "$user" -g "$user" "$state$d"
done

# Notify listener: prints each message, stops at the first STATUS with a file done.
sock="$root/notify.sock"
python3 - "$sock" >"$root/notify.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.settimeout(30)
while True:
    m = s.recv(4096).decode()
    print(m, flush=True)
    if m.startswith("STATUS=processed 1"):
        break
PY
pids="$pids $!"

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND…
    limit=$1 what=$2
    shift 2
    end=$(($(date +%s) + limit))
    until "$@"; do
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "FAIL: timed out waiting for $what" >&2
            cat "$root/notify.log" "$root/stderr" >&2 || true
            exit 1
        fi
        sleep 0.05
    done
}
wait_for 10 "the notify socket" test -S "$sock"

unshare --net -- strace -f -qq -o "$root/trace" \
    setpriv --reuid="$user" --regid="$user" --clear-groups --no-new-privs \
    --bounding-set=-all --inh-caps=-all \
    env NOTIFY_SOCKET="$sock" RUST_LOG=info \
    "$root/usr/bin/pare" run --config "$config" 2>"$root/stderr" &
daemon=$!
pids="$pids $daemon"
wait_for 20 "READY=1" grep -q '^READY=1' "$root/notify.log"

body=$(printf 'The council met on Tuesday to discuss the coming budget. %.0s' 1 2 3 4 5 6 7 8)
printf '<html><body><article><p>%s</p></article></body></html>\n' "$body" >"$state/.a.html"
chmod 0644 "$state/.a.html"
mv "$state/.a.html" "$state/inbox/a.html"
wait_for 20 "the cleaned file" test -f "$state/outbox/a.html"
wait_for 20 "STATUS=processed 1" grep -q '^STATUS=processed 1' "$root/notify.log"
# $daemon is unshare; the daemon is the process the trace shows executing pare.
pare_pid=$(sed -n "s|^\([0-9]*\) *execve(\"$root/usr/bin/pare\".*= 0$|\1|p" "$root/trace" | head -1)
kill -TERM "$pare_pid"
wait "$daemon" || { echo "FAIL: the daemon exited non-zero" >&2; cat "$root/stderr" >&2; exit 1; }
echo "ok: ran without network or capabilities, as uid $user; READY and STATUS arrived over AF_UNIX"

fails=0
# The trace from the daemon's execve on (setpriv's own calls before it do not count).
awk -v m="execve(\"$root/usr/bin/pare\"" 'index($0, m) { on = 1 } on' "$root/trace" >"$root/trace.pare"
sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$root/trace.pare" | sort -u >"$root/used"

# The unit's filter: @system-service minus the groups it takes away.
expand() { # a name, or a group expanded recursively (groups hold groups)
    case "$1" in
    @*) for x in $(systemd-analyze syscall-filter "$1" | sed -n 's/^ \{4\}\([-@a-z_0-9]*\)$/\1/p'); do
            expand "$x"
        done ;;
    *) echo "$1" ;;
    esac
}
expand_all() { for g in "$@"; do expand "$g"; done | sort -u; }
allow=$(grep '^SystemCallFilter=[^~]' systemd/pare.service | cut -d= -f2)
deny=$(grep '^SystemCallFilter=~' systemd/pare.service | cut -d~ -f2)
expand_all $allow >"$root/allowed"
expand_all $deny >"$root/denied"
bad=$(comm -23 "$root/used" "$root/allowed"; comm -12 "$root/used" "$root/denied")
if [ -n "$bad" ]; then
    echo "FAIL: system calls the unit's filter refuses: $(echo $bad)" >&2
    fails=1
else
    echo "ok: all $(wc -l <"$root/used") system calls used are in the unit's SystemCallFilter"
fi

# Writes: files opened for writing or created, renames, links, folders made, deletions.
writes=$(grep -E 'openat\(.*O_(WRONLY|RDWR|CREAT)|rename|linkat|mkdir|unlink' "$root/trace.pare" |
    grep -v ' = -1 ' | grep -o '"/[^"]*"' | tr -d '"' | sort -u |
    grep -v -e "^$state/" -e "^$state\$" -e '^/dev/null$' -e '^/proc/' || true)
if [ -n "$writes" ]; then
    echo "FAIL: writes outside the state folder: $writes" >&2
    fails=1
else
    echo "ok: every write was inside the state folder"
fi
if grep -E 'PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE' "$root/trace.pare" | grep -v ' = -1 '; then
    echo "FAIL: writable and executable memory (MemoryDenyWriteExecute=yes would refuse it)" >&2
    fails=1
else
    echo "ok: no writable+executable mappings"
fi
exit "$fails"
