#!/usr/bin/env python3
"""Drives `orderflow lsp` over stdio as an editor would, on a copy of the
example bundle: initialize, open a file with a type error and receive the
diagnostic at the right range, fix it and see it go, hover, go to
definition, complete a field path and an enum value, list the document's
symbols, format, shut down and exit.

usage: lsp_transcript.py ORDERFLOW SOURCE_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


class Client:
    def __init__(self, orderflow):
        self.p = subprocess.Popen([orderflow, "lsp", "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.next_id = 0
        self.notifications = []

    def send(self, message):
        body = json.dumps(message).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def read(self):
        length = None
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise EOFError("the server closed its output")
            line = line.strip()
            if not line:
                break
            if line.startswith(b"Content-Length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.p.stdout.read(length))

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            m = self.read()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise AssertionError(f"{method}: {m['error']}")
                return m["result"]
            self.notifications.append(m)

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def diagnostics_for(self, uri):
        while True:
            for m in reversed(self.notifications):
                if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri:
                    self.notifications.clear()
                    return m["params"]["diagnostics"]
            self.notifications.append(self.read())


def find(text, needle, nth=0):
    """The LSP position of the nth occurrence of needle."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at)
    return {"line": line, "character": at - (text.rfind("\n", 0, at) + 1)}


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok:", what)


def main():
    orderflow, source = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="orderflow-lsp-")
    bundle = os.path.join(work, "marketplace")
    shutil.copytree(os.path.join(source, "examples", "marketplace"), bundle)
    path = os.path.join(bundle, "acceptance.flow")
    uri = "file://" + path
    good = open(path).read()
    broken = good.replace("and order.total > cod_limit", "and order.total > 5000", 1)
    assert broken != good

    c = Client(orderflow)
    caps = c.request("initialize", {"processId": None, "rootUri": "file://" + bundle, "capabilities": {}})["capabilities"]
    check(caps["hoverProvider"] and caps["definitionProvider"] and caps["documentFormattingProvider"],
          "initialize announces hover, definition and formatting")
    c.notify("initialized", {})

    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "orderflow", "version": 1, "text": broken}})
    diags = c.diagnostics_for(uri)
    errors = [d for d in diags if d["severity"] == 1]
    check(len(errors) == 1 and errors[0]["code"] == "E0301", f"one error E0301 on open: {errors}")
    start = find(broken, "> 5000\n")
    start["character"] += 2
    want = {"start": start, "end": {"line": start["line"], "character": start["character"] + 4}}
    check(errors[0]["range"] == want, f"the error covers `5000` exactly: {errors[0]['range']} == {want}")
    check("5000 INR" in errors[0]["message"], "the message carries the fix hint")

    c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": good}]})
    check(not [d for d in c.diagnostics_for(uri) if d["severity"] == 1], "fixing the text clears the error")

    use = find(good, "cod_limit", 1)  # in `order.total > cod_limit`
    hover = c.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": use})
    check(hover and "cod_limit" in hover["contents"]["value"] and "5000" in hover["contents"]["value"],
          f"hover on a constant shows its type and value: {hover and hover['contents']['value']}")
    field = find(good, "postal_code")
    hover = c.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": field["line"], "character": field["character"] + 2}})
    check(hover and "postal_code" in hover["contents"]["value"], "hover on a field shows the field")

    definition = c.request("textDocument/definition", {"textDocument": {"uri": uri}, "position": use})
    check(definition and definition["uri"] == uri and definition["range"]["start"]["line"] == find(good, "const cod_limit")["line"],
          f"go to definition of a constant lands on its `const`: {definition}")

    edited = good + "\nrule \"Probe\"\n  when order.ship_to.\n"
    c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": edited}]})
    c.diagnostics_for(uri)
    end = {"line": edited.count("\n") - 1, "character": len("  when order.ship_to.")}
    items = c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": end})
    labels = {i["label"] for i in items}
    check({"postal_code", "city", "country"} <= labels and "placed_at" not in labels,
          "completion after order.ship_to. offers the Address fields")
    items = c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": end["line"], "character": 2}})
    labels = {i["label"] for i in items}
    check({"when", "then", "cod", "flipkart", "cod_limit"} <= labels, "completion elsewhere offers keywords, enum values, constants")
    c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": good}]})
    c.diagnostics_for(uri)

    symbols = c.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    names = [s["name"] for s in symbols]
    check("High-value COD" in names and "cod_limit" in names and "otherwise" in names, f"document symbols: {names}")
    lifecycle_uri = "file://" + os.path.join(bundle, "lifecycle.flow")
    c.notify("textDocument/didOpen", {"textDocument": {"uri": lifecycle_uri, "languageId": "orderflow", "version": 1,
                                                        "text": open(os.path.join(bundle, "lifecycle.flow")).read()}})
    machine = c.request("textDocument/documentSymbol", {"textDocument": {"uri": lifecycle_uri}})
    states = [s["name"] for m in machine for s in m.get("children", [])]
    check("held" in states and "backordered" in states, f"the machine's states are symbols: {states}")

    messy = good.replace("  when order.payment.method is cod\n", "      when    order.payment.method is cod\n", 1)
    c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 5}, "contentChanges": [{"text": messy}]})
    c.diagnostics_for(uri)
    edits = c.request("textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}})
    check(len(edits) == 1 and edits[0]["newText"] == good, "formatting gives back the canonical text")

    check(c.request("shutdown", None) is None, "shutdown")
    c.notify("exit", None)
    check(c.p.wait(timeout=10) == 0, "exit after shutdown ends the server with status 0")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
