#!/usr/bin/env python3
"""Golden tests of the channel adapters on the real payloads of
../shared/payloads: for every payload of every channel that has an adapter,
`orderflow normalize` prints the canonical order (checked against the
standard library's schema) or event, or a clear error naming the JSON path;
tests/connectors/expected/<channel>/<payload>.txt holds what it printed.
For every canonical order, the total and the SKUs and quantities of its
lines are also checked against expected/<channel>/facts.json, where a
person stated them as the payload gives them (a new case without facts
fails). Broken input (cut short, not JSON) gets an error, never a crash.
ORDERFLOW_UPDATE_GOLDEN=1 rewrites the expected files.

Besides the payloads as they are, the cases of fixtures/README.md: parts of
one order joined (Amazon v0, Lazada), the Magento order without its
elisions, and Flipkart answers written with its documented field names;
and, the other way, the request `orderflow tell` makes of each outbound
message in fixtures/outbound.

usage: run_connector_golden.py ORDERFLOW SOURCE_DIR
"""
import functools
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import golden_file  # noqa: E402


def connector_channels(orderflow):
    """Every connector, as the registry has them (the binary names them when
    asked for one it lacks); connectors_test checks each is a Channel of the schema."""
    r = subprocess.run([orderflow, "normalize", "--channel", "?", os.devnull], capture_output=True, text=True)
    return [c.strip() for c in r.stderr.split("there are:", 1)[-1].split(",") if c.strip()]

def normalize(orderflow, channel, *paths):
    r = subprocess.run([orderflow, "normalize", "--channel", channel, *paths], capture_output=True, text=True)
    return r


@functools.lru_cache(maxsize=None)
def facts_of(source, channel):
    """What each case's orders must come to, as a person read it off the payload:
    expected/<channel>/facts.json, {case: {order id: {"total": "12.50", "lines": [[sku, quantity], ...]}}}
    (a null SKU is not compared: the payload gives none)."""
    path = os.path.join(source, "tests", "connectors", "expected", channel, "facts.json")
    return json.load(open(path)) if os.path.exists(path) else {}


def check_order(source, channel, case, order, failures):
    name = f"{channel}/{case}"
    fact = facts_of(source, channel).get(case, {}).get(order["id"])
    if fact is None:
        failures.append(f"{name}: order {order['id']} has no facts in expected/{channel}/facts.json: state its total "
                        f"and its lines' SKUs and quantities as the payload gives them")
        return
    if Decimal(order["total"]["amount"]) != Decimal(fact["total"]):
        failures.append(f"{name}: total {order['total']['amount']} != {fact['total']} (facts.json)")
    if len(order["lines"]) != len(fact["lines"]):
        failures.append(f"{name}: {len(order['lines'])} lines for {len(fact['lines'])} in facts.json")
    for line, (sku, quantity) in zip(order["lines"], fact["lines"]):
        if sku is not None and line["sku"] != sku:
            failures.append(f"{name}: sku {line['sku']} != {sku} (facts.json)")
        if line["quantity"] != quantity:
            failures.append(f"{name}: quantity {line['quantity']} != {quantity} (facts.json)")


def derived_cases(payloads, work):
    """The cases of fixtures/README.md: (channel, label, [files])."""
    here = os.path.dirname(os.path.abspath(__file__))
    amazon = lambda name: os.path.join(payloads, "amazon", f"ordersV0_{name}_200_example_application_json.json")
    lazada = lambda name: os.path.join(payloads, "lazada", f"open.lazada.com_{name}.response_example.json")

    def write(name, value):
        path = os.path.join(work, name)
        open(path, "w").write(value if isinstance(value, str) else json.dumps(value, indent=2))
        return path

    items = json.load(open(amazon("getOrderItems")))
    items["payload"]["AmazonOrderId"] = json.load(open(amazon("getOrder")))["payload"]["AmazonOrderId"]
    joined_items = write("amazon_getOrderItems_of_the_getOrder_example.json", items)
    lazada_items = json.load(open(lazada("orders_items_get")))
    wanted = json.load(open(lazada("order_get")))["data"]["order_id"]
    lazada_items["data"][0]["order_id"] = wanted
    for item in lazada_items["data"][0]["order_items"]:
        item["order_id"] = wanted
    joined_lazada = write("lazada_orders_items_get_of_the_order_get_example.json", lazada_items)
    lazada_items["data"][0]["order_items"][0]["status"] = "returned"
    returned_lazada = write("lazada_orders_items_get_one_returned.json", lazada_items)
    elided = open(os.path.join(payloads, "magento", "rest_V1_orders_3_get_pending_banktransfer.elided.json.txt")).read()
    magento = write("magento_rest_V1_orders_3_without_elisions.json", re.sub(r",\s*\n\s*\.\.\.\s*\n", "\n", elided))
    fulfillment = json.load(open(os.path.join(payloads, "shopify", "rest_2026-07_fulfillment_order_list.json")))
    fulfillment["fulfillment_orders"][0]["status"] = "cancelled"
    cancelled_fo = write("shopify_fulfillment_order_cancelled.json", fulfillment)
    # Returns in the statuses the published examples are not in.
    shopee_return = os.path.join(payloads, "shopee", "v2_returns.get_return_detail_response.json")
    shopee_cases = []
    for status in ("REQUESTED", "COMPLETED", "CANCELLED"):
        detail = json.load(open(shopee_return))
        detail["response"]["status"] = status
        shopee_cases.append(("shopee", f"return detail {status}", [write(f"shopee_return_{status}.json", detail)]))
    ef_return = os.path.join(payloads, "amazon", "ef-returns-2024-09-11_getReturn_response.json")
    amazon_cases = []
    for return_type, status in (("CUSTOMER", "IN_TRANSIT"), ("CUSTOMER", "DELIVERED"),
                                ("CUSTOMER", "CUSTOMER_CANCELLED_PICK_UP"), ("REJECT", "DELIVERED")):
        ef = json.load(open(ef_return))
        ef["returnType"], ef["status"] = return_type, status
        amazon_cases.append(("amazon", f"EF return {return_type} {status}",
                             [write(f"amazon_ef_return_{return_type}_{status}.json", ef)]))
    refund = json.load(open(os.path.join(payloads, "shopify", "rest_fixture_refund.json")))
    refund["refund"]["refund_line_items"][0]["restock_type"] = "return"
    returned_refund = write("shopify_refund_one_line_returned.json", refund)
    del refund["refund"]["refund_line_items"][1]
    only_returned = write("shopify_refund_only_a_returned_line.json", refund)
    return (shopee_cases + amazon_cases + [
             ("shopify", "refund of one line returned, one cancelled", [returned_refund]),
             ("shopify", "refund of a returned line", [only_returned])] + [("amazon", "v0 getOrder + getOrderItems examples (different orders)",
              [amazon("getOrder"), amazon("getOrderItems")]),
             ("amazon", "v0 getOrder + its items + address + buyer info",
              [amazon("getOrder"), joined_items, amazon("getOrderAddress"), amazon("getOrderBuyerInfo")]),
             ("lazada", "GetOrder + GetMultipleOrderItems examples (different orders)",
              [lazada("order_get"), lazada("orders_items_get")]),
             ("lazada", "GetOrder + its items", [lazada("order_get"), joined_lazada]),
             ("lazada", "GetOrder + its items, one returned", [lazada("order_get"), returned_lazada]),
             ("magento", "REST order 3 without elisions", [magento]),
             ("shopify", "fulfillment order cancelled", [cancelled_fo])])


