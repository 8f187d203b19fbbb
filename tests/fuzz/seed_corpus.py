#!/usr/bin/env python3
"""Seeds tests/fuzz/corpus/<target>/ from what the project already has:
the channel payloads of ../shared/payloads (each behind the byte that
picks its connector), the CSV fixtures, the examples' and the language
tour's .flow files, the example orders one a file, and a language-server
session. Run once; libFuzzer grows the corpus from there (`make fuzz`
keeps what it finds with FUZZ_KEEP=1).

usage: seed_corpus.py SOURCE_DIR
"""
import glob
import hashlib
import json
import os
import re
import sys


def put(folder, data):
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    open(os.path.join(folder, name), "wb").write(data)


def main():
    source = sys.argv[1]
    shared = os.path.join(source, "..", "shared")
    corpus = os.path.join(source, "tests", "fuzz", "corpus")
    # The connectors in the order connector_channels() gives them: sorted by name, csv last.
    channels = sorted(d for d in os.listdir(os.path.join(shared, "payloads"))
                      if os.path.isdir(os.path.join(shared, "payloads", d)))
    for i, channel in enumerate(channels):
        for path in glob.glob(os.path.join(shared, "payloads", channel, "**", "*.json"), recursive=True):
            put(os.path.join(corpus, "connectors"), bytes([i]) + open(path, "rb").read())
    for path in glob.glob(os.path.join(source, "tests", "connectors", "fixtures", "csv", "*.csv")):
        put(os.path.join(corpus, "connectors"), bytes([len(channels)]) + open(path, "rb").read())
    flows = glob.glob(os.path.join(source, "examples", "**", "*.flow"), recursive=True)
    flows += glob.glob(os.path.join(source, "tests", "golden", "diagnostics", "*.flow"))
    flows += glob.glob(os.path.join(source, "tests", "format", "cases", "*.flow"))
    for path in flows:
        for target in ("fmt", "checker"):
            put(os.path.join(corpus, target), open(path, "rb").read())
    tour = open(os.path.join(shared, "language-tour.md"), encoding="utf-8").read()
    for block in re.findall(r"```flow\n(.*?)```", tour, re.S):
        for target in ("fmt", "checker"):
            put(os.path.join(corpus, target), block.encode())
    for path in glob.glob(os.path.join(source, "examples", "marketplace", "orders", "*")):
        text = open(path, "rb").read()
        for line in text.splitlines() if path.endswith(".jsonl") else [text]:
            if line.strip():
                put(os.path.join(corpus, "order_decoder"), line)

    def frame(message):
        body = json.dumps(message).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    uri = "file:///fuzz/acceptance.flow"
    text = open(os.path.join(source, "examples", "marketplace", "acceptance.flow")).read()
    session = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen",
         "params": {"textDocument": {"uri": uri, "languageId": "flow", "version": 1, "text": text}}},
        {"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover",
         "params": {"textDocument": {"uri": uri}, "position": {"line": 5, "character": 12}}},
        {"jsonrpc": "2.0", "id": 3, "method": "textDocument/completion",
         "params": {"textDocument": {"uri": uri}, "position": {"line": 5, "character": 14}}},
        {"jsonrpc": "2.0", "id": 4, "method": "textDocument/formatting", "params": {"textDocument": {"uri": uri}}},
        {"jsonrpc": "2.0", "id": 5, "method": "shutdown"},
    ]
    put(os.path.join(corpus, "lsp"), b"".join(frame(m) for m in session))
    for m in session:
        put(os.path.join(corpus, "lsp"), frame(m))
    for name in sorted(os.listdir(corpus)):
        print(f"{name}: {len(os.listdir(os.path.join(corpus, name)))} inputs")


if __name__ == "__main__":
    main()
