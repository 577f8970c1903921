#!/bin/sh
# Builds a Debian package of an already-built pare: the tree scripts/install.sh makes
# (PREFIX=/usr), plus the package's control files.
#
#   cargo build --release && scripts/build-deb.sh [OUT_DIR]     # default: target/debian
#
# The package installs the binary, the shipped rules, the units, the sysusers file,
# the man pages and completions, and /etc/pare/pare.toml as a conffile. After
# installing it creates the user (systemd-sysusers) and reloads systemd; it never
# enables or starts the service (`systemctl enable --now pare`), as install.sh. On
# remove it stops the service; on purge it leaves /var/lib/pare alone: that folder
# holds the inbox, the outbox and the failed files — articles pare never deletes.
set -eu
cd "$(dirname "$0")/.."

OUT="${1:-target/debian}"
PARE_BIN="${PARE_BIN:-target/release/pare}"
if [ ! -x "$PARE_BIN" ]; then
    echo "build-deb.sh: no binary at $PARE_BIN (cargo build --release, or set PARE_BIN)" >&2
    exit 1
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"

DESTDIR="$stage" PREFIX=/usr PARE_BIN="$PARE_BIN" sh scripts/install.sh >/dev/null
# install.sh keeps an existing config as .new; a fresh stage has none.
rm -f "$stage/etc/pare/pare.toml.new"

cat >"$stage/usr/share/doc/pare/copyright" <<'COPYRIGHT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pare

Files: *
Copyright: the pare developers
License: MIT or Apache-2.0
 pare may be used under either licence, at your choice: their texts are
 /usr/share/doc/pare/LICENSE-MIT and /usr/share/doc/pare/LICENSE-APACHE (also
 /usr/share/common-licenses/Apache-2.0 on Debian systems).
COPYRIGHT

install -d -m 0755 "$stage/DEBIAN"
size=$(du -sk "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: pare
Version: $version
Architecture: $arch
Maintainer: pare developers <pare@localhost>
Installed-Size: $size
Depends: libc6, systemd
Section: net
Priority: optional
Homepage: https://localhost/pare
Description: cleans saved news articles dropped into a watched folder
 pare watches an inbox folder, streams each complete HTML or text article
 through rewriters driven by TOML rule files and writes the cleaned page to
 an outbox: the same article without paywall notices, donation appeals,
 newsletter sign-ups, related-article lists and similar clutter. Rules are
 plain files, one per site plus generic ones, picked up without a restart.
EOF
echo /etc/pare/pare.toml >"$stage/DEBIAN/conffiles"

cat >"$stage/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers /usr/lib/sysusers.d/pare.conf || true
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        # A running daemon reloads its rules on SIGHUP; it is never started here.
        systemctl try-reload-or-restart pare.service >/dev/null 2>&1 || true
    fi
fi
EOF
cat >"$stage/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop pare.service 'pare@*.service' >/dev/null 2>&1 || true
fi
EOF
cat >"$stage/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
# /var/lib/pare is left on purge: it holds the articles (inbox, outbox, failed).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
EOF
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

mkdir -p "$OUT"
deb="$OUT/pare_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
