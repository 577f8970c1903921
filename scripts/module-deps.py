#!/usr/bin/env python3
"""Prints the dependencies between pare's top-level modules (from `crate::X` paths in
src/) and any import circle among them; exit 1 when there is one.

    python3 scripts/module-deps.py
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
deps = {}
for root, _, files in os.walk(SRC):
    for f in files:
        if not f.endswith(".rs"):
            continue
        rel = os.path.relpath(os.path.join(root, f), SRC)
        if rel.startswith("bin/") or rel in ("main.rs", "lib.rs"):
            continue
        top = rel.split("/")[0].removesuffix(".rs")
        text = open(os.path.join(root, f)).read()
        text = text.split("#[cfg(test)]")[0]  # unit tests may reach anywhere
        for m in re.findall(r"crate::([a-z_]+)", text):
            if m != top:
                deps.setdefault(top, set()).add(m)
for k in sorted(deps):
    print(f"{k} -> {', '.join(sorted(deps[k]))}")


def cycle():
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(deps.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        state[n] = 2
        stack.pop()
        return None

    for n in sorted(deps):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


c = cycle()
if c:
    print("circle: " + " -> ".join(c))
    sys.exit(1)
print("no circles")
