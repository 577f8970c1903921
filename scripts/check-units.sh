#!/bin/sh
# The service units' security gate: each unit in systemd/ must score 1.0 or lower in
# `systemd-analyze security` (0 = locked down, 10 = exposed) and pass
# `systemd-analyze verify`. Needs no running systemd. Installs the systemd package
# when systemd-analyze is missing (CI images), which needs root and apt-get.
#
#   scripts/check-units.sh [MAX_SCORE_TIMES_10]     (default 10, i.e. 1.0)
set -eu
cd "$(dirname "$0")/.."
threshold="${1:-10}"

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze missing; installing the systemd package" >&2
    apt-get update -qq && apt-get install -y -qq systemd >/dev/null
fi

status=0
for unit in systemd/*.service; do
    # --offline scores the file as written; the threshold makes a score above the
    # gate exit non-zero.
    if out=$(systemd-analyze security --offline=true --threshold="$threshold" "$unit" 2>&1); then
        verdict=ok
    else
        verdict=FAIL
        status=1
        printf '%s\n' "$out" | grep -v '✓' >&2
    fi
    score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    echo "$verdict: $unit security exposure ${score:-?} (gate $(echo "$threshold" | sed 's/.$/.&/;s/^\./0./'))"
done

# verify parses every directive; the only complaint allowed is the binary not being
# installed on this machine.
for unit in systemd/*.service; do
    errs=$(systemd-analyze verify --man=no "./$unit" 2>&1 |
        grep -v 'Command /usr/bin/pare is not executable' || true)
    if [ -n "$errs" ]; then
        echo "FAIL: systemd-analyze verify $unit" >&2
        printf '%s\n' "$errs" >&2
        status=1
    else
        echo "ok: $unit verifies"
    fi
done
exit "$status"
