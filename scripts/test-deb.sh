#!/bin/sh
# Builds the Debian package (scripts/build-deb.sh) and checks it without installing
# it: its control fields, that it holds what a service needs where Debian expects it,
# and that the binary and rules unpacked from it (dpkg -x into a temporary root) work.
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
deb=$(sh scripts/build-deb.sh "$out/debs")
fail() { echo "FAIL: $1" >&2; exit 1; }
ok() { echo "ok: $1"; }

info=$(dpkg-deb -I "$deb")
for field in "Package: pare" "Architecture: $(dpkg --print-architecture)" "Depends: libc6, systemd"; do
    echo "$info" | grep -q "^ $field" || fail "control has no '$field'"
done
ok "control: package, architecture, depends"
[ "$(dpkg-deb -f "$deb" Version)" = "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)" ] \
    || fail "version differs from Cargo.toml"
ok "version is Cargo.toml's"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/pare/pare.toml \
    || fail "/etc/pare/pare.toml is not a conffile"
ok "the config is a conffile"

list=$(dpkg-deb -c "$deb")
echo "$list" | head -1 | grep -q '^drwxr-xr-x root/root .* \./$' \
    || fail "the package root is not 0755 root:root"
for path in ./usr/bin/pare ./usr/lib/systemd/system/pare.service \
    ./usr/lib/systemd/system/pare@.service ./usr/lib/sysusers.d/pare.conf \
    ./usr/share/pare/rules/generic.toml ./usr/share/man/man1/pare.1 \
    ./usr/share/bash-completion/completions/pare ./usr/share/doc/pare/copyright \
    ./usr/share/doc/pare/LICENSE-MIT ./usr/share/doc/pare/LICENSE-APACHE \
    ./etc/pare/pare.toml; do
    echo "$list" | awk '{print $6}' | grep -qx "$path" || fail "no $path in the package"
done
ok "binary, units, sysusers, rules, man page, completion, copyright, config"
if echo "$list" | awk '{print $2}' | grep -qv '^root/root$'; then
    fail "a file not owned by root:root"
fi
ok "every file root:root"
if echo "$list" | awk '{print $6}' | grep -q '^\./var/'; then
    fail "the package ships /var: the state folder is the unit's StateDirectory"
fi
ok "nothing under /var"

root="$out/root"
dpkg -x "$deb" "$root"
"$root/usr/bin/pare" --version >/dev/null || fail "the unpacked binary does not run"
"$root/usr/bin/pare" check --rules "$root/usr/share/pare/rules" >/dev/null \
    || fail "the unpacked rules do not load"
ok "the unpacked binary runs and loads the unpacked rules"
grep -q '^ExecStart=/usr/bin/pare ' "$root/usr/lib/systemd/system/pare.service" \
    || fail "pare.service does not run /usr/bin/pare"
ok "pare.service runs /usr/bin/pare"
echo "all package checks passed ($(basename "$deb"), $(du -k "$deb" | cut -f1) KB)"