def shown(r, paths=()):
    """What a run printed, as its golden file holds it (file names without their folders)."""
    stderr = r.stderr
    for path in paths:
        stderr = stderr.replace(path, os.path.basename(path))
    return f"--- stdout\n{r.stdout}--- stderr\n{stderr}--- exit {r.returncode}\n"


def run_case(orderflow, source, channel, golden_name, paths, failures):
    r = normalize(orderflow, channel, *paths)
    problem = golden_file.compare(os.path.join(source, "tests", "connectors", "expected", channel, golden_name),
                                  shown(r, paths))
    if problem:
        failures.append(problem)
    if "Traceback" in r.stderr or r.returncode not in (0, 1):
        failures.append(f"{channel}/{golden_name}: exit {r.returncode}")
    if r.returncode != 0:
        return
    decoder = json.JSONDecoder()
    text, at, inputs = r.stdout, 0, []
    while text[at:].strip():
        value, at = decoder.raw_decode(text, at + (len(text[at:]) - len(text[at:].lstrip())))
        inputs.append(value)
    for value in inputs:
        if value.get("type", "order") == "order":
            check_order(source, channel, golden_name, value, failures)


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    payloads = os.path.join(source, "..", "shared", "payloads")
    failures, seen = [], 0
    here = os.path.dirname(os.path.abspath(__file__))
    channels = connector_channels(orderflow)
    if len(channels) < 8:
        failures.append(f"only {channels} named as connectors by {orderflow}")
    for channel in channels:
        # The channel's published examples, and fixtures/<channel>/ for what
        # a channel does not publish (Flipkart: fixtures/README.md).
        files = sorted(glob.glob(os.path.join(payloads, channel, "*.json")) +
                       glob.glob(os.path.join(payloads, channel, "*.json.txt")) +
                       glob.glob(os.path.join(here, "fixtures", channel, "*.json")))
        if not files:
            failures.append(f"no payloads for {channel} in {payloads} or fixtures/{channel}")
        for path in files:
            seen += 1
            run_case(orderflow, source, channel, os.path.basename(path) + ".txt", [path], failures)
    for sheet in sorted(glob.glob(os.path.join(here, "fixtures", "csv", "*.csv"))):
        seen += 1
        run_case(orderflow, source, "csv", os.path.basename(sheet) + ".txt", [sheet], failures)
    # Outbound: what `orderflow tell` would send for each case of fixtures/outbound.
    with tempfile.TemporaryDirectory() as work:
        for case_file in sorted(glob.glob(os.path.join(here, "fixtures", "outbound", "*.json"))):
            seen += 1
            case = json.load(open(case_file))
            message, settings = os.path.join(work, "message.json"), os.path.join(work, "settings.json")
            json.dump(case["message"], open(message, "w"))
            json.dump(case.get("settings", {}), open(settings, "w"))
            r = subprocess.run([orderflow, "tell", "--channel", case["channel"], message, "--settings", settings],
                               capture_output=True, text=True)
            name = os.path.basename(case_file)[:-5] + ".txt"
            problem = golden_file.compare(os.path.join(source, "tests", "connectors", "expected", "outbound", name),
                                          shown(r))
            if problem:
                failures.append(problem)
    with tempfile.TemporaryDirectory() as work:
        for channel, label, paths in derived_cases(payloads, work):
            seen += 1
            name = re.sub(r"[^A-Za-z0-9.]+", "_", label).strip("_")
            run_case(orderflow, source, channel, f"derived_{name}.txt", paths, failures)
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
    print(f"{seen} cases; {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
