#!/usr/bin/env python3
"""`orderflow serve` end to end, on loopback: signed webhooks from Shopify
and WooCommerce (real payloads) are taken into the inbox once, answered only
after its commit, and decided behind it; Lazada push messages and noon
notifications, signed their own ways, become fetch requests; inputs left in
the inbox when the server stopped are decided when it starts again; a wrong or missing signature, a truncated body, invalid JSON, a
10 MB body, an unknown channel and a payload the connector cannot map each
get the right 4xx and a dead letter, and nothing is half-stored; the JSON
API reads orders and stock and, with the bearer token only, changes them;
/healthz and /metrics answer; a client that sends half a request stalls
nobody else; SIGTERM stops the server cleanly.

usage: intake_test.py ORDERFLOW SOURCE_DIR
"""
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import orderflow_server  # noqa: E402

SECRETS = {"shopify": "shpss_test_secret", "woocommerce": "wc-webhook-secret",
           "lazada": {"app_key": "123456", "app_secret": "3412gyo124goi3124"},
           "noon": {"header": "X-Noon-Token", "secret": "noon-destination-credential"}}
HEADERS = {"shopify": "X-Shopify-Hmac-Sha256", "woocommerce": "X-WC-Webhook-Signature", "lazada": "Authorization",
           "noon": "X-Noon-Token"}


def sign(channel, body):
    if channel == "lazada":  # hex HMAC-SHA256 keyed by the app secret over app key + body
        key = SECRETS["lazada"]
        return hmac.new(key["app_secret"].encode(), key["app_key"].encode() + body, hashlib.sha256).hexdigest()
    if channel == "noon":  # the credential configured on noon's webhook destination
        return SECRETS["noon"]["secret"]
    return base64.b64encode(hmac.new(SECRETS[channel].encode(), body, hashlib.sha256).digest()).decode()


