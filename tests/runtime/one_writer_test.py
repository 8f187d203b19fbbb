#!/usr/bin/env python3
"""One engine writes a database at a time.

1. Two `orderflow run` started at the same moment on a freshly deployed
   database: one runs, the other is refused with a message that names the
   one running and says what to do. Stock is seeded once (the bundle's rows,
   each once), never twice.
2. With `--wait`, the second waits for the first and then runs: its orders
   are duplicates, and still nothing is seeded twice or over-reserved.
3. While `orderflow serve` runs, `orderflow run` is refused and points at
   `orderflow import`, which queues a file into the server's inbox and
   waits until the server has decided it.

usage: one_writer_test.py ORDERFLOW SOURCE_DIR
"""
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import orderflow_server  # noqa: E402


def check_stock(db, rows, failures, when):
    con = sqlite3.connect(db)
    seeds = con.execute("SELECT node, sku, count(*) FROM stock_log WHERE cause LIKE 'seeded from%' GROUP BY node, sku"
                        ).fetchall()
    if len(seeds) != rows or any(c != 1 for _, _, c in seeds):
        failures.append(f"{when}: seeded {sum(c for _, _, c in seeds)} times for {len(seeds)} rows; expected {rows} once")
    on_hand = con.execute("SELECT on_hand FROM stock WHERE node = 'BHI-WH1' AND sku = 'KURTA-M-IND'").fetchone()[0]
    if on_hand != 150:
        failures.append(f"{when}: BHI-WH1 KURTA-M-IND has {on_hand} on hand; the bundle says 150")
    for node, sku, reserved, logged in con.execute(
            "SELECT s.node, s.sku, s.reserved, (SELECT sum(reserved_change) FROM stock_log l "
            "WHERE l.node = s.node AND l.sku = s.sku) FROM stock s"):
        if reserved != logged:
            failures.append(f"{when}: {node} {sku} reserved {reserved}, its log says {logged}")
    con.close()


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    example = os.path.join(source, "examples", "marketplace")
    sample = os.path.join(example, "orders", "sample.jsonl")
    rows = sum(1 for r in csv.DictReader(open(os.path.join(example, "data", "stock.csv")))
               if any(int(r[k]) for k in ("on_hand", "reserved", "safety_stock")))
    failures = []
    work = tempfile.mkdtemp(prefix="orderflow-one-writer-")
    db = os.path.join(work, "orders.db")
    subprocess.run([orderflow, "deploy", example, "--db", db], check=True, capture_output=True)

    # 1. Two at once: one runs, one is refused.
    run = [orderflow, "run", "--db", db, "--events", sample, "--clock", "events", "--quiet"]
    both = [subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in both]
    codes = sorted(code for code, _ in results)
    refusal = next((err for code, err in results if code != 0), "")
    if codes != [0, 1]:
        failures.append(f"two engines at once ended {codes}; expected one to run and one to be refused")
    elif "is being written by `orderflow run" not in refusal or "pid" not in refusal or "orderflow import" not in refusal:
        failures.append(f"the refusal does not name the holder and what to do: {refusal}")
    else:
        print("ok: the second engine was refused:", refusal.strip().splitlines()[0][:160])
    check_stock(db, rows, failures, "two at once")

    # 2. Two with --wait: both run, one after the other.
    day = os.path.join(example, "events", "day-one.jsonl")
    waiting = [orderflow, "run", "--db", db, "--events", day, "--clock", "events", "--quiet", "--wait", "60"]
    both = [subprocess.Popen(waiting, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in both]
    if [code for code, _ in results] != [0, 0]:
        failures.append(f"two engines with --wait ended {[c for c, _ in results]}: {[e for _, e in results]}")
    elif not any("duplicates" in err and " 0 duplicates" not in err for _, err in results):
        failures.append(f"the second run with --wait did not see the first's inputs: {results}")
    else:
        print("ok: with --wait the second engine ran after the first; its inputs were duplicates")
    check_stock(db, rows, failures, "two with --wait")

    # 3. A server holds the database: run is refused, import works.
    db2 = os.path.join(work, "served.db")
    subprocess.run([orderflow, "deploy", example, "--db", db2], check=True, capture_output=True)
    config = os.path.join(work, "config.json")
    json.dump({"api_token": "t"}, open(config, "w"))
    server, port = orderflow_server.start(orderflow, source, db2, config)
    try:
        refused = subprocess.run([orderflow, "run", "--db", db2, "--events", sample], capture_output=True, text=True)
        if refused.returncode != 1 or "orderflow serve" not in refused.stderr or "orderflow import" not in refused.stderr:
            failures.append(f"run beside serve: exit {refused.returncode}: {refused.stderr}")
        else:
            print("ok: run beside serve is refused and points at import")
        imported = subprocess.run([orderflow, "import", "--db", db2, "--events", sample, "--timeout", "60"],
                                  capture_output=True, text=True)
        if imported.returncode != 0 or "decided; 0 of them became dead letters" not in imported.stdout:
            failures.append(f"import beside serve: exit {imported.returncode}: {imported.stdout}{imported.stderr}")
        else:
            print("ok:", imported.stdout.strip().replace("\n", "; "))
        again = subprocess.run([orderflow, "import", "--db", db2, "--events", sample, "--timeout", "60"],
                               capture_output=True, text=True)
        if "queued 0 inputs" not in again.stdout:
            failures.append(f"importing the same file again queued something: {again.stdout}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    audit = subprocess.run([orderflow, "audit", "WC-727", "--db", db2, "--format", "json"], capture_output=True,
                           text=True)
    state = json.loads(audit.stdout).get("state") if audit.returncode == 0 else None
    if state != "allocated":
        failures.append(f"the imported split order is {state}; expected allocated")
    check_stock(db2, rows, failures, "import beside serve")

    subprocess.run(["rm", "-rf", work])
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
