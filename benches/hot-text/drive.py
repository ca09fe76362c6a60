"""Drives `mcp serve` of a binary the way the wire benchmark does, under an
optional command prefix (valgrind), and prints its peak RSS.

    python3 drive.py BINARY [--audit] [--calls N] [--prefix "valgrind ..."]
                     [--tool NAME --arguments JSON]

The handshake (2025-06-18), `tools/list`, then N `tools/call`s of a small
tool (the fixture's `count_words`) with 16 in flight; the server's `VmHWM` is read
before its stdin closes.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--audit", action="store_true")
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--tool", default="count_words")
    parser.add_argument("--arguments", default='{"text": "one two three"}')
    args = parser.parse_args()
    scratch = tempfile.mkdtemp()
    policy = os.path.join(scratch, "rustchain.toml")
    with open(policy, "w") as f:
        f.write('default = "allow"\n')
    trail = ["--audit", os.path.join(scratch, "audit.jsonl")] if args.audit else ["--no-audit"]
    command = shlex.split(args.prefix) + [args.binary, "--policy", policy, *trail, "mcp", "serve"]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)

    def send(message):
        server.stdin.write((json.dumps(message) + "\n").encode())

    def reply():
        line = server.stdout.readline()
        if not line:
            sys.exit(f"the server closed its output (exit {server.wait()})")
        return json.loads(line)

    send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "hot-text", "version": "1"}}})
    reply()
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    reply()
    sent = got = 0
    while got < args.calls:
        while sent < args.calls and sent - got < 16:
            sent += 1
            send({"jsonrpc": "2.0", "id": sent + 1, "method": "tools/call", "params": {
                "name": args.tool, "arguments": json.loads(args.arguments)}})
        answer = reply()
        if "result" not in answer or answer["result"].get("isError"):
            sys.exit(f"a call failed: {answer}")
        got += 1
    with open(f"/proc/{server.pid}/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    server.stdin.close()
    server.wait()
    print(f"peak RSS {peak} KiB")


if __name__ == "__main__":
    main()
