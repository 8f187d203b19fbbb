#!/usr/bin/env python3
"""Language tests written in the language.

Each folder here is a bundle whose policy tests say what its policies do.
Every one must check (warnings allowed), and its tests must pass on the
interpreter and, word for word the same, compiled to native code.

usage: run_lang.py ORDERFLOW THIS_FOLDER
"""
import os
import subprocess
import sys


def run_case(orderflow, folder):
    """The problems with one bundle, or an empty list."""
    check = subprocess.run([orderflow, "check", folder], capture_output=True, text=True)
    if check.returncode != 0:
        return ["does not check:\n" + check.stdout + check.stderr]
    interp = subprocess.run([orderflow, "test", folder, "--engine", "interp"], capture_output=True, text=True)
    problems = []
    if interp.returncode != 0 or " 0 failed" not in interp.stdout:
        problems.append("its tests fail on the interpreter:\n" + interp.stdout + interp.stderr)
    jit = subprocess.run([orderflow, "test", folder, "--engine", "jit"], capture_output=True, text=True)
    if (jit.returncode, jit.stdout, jit.stderr) != (interp.returncode, interp.stdout, interp.stderr):
        problems.append("compiled, its tests give other results:\n" + jit.stdout + jit.stderr)
    return problems


def main():
    orderflow, here = sys.argv[1:3]
    cases = sorted(name for name in os.listdir(here) if os.path.isdir(os.path.join(here, name)))
    failed = 0
    for name in cases:
        problems = run_case(orderflow, os.path.join(here, name))
        print(("PASS  " if not problems else "FAIL  ") + name)
        for p in problems:
            print("      " + p.replace("\n", "\n      "))
        failed += bool(problems)
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
