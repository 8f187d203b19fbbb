#!/usr/bin/env python3
"""Language tests written in the language.

Each folder here is a bundle whose policy tests say what its policies do.
Every one must check (warnings allowed), and its tests must pass on the
interpreter and, word for word the same, compiled to native code.

`errors/` holds what the checker must refuse or warn about: each `.flow`
file there (or folder, for cases with data files) is checked alone, and
says in comments what it must be told, exactly, no more and no less:

    # error E0301 at 4:22
    # warning W0402 at 7:8
    # error E0703 at data/stock.csv:3:1

Last, every diagnostic code of compiler/LANGUAGE.md must have a case, here
or in the golden files of tests/golden/diagnostics and tests/cli/expected.

usage: run_lang.py ORDERFLOW THIS_FOLDER
"""
import json
import os
import re
import subprocess
import sys

EXPECTATION = re.compile(r"#\s*(error|warning)\s+([EW]\d{4})\s+at\s+(?:(\S+):)?(\d+):(\d+)")


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


def expected_diagnostics(case):
    """(severity, code, file relative to the case, line, column) a case's comments ask for."""
    flows = [case] if case.endswith(".flow") else sorted(
        os.path.join(root, f) for root, _, files in os.walk(case) for f in files if f.endswith(".flow"))
    folder = os.path.dirname(case) if case.endswith(".flow") else case
    wanted = set()
    for flow in flows:
        for line in open(flow, encoding="utf-8", errors="replace"):
            for m in EXPECTATION.finditer(line):
                severity, code, file, row, column = m.groups()
                target = os.path.normpath(os.path.join(folder, file)) if file else os.path.normpath(flow)
                wanted.add((severity, code, target, int(row), int(column)))
    return wanted


def run_error_case(orderflow, case):
    """The problems with one case of errors/, or an empty list."""
    r = subprocess.run([orderflow, "check", case, "--format", "json"], capture_output=True, text=True)
    try:
        found = json.loads(r.stdout)["diagnostics"]
    except (ValueError, KeyError):
        return ["check did not answer in JSON:\n" + r.stdout + r.stderr]
    got = {(d["severity"], d["code"], os.path.normpath(d["file"]), d["line"], d["column"]) for d in found}
    wanted = expected_diagnostics(case)
    if not wanted:
        return ["the case expects nothing: say what it must be told, `# error E0301 at 4:22`"]
    shown = lambda d: f"{d[0]} {d[1]} at {d[2]}:{d[3]}:{d[4]}"
    problems = [f"expected, not told: {shown(d)}" for d in sorted(wanted - got)]
    problems += [f"told, not expected: {shown(d)}" for d in sorted(got - wanted)]
    return problems


# A file larger than 4 MB is not kept in the repository to show E0008; the
# parser's test makes one (tests/syntax/parser_test.cpp).
SHOWN_ELSEWHERE = {"E0008": "tests/syntax/parser_test.cpp"}


def codes_without_a_case(here, error_cases):
    """The codes compiler/LANGUAGE.md lists that no test shows."""
    source = os.path.dirname(os.path.dirname(here))
    documented = set(re.findall(r"^\| ([EW]\d{4}) \|", open(os.path.join(source, "compiler", "LANGUAGE.md")).read(), re.M))
    shown = set()
    for case in error_cases:
        shown |= {d[1] for d in expected_diagnostics(case)}
    for folder in (os.path.join(source, "tests", "golden", "diagnostics"), os.path.join(source, "tests", "cli", "expected")):
        for name in os.listdir(folder):
            if name.endswith((".expected", ".txt")):
                shown |= set(re.findall(r"\b([EW]\d{4})\b", open(os.path.join(folder, name), errors="replace").read()))
    source_of = lambda path: open(os.path.join(source, path)).read()
    shown |= {code for code, path in SHOWN_ELSEWHERE.items() if code in source_of(path)}
    return sorted(documented - shown)


def tour_copies_differ(here):
    """tour-2/ lays the owner's part-two examples out as one bundle: its
    acceptance, escalation, tests, returns, disposition and ndr files must be
    those examples, word for word (checked when ../shared is beside the
    project, as in CI)."""
    project = os.path.dirname(os.path.dirname(os.path.abspath(here)))
    tour = os.path.join(os.path.dirname(project), "shared", "language-tour-2.md")
    if not os.path.exists(tour):
        return []
    blocks = {}
    for block in re.findall(r"```flow\n(.*?)```", open(tour, encoding="utf-8").read(), re.S):
        m = re.match(r"# (\S+\.flow)\n", block)
        if m:
            blocks[m.group(1)] = block
    problems = []
    for name in ("acceptance.flow", "escalation.flow", "tests.flow", "returns.flow", "disposition.flow", "ndr.flow",
                 "returns-tests.flow"):
        mine = open(os.path.join(here, "tour-2", name), encoding="utf-8").read()
        if blocks.get(name) != mine:
            problems.append(f"tour-2/{name} is not the example of language-tour-2.md that it copies")
    return problems


def main():
    orderflow, here = sys.argv[1:3]
    cases = sorted(name for name in os.listdir(here) if os.path.isdir(os.path.join(here, name)) and name != "errors")
    errors_dir = os.path.join(here, "errors")
    error_cases = sorted(os.path.join(errors_dir, n) for n in os.listdir(errors_dir)
                         if n.endswith(".flow") or os.path.isdir(os.path.join(errors_dir, n)))
    failed = 0
    runs = [(name, lambda n=name: run_case(orderflow, os.path.join(here, n))) for name in cases]
    runs += [("errors/" + os.path.basename(c), lambda c=c: run_error_case(orderflow, c)) for c in error_cases]
    for name, run in runs:
        problems = run()
        print(("PASS  " if not problems else "FAIL  ") + name)
        for p in problems:
            print("      " + p.replace("\n", "\n      "))
        failed += bool(problems)
    runs_done = len(runs)
    differ = tour_copies_differ(here)
    print(("FAIL  " if differ else "PASS  ") + "tour-2 holds the examples of language-tour-2.md")
    for p in differ:
        print("      " + p)
    failed += bool(differ)
    missing = codes_without_a_case(here, error_cases)
    print(("FAIL  " if missing else "PASS  ") + "every code of compiler/LANGUAGE.md has a case")
    if missing:
        print("      no case shows " + ", ".join(missing))
        failed += 1
    print(f"{runs_done + 2 - failed} passed, {failed} failed")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
