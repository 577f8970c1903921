#!/usr/bin/env python3
"""Randomized soak test of `pare run`: nothing lost, whatever the name, the delivery or
the timing.

Each round delivers a batch of articles under random names (up to 255 bytes, non-UTF-8,
spaces and newlines, `.reason`-like suffixes, the same name in several site folders) in
random ways (rename, slow in-place writes with pauses longer than the quiet period, cp,
hard links), edits the rules at random (good edits, and bad ones that must be refused),
and kills the daemon with SIGKILL at random moments, restarting it. When the round has
settled it checks that every input is in the outbox exactly once (complete: its end
marker is there) or in failed/ with its reason, that `.reason` inputs were left alone,
and that no temporary or partial file is in the outbox.

    python3 scripts/soak.py --minutes 30            # the issue's soak
    python3 scripts/soak.py --minutes 2 --seed 7    # a quick one

Known limit, by design (docs/DAEMON.md): a file found at start-up is taken after the
quiet period, since pare cannot know a writer still has it open. The soak therefore
restarts a killed daemon only once no in-place writer is busy, and holds new ones back
until it is up (as systemd's RestartSec=5s gives writers time to finish); the daemon is
killed at any moment, in-place writers included.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
QUIET_MS = 1000

GENERIC = b"""generic = true
[[rule]]
id = "soak-promo"
category = "promo"
remove = ".promo"
"""
EXTRA = b"""
[[rule]]
id = "soak-ad"
category = "promo"
remove = ".ad"
"""
BAD = b"generic = true\n[[rule]]\nid = \"broken\"\nremove = \"div[\"\n"

PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01"


def article(ident, kind):
    para = b"The council met on Tuesday to discuss the budget for the coming year. " * 6
    if kind == "txt":
        return b"Headline " + ident + b"\n\n" + para + b"\n\nend " + ident + b" soak-end\n"
    if kind == "png":
        return PNG + ident
    return (
        b"<html><body><article><p>Article " + ident + b". " + para + b"</p></article>"
        b"<div class=\"promo\">Buy now</div><div class=\"ad\">Advert</div>"
        b"<p>end " + ident + b" soak-end</p></body></html>"
    )


def random_name(rng, ext):
    """A file name (bytes) ending in ext, never hidden or temporary by pare's rules."""
    pick = rng.random()
    if pick < 0.15:
        stem = b"L" * rng.randint(200, 255 - len(ext))
    elif pick < 0.30:
        stem = bytes(rng.choice([0xE9, 0xFF, 0xC3, 0x80, 0x41]) for _ in range(rng.randint(3, 40)))
    elif pick < 0.45:
        stem = b"with spaces and\nnewline %2F 100% " + str(rng.randint(0, 99)).encode()
    elif pick < 0.55:
        stem = b"x.reason"  # x.reason.html: an article whose name only looks like a reason
    elif pick < 0.62:
        stem = b"page (2)"
    else:
        stem = b"index"
    name = stem + ext
    if name.startswith(b".") or len(name) > 255:
        name = b"n" + name[: 255 - 1]
    return name


