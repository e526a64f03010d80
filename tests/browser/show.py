"""Prints a browser trace as a timeline: pc-level events, per-transport changes, loss marks."""
import json
import sys

SKIP = {"candidate", "remote-candidate", "signaling", "signal"}


def show(path: str, verbose: bool) -> None:
    d = json.load(open(path))
    print(f"== {path}: {d['browser_version']}, {d['scenario']}, outcome {d['outcome']}")
    for e in d["log"]:
        if e["type"] in SKIP and not verbose:
            continue
        rest = {k: v for k, v in e.items() if k not in ("snapshot", "t", "pc", "type")}
        if e["type"] == "pc":
            rest = f"{rest['event']} -> {rest['value']}"
        elif e["type"] in ("ice", "dtls", "gathering"):
            rest = f"transport {rest['id']} -> {rest['value']}"
        print(f"{e['t']:10.1f} {e['pc']} {e['type']:<16} {rest}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "-v"]
    for p in args:
        show(p, "-v" in sys.argv)
