#!/usr/bin/env python3
"""What black-box fuzzing found to end `orderflow lsp` (issue 19, failures
2 to 4), each sent to one server in turn: every one gets an error answer
and the server still answers a hover and shuts down cleanly afterwards.

usage: lsp_hostile.py ORDERFLOW SOURCE_DIR
"""
import json
import subprocess
import sys
import threading
import time


def frame(body):
    if isinstance(body, (dict, list, int, str)) and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def main():
    orderflow = sys.argv[1]
    p = subprocess.Popen([orderflow, "lsp", "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    answers = []

    def reader():
        while True:
            length = None
            while True:
                line = p.stdout.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.startswith(b"Content-Length:"):
                    length = int(line.split(b":")[1])
            answers.append(json.loads(p.stdout.read(length)))

    threading.Thread(target=reader, daemon=True).start()
    uri = "file:///tmp/hostile.flow"
    sent = [
        # 2: a hover without params, after a document whose text is broken
        ("didOpen of broken text", frame({"jsonrpc": "2.0", "method": "textDocument/didOpen",
                                          "params": {"textDocument": {"uri": uri, "languageId": "flow", "version": 1,
                                                                      "text": 'a "'}}}), False),
        ("didChange", frame({"jsonrpc": "2.0", "method": "textDocument/didChange",
                             "params": {"textDocument": {"uri": uri, "version": 2},
                                        "contentChanges": [{"text": "a\nb"}]}}), False),
        ("hover without params", frame({"jsonrpc": "2.0", "id": 10, "method": "textDocument/hover"}), True),
        ("hover with params of the wrong type", frame({"jsonrpc": "2.0", "id": 11, "method": "textDocument/hover",
                                                       "params": "x"}), True),
        # 3: bodies that are not a request object
        ("a batch", frame([]), True),
        ("a number", frame(1), True),
        ("a method that is null", frame({"jsonrpc": "2.0", "id": 12, "method": None}), True),
        ("a list of text", frame(["x"]), True),
        ("not JSON", frame(b"{nope"), True),
        # 4: Content-Length that cannot be trusted
        ("Content-Length abc", b"Content-Length: abc\r\n\r\n", True),
        ("Content-Length -5", b"Content-Length: -5\r\n\r\n", True),
        ("Content-Length 4294967297", b"Content-Length: 4294967297\r\n\r\n", True),
    ]
    failures = []
    started = time.time()
    for name, data, answered in sent:
        before = len(answers)
        p.stdin.write(data)
        p.stdin.flush()
        if not answered:
            continue
        # Notifications (the diagnostics of the document opened) may come in between: the answer is what has an id.
        def answer():
            return next((a for a in answers[before:] if "method" not in a), None)
        deadline = time.time() + 10
        while answer() is None and time.time() < deadline and p.poll() is None:
            time.sleep(0.01)
        if p.poll() is not None:
            failures.append(f"{name}: the server exited ({p.returncode})")
            break
        got = answer()
        if got is None:
            failures.append(f"{name}: no answer")
        elif "error" not in got:
            failures.append(f"{name}: answered {got}, not an error")
        else:
            print(f"ok: {name}: {got['error']['message'][:100]}")
    if time.time() - started > 20:
        failures.append(f"the hostile messages took {time.time() - started:.0f} s")
    if p.poll() is None:
        # The frame of 4294967297 bytes is skipped, not kept: end it so the server reads on.
        p.stdin.close()
        p.wait(timeout=20)
        if p.returncode not in (0, 1):
            failures.append(f"the server ended with {p.returncode} when its input closed")
    for f in failures:
        print("FAILED:", f)
    # And a server that took all of that still works: a fresh one answers them and a hover.
    q = subprocess.run([orderflow, "lsp", "--stdio"], input=b"".join(d for _, d, _ in sent[:9]) +
                       frame({"jsonrpc": "2.0", "id": 20, "method": "shutdown"}) +
                       frame({"jsonrpc": "2.0", "method": "exit"}), capture_output=True, timeout=30)
    if q.returncode != 0 or b'"id":20' not in q.stdout:
        print(f"FAILED: after the hostile messages, shutdown was not answered (exit {q.returncode})")
        failures.append("shutdown")
    else:
        print("ok: the server still shuts down cleanly afterwards")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
