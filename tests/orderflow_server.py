"""`orderflow serve` for the Python test scripts: start it on a free
loopback port with the example bundle, and talk to it."""
import http.client
import os
import re
import subprocess
import sys
import threading


def start(orderflow, source, db, config, engine="interp", extra=()):
    """The server process and its port, once it listens. Its later stderr
    (poller and sender messages) goes on to ours."""
    server = subprocess.Popen([orderflow, "serve", "--db", db, "--bundle", os.path.join(source, "examples", "marketplace"),
                               "--port", "0", "--config", config, "--engine", engine, *extra],
                              stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        m = re.search(r"listening on http://127.0.0.1:(\d+)", line)
        if m:
            threading.Thread(target=lambda: [sys.stderr.write(rest) for rest in server.stderr], daemon=True).start()
            return server, int(m.group(1))
    raise AssertionError(f"the server did not start (exit {server.wait()})")


def request(port, method, path, body=b"", headers=None):
    """(status, body) of one request."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data
