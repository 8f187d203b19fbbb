#!/usr/bin/env python3
"""Writes N canonical orders, one JSON line each, made from the example
bundle's real orders (examples/marketplace/orders/*.json) with fresh ids and
placed a few seconds apart, so that the engine sees every kind of decision.

usage: make_orders.py N [SOURCE_DIR] > orders.jsonl
"""
import datetime
import glob
import json
import os
import sys


def main():
    n = int(sys.argv[1])
    source = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..")
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


if __name__ == "__main__":
    main()
