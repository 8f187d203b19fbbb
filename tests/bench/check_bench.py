#!/usr/bin/env python3
"""`orderflow bench` must decide and route every order exactly as the
hand-written baseline does, on both engines, for more than one seed.

Generates orders with ../shared/bench/gen_orders.py, builds and runs
baseline.cpp, runs `orderflow bench` with the interpreter, the JIT and the
JIT without its rule trace, and compares the per-order files byte for byte.
Timings are not checked here (the benchmark reports them; a shared CI
machine is no place to judge them).

usage: check_bench.py ORDERFLOW BENCH_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

SEEDS = (7, 20240601)
ORDERS = 3000


def main():
    orderflow, bench = sys.argv[1:3]
    if not os.path.exists(os.path.join(bench, "baseline.cpp")):
        print(f"cannot find the benchmark at {bench}", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="orderflow-bench-check-")
    try:
        baseline = os.path.join(work, "baseline")
        subprocess.run(["g++", "-O2", "-std=c++17", "-ffp-contract=off", "-o", baseline,
                        os.path.join(bench, "baseline.cpp")], check=True)
        failed = 0
        for seed in SEEDS:
            data = os.path.join(work, f"seed-{seed}")
            subprocess.run([sys.executable, os.path.join(bench, "gen_orders.py"), "--n", str(ORDERS), "--seed",
                            str(seed), "--out", data], check=True, capture_output=True)
            files = ["--orders", f"{data}/orders.jsonl", "--nodes", f"{data}/nodes.json", "--params",
                     f"{data}/params.json", "--reps", "1", "--warmup", "0"]
            expected_path = os.path.join(data, "baseline.tsv")
            subprocess.run([baseline] + files + ["--out", expected_path], check=True, capture_output=True)
            expected = open(expected_path).read()
            for engine in (["--engine", "interp"], ["--engine", "jit"], ["--engine", "jit", "--trace", "off"]):
                out = os.path.join(data, "orderflow.tsv")
                r = subprocess.run([orderflow, "bench"] + files + engine + ["--out", out], capture_output=True, text=True)
                label = f"seed {seed}, {' '.join(engine)}"
                if r.returncode != 0:
                    print(f"{label}: orderflow bench failed:\n{r.stdout}{r.stderr}")
                    failed += 1
                    continue
                actual = open(out).read()
                if actual != expected:
                    want, got = expected.splitlines(), actual.splitlines()
                    first = next((i for i in range(min(len(want), len(got))) if want[i] != got[i]), min(len(want), len(got)))
                    print(f"{label}: differs from the baseline at order {first + 1}:\n"
                          f"  baseline  {want[first] if first < len(want) else '(none)'}\n"
                          f"  orderflow {got[first] if first < len(got) else '(none)'}")
                    failed += 1
                else:
                    print(f"{label}: {len(actual.splitlines())} orders as the baseline")
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
