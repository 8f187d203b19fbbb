#!/usr/bin/env python3
"""Golden tests of the channel adapters on the real payloads of
../shared/payloads: for every payload of every channel that has an adapter,
`orderflow normalize` prints the canonical order (checked against the
standard library's schema) or event, or a clear error naming the JSON path;
tests/connectors/expected/<channel>/<payload>.txt holds what it printed.
For every canonical order, the total and the SKUs and quantities of its
lines are also checked against the payload itself. Broken input (cut short,
not JSON) gets an error, never a crash. ORDERFLOW_UPDATE_GOLDEN=1 rewrites
the expected files.

usage: run_connector_golden.py ORDERFLOW SOURCE_DIR
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import golden_file  # noqa: E402

CHANNELS = ["shopify", "woocommerce", "shopee"]


def normalize(orderflow, channel, path):
    r = subprocess.run([orderflow, "normalize", "--channel", channel, path], capture_output=True, text=True)
    return r


def check_order(channel, payload, order, failures, name):
    """Totals, line count and SKUs, read from the payload independently."""
    if channel == "shopee":
        src = next(o for o in payload["response"]["order_list"] if o["order_sn"] == order["external_id"])
        total = str(src["total_amount"])
        items = [{"sku": i.get("model_sku") or i.get("item_sku"), "quantity": i["model_quantity_purchased"]}
                 for i in src["item_list"]]
    else:
        src = payload.get("order", payload) if channel == "shopify" else payload
        total = src.get("total_price" if channel == "shopify" else "total")
        items = src.get("line_items", [])
    if order["total"]["amount"] != total:
        failures.append(f"{name}: total {order['total']['amount']} != payload {total}")
    if len(order["lines"]) != len(items):
        failures.append(f"{name}: {len(order['lines'])} lines for {len(items)} line items")
    for line, item in zip(order["lines"], items):
        if item.get("sku") and line["sku"] != item["sku"]:
            failures.append(f"{name}: sku {line['sku']} != {item['sku']}")
        if line["quantity"] != item["quantity"]:
            failures.append(f"{name}: quantity {line['quantity']} != {item['quantity']}")


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    payloads = os.path.join(source, "..", "shared", "payloads")
    failures, seen = [], 0
    for channel in CHANNELS:
        files = sorted(glob.glob(os.path.join(payloads, channel, "*.json")) +
                       glob.glob(os.path.join(payloads, channel, "*.json.txt")))
        if not files:
            failures.append(f"no payloads for {channel} in {payloads}")
        for path in files:
            seen += 1
            name = os.path.basename(path)
            r = normalize(orderflow, channel, path)
            shown = f"--- stdout\n{r.stdout}--- stderr\n{r.stderr.replace(path, name)}--- exit {r.returncode}\n"
            problem = golden_file.compare(
                os.path.join(source, "tests", "connectors", "expected", channel, name + ".txt"), shown)
            if problem:
                failures.append(problem)
            if "Traceback" in r.stderr or r.returncode not in (0, 1):
                failures.append(f"{channel}/{name}: exit {r.returncode}")
            if r.returncode == 0:
                decoder = json.JSONDecoder()
                text, at, inputs = r.stdout, 0, []
                while text[at:].strip():
                    value, at = decoder.raw_decode(text, at + (len(text[at:]) - len(text[at:].lstrip())))
                    inputs.append(value)
                payload = json.loads(open(path).read())
                for value in inputs:
                    if value.get("type", "order") == "order":
                        check_order(channel, payload, value, failures, f"{channel}/{name}")
    # Broken input: an error with a path, exit 1, no crash.
    with tempfile.TemporaryDirectory() as work:
        for label, text in [("truncated", '{"order": {"id": 450789469, "line_items": ['), ("not json", "hello")]:
            path = os.path.join(work, "payload.json")
            open(path, "w").write(text)
            r = normalize(orderflow, "shopify", path)
            if r.returncode != 1 or "$" not in r.stderr:
                failures.append(f"{label} payload: exit {r.returncode}, {r.stderr}")
        r = normalize(orderflow, "myspace", os.path.join(payloads, "shopify", "rest_fixture_order.json"))
        if r.returncode != 2 or "no connector for 'myspace'" not in r.stderr:
            failures.append(f"unknown channel: exit {r.returncode}, {r.stderr}")
    for f in failures:
        print(f)
    print(f"{seen} payloads; {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