def random_rel(rng, ext):
    """A path relative to the inbox: a bare name, or below site folders."""
    name = random_name(rng, ext)
    pick = rng.random()
    if pick < 0.4:
        return name
    site = rng.choice([b"news.example", b"www.example-news-site.com", b"blog.example.org"])
    if pick < 0.7:
        return site + b"/" + name
    slug = b"s" * rng.randint(1, 200)
    return site + b"/2024/05/17/" + slug + b"/" + name


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.dir = tempfile.mkdtemp(prefix="pare-soak-")
        d = self.dir.encode()
        self.inbox, self.outbox, self.failed = d + b"/inbox", d + b"/outbox", d + b"/failed"
        self.rules, self.staging = d + b"/rules", d + b"/staging"
        for p in (self.rules, self.staging):
            os.makedirs(p)
        for f in os.listdir(os.path.join(TOP, "rules")):
            if f.endswith(".toml") and f != "generic.toml":
                shutil.copy(os.path.join(TOP, "rules", f), os.path.join(self.rules.decode(), f))
        with open(self.rules + b"/generic.toml", "wb") as f:
            f.write(GENERIC)
        self.config = d + b"/pare.toml"
        with open(self.config, "wb") as f:
            f.write(
                b'inbox = "inbox"\noutbox = "outbox"\nfailed = "failed"\nrules = "rules"\n'
                b"workers = 2\nquiet_ms = %d\nmax_open_write_ms = 60000\n" % QUIET_MS
            )
        self.proc = None
        self.log = open(os.path.join(self.dir, "daemon.log"), "ab")
        self.lock = threading.Lock()
        # In-place writers busy, and whether a restart is waiting for them.
        self.gate = threading.Condition()
        self.writing = 0
        self.restarting = False
        self.totals = dict(rounds=0, delivered=0, cleaned=0, failed=0, reason_left=0,
                           kills=0, rule_edits=0, bad_rule_edits=0, refused_starts=0,
                           problems=0)
        self.rules_bad = False
        self.counter = 0

    # -- the daemon --
    def start(self):
        self.log.flush()
        offset = os.path.getsize(os.path.join(self.dir, "daemon.log"))
        env = dict(os.environ, RUST_LOG="info")
        env.pop("NOTIFY_SOCKET", None)
        self.proc = subprocess.Popen(
            [self.args.bin, "run", "--config", self.config],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log, env=env,
        )
        # Wait for readiness: this run's `ready` line (its first scan is done).
        end = time.time() + 20
        log = os.path.join(self.dir, "daemon.log")
        while time.time() < end:
            if self.proc.poll() is not None:
                if self.rules_bad:
                    # Refused to start on a broken rule file, as it must (there are no
                    # running rules to keep): mend it, as an administrator would.
                    self.totals["refused_starts"] += 1
                    self.fix_rules()
                    return self.start()
                raise SystemExit("soak: the daemon exited at start (see %s)" % log)
            with open(log, "rb") as f:
                f.seek(offset)
                if b" ready " in f.read():
                    return
            time.sleep(0.02)
        raise SystemExit("soak: the daemon did not start")

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.totals["kills"] += 1
        time.sleep(self.rng.random() * 0.5)
        # As systemd's RestartSec would: in-place writers finish before the start-up scan.
        with self.gate:
            self.restarting = True
            self.gate.wait_for(lambda: self.writing == 0)
        try:
            self.start()
        finally:
            with self.gate:
                self.restarting = False
                self.gate.notify_all()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # -- delivery --
    def deliver(self, rel, body, how, rng):
        dest = os.path.join(self.inbox, rel)
        folder = os.path.dirname(dest)
        if not os.path.isdir(folder):
            os.makedirs(folder, exist_ok=True)
            if how == "slow":
                # An in-place writer creates its folder first (docs/DAEMON.md): a file
                # written the same instant may be found by the new folder's scan before
                # its watch exists, and then only the quiet period protects it.
                time.sleep(0.2)
        with self.lock:
            self.counter += 1
            tmp = os.path.join(self.staging, b"t%d" % self.counter)
        if how == "rename":
            with open(tmp, "wb") as f:
                f.write(body)
            os.rename(tmp, dest)
        elif how == "link":
            with open(tmp, "wb") as f:
                f.write(body)
            os.link(tmp, dest)
        elif how == "cp":
            with open(tmp, "wb") as f:
                f.write(body)
            shutil.copyfile(tmp, dest)
        else:  # slow in-place writer, pausing up to 2.5 times the quiet period
            cut = rng.randint(1, len(body) - 1)
            with self.gate:
                self.gate.wait_for(lambda: not self.restarting)
                self.writing += 1
            try:
                with open(dest, "wb") as f:
                    f.write(body[:cut])
                    f.flush()
                    time.sleep(rng.uniform(0.2, 2.5) * QUIET_MS / 1000)
                    f.write(body[cut:])
            finally:
                with self.gate:
                    self.writing -= 1
                    self.gate.notify_all()

    def exists_anywhere(self, rel):
        return os.path.lexists(os.path.join(self.inbox, rel))

    # -- one round --
    def round(self, n):
        rng = self.rng
        items = []  # (ident, kind, rel, how)
        taken = set()
        for i in range(self.args.files):
            kind = rng.choices(["html", "txt", "png", "reason"], [70, 10, 12, 8])[0]
            ext = {"html": b".html", "txt": b".txt", "png": b".html", "reason": b".html.reason"}[kind]
            rel = random_rel(rng, ext)
            while rel in taken:  # one input per name per round (several rounds reuse names)
                rel = random_rel(rng, ext)
            taken.add(rel)
            ident = b"soak-%d-%d" % (n, i)
            how = rng.choice(["rename", "rename", "slow", "cp", "link"]) if kind != "reason" else "rename"
            items.append((ident, kind, rel, how))
        bodies = {it[0]: article(it[0], "png" if it[1] == "png" else it[1]) for it in items}

        def worker(chunk, seed):
            r = random.Random(seed)
            for ident, kind, rel, how in chunk:
                self.deliver(rel, bodies[ident], how, r)
                time.sleep(r.random() * 0.05)

        chunks = [items[k::4] for k in range(4)]
        threads = [threading.Thread(target=worker, args=(c, rng.random())) for c in chunks]
        for t in threads:
            t.start()
        # Chaos while delivering: rule edits and kills.
        t_end = time.time() + rng.uniform(1, 4)
        while time.time() < t_end or any(t.is_alive() for t in threads):
            x = rng.random()
            if x < 0.08:
                self.kill9()
            elif x < 0.20:
                self.edit_rules(rng)
            time.sleep(rng.uniform(0.05, 0.4))
        for t in threads:
            t.join()
        self.fix_rules()
        if self.proc.poll() is not None:
            self.start()
        self.settle(items)
        self.check(n, items, bodies)

    def edit_rules(self, rng):
        path = self.rules + b"/generic.toml"
        self.rules_bad = rng.random() < 0.2
        if self.rules_bad:
            body = BAD
            self.totals["bad_rule_edits"] += 1
        else:
            body = GENERIC + (EXTRA if rng.random() < 0.5 else b"")
            self.totals["rule_edits"] += 1
        if rng.random() < 0.5:
            with open(path, "wb") as f:  # in place
                f.write(body)
        else:
            tmp = self.rules + b"/.generic.toml.new"
            with open(tmp, "wb") as f:
                f.write(body)
            os.rename(tmp, path)

    def fix_rules(self):
        self.rules_bad = False
        with open(self.rules + b"/generic.toml", "wb") as f:
            f.write(GENERIC)

    def pending(self):
        """Inbox files still to take (reason files stay by design), and claims."""
        left = []
        for root, dirs, files in os.walk(self.inbox):
            for f in files:
                p = os.path.join(root, f)
                rel = os.path.relpath(p, self.inbox)
                if rel.startswith(b".pare-work/") and not rel.endswith(b"status.json") \
                        and not rel.endswith(b".tmp"):
                    left.append(p)
                elif not rel.startswith(b".pare-work/") and not f.endswith(b".reason"):
                    left.append(p)
        return left

    def settle(self, items):
        end = time.time() + 120
        while time.time() < end:
            if not self.pending():
                time.sleep(0.3)  # the committer's last deletions
                if not self.pending():
                    return
            time.sleep(0.1)
        self.problem("round did not settle: left %r" % self.pending()[:5])

    def problem(self, what):
        self.totals["problems"] += 1
        print("PROBLEM:", what, flush=True)

    def check(self, n, items, bodies):
        found = {}  # ident -> list of (where, path)
        for root, dirs, files in os.walk(self.outbox):
            for f in files:
                p = os.path.join(root, f)
                if os.path.relpath(p, self.outbox).split(b"/")[0] == b".pare-tmp":
                    self.problem("temporary file left in the outbox: %r" % p)
                    continue
                data = open(p, "rb").read()
                for ident in bodies:
                    if ident + b"." in data or ident + b"\n" in data or ident + b" " in data:
                        found.setdefault(ident, []).append(("outbox", p, data))
        for root, dirs, files in os.walk(self.failed):
            for f in files:
                p = os.path.join(root, f)
                if f.endswith(b".reason") or b"/.pare-tmp/" in p:
                    continue
                data = open(p, "rb").read()
                for ident in bodies:
                    if data.endswith(ident):
                        found.setdefault(ident, []).append(("failed", p, data))
        cleaned = failed = reason_left = 0
        for ident, kind, rel, how in items:
            where = found.get(ident, [])
            if kind == "reason":
                p = os.path.join(self.inbox, rel)
                if not os.path.exists(p) or open(p, "rb").read() != bodies[ident]:
                    self.problem("a .reason input was touched: %r" % rel)
                elif where:
                    self.problem("a .reason input was taken: %r" % rel)
                else:
                    reason_left += 1
                    os.remove(p)
                continue
            if len(where) != 1:
                self.problem("%s (%s, %s) found %d times: %r" % (ident.decode(), kind, how, len(where),
                                                                  [w[:2] for w in where]))
                continue
            place, p, data = where[0]
            if kind == "png":
                if place != "failed":
                    self.problem("%s: a PNG in the %s" % (ident.decode(), place))
                elif not os.path.exists(p + b".reason"):
                    self.problem("%s: failed without a reason" % ident.decode())
                else:
                    failed += 1
            else:
                if place != "outbox":
                    reason = open(p + b".reason", "rb").read() if os.path.exists(p + b".reason") else b""
                    self.problem("%s (%s, %s) failed: %r" % (ident.decode(), kind, how, reason))
                elif ident + b" soak-end" not in data:
                    self.problem("%s (%s, %s): partial output %r" % (ident.decode(), kind, how, p))
                else:
                    cleaned += 1
        t = self.totals
        t["rounds"] += 1
        t["delivered"] += len(items)
        t["cleaned"] += cleaned
        t["failed"] += failed
        t["reason_left"] += reason_left
        print("round %d: %d delivered, %d cleaned, %d failed, %d .reason left alone; "
              "so far %d kills, %d rule edits (%d bad), %d problems"
              % (n, len(items), cleaned, failed, reason_left, t["kills"], t["rule_edits"],
                 t["bad_rule_edits"], t["problems"]), flush=True)
        # Empty the destinations for the next round (names repeat across rounds).
        for d in (self.outbox, self.failed):
            for entry in os.listdir(d):
                p = os.path.join(d, entry)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p)
                else:
                    os.remove(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--files", type=int, default=60, help="inputs per round")
    ap.add_argument("--bin", default=os.path.join(TOP, "target", "release", "pare"))
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep", action="store_true", help="keep the soak folder")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    s = Soak(args)
    print("soak: seed %d, folder %s, %s minutes" % (args.seed, s.dir, args.minutes), flush=True)
    s.start()
    end = time.time() + args.minutes * 60
    n = 0
    try:
        while time.time() < end:
            n += 1
            s.round(n)
    finally:
        s.stop()
    t = s.totals
    print("soak done: %(rounds)d rounds, %(delivered)d inputs: %(cleaned)d cleaned, "
          "%(failed)d failed with a reason, %(reason_left)d .reason inputs left alone; "
          "%(kills)d kill -9 (%(refused_starts)d restarts refused on a bad rule file), "
          "%(rule_edits)d rule edits, %(bad_rule_edits)d bad rule edits; "
          "%(problems)d problems" % t)
    if not args.keep and t["problems"] == 0:
        shutil.rmtree(s.dir)
    sys.exit(1 if t["problems"] else 0)


if __name__ == "__main__":
    main()
