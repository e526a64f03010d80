"""The recording page's HTTP server, run inside the recorder's network namespace: serves the page,
applies and removes the UDP loss rule on request, and writes the posted result."""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

# The loss rule: every UDP datagram dropped on input in this namespace (sending still succeeds, as
# on a path that went silent). TCP (this server) is untouched.
LOSS_ON = """
table inet pcstate_loss {
  chain input { type filter hook input priority -10; policy accept; meta l4proto udp drop; }
}
"""


def nft(script: str) -> str:
    r = subprocess.run(["nft", "-f", "-"], input=script, text=True, capture_output=True, timeout=10)
    return "ok" if r.returncode == 0 else f"nft failed: {r.stderr.strip()}"


class Handler(BaseHTTPRequestHandler):
    server_version = "pcstate-recorder"

    def log_message(self, fmt: str, *args: object) -> None:  # quiet
        pass

    def reply(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        name = self.path.split("?", 1)[0].lstrip("/") or "index.html"
        path = os.path.join(PAGE_DIR, os.path.basename(name))
        ext = os.path.splitext(path)[1]
        if ext not in TYPES or not os.path.isfile(path):
            self.reply(404, b"not found", "text/plain")
            return
        with open(path, "rb") as f:
            self.reply(200, f.read(), TYPES[ext])

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/control":
            received = time.monotonic()
            status = nft(LOSS_ON if body.get("loss") else "delete table inet pcstate_loss\n")
            applied = time.monotonic()
            # The page places the change in its own clock with these: it took effect between
            # (page's request + the time nft ran) and (page's reply - the time after nft).
            reply = {"status": status, "nft_ms": (applied - received) * 1e3, "reply_after_ms": 0.0}
            reply["reply_after_ms"] = (time.monotonic() - applied) * 1e3
            self.reply(200, json.dumps(reply).encode(), "application/json")
        elif self.path == "/result":
            tmp = self.server.out + ".tmp"  # type: ignore[attr-defined]
            with open(tmp, "w") as f:
                json.dump(body, f)
            os.replace(tmp, self.server.out)  # type: ignore[attr-defined]
            self.reply(200, b"{}", "application/json")
            self.server.done.set()  # type: ignore[attr-defined]
        else:
            self.reply(404, b"{}", "application/json")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, required=True)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.out = args.out  # type: ignore[attr-defined]
    server.done = threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    ok = server.done.wait(args.timeout)
    time.sleep(0.2)  # let the reply reach the page
    server.shutdown()
    sys.exit(0 if ok else 3)


if __name__ == "__main__":
    main()
