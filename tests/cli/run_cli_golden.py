#!/usr/bin/env python3
"""Golden tests of the command line: each case runs `orderflow` with fixed
arguments (and a fixed --now) and compares what it prints, and its exit
status, with tests/cli/expected/<case>.txt. ORDERFLOW_UPDATE_GOLDEN=1
rewrites the expected files.

usage: run_cli_golden.py ORDERFLOW SOURCE_DIR
"""
import os
import subprocess
import sys

EX = "examples/marketplace"
NOW = "2026-11-20T13:00:00Z"
CASES = {
    "check-example": ["check", EX],
    "check-example-json": ["check", EX, "--format", "json"],
    "check-tour-section-7-json": ["check", "tests/golden/diagnostics/tour-section-7.flow", "--format", "json"],
    # Bytes that are not UTF-8 in a policy file and in a data file: located diagnostics, and JSON that is still JSON.
    "check-not-utf8-json": ["check", "tests/golden/diagnostics/not-utf8.flow", "--format", "json"],
    "check-data-not-utf8-json": ["check", "tests/golden/diagnostics/data-not-utf8", "--format", "json"],
    "eval-example-json": ["eval", "--bundle", EX, "--orders", f"{EX}/orders/sample.jsonl", "--now", NOW],
    "eval-example-text": ["eval", "--bundle", EX, "--orders", f"{EX}/orders/sample.jsonl", "--now", NOW, "--format", "text"],
    "explain-cod": ["explain", "--bundle", EX, "--order", f"{EX}/orders/lazada-malaysia-cod.json", "--now", NOW],
    "explain-split": ["explain", "--bundle", EX, "--order", f"{EX}/orders/woocommerce-split-shipment.json", "--now", NOW],
    "explain-unknown-location": ["explain", "--bundle", EX, "--order", "tests/cli/unknown-pincode.json", "--now", NOW],
    "test-example": ["test", EX],
    "test-failing-expectations": ["test", "tests/cli/failing-tests"],
    "explain-across-lines": ["explain", "--bundle", "tests/lang/across-lines", "--order",
                             "tests/lang/across-lines/orders/two-kurta-lines.json", "--now", NOW],
    # At 23:30 in Bengaluru: held until the next 07:00 there, 7h30m later.
    "explain-local-time": ["explain", "--bundle", "tests/lang/local-time", "--order",
                           "tests/lang/local-time/orders/night-cod.json", "--now", "2026-12-02T18:00:00Z"],
    # Orders piped in: `--orders -` reads standard input (STDIN below).
    "eval-standard-input": ["eval", "--bundle", EX, "--orders", "-", "--now", NOW],
    # An order written over several lines, as orders/*.json are, and a JSON array of orders.
    "eval-one-order-file": ["eval", "--bundle", EX, "--orders", f"{EX}/orders/lazada-malaysia-cod.json", "--now", NOW],
    "eval-array-of-orders": ["eval", "--bundle", EX, "--orders", "tests/cli/orders-array.json", "--now", NOW,
                             "--format", "text"],
    "check-missing-path": ["check", "tests/cli/no-such-bundle"],
    "eval-bad-input": ["eval", "--bundle", EX, "--orders", "tests/cli/bad-orders.jsonl", "--now", NOW],
    "eval-broken-bundle": ["eval", "--bundle", "tests/golden/diagnostics/missing-otherwise.flow",
                           "--orders", f"{EX}/orders/sample.jsonl"],
    "emit-ast": ["check", "tests/golden/diagnostics/missing-otherwise.flow", "--emit", "ast"],
    "emit-tokens": ["check", "tests/golden/diagnostics/missing-otherwise.flow", "--emit", "tokens"],
    "emit-typed": ["check", f"{EX}/sla.flow", f"{EX}/acceptance.flow", "--emit", "typed"],
}


# What a case reads on standard input, by case.
STDIN = {"eval-standard-input": "examples/marketplace/orders/sample.jsonl"}

# Commands that evaluate run a second time with `--engine jit`: the compiled
# code must print exactly what the interpreter printed (but for the engine's
# name), so these cases are also differential tests.
EVALUATING = ("eval", "explain", "test")


def run(orderflow, source, args, stdin=None):
    given = open(os.path.join(source, stdin)).read() if stdin else None
    r = subprocess.run([orderflow] + args, cwd=source, capture_output=True, text=True, input=given,
                       env={**os.environ, "NO_COLOR": "1"})
    return f"$ orderflow {' '.join(args)}\n--- stdout\n{r.stdout}--- stderr\n{r.stderr}--- exit {r.returncode}\n"


def as_interpreted(jit_output, args):
    """The JIT run's output as the interpreter's run would print it."""
    out = jit_output.replace(f"$ orderflow {' '.join(args + ['--engine', 'jit'])}\n", f"$ orderflow {' '.join(args)}\n", 1)
    out = out.replace(" (jit)\n", " (interpreter)\n").replace("evaluated with the jit", "evaluated with the interpreter")
    return out


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    update = os.environ.get("ORDERFLOW_UPDATE_GOLDEN") == "1"
    expected_dir = os.path.join(source, "tests", "cli", "expected")
    os.makedirs(expected_dir, exist_ok=True)
    failed = []
    runs = 0
    for name, args in CASES.items():
        actual = run(orderflow, source, args, STDIN.get(name))
        path = os.path.join(expected_dir, name + ".txt")
        if update:
            with open(path, "w") as f:
                f.write(actual)
            continue
        if not os.path.exists(path):
            failed.append(f"{name}: {path} is missing (run with ORDERFLOW_UPDATE_GOLDEN=1)")
            continue
        want = open(path).read()
        outputs = [(name, actual)]
        if args[0] in EVALUATING:
            outputs.append((name + " --engine jit", as_interpreted(run(orderflow, source, args + ["--engine", "jit"], STDIN.get(name)), args)))
        for label, output in outputs:
            runs += 1
            if want != output:
                import difflib
                diff = "".join(difflib.unified_diff(want.splitlines(True), output.splitlines(True), path, "actual"))
                failed.append(f"{label} differs:\n{diff}")
    for f in failed:
        print(f)
    print(f"{runs - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
