#!/usr/bin/env python3
"""The pollers of `orderflow serve` against a channel API on loopback that
serves the recorded payloads of ../shared/payloads:

- Amazon: getOrders (paged by NextToken; the first call answers 503, so the
  poller must back off and try again) and getOrderItems for each order.
- Shopee: get_order_list (paged by cursor) and get_order_detail; the server
  checks every request's signature and refuses a wrong one.
- Lazada: a signed push message names order 16090; the poller reads it with
  GetOrder and GetOrderItems, signed, from the fetch queue.

Each order arrives in the store; the cursors are kept in the inbox, and
after a restart the Amazon poller asks from the kept cursor. The items
answers are aligned with their orders as tests/connectors/fixtures/README.md
says (the documentation's examples are of different orders).

usage: poller_test.py ORDERFLOW SOURCE_DIR
"""
import hashlib
import hmac
import http.server
import json
import os
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import orderflow_server  # noqa: E402

SHOPEE = {"partner_id": "2001887", "shop_id": "601234", "access_token": "shopee-token", "key": "shopee-partner-key"}
LAZADA = {"app_key": "123456", "app_secret": "3412gyo124goi3124", "access_token": "lazada-token"}


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    payloads = os.path.join(source, "..", "shared", "payloads")
    load = lambda *p: json.load(open(os.path.join(payloads, *p)))
    get_orders = load("amazon", "ordersV0_getOrders_200_example_application_json.json")
    order_id = get_orders["payload"]["Orders"][0]["AmazonOrderId"]
    items = load("amazon", "ordersV0_getOrderItems_200_example_application_json.json")
    items["payload"]["AmazonOrderId"] = order_id
    last_page = {"payload": {"Orders": []}}
    shopee_list = load("shopee", "v2.order.get_order_list.response_sample.json")
    shopee_detail = load("shopee", "v2.order.get_order_detail.response_sample.repaired.json")
    lazada_order = load("lazada", "open.lazada.com_order_get.response_example.json")
    lazada_items = load("lazada", "open.lazada.com_orders_items_get.response_example.json")
    lazada_items["data"][0]["order_id"] = lazada_order["data"]["order_id"]
    for item in lazada_items["data"][0]["order_items"]:
        item["order_id"] = lazada_order["data"]["order_id"]

    seen, failures = [], []
    amazon_calls = {"list": 0}

    class Channel(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
            seen.append((url.path, q))
            if url.path == "/orders/v0/orders":
                if self.headers.get("x-amz-access-token") != "Atza|test":
                    return self.answer(403, {"errors": [{"message": "no access token"}]})
                amazon_calls["list"] += 1
                if amazon_calls["list"] == 1:
                    return self.answer(503, {"errors": [{"message": "QuotaExceeded"}]})
                return self.answer(200, last_page if "NextToken" in q else get_orders)
            if url.path == f"/orders/v0/orders/{order_id}/orderItems":
                return self.answer(200, items)
            if url.path.startswith("/api/v2/order/"):
                base = SHOPEE["partner_id"] + url.path + q.get("timestamp", "") + SHOPEE["access_token"] + SHOPEE["shop_id"]
                want = hmac.new(SHOPEE["key"].encode(), base.encode(), hashlib.sha256).hexdigest()
                if q.get("sign") != want:
                    return self.answer(200, {"error": "error_sign", "message": "wrong sign"})
                if url.path.endswith("get_order_list"):
                    if q.get("cursor"):
                        return self.answer(200, {"error": "", "message": "", "response": {"more": False, "next_cursor": "",
                                                                                           "order_list": []}})
                    return self.answer(200, shopee_list)
                return self.answer(200, shopee_detail)
            if url.path in ("/order/get", "/order/items/get"):
                params = {k: v for k, v in q.items() if k != "sign"}
                base = url.path + "".join(k + params[k] for k in sorted(params))
                want = hmac.new(LAZADA["app_secret"].encode(), base.encode(), hashlib.sha256).hexdigest().upper()
                if q.get("sign") != want or q.get("order_id") != "16090":
                    return self.answer(200, {"code": "IncompleteSignature", "message": "wrong sign"})
                return self.answer(200, lazada_order if url.path == "/order/get" else lazada_items)
            self.answer(404, {"error": "no " + url.path})

    channel = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Channel)
    threading.Thread(target=channel.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{channel.server_address[1]}"

    work = tempfile.mkdtemp(prefix="orderflow-poller-")
    db = os.path.join(work, "orders.db")
    config = os.path.join(work, "serve.json")
    json.dump({"secrets": {"lazada": {"app_key": LAZADA["app_key"], "app_secret": LAZADA["app_secret"]}},
               "pollers": {
                   "amazon": {"base_url": base, "headers": {"x-amz-access-token": "Atza|test"},
                              "params": {"MarketplaceIds": "ATVPDKIKX0DER"}, "start": "2017-01-01T00:00:00Z",
                              "interval_seconds": 1, "backoff_first_ms": 200},
                   "shopee": {"base_url": base, "secret": SHOPEE["key"], "interval_seconds": 1,
                              "params": {k: SHOPEE[k] for k in ("partner_id", "shop_id", "access_token")}},
                   "lazada": {"base_url": base, "secret": LAZADA["app_secret"], "interval_seconds": 1,
                              "params": {"app_key": LAZADA["app_key"], "access_token": LAZADA["access_token"]}}}},
              open(config, "w"))

    def start():
        return orderflow_server.start(orderflow, source, db, config)

    def stored(port, order, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if orderflow_server.request(port, "GET", f"/api/orders/{order}")[0] == 200:
                return True
            time.sleep(0.1)
        failures.append(f"{order} never arrived")
        return False

    server, port = start()
    push = json.dumps({"seller_id": "1234567", "message_type": 0,
                       "data": {"order_status": "pending", "status_update_time": 1603698638, "trade_order_id": "16090",
                                "trade_order_line_id": "100827"}, "timestamp": 1603766859530, "site": "lazada_sg"}).encode()
    signature = hmac.new(LAZADA["app_secret"].encode(), LAZADA["app_key"].encode() + push, hashlib.sha256).hexdigest()
    if orderflow_server.request(port, "POST", "/webhooks/lazada", push,
                                {"Authorization": signature, "Content-Type": "application/json"})[0] != 200:
        failures.append("the Lazada push message was not taken")
    for order in (f"AMZ-{order_id}", "SHOPEE-2404098R48U37H", "LAZADA-16090"):
        if stored(port, order):
            print(f"ok: {order} polled and stored")
    if amazon_calls["list"] < 3:
        failures.append(f"getOrders was called {amazon_calls['list']} times: no retry after the 503, or no second page")
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)

    inbox = sqlite3.connect(db + "-inbox")
    cursors = dict(inbox.execute("SELECT name, value FROM cursors").fetchall())
    if cursors.get("poll:amazon") != get_orders["payload"]["Orders"][0]["LastUpdateDate"]:
        failures.append(f"the Amazon cursor is {cursors.get('poll:amazon')}")
    if not cursors.get("poll:shopee", "").isdigit():
        failures.append(f"the Shopee cursor is {cursors.get('poll:shopee')}")
    if inbox.execute("SELECT count(*) FROM fetches").fetchone()[0] != 0:
        failures.append("the Lazada fetch request is still queued")
    inbox.close()

    # After a restart the Amazon poller asks from the kept cursor.
    before = len(seen)
    server, port = start()
    deadline = time.time() + 20
    while time.time() < deadline and not any(p == "/orders/v0/orders" and "LastUpdatedAfter" in q for p, q in seen[before:]):
        time.sleep(0.1)
    asked = [q.get("LastUpdatedAfter") for p, q in seen[before:] if p == "/orders/v0/orders" and "LastUpdatedAfter" in q]
    if not asked or asked[0] != cursors.get("poll:amazon"):
        failures.append(f"after a restart getOrders asked from {asked[:1]}, not the kept cursor")
    else:
        print(f"ok: after a restart getOrders asked from {asked[0]}")
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    con = sqlite3.connect(db)
    orders = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    if orders != 3:
        failures.append(f"{orders} orders stored; expected 3 (each polled once however often it was seen)")
    for f in failures:
        print("FAILED:", f)
    print(f"{orders} orders stored; {len(seen)} requests served")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
