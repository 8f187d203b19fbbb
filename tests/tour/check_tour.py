#!/usr/bin/env python3
"""The language tour's examples are acceptance tests.

Lays the tour's ```flow blocks out as one bundle (each block names its file
in its first comment), adds small data files and the policy tests of this
folder, then requires `orderflow check` to pass cleanly and `orderflow test`
to pass every test, on the interpreter and compiled alike: the examples
must parse, check and behave as the tour says.

usage: check_tour.py ORDERFLOW LANGUAGE_TOUR_MD THIS_FOLDER
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    orderflow, tour_md, here = sys.argv[1:4]
    if not os.path.exists(tour_md):
        print(f"cannot find the language tour at {tour_md}", file=sys.stderr)
        return 1
    blocks = re.findall(r"```flow\n(.*?)```", open(tour_md, encoding="utf-8").read(), re.S)
    work = tempfile.mkdtemp(prefix="orderflow-tour-")
    try:
        names = []
        for block in blocks:
            m = re.match(r"#\s*(\S+\.flow)", block)
            if not m:
                print("a flow block of the tour names no file:\n" + block[:200], file=sys.stderr)
                return 1
            names.append(m.group(1))
            with open(os.path.join(work, m.group(1)), "w", encoding="utf-8") as f:
                f.write(block)
        print(f"tour files: {', '.join(names)}")
        shutil.copytree(os.path.join(here, "data"), os.path.join(work, "data"))
        # The tour alone, exactly as written, must check without a problem.
        r = subprocess.run([orderflow, "check", work], capture_output=True, text=True)
        print(r.stdout + r.stderr)
        if r.returncode != 0 or "no problems" not in r.stderr:
            print("the language tour's examples do not check cleanly", file=sys.stderr)
            return 1
        # Then its behaviour, with nodes and stock to route between.
        for extra in ("tour_inventory.flow", "tour_tests.flow"):
            shutil.copy(os.path.join(here, extra), work)
        shutil.copytree(os.path.join(here, "orders"), os.path.join(work, "orders"))
        r = subprocess.run([orderflow, "test", work], capture_output=True, text=True)
        print(r.stdout + r.stderr)
        if r.returncode != 0 or " 0 failed" not in r.stdout:
            print("the language tour's examples do not behave as it says", file=sys.stderr)
            return 1
        # And the same, word for word, compiled to native code.
        jit = subprocess.run([orderflow, "test", work, "--engine", "jit"], capture_output=True, text=True)
        if (jit.returncode, jit.stdout, jit.stderr) != (r.returncode, r.stdout, r.stderr):
            print("compiled to native code, the tour's tests give other results:\n" + jit.stdout + jit.stderr,
                  file=sys.stderr)
            return 1
        print("the same with --engine jit")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
