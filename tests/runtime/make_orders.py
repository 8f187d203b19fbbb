#!/usr/bin/env python3
"""Writes N canonical orders, one JSON line each, made from the example
bundle's real orders (examples/marketplace/orders/*.json) with fresh ids and
placed a few seconds apart, so that the engine sees every kind of decision.
With --receipts K, a goods receipt for one of the bundle's stock rows (by
turns) comes after every K orders, so that stock keeps arriving, backordered
orders are woken and routing keeps allocating.

usage: make_orders.py N [SOURCE_DIR] [--receipts K] > orders.jsonl
"""
import csv
import datetime
import glob
import json
import os
import sys


def main():
    args = [a for a in sys.argv[1:]]
    receipts = 0
    if "--receipts" in args:
        at = args.index("--receipts")
        receipts = int(args[at + 1])
        del args[at:at + 2]
    n = int(args[0])
    source = args[1] if len(args) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    rows = list(csv.DictReader(open(os.path.join(source, "examples", "marketplace", "data", "stock.csv"))))
    paths = sorted(glob.glob(os.path.join(source, "examples", "marketplace", "orders", "*.json")))
    templates = [json.load(open(p)) for p in paths]
    start = datetime.datetime(2026, 11, 20, 3, 0, tzinfo=datetime.timezone.utc)
    out = sys.stdout
    for i in range(n):
        order = dict(templates[i % len(templates)])
        order.pop("state", None)  # kept by the engine
        order.pop("state_since", None)
        order["external_id"] = f"{order.get('external_id', order['id'])}-{i:07d}"
        order["id"] = f"{order['id']}-{i:07d}"
        placed = start + datetime.timedelta(seconds=3 * i)
        shift = placed - datetime.datetime.fromisoformat(order["placed_at"])
        order["placed_at"] = placed.isoformat().replace("+00:00", "Z")
        if "dispatch_by" in order:
            dispatch = datetime.datetime.fromisoformat(order["dispatch_by"]) + shift
            order["dispatch_by"] = dispatch.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        out.write(json.dumps(order, separators=(",", ":")) + "\n")
        if receipts and (i + 1) % receipts == 0:
            row = rows[(i // receipts) % len(rows)]
            receipt = {"type": "stock", "node": row["node"], "sku": row["sku"], "received": 20,
                       "reason": f"PO-{i:07d}", "event_id": f"grn-{i:07d}",
                       "at": (placed + datetime.timedelta(seconds=1)).isoformat().replace("+00:00", "Z")}
            out.write(json.dumps(receipt, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
