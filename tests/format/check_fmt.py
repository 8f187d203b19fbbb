#!/usr/bin/env python3
"""`orderflow fmt` on every bundle we have (the examples, the language tour,
the test bundles): the committed examples are already formatted (`fmt
--check`), formatting is idempotent, keeps every comment, and never changes
what `orderflow check --emit typed` prints. A file with syntax errors is
left exactly as it is. The expected layout of a few snippets is pinned in
tests/format/cases/*.flow (input) and *.expected.flow.

usage: check_fmt.py ORDERFLOW SOURCE_DIR
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import golden_file  # noqa: E402


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


def tour_bundle(source, work):
    tour = os.path.join(source, "..", "shared", "language-tour.md")
    folder = os.path.join(work, "tour")
    os.makedirs(folder)
    for block in re.findall(r"```flow\n(.*?)```", open(tour, encoding="utf-8").read(), re.S):
        name = re.match(r"#\s*(\S+\.flow)", block).group(1)
        open(os.path.join(folder, name), "w").write(block)
    shutil.copytree(os.path.join(source, "tests", "tour", "data"), os.path.join(folder, "data"))
    return folder


def comments(text):
    return [line.split("#", 1)[1].strip() for line in text.splitlines() if "#" in line and '"' not in line.split("#")[0]]


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    failures = []
    r = run(orderflow, "fmt", "--check", "examples", "stdlib", cwd=source)
    if r.returncode != 0:
        failures.append(f"committed files are not formatted:\n{r.stdout}{r.stderr}")
    work = tempfile.mkdtemp(prefix="orderflow-fmt-")
    bundles = [os.path.join(source, "examples", "marketplace"), os.path.join(source, "examples", "bench"),
               os.path.join(source, "tests", "runtime", "bundles", "last-units"), tour_bundle(source, work)]
    for bundle in bundles:
        copy = os.path.join(work, "copy-" + os.path.basename(bundle))
        shutil.copytree(bundle, copy)
        # Scrambled first (indentation and spacing undone), so that formatting has work to do.
        for path in glob.glob(os.path.join(copy, "**", "*.flow"), recursive=True):
            text = open(path).read()
            scrambled = "\n".join(re.sub(r"^\s+", " ", l) if not l.lstrip().startswith("|") else l
                                  for l in text.splitlines()) + "\n"
            open(path, "w").write(scrambled)
        before = run(orderflow, "check", bundle, "--emit", "typed")
        fmt1 = run(orderflow, "fmt", copy)
        if fmt1.returncode != 0:
            failures.append(f"fmt failed on {bundle}: {fmt1.stderr}")
            continue
        after = run(orderflow, "check", copy, "--emit", "typed")
        if before.stdout != after.stdout or before.returncode != after.returncode:
            failures.append(f"formatting {bundle} changed what `check --emit typed` prints")
        for path in glob.glob(os.path.join(copy, "**", "*.flow"), recursive=True):
            original = os.path.join(bundle, os.path.relpath(path, copy))
            formatted = open(path).read()
            if comments(open(original).read()) != comments(formatted):
                failures.append(f"formatting lost or changed a comment of {original}")
            again = run(orderflow, "fmt", "--stdout", path).stdout
            if again != formatted:
                failures.append(f"fmt is not idempotent on {original}")
    # Syntax errors: the file is left as it is, and the command says so.
    broken = os.path.join(work, "broken.flow")
    open(broken, "w").write("rule \"x\"\n   when order.total >\n")
    r = run(orderflow, "fmt", broken)
    if r.returncode == 0 or open(broken).read() != "rule \"x\"\n   when order.total >\n" or "syntax errors" not in r.stderr:
        failures.append(f"a file with syntax errors was not left alone: {r.returncode} {r.stderr}")
    for case in sorted(glob.glob(os.path.join(source, "tests", "format", "cases", "*.flow"))):
        if case.endswith(".expected.flow"):
            continue
        want_path = case[:-5] + ".expected.flow"
        formatted = run(orderflow, "fmt", "--stdout", case)
        if formatted.returncode != 0:
            failures.append(f"fmt failed on {case}: {formatted.stderr}")
            continue
        problem = golden_file.compare(want_path, formatted.stdout)
        if problem:
            failures.append(problem)
        # The same properties as for the bundles: meaning, comments, idempotence.
        copy = os.path.join(work, "case-" + os.path.basename(case))
        open(copy, "w").write(formatted.stdout)
        typed_before = run(orderflow, "check", case, "--emit", "typed")
        typed_after = run(orderflow, "check", copy, "--emit", "typed")
        if (typed_before.stdout, typed_before.returncode) != (typed_after.stdout, typed_after.returncode):
            failures.append(f"formatting {case} changed what `check --emit typed` prints")
        if comments(open(case).read()) != comments(formatted.stdout):
            failures.append(f"formatting lost or changed a comment of {case}")
        if run(orderflow, "fmt", "--stdout", copy).stdout != formatted.stdout:
            failures.append(f"fmt is not idempotent on {case}")
    shutil.rmtree(work)
    for f in failures:
        print(f)
    print(f"{len(bundles)} bundles formatted; {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
