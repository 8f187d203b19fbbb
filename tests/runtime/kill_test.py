#!/usr/bin/env python3
"""Crash test of the durable store: `orderflow run` ingests N orders and is
killed with SIGKILL at random moments, then run again on the same file until
it finishes. Afterwards every order it acknowledged is stored, every order of
the file is stored exactly once, no order is half-written (its projection is
what its journal says), and rebuilding the projections from the journal
changes nothing.

usage: kill_test.py ORDERFLOW SOURCE_DIR [N] [KILLS] [SEED]
"""
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


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    kills = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else int(os.environ.get("ORDERFLOW_KILL_SEED", "20261126"))
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="orderflow-kill-")
    orders = os.path.join(work, "orders.jsonl")
    db = os.path.join(work, "orders.db")
    with open(orders, "w") as f:
        subprocess.run([sys.executable, os.path.join(source, "tests", "runtime", "make_orders.py"), str(n), source],
                       stdout=f, check=True)
    ids = [json.loads(line)["id"] for line in open(orders)]
    deploy = subprocess.run([orderflow, "deploy", os.path.join(source, "examples", "marketplace"), "--db", db,
                             "--engine", "interp"], capture_output=True, text=True)
    assert deploy.returncode == 0, deploy.stderr

    acknowledged = set()
    # The JIT engine, so that kills also land while it compiles in the background.
    command = [orderflow, "run", "--db", db, "--events", orders, "--clock", "events"]

    def read_acks(process, sink):
        for line in process.stdout:
            try:
                ack = json.loads(line)
            except ValueError:
                continue  # the line the kill cut short was never a complete acknowledgement
            if ack.get("status") in ("stored", "duplicate") and ack.get("input") != "timer":
                sink.add(ack["order"])

    for round_ in range(kills + 1):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = set()
        reader = threading.Thread(target=read_acks, args=(process, seen))
        reader.start()
        last = round_ == kills
        if not last:
            time.sleep(rng.uniform(0.3, 6.0))
            process.send_signal(signal.SIGKILL)
        process.wait()
        reader.join()
        err = process.stderr.read()
        acknowledged |= seen
        if last:
            assert process.returncode == 0, f"the last run failed ({process.returncode}): {err}"
        print(f"run {round_ + 1}: {'finished' if last else 'killed'} after {len(seen)} acknowledgements",
              flush=True)

    con = sqlite3.connect(db)
    stored = {row[0] for row in con.execute("SELECT order_id FROM orders")}
    missing_acked = acknowledged - stored
    assert not missing_acked, f"{len(missing_acked)} acknowledged orders are not stored, e.g. {sorted(missing_acked)[:3]}"
    assert stored == set(ids), f"stored {len(stored)} orders of {len(ids)}"
    received = dict(con.execute("SELECT order_id, count(*) FROM journal WHERE kind = 'received' GROUP BY order_id"))
    twice = [o for o, c in received.items() if c != 1]
    assert not twice and len(received) == n, f"orders received more than once: {twice[:3]}"
    intake = con.execute("SELECT count(*) FROM intake").fetchone()[0]
    assert intake == n, f"{intake} intake keys for {n} orders"
    # No half-written order: its projection is at its last journal entry, in the state its last state entry says.
    bad = con.execute("""
        SELECT o.order_id FROM orders o
        WHERE o.last_seq != (SELECT max(seq) FROM journal j WHERE j.order_id = o.order_id)
           OR o.state != (SELECT json_extract(body, '$.to') FROM journal j
                          WHERE j.order_id = o.order_id AND kind = 'state' ORDER BY seq DESC LIMIT 1)
        LIMIT 5""").fetchall()
    assert not bad, f"half-written orders: {bad}"
    decided = con.execute("SELECT count(DISTINCT order_id) FROM journal WHERE kind = 'decision'").fetchone()[0]
    assert decided == n, f"{decided} of {n} orders have a decision"
    before = con.execute("SELECT * FROM orders ORDER BY order_id").fetchall()
    timers_before = con.execute("SELECT * FROM timers ORDER BY id").fetchall()
    con.close()
    rebuild = subprocess.run([orderflow, "rebuild", "--db", db], capture_output=True, text=True)
    assert rebuild.returncode == 0, rebuild.stderr
    con = sqlite3.connect(db)
    assert con.execute("SELECT * FROM orders ORDER BY order_id").fetchall() == before, "rebuild changed the orders"
    assert con.execute("SELECT * FROM timers ORDER BY id").fetchall() == timers_before, "rebuild changed the timers"
    con.close()
    print(f"ok: {n} orders, {kills} kills, {len(acknowledged)} acknowledged before the end; all stored exactly once")
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
