#!/bin/sh
# Installs pare into temporary roots (PREFIX=/usr and /usr/local) and checks the tree,
# and that the installed units and config agree: the binary and config the units
# name exist, the rules folders the config names exist and load, and every folder the
# config writes is inside the units' StateDirectory= (the only writable place under
# ProtectSystem=strict). The template is checked through an instance made the way
# docs/SERVICE.md says.
#
#   scripts/test-install.sh          (PARE_BIN defaults to target/release/pare; built
#                                     when missing)
set -eu
cd "$(dirname "$0")/.."
PARE_BIN="${PARE_BIN:-target/release/pare}"
if [ ! -x "$PARE_BIN" ]; then
    cargo build --release --quiet
fi

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# unit_key FILE KEY: the values of KEY= lines, one per line.
unit_key() { sed -n "s/^$2=//p" "$1"; }
# config_key FILE KEY: a string value of a top-level config key.
config_key() { sed -n "s/^$2 = \"\(.*\)\"$/\1/p" "$1"; }

# check_unit ROOT UNIT CONFIG: UNIT's paths agree with CONFIG (paths in the root).
check_unit() {
    root=$1 unit=$2 config=$3
    name=$(basename "$unit")
    exec_start=$(unit_key "$unit" ExecStart)
    bin=${exec_start%% *}
    [ -x "$root$bin" ] && ok "$name: $bin installed" || fail "$name: ExecStart binary $bin missing"
    cfg=$(printf '%s\n' "$exec_start" | sed -n 's/.* --config \([^ ]*\).*/\1/p')
    [ -f "$root$cfg" ] && ok "$name: --config $cfg installed" || fail "$name: config $cfg missing"
    pre_cfg=$(unit_key "$unit" ExecStartPre | sed -n 's/.*pare check --config \([^ ]*\).*/\1/p')
    [ "$pre_cfg" = "$cfg" ] && ok "$name: ExecStartPre checks $cfg" ||
        fail "$name: ExecStartPre checks '$pre_cfg', not the config ExecStart runs ($cfg)"
    # What ExecStartPre does, on the config with its paths moved into the root.
    rooted=$(mktemp)
    sed -e "s|\"/|\"$root/|" "$config" >"$rooted"
    if out=$("$root$bin" check --config "$rooted" 2>&1); then
        ok "$name: pare check --config: $(printf '%s\n' "$out" | tail -1)"
    else
        fail "$name: pare check --config fails: $out"
    fi
    rm -f "$rooted"
    # The folders the service may write: StateDirectory= (under /var/lib) and
    # ReadWritePaths=.
    writable=""
    for s in $(unit_key "$unit" StateDirectory); do writable="$writable /var/lib/$s"; done
    for w in $(unit_key "$unit" ReadWritePaths); do writable="$writable ${w#-}"; done
    for key in inbox outbox failed work done state_file; do
        p=$(config_key "$config" "$key")
        [ -n "$p" ] || continue
        covered=no
        for w in $writable; do
            case "$p/" in "$w"/*) covered=yes ;; esac
        done
        [ $covered = yes ] && ok "$name: $key $p is writable" ||
            fail "$name: $key $p is outside the writable folders ($writable )"
    done
    for key in rules local_rules; do
        p=$(config_key "$config" "$key")
        [ -d "$root$p" ] && ok "$name: $key $p exists" || fail "$name: $key $p missing"
    done
}

for prefix in /usr /usr/local; do
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    echo "== PREFIX=$prefix into $root"
    DESTDIR="$root" PREFIX="$prefix" PARE_BIN="$PARE_BIN" scripts/install.sh >/dev/null
    for f in "$prefix/bin/pare" /etc/pare/pare.toml /etc/pare/rules.d/README \
        "$prefix/lib/systemd/system/pare.service" "$prefix/lib/systemd/system/pare@.service" \
        "$prefix/lib/sysusers.d/pare.conf" "$prefix/share/doc/pare/SERVICE.md" \
        "$prefix/share/doc/pare/DAEMON.md" "$prefix/share/doc/pare/pare.toml.example" \
        "$prefix/share/man/man1/pare.1" "$prefix/share/man/man1/pare-clean.1" \
        "$prefix/share/bash-completion/completions/pare" \
        "$prefix/share/zsh/vendor-completions/_pare" \
        "$prefix/share/fish/vendor_completions.d/pare.fish"; do
        [ -f "$root$f" ] || fail "missing $f"
    done
    shipped=$(ls rules/*.toml | wc -l)
    installed=$(ls "$root$prefix/share/pare/rules/"*.toml | wc -l)
    [ "$shipped" = "$installed" ] && ok "$installed rule files" || fail "$installed rule files installed, $shipped shipped"
    [ -z "$(find "$root" -path "$root/var" -prune -o -path "$root/run" -prune -o -print | grep -E "^$root/(var|run)")" ] ||
        fail "installed into /var or /run (the service creates those)"

    if command -v man >/dev/null; then
        for page in pare pare-clean pare-run; do
            MANPAGER=cat man -l "$root$prefix/share/man/man1/$page.1" 2>/dev/null | grep -q "$page" &&
                ok "man -l $page.1 renders" || fail "man -l $page.1 does not render"
        done
    fi
    bash -c ". '$root$prefix/share/bash-completion/completions/pare' && complete -p pare" >/dev/null &&
        ok "the bash completion loads" || fail "the bash completion does not load"
    units="$root$prefix/lib/systemd/system"
    config="$root/etc/pare/pare.toml"
    # The installed binary reads the installed config (status exits 3: parsed, not
    # running) and loads the installed rules the way ExecStartPre does.
    if "$root$prefix/bin/pare" status --config "$config" >/dev/null 2>&1; [ $? = 3 ]; then
        ok "the installed config parses"
    else
        fail "the installed config does not parse: $("$root$prefix/bin/pare" status --config "$config" 2>&1)"
    fi
    if out=$("$root$prefix/bin/pare" check --rules "$root$prefix/share/pare/rules" --rules "$root/etc/pare/rules.d" 2>&1); then
        ok "installed rules: $(printf '%s\n' "$out" | tail -1)"
    else
        fail "installed rules do not load: $out"
    fi
    check_unit "$root" "$units/pare.service" "$config"

    # An instance of the template, made as docs/SERVICE.md says.
    sed 's|/var/lib/pare/|/var/lib/pare/news/|' "$config" >"$root/etc/pare/news.toml"
    sed 's/%i/news/g' "$units/pare@.service" >"$root/pare@news.service"
    check_unit "$root" "$root/pare@news.service" "$root/etc/pare/news.toml"
    rm -rf "$root"
    trap - EXIT
done

if [ "$fails" -gt 0 ]; then
    echo "$fails check(s) failed" >&2
    exit 1
fi
echo "all install checks passed"
