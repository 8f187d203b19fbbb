#!/usr/bin/env python3
"""Sustained webhook load on `orderflow serve`, as the runtime issue asks it
to be shown: N distinct signed Shopify orders (made from the real payload
in ../shared/payloads) posted by intake_load over C connections, while the
server's inbox backlog, its decisions and its memory are sampled twice a
second. Run by hand; the figures are not a pass/fail test.

usage: intake_bench.py BUILD_DIR SOURCE_DIR [--orders N] [--connections C] [--rate R] [--cache-mb M]

With --rate R the webhooks are offered at R a second (as channels send
them) rather than as fast as the server answers; the backlog is then shown
over time, which is what "sustained with the backlog bounded" means.

Prints how fast webhooks were taken (answered once durable in the inbox),
how fast they were decided behind it, the largest backlog, and the
server's resident memory at start, at its peak and per order decided.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import orderflow_server  # noqa: E402


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def metric(text, name, **labels):
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"(\w+)(\{[^}]*\})?\s+([0-9.e+]+)$", line)
        if not m or m.group(1) != name:
            continue
        if all(f'{k}="{v}"' in (m.group(2) or "") for k, v in labels.items()):
            total += float(m.group(3))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("source")
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--cache-mb", type=int, default=64)
    ap.add_argument("--engine", default="jit")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="orderflow-intake-bench-")
    db = os.path.join(work, "orders.db")
    config = os.path.join(work, "intake.json")
    secret = "bench-secret"
    json.dump({"secrets": {"shopify": secret}, "api_token": "t", "read_timeout_seconds": 60}, open(config, "w"))
    template = os.path.join(a.source, "..", "shared", "payloads", "shopify", "rest_fixture_order.json")
    server, port = orderflow_server.start(os.path.join(a.build, "orderflow"), a.source, db, config, a.engine,
                                          ["--cache-mb", str(a.cache_mb)])
    samples = []  # (seconds, backlog, decided, rss)
    done = threading.Event()
    started = time.monotonic()
    rss_start = rss_mb(server.pid)

    def sample():
        while not done.is_set():
            text = orderflow_server.request(port, "GET", "/metrics")[1].decode()
            decided = metric(text, "orderflow_inputs_total", status="stored") + \
                metric(text, "orderflow_inputs_total", status="refused") + \
                metric(text, "orderflow_inputs_total", status="invalid")
            samples.append((time.monotonic() - started, metric(text, "orderflow_inbox_backlog"), decided,
                            rss_mb(server.pid)))
            time.sleep(0.1)  # fine enough that the rates below are not rounded to half seconds

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    load = subprocess.run([os.path.join(a.build, "tests", "intake_load"), "--port", str(port), "--secret", secret,
                           "--template", template, "--orders", str(a.orders), "--connections", str(a.connections),
                           "--rate", str(a.rate)],
                          capture_output=True, text=True)
    taken_at = time.monotonic() - started
    print(load.stdout.strip())
    if load.returncode != 0:
        print(load.stderr, file=sys.stderr)
    while True:
        time.sleep(0.5)
        if samples and samples[-1][2] >= a.orders:
            break
        if time.monotonic() - started > taken_at + 600:
            print("the backlog was not decided within 10 minutes", file=sys.stderr)
            break
    done.set()
    sampler.join()
    decided_at, _, decided, _ = samples[-1]
    # From the first sample that saw a webhook (intake_load signs its orders before it sends one).
    began = next((s[0] for s in samples if s[1] + s[2] > 0), 0.0)
    print(f"decided {decided:.0f} in {decided_at - began:.1f} s from the first webhook seen: "
          f"{decided / max(decided_at - began, 1e-9):.0f} orders/s, taking and deciding at once")
    at_last = min(samples, key=lambda s: abs(s[0] - taken_at))
    if at_last[0] > began:
        print(f"while the webhooks came: {at_last[2] / (at_last[0] - began):.0f} decided a second")
    drain = decided_at - at_last[0]
    if at_last[1] > 0 and drain > 0:
        print(f"after the last webhook: {decided - at_last[2]:.0f} decided in {drain:.1f} s, "
              f"{(decided - at_last[2]) / drain:.0f} orders/s with nothing else to do")
    print(f"largest inbox backlog {max(s[1] for s in samples):.0f}; backlog when the last webhook was answered "
          f"{min(samples, key=lambda s: abs(s[0] - taken_at))[1]:.0f}")
    # The backlog through the load, a second apart: bounded means it does not grow with time.
    during = [s for s in samples if began <= s[0] <= taken_at]
    print("inbox backlog while taking, each second: " +
          " ".join(f"{s[1]:.0f}" for s in during[::10]))
    peak = max(s[3] for s in samples)
    end = samples[-1][3]
    print(f"serve resident memory: {rss_start:.0f} MB at start, {peak:.0f} MB at its peak, {end:.0f} MB at the end; "
          f"{(end - rss_start) * 1024 * 1024 / max(decided, 1):.0f} bytes per order decided "
          f"(live-order cache budget {a.cache_mb} MiB)")
    server.terminate()
    server.wait()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
