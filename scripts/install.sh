#!/bin/sh
# Installs an already-built pare, make-install style, for a Debian-like host with
# systemd. Honours DESTDIR (staging root, for packages and tests) and PREFIX.
#
#   cargo build --release && sudo scripts/install.sh
#   DESTDIR=/tmp/root PREFIX=/usr/local PARE_BIN=path/to/pare scripts/install.sh
#
# Installs:
#   $PREFIX/bin/pare                       the binary (from $PARE_BIN)
#   $PREFIX/share/pare/rules/*.toml        the shipped rules
#   /etc/pare/rules.d/                     local rules; a file here replaces the shipped
#                                          file of the same name
#   /etc/pare/pare.toml                    the config, folders under /var/lib/pare
#                                          (kept if present; the new one is .new)
#   $PREFIX/lib/systemd/system/pare.service, pare@.service
#   $PREFIX/lib/sysusers.d/pare.conf       user and group pare
#   $PREFIX/share/doc/pare/                SERVICE.md, DAEMON.md, RULES.md, RULE-LIBRARY.md,
#                                          example config, LICENSE-MIT, LICENSE-APACHE
#   $PREFIX/share/man/man1/                pare.1, pare-clean.1… (from `pare generate`)
#   $PREFIX/share/{bash-completion,zsh,fish}/…  shell completions (from `pare generate`)
#
# /etc and /var/lib are fixed: systemd's ConfigurationDirectory= and StateDirectory=
# are relative to them. Without DESTDIR, as root, it also creates the user and
# reloads systemd; it never enables or starts anything.
set -eu
cd "$(dirname "$0")/.."

DESTDIR="${DESTDIR:-}"
PREFIX="${PREFIX:-/usr}"
PARE_BIN="${PARE_BIN:-target/release/pare}"
UNITDIR="${UNITDIR:-$PREFIX/lib/systemd/system}"

case "$PREFIX" in
/*) ;;
*) echo "install.sh: PREFIX must be absolute: $PREFIX" >&2; exit 2 ;;
esac
if [ ! -x "$PARE_BIN" ]; then
    echo "install.sh: no binary at $PARE_BIN (cargo build --release, or set PARE_BIN)" >&2
    exit 1
fi

root="$DESTDIR"
say() { echo "  $1"; }

install -D -m 0755 "$PARE_BIN" "$root$PREFIX/bin/pare"
say "$PREFIX/bin/pare"

install -d -m 0755 "$root$PREFIX/share/pare/rules"
for f in rules/*.toml; do
    install -m 0644 "$f" "$root$PREFIX/share/pare/rules/"
done
say "$PREFIX/share/pare/rules ($(ls rules/*.toml | wc -l) files)"

install -d -m 0755 "$root/etc/pare/rules.d"
cat >"$root/etc/pare/rules.d/README" <<TEXT
Local pare rules. A *.toml file here replaces the shipped file of the same name in
$PREFIX/share/pare/rules; a new name adds a site. Check with
  pare check --rules $PREFIX/share/pare/rules --rules /etc/pare/rules.d
The running daemon reloads within a second of a change (or: systemctl reload pare).
TEXT
say "/etc/pare/rules.d"

# The example config, pointed at the installed paths.
config_tmp=$(mktemp)
trap 'rm -f "$config_tmp"' EXIT
{
    echo "# Installed by pare's scripts/install.sh. pare.service keeps its folders under"
    echo "# /var/lib/pare (StateDirectory=), the only place it may write."
    sed -e "s|/var/spool/pare/|/var/lib/pare/|g" \
        -e "s|/run/pare/status.json|/var/lib/pare/status.json|" \
        -e "s|^rules = \".*\"|rules = \"$PREFIX/share/pare/rules\"|" \
        -e "s|^local_rules = \".*\"|local_rules = \"/etc/pare/rules.d\"|" \
        examples/pare.toml
} >"$config_tmp"
if [ -e "$root/etc/pare/pare.toml" ] && ! cmp -s "$config_tmp" "$root/etc/pare/pare.toml"; then
    install -m 0644 "$config_tmp" "$root/etc/pare/pare.toml.new"
    say "/etc/pare/pare.toml kept; the new default is /etc/pare/pare.toml.new"
else
    install -m 0644 "$config_tmp" "$root/etc/pare/pare.toml"
    say "/etc/pare/pare.toml"
fi

# Units: the source files name /usr paths; other prefixes are substituted.
for unit in pare.service pare@.service; do
    install -d -m 0755 "$root$UNITDIR"
    sed -e "s|/usr/bin/pare|$PREFIX/bin/pare|g" \
        -e "s|/usr/share/pare/|$PREFIX/share/pare/|g" \
        -e "s|/usr/share/doc/pare/|$PREFIX/share/doc/pare/|g" \
        "systemd/$unit" >"$root$UNITDIR/$unit"
    chmod 0644 "$root$UNITDIR/$unit"
    say "$UNITDIR/$unit"
done
install -D -m 0644 systemd/pare.sysusers "$root$PREFIX/lib/sysusers.d/pare.conf"
say "$PREFIX/lib/sysusers.d/pare.conf"

docdir="$root$PREFIX/share/doc/pare"
install -d -m 0755 "$docdir"
for f in docs/SERVICE.md docs/DAEMON.md docs/RULE-LIBRARY.md docs/RULES.md LICENSE-MIT LICENSE-APACHE; do
    if [ -f "$f" ]; then install -m 0644 "$f" "$docdir/"; fi
done
install -m 0644 examples/pare.toml "$docdir/pare.toml.example"
say "$PREFIX/share/doc/pare"

# Man pages and completions, made from the command line's own definitions.
gen=$(mktemp -d)
"$PARE_BIN" generate "$gen"
install -d -m 0755 "$root$PREFIX/share/man/man1"
for m in "$gen"/man/*.1; do
    install -m 0644 "$m" "$root$PREFIX/share/man/man1/"
done
say "$PREFIX/share/man/man1 ($(ls "$gen"/man | wc -l) pages)"
install -D -m 0644 "$gen/completions/pare.bash" "$root$PREFIX/share/bash-completion/completions/pare"
install -D -m 0644 "$gen/completions/_pare" "$root$PREFIX/share/zsh/vendor-completions/_pare"
install -D -m 0644 "$gen/completions/pare.fish" "$root$PREFIX/share/fish/vendor_completions.d/pare.fish"
say "$PREFIX/share/{bash-completion,zsh,fish}: completions"
rm -rf "$gen"

if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ]; then
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers "$PREFIX/lib/sysusers.d/pare.conf"
    elif ! getent passwd pare >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/pare --shell /usr/sbin/nologin pare
    fi
    say "user and group pare"
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        say "systemctl daemon-reload"
    fi
    echo "next: systemctl enable --now pare   (see $PREFIX/share/doc/pare/SERVICE.md)"
fi
