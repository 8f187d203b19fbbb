#!/usr/bin/env python3
"""Time under `orderflow run --clock events`, never silently wrong.

1. A file lists an order of 20:00Z before the release, stamped 10:00Z, of an
   order whose hold times out at 19:30Z. Inputs are taken in the order they
   happened, so the release comes before the timeout: the held order is
   accepted (it used to be lost to the timeout, and the run said nothing).
2. A later file brings an event stamped before the engine's clock (that
   earlier run went further): it is applied at the clock, the run warns,
   its acknowledgement says when it happened and when it was applied, and
   the audit shows both times.

usage: time_order_test.py ORDERFLOW SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile


def run(orderflow, *args):
    return subprocess.run([orderflow, *args], capture_output=True, text=True)


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    example = os.path.join(source, "examples", "marketplace")
    failures = []
    work = tempfile.mkdtemp(prefix="orderflow-time-")
    db = os.path.join(work, "orders.db")
    run(orderflow, "deploy", example, "--db", db)

    held = json.load(open(os.path.join(example, "orders", "flipkart-cod-high-value.json")))
    held["placed_at"] = "2026-11-19T19:30:00Z"  # COD above the limit: held 24h, then cancelled at 19:30Z
    later = json.load(open(os.path.join(example, "orders", "amazon-express-prepaid.json")))
    later["placed_at"] = "2026-11-20T20:00:00Z"
    release = {"type": "event", "order_id": held["id"], "event": "release", "by": "priya@ops",
               "event_id": "cod-confirmed-1", "at": "2026-11-20T10:00:00Z"}
    first = os.path.join(work, "first.jsonl")
    with open(first, "w") as f:
        for line in (held, later, release):
            f.write(json.dumps(line) + "\n")
    r = run(orderflow, "run", "--db", db, "--events", first, "--clock", "events")
    acks = [json.loads(line) for line in r.stdout.splitlines()]
    if r.returncode != 0:
        failures.append(f"the first run exited {r.returncode}: {r.stderr}")
    released = next((a for a in acks if a.get("input") == "3"), {})
    if released.get("status") != "stored" or released.get("state") != "allocated":
        failures.append(f"the release was not taken before the timeout: {released}")
    if "taken in the order it happened" not in r.stderr:
        failures.append(f"the run did not say it took the inputs in time order: {r.stderr}")
    audit = json.loads(run(orderflow, "audit", held["id"], "--db", db, "--format", "json").stdout)
    history = [(e["kind"], e["body"]) for e in audit["history"]]
    timed_out = [i for i, (k, b) in enumerate(history) if k == "timer_fired" and b.get("kind") == "hold_timeout"]
    released = [i for i, (k, b) in enumerate(history) if k == "event" and b.get("event") == "release"]
    if not released or (timed_out and timed_out[0] < released[0]):
        failures.append(f"the hold timed out before the release: {[k for k, _ in history]}")
    else:
        print(f"ok: the release of 10:00 came before the 19:30 timeout; {held['id']} is {audit['state']}")

    # 2. An input older than the engine's clock, in a later run.
    pack = {"type": "event", "order_id": later["id"], "event": "pack", "event_id": "pack-1",
            "at": "2026-11-20T12:00:00Z"}
    second = os.path.join(work, "second.jsonl")
    with open(second, "w") as f:
        f.write(json.dumps(pack) + "\n")
    r = run(orderflow, "run", "--db", db, "--events", second, "--clock", "events")
    ack = json.loads(r.stdout.splitlines()[0]) if r.stdout else {}
    if ack.get("status") != "stored" or ack.get("happened_at") != "2026-11-20T12:00:00Z" or "applied_at" not in ack:
        failures.append(f"the late input's acknowledgement does not say when it happened and was applied: {ack}")
    if "happened at 2026-11-20T12:00:00Z but was applied at" not in r.stderr or "1 input was applied after" not in r.stderr:
        failures.append(f"the run did not warn of the late input: {r.stderr}")
    text = run(orderflow, "audit", later["id"], "--db", db).stdout
    if "(happened 2026-11-20T12:00:00Z, applied" not in text:
        failures.append(f"the audit does not show when the late event happened: {text}")
    else:
        print("ok: the late input was applied at the engine's clock, and said so:", ack.get("applied_at"))

    subprocess.run(["rm", "-rf", work])
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