# Lazada's trade-order push message, as its push-mechanism guide shows it.
LAZADA_PUSH = (b'{"seller_id":"1234567","message_type":0,"data":{"order_status":"unpaid",'
               b'"status_update_time":1603698638,"trade_order_id":"260422900198363",'
               b'"trade_order_line_id":"260422900298363"},"timestamp":1603766859530,"site":"lazada_vn"}')


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    payloads = os.path.join(source, "..", "shared", "payloads")
    work = tempfile.mkdtemp(prefix="orderflow-intake-")
    db = os.path.join(work, "orders.db")
    config = os.path.join(work, "intake.json")
    json.dump({"secrets": SECRETS, "api_token": "test-token", "read_timeout_seconds": 30}, open(config, "w"))
    def start():
        return orderflow_server.start(orderflow, source, db, config)

    server, port = start()
    failures = []

    def request(method, path, body=b"", headers=None):
        return orderflow_server.request(port, method, path, body, headers)

    def expect(what, got, want):
        status = got[0]
        ok = status == want
        print(("ok: " if ok else "FAILED: ") + f"{what}: {status} {got[1][:160]!r}")
        if not ok:
            failures.append(what)
        return got

    def webhook(channel, body, signature=None, path=None):
        headers = {"Content-Type": "application/json"}
        if signature is not False:
            headers[HEADERS.get(channel, "X-Signature")] = signature or sign(channel, body)
        return request("POST", path or f"/webhooks/{channel}", body, headers)

    shopify = open(os.path.join(payloads, "shopify", "rest_fixture_order.json"), "rb").read()
    woo = open(os.path.join(payloads, "woocommerce", "v3_order_retrieve_processing_bacs.json"), "rb").read()
    unmappable = b'{"orders": []}'  # a list: Shopify sends each order on its own

    # A client that sends half a request and waits: the others go on.
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"or")

    status, body = expect("signed Shopify order", webhook("shopify", shopify), 200)
    results = json.loads(body)
    if results["status"] != "accepted":
        failures.append("the Shopify order was not taken")
    status, body = expect("the same webhook again", webhook("shopify", shopify), 200)
    if json.loads(body)["status"] != "duplicate":
        failures.append("a redelivery was not recognised")
    expect("signed WooCommerce order", webhook("woocommerce", woo), 200)
    expect("wrong signature", webhook("shopify", shopify, signature="c2lnbmF0dXJl"), 401)
    expect("no signature", webhook("shopify", shopify, signature=False), 401)
    truncated = shopify[: len(shopify) // 2]
    expect("truncated body", webhook("shopify", truncated), 400)
    expect("invalid JSON", webhook("woocommerce", b"{order: 1}"), 400)
    # Signed, well formed, with a number beyond a double: this once ended the
    # server, and every redelivery ended it again. Answered, kept, gone on.
    status, body = expect("signed Shopify body with 1e309", webhook("shopify", b'{"id": 1e309}'), 400)
    if b"1e309" not in body:
        failures.append("the answer to 1e309 does not say what is wrong")
    expect("signed WooCommerce body with -1e400", webhook("woocommerce", b'{"id":1,"total":-1e400}'), 400)
    expect("the server after 1e309", request("GET", "/healthz"), 200)
    big = b"{\"order\": \"" + b"x" * (10 << 20) + b"\"}"
    expect("10 MB body", webhook("shopify", big), 413)
    expect("unknown channel", webhook("myspace", shopify, signature="x"), 404)
    # Signed and JSON, so taken: the connector's refusal comes when it is decided, as a dead letter.
    expect("a payload the connector cannot map", webhook("shopify", unmappable), 200)
    expect("signed Lazada push message", webhook("lazada", LAZADA_PUSH), 200)
    expect("Lazada push message, wrong signature", webhook("lazada", LAZADA_PUSH, signature="34f7b258df045d4e"), 401)
    noon = open(os.path.join(payloads, "noon", "fbpi_event_FBPI_ORDER_CREATED.doc_example.json"), "rb").read()
    expect("noon notification with its credential", webhook("noon", noon), 200)
    slow.close()

    def decided(order_id, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if request("GET", f"/api/orders/{order_id}")[0] == 200:
                return True
            time.sleep(0.05)
        return False

    if not decided("SHOPIFY-450789469"):
        failures.append("the Shopify order taken into the inbox was never decided")

    def backlog():
        text = request("GET", "/metrics")[1].decode()
        return int(re.search(r"^orderflow_inbox_backlog (\d+)", text, re.M).group(1))

    deadline = time.time() + 30
    while backlog() and time.time() < deadline:
        time.sleep(0.05)
    expect("healthz", request("GET", "/healthz"), 200)
    status, metrics = expect("metrics", request("GET", "/metrics"), 200)
    for needle in [b'orderflow_inputs_total{channel="shopify",status="accepted"} 2',
                   b'orderflow_inputs_total{channel="shopify",status="stored"} 1',
                   b'orderflow_inputs_total{channel="lazada",status="fetch_requested"} 1',
                   # No poller in this config: nothing will read those two (serve warns on stderr too).
                   b'orderflow_inputs_total{channel="lazada",status="fetch_without_poller"} 1',
                   b'orderflow_inputs_total{channel="noon",status="fetch_without_poller"} 1',
                   b"orderflow_inbox_backlog",
                   b'orderflow_orders_decided_total{channel="shopify",state="held"} 1',
                   b'orderflow_inputs_total{channel="shopify",status="duplicate"} 1',
                   b'orderflow_inputs_total{channel="shopify",status="bad_signature"} 1',
                   b"orderflow_request_seconds_count", b"orderflow_engine_queue"]:
        if needle not in metrics:
            failures.append(f"metrics lack {needle}")
    status, order = expect("API: read an order", request("GET", "/api/orders/SHOPIFY-450789469"), 200)
    state = json.loads(order)["state"]
    expect("API: an event without the token", request("POST", "/api/orders/SHOPIFY-450789469/events",
                                                       b'{"event": "cancel"}'), 401)
    status, body = expect("API: an event with the token", request(
        "POST", "/api/orders/SHOPIFY-450789469/events", b'{"event": "cancel", "by": "ops", "reason": "test"}',
        {"Authorization": "Bearer test-token"}), 200)
    expect("API: an event the state does not take", request(
        "POST", "/api/orders/SHOPIFY-450789469/events", b'{"event": "ship"}', {"Authorization": "Bearer test-token"}), 409)
    expect("API: a return without the token", request("POST", "/api/orders/SHOPIFY-450789469/returns",
                                                      b'{"lines": [{"line": 0}], "reason": "size"}'), 401)
    status, body = expect("API: a return of an order never delivered", request(
        "POST", "/api/orders/SHOPIFY-450789469/returns", b'{"lines": [{"line": 0}], "reason": "size"}',
        {"Authorization": "Bearer test-token"}), 409)
    if b"has not been delivered" not in body:
        failures.append(f"a refused return does not say why: {body!r}")
    expect("API: a failed delivery of an order not shipped", request(
        "POST", "/api/orders/SHOPIFY-450789469/ndr", b'{"reason": "customer_unavailable"}',
        {"Authorization": "Bearer test-token"}), 409)
    expect("API: a grading that is not JSON", request(
        "POST", "/api/orders/SHOPIFY-450789469/grades", b'[1]', {"Authorization": "Bearer test-token"}), 400)
    status, body = expect("API: returns", request("GET", "/api/returns?state=received"), 200)
    if json.loads(body) != {"returns": []}:
        failures.append(f"/api/returns lists returns nobody asked for: {body!r}")
    expect("API: stock", request("GET", "/api/stock"), 200)
    expect("API: deployments", request("GET", "/api/deployments"), 200)
    expect("no such endpoint", request("GET", "/nowhere"), 404)

    server.send_signal(signal.SIGTERM)
    code = server.wait(timeout=20)
    if code != 0:
        failures.append(f"the server ended with {code}")
    inbox = sqlite3.connect(db + "-inbox")
    taken = inbox.execute("SELECT count(*) FROM inbox").fetchone()[0]
    if taken != 5:
        failures.append(f"{taken} bodies in the inbox; expected 5 (Shopify, WooCommerce, an order list, Lazada, noon)")
    fetches = sorted(inbox.execute("SELECT channel, external_id FROM fetches").fetchall())
    if fetches != [("lazada", "260422900198363"), ("noon", "NFBO123456789")]:
        failures.append(f"fetch requests {fetches}")
    view = json.loads(subprocess.run([orderflow, "channels", "--db", db, "--format", "json"], capture_output=True,
                                     text=True, check=True).stdout)
    waiting = {c["channel"]: c["fetches_waiting"] for c in view["channels"] if c["fetches_waiting"]}
    if waiting != {"lazada": 1, "noon": 1}:
        failures.append(f"orderflow channels shows fetches waiting {waiting}")
    # An input left undecided when the server stopped is decided when it starts again.
    left = json.loads(woo)
    left["id"], left["number"] = 1727, "1727"
    cur = inbox.execute("INSERT INTO inbox(channel, source, received_at, body) VALUES('woocommerce', "
                        "'webhook:woocommerce', 0, ?)", (json.dumps(left).encode(),))
    inbox.execute("INSERT INTO inbox_keys(seq, key) VALUES(?, 'woocommerce|left-behind')", (cur.lastrowid,))
    inbox.commit()
    inbox.close()
    server, port = start()
    if not decided("WOO-1727"):
        failures.append("an input left in the inbox was not decided after a restart")
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=20)
    con = sqlite3.connect(db)
    orders = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    letters = con.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    journal = subprocess.run([orderflow, "journal", "--db", db], capture_output=True, text=True, check=True).stdout
    received = sum(1 for line in journal.splitlines() if json.loads(line)["kind"] == "received")
    if (orders, received) != (3, 3):
        failures.append(f"{orders} orders and {received} received entries stored; expected 3 and 3")
    if letters != 10:
        failures.append(f"{letters} dead letters; expected 10 (one for each rejected webhook)")
    print(f"{orders} orders stored, {letters} dead letters; the order was {state}")
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
