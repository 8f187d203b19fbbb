#!/usr/bin/env python3
"""`orderflow serve` telling the channels, against a channel API on loopback:

- an order cancelled by operations is cancelled at Shopify (POST
  orders/{id}/cancel.json) and at WooCommerce (PUT orders/{id}, status
  cancelled); WooCommerce answers 503 at first, so the sender must try the
  same request again, not skip it;
- an order the channel cancelled itself is not cancelled back;
- every request and the channel's answer are on the record (the inbox's
  `told` table).

usage: outbound_test.py ORDERFLOW SOURCE_DIR
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import orderflow_server  # noqa: E402

SECRETS = {"shopify": "shpss_test_secret", "woocommerce": "wc-webhook-secret"}
HEADERS = {"shopify": "X-Shopify-Hmac-Sha256", "woocommerce": "X-WC-Webhook-Signature"}


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    payloads = os.path.join(source, "..", "shared", "payloads")
    received, failures = [], []
    woo_calls = {"n": 0}

    class Channel(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def handle_any(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append((self.command, self.path, json.loads(body or b"null"), self.headers.get("Authorization")))
            status = 200
            if self.path.startswith("/wp-json/"):
                woo_calls["n"] += 1
                status = 503 if woo_calls["n"] == 1 else 200
            data = json.dumps({"ok": status == 200}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_PUT = handle_any

    channel = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Channel)
    threading.Thread(target=channel.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{channel.server_address[1]}"

    work = tempfile.mkdtemp(prefix="orderflow-outbound-")
    db = os.path.join(work, "orders.db")
    config = os.path.join(work, "serve.json")
    json.dump({"secrets": SECRETS, "api_token": "t",
               "outbound": {"shopify": {"base_url": base, "headers": {"X-Shopify-Access-Token": "shpat_test"},
                                        # One listed SKU, told again every 2 s whether it changed or not.
                                        "settings": {"location_id": 655441491,
                                                     "inventory_items": {"KURTA-M-IND": 808950810}},
                                        "resend_every_seconds": 2},
                            "woocommerce": {"base_url": base + "/", "headers": {"Authorization": "Basic d29vOmtleQ=="}}}},
              open(config, "w"))
    server, port = orderflow_server.start(orderflow, source, db, config)

    def request(method, path, body=b"", headers=None):
        return orderflow_server.request(port, method, path, body, headers)

    def webhook(channel_name, file):
        body = open(os.path.join(payloads, channel_name, file), "rb").read()
        sig = base64.b64encode(hmac.new(SECRETS[channel_name].encode(), body, hashlib.sha256).digest()).decode()
        return request("POST", f"/webhooks/{channel_name}", body, {HEADERS[channel_name]: sig})

    def until(what, check, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if check():
                return True
            time.sleep(0.1)
        failures.append(what)
        return False

    time.sleep(1)  # the sender starts from the journal as it is
    if server.poll() is not None:
        failures.append(f"the server ended with {server.returncode}")
        print(failures)
        return 1
    # Shopify's own examples: order 1073459963, and order 450789469 as cancelled by Shopify.
    for ch, file in [("shopify", "rest_2026-07_order_create_paid_3lines.json"),
                     ("woocommerce", "v3_order_retrieve_processing_bacs.json"),
                     ("shopify", "rest_2026-07_order_cancel_refunded.json")]:
        if webhook(ch, file)[0] != 200:
            failures.append(f"{ch}/{file} was not taken")
    until("the order Shopify cancelled was not decided",
          lambda: b'"cancelled"' in request("GET", "/api/orders/SHOPIFY-450789469")[1])
    for order in ("SHOPIFY-1073459963", "WOO-727"):
        until(f"{order} was not decided", lambda: request("GET", f"/api/orders/{order}")[0] == 200)
        status, body = request("POST", f"/api/orders/{order}/events", b'{"event": "cancel", "by": "ops"}',
                               {"Authorization": "Bearer t"})
        if status != 200:
            failures.append(f"cancelling {order}: {status} {body[:200]}")
    until("Shopify never heard of the cancellation",
          lambda: ("POST", "/admin/api/2026-07/orders/1073459963/cancel.json") in [(m, p) for m, p, _, _ in received])
    until("WooCommerce never heard of the cancellation after its 503",
          lambda: sum(1 for m, p, b, _ in received if p == "/wp-json/wc/v3/orders/727") >= 2)
    time.sleep(1.5)
    until("Shopify's inventory was not told again after 2 s",
          lambda: sum(1 for m, p, b, a in received if p == "/admin/api/2026-07/inventory_levels/set.json") >= 3)
    woo = [(m, b, a) for m, p, b, a in received if p == "/wp-json/wc/v3/orders/727"]
    if woo and woo[-1] != ("PUT", {"status": "cancelled"}, "Basic d29vOmtleQ=="):
        failures.append(f"WooCommerce was told {woo[-1]}")
    shopify_cancels = [p for m, p, _, _ in received if p.startswith("/admin/api/2026-07/orders/")]
    if len(shopify_cancels) != 1:
        failures.append(f"Shopify was told to cancel {shopify_cancels}: the order it cancelled itself must not be echoed")
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    told = sqlite3.connect(db + "-inbox").execute("SELECT channel, about, status FROM told ORDER BY id").fetchall()
    about_orders = [t for t in told if t[1] != "KURTA-M-IND"]
    if sorted(about_orders) != [("shopify", "SHOPIFY-1073459963", 200), ("woocommerce", "WOO-727", 200)]:
        failures.append(f"the record of what was told: {told}")
    # What Shopify may sell of its one listed SKU: told from the outbox, then
    # again every 2 s, always the latest figure.
    levels = [b for m, p, b, _ in received if p == "/admin/api/2026-07/inventory_levels/set.json"]
    if len(levels) < 3 or any(b["inventory_item_id"] != 808950810 or b["location_id"] != 655441491 for b in levels):
        failures.append(f"Shopify's inventory levels were told {levels}: once, then again every 2 s")
    elif levels[-1]["available"] != levels[-2]["available"]:
        failures.append(f"the resend told {levels[-1]} after {levels[-2]}")
    # The operator's view of the same: `orderflow channels`.
    view = json.loads(subprocess.run([orderflow, "channels", "--db", db, "--format", "json"], capture_output=True,
                                     text=True, check=True).stdout)
    seen = {c["channel"]: (c["told"], c["refused"], [(x["about"], x["status"]) for x in c["last"]])
            for c in view["channels"] if c["told"]}
    if seen != {"shopify": (len(levels) + 1, 0, [("KURTA-M-IND", 200), ("SHOPIFY-1073459963", 200)]),
                "woocommerce": (1, 0, [("WOO-727", 200)])}:
        failures.append(f"orderflow channels shows {seen}")
    text = subprocess.run([orderflow, "channels", "--db", db], capture_output=True, text=True, check=True).stdout
    if "woocommerce" not in text or "PUT /wp-json/wc/v3/orders/727" not in text:
        failures.append(f"orderflow channels, as text:\n{text}")
    print(text, end="")
    for m, p, b, a in received:
        print(f"told: {m} {p} {json.dumps(b)}")
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
