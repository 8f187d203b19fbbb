#!/usr/bin/env python3
"""Crash test of the engine and its store: `orderflow run` takes N orders
(copies of the example's real orders, the split order WC-727 among them)
with goods receipts in between, and is killed with SIGKILL at random
moments, at least three times; then the same file is run to the end.

After every restart it checks what an operator relies on:
- no valid input became a dead letter (a restart never turns a valid order
  into one);
- stock was seeded once per row, and each row's on hand is exactly what was
  seeded plus what was received (each receipt counted once);
- reserved never exceeds on hand, and equals what the orders hold.
At the end: every acknowledged order is stored, every order of the file is
stored exactly once, each has a decision, and rebuilding the projections
from the journal changes nothing (no order is half-written).

usage: kill_test.py ORDERFLOW SOURCE_DIR [N] [KILLS] [SEED]
"""
import csv
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time


def stock_seeded(source):
    rows = csv.DictReader(open(os.path.join(source, "examples", "marketplace", "data", "stock.csv")))
    return {(r["node"], r["sku"]): int(r["on_hand"]) for r in rows
            if int(r["on_hand"]) or int(r["reserved"]) or int(r["safety_stock"])}


def check_stock(db, seeded, when):
    """The invariants of the stock, read straight from the tables."""
    con = sqlite3.connect(db)
    try:
        letters = con.execute("SELECT source, error FROM dead_letters LIMIT 3").fetchall()
        assert not letters, f"{when}: valid inputs became dead letters: {letters}"
        seeds = dict(((n, s), c) for n, s, c in con.execute(
            "SELECT node, sku, count(*) FROM stock_log WHERE cause LIKE 'seeded from deployment%' GROUP BY node, sku"))
        assert set(seeds) == set(seeded), f"{when}: seeded rows {sorted(seeds)} != {sorted(seeded)}"
        twice = [k for k, c in seeds.items() if c != 1]
        assert not twice, f"{when}: stock seeded more than once for {twice}"
        received = dict(((n, s), q) for n, s, q in con.execute(
            "SELECT node, sku, sum(on_hand_change) FROM stock_log WHERE cause LIKE 'receipt%' GROUP BY node, sku"))
        receipts = con.execute("SELECT count(*), count(DISTINCT cause) FROM stock_log WHERE cause LIKE 'receipt%'"
                               ).fetchone()
        assert receipts[0] == receipts[1], f"{when}: a receipt was counted twice ({receipts[0]} for {receipts[1]})"
        shipped = dict(((n, s), q) for n, s, q in con.execute(
            "SELECT node, sku, sum(on_hand_change) FROM stock_log WHERE cause = 'shipped' GROUP BY node, sku"))
        for node, sku, on_hand, reserved in con.execute("SELECT node, sku, on_hand, reserved FROM stock"):
            expected = seeded.get((node, sku), 0) + received.get((node, sku), 0) + shipped.get((node, sku), 0)
            assert on_hand == expected, f"{when}: {node} {sku} has {on_hand} on hand; seeded plus received is {expected}"
            assert 0 <= reserved <= on_hand, f"{when}: {node} {sku} has {reserved} reserved of {on_hand} on hand"
        logged = dict(((n, s), q) for n, s, q in con.execute(
            "SELECT node, sku, sum(reserved_change) FROM stock_log GROUP BY node, sku"))
        for node, sku, reserved in con.execute("SELECT node, sku, reserved FROM stock"):
            assert reserved == logged.get((node, sku), 0), f"{when}: {node} {sku} reserved {reserved} != its log"
    finally:
        con.close()


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    kills = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else int(os.environ.get("ORDERFLOW_KILL_SEED", "20261126"))
    assert kills >= 3, "the test kills at least three times"
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="orderflow-kill-")
    orders = os.path.join(work, "orders.jsonl")
    db = os.path.join(work, "orders.db")
    with open(orders, "w") as f:
        subprocess.run([sys.executable, os.path.join(source, "tests", "runtime", "make_orders.py"), str(n), source,
                        "--receipts", "50"], stdout=f, check=True)
    lines = [json.loads(line) for line in open(orders)]
    ids = [o["id"] for o in lines if o.get("type", "order") == "order"]
    receipts = [o for o in lines if o.get("type") == "stock"]
    assert any(i.startswith("WC-727-") for i in ids), "the split order is among them"
    deploy = subprocess.run([orderflow, "deploy", os.path.join(source, "examples", "marketplace"), "--db", db,
                             "--engine", "interp"], capture_output=True, text=True)
    assert deploy.returncode == 0, deploy.stderr
    seeded = stock_seeded(source)

    acknowledged = set()
    # The JIT engine, so that kills also land while it compiles in the background.
    command = [orderflow, "run", "--db", db, "--events", orders, "--clock", "events"]

    def read_acks(process, sink):
        for line in process.stdout:
            try:
                ack = json.loads(line)
            except ValueError:
                continue  # the line the kill cut short was never a complete acknowledgement
            if ack.get("status") in ("stored", "duplicate") and ack.get("input") != "timer" and ack.get("order"):
                sink.add(ack["order"])

    for round_ in range(kills + 1):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = set()
        reader = threading.Thread(target=read_acks, args=(process, seen))
        reader.start()
        errors = []  # read as it comes: a full pipe would stall the run
        error_reader = threading.Thread(target=lambda: errors.append(process.stderr.read()))
        error_reader.start()
        last = round_ == kills
        if not last:
            time.sleep(rng.uniform(0.3, 2.5))
            process.send_signal(signal.SIGKILL)
        process.wait()
        reader.join()
        error_reader.join()
        err = "".join(errors)
        acknowledged |= seen
        if last:
            assert process.returncode == 0, f"the last run failed ({process.returncode}): {err}"
        check_stock(db, seeded, f"after run {round_ + 1}")
        print(f"run {round_ + 1}: {'finished' if last else 'killed'} after {len(seen)} acknowledgements",
              flush=True)

    con = sqlite3.connect(db)
    stored = {row[0] for row in con.execute("SELECT order_id FROM orders")}
    missing_acked = acknowledged - stored
    assert not missing_acked, f"{len(missing_acked)} acknowledged orders are not stored, e.g. {sorted(missing_acked)[:3]}"
    assert stored == set(ids), f"stored {len(stored)} orders of {len(ids)}"
    intake = con.execute("SELECT count(*) FROM intake").fetchone()[0]
    assert intake == len(ids) + len(receipts), f"{intake} intake keys for {len(ids)} orders and {len(receipts)} receipts"
    # Every receipt of the file, counted once.
    counted = dict(con.execute("SELECT cause, count(*) FROM stock_log WHERE cause LIKE 'receipt:%' GROUP BY cause"))
    for r in receipts:
        count = counted.get(f"receipt: {r['reason']}", 0)
        assert count == 1, f"receipt {r['event_id']} counted {count} times"
    before = con.execute("SELECT * FROM orders ORDER BY order_id").fetchall()
    timers_before = con.execute("SELECT * FROM timers ORDER BY due, id").fetchall()
    stock_before = con.execute("SELECT * FROM stock ORDER BY node, sku").fetchall()
    con.close()
    journal = subprocess.run([orderflow, "journal", "--db", db], capture_output=True, text=True)
    assert journal.returncode == 0, journal.stderr
    received, decided = {}, set()
    for line in journal.stdout.splitlines():
        entry = json.loads(line)
        if entry["kind"] == "received":
            received[entry["order"]] = received.get(entry["order"], 0) + 1
        elif entry["kind"] == "decision":
            decided.add(entry["order"])
    twice = [o for o, c in received.items() if c != 1]
    assert not twice and len(received) == len(ids), f"orders received more than once: {twice[:3]}"
    assert decided == set(ids), f"{len(decided)} of {len(ids)} orders have a decision"
    rebuild = subprocess.run([orderflow, "rebuild", "--db", db], capture_output=True, text=True)
    assert rebuild.returncode == 0, rebuild.stderr
    con = sqlite3.connect(db)
    assert con.execute("SELECT * FROM orders ORDER BY order_id").fetchall() == before, "rebuild changed the orders"
    assert con.execute("SELECT * FROM timers ORDER BY due, id").fetchall() == timers_before, "rebuild changed the timers"
    assert con.execute("SELECT * FROM stock ORDER BY node, sku").fetchall() == stock_before, "rebuild changed the stock"
    con.close()
    print(f"ok: {len(ids)} orders and {len(receipts)} receipts, {kills} kills, {len(acknowledged)} acknowledged "
          f"before the end; all stored exactly once, stock seeded once and received once, no dead letters")
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
