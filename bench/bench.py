"""Python figure of the benchmark suite: ns per `t.ice_state = ...` through the binding against a
bare ctypes call of the same C function (argtypes declared), measured side by side; merged into
the JSON the C benchmark wrote.

    python bench/bench.py [--scale S] [--json bench/results.json]
"""
import argparse
import ctypes
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import pcstate  # noqa: E402

REPS = 5


def per_call_ns(fn, n: int) -> float:
    best = float("inf")
    for _ in range(REPS):
        t0 = time.perf_counter_ns()
        fn(n)
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--json")
    args = ap.parse_args()
    n = max(100, int(200_000 * args.scale))

    pc = pcstate.PeerConnection()
    t1, t2 = pc.add_transport(), pc.add_transport()
    for t in (t1, t2):
        t.ice_state = "connected"
        t.dtls_state = "connected"
    connected, completed = pcstate.IceTransportState.CONNECTED, pcstate.IceTransportState.COMPLETED

    def binding(n: int) -> None:
        for i in range(n):
            t1.ice_state = completed if i & 1 else connected

    raw = pcstate._c.pcstate_transport_set_ice_state
    handle, tid = pc._handle, t1.id

    def bare(n: int) -> None:
        for i in range(n):
            raw(handle, tid, 3 if i & 1 else 2)

    def binding_str(n: int) -> None:
        for i in range(n):
            t1.ice_state = "completed" if i & 1 else "connected"

    bare_ns = per_call_ns(bare, n)
    binding_ns = per_call_ns(binding, n)
    str_ns = per_call_ns(binding_str, n)
    pc.free()

    rows = [
        ("Python: bare ctypes call of pcstate_transport_set_ice_state", bare_ns),
        ("Python: t.ice_state = IceTransportState member", binding_ns),
        ("Python: t.ice_state = 'completed' (a string)", str_ns),
    ]
    for label, ns in rows:
        print(f"{label:<58} {ns:8.0f} ns {ns / bare_ns:9.2f}x bare")
    if args.json:
        data = {}
        if os.path.exists(args.json):
            with open(args.json) as f:
                data = json.load(f)
        data.update(
            {
                "python_bare_ctypes_ns": round(bare_ns, 1),
                "python_binding_enum_ns": round(binding_ns, 1),
                "python_binding_str_ns": round(str_ns, 1),
                "python_binding_over_bare": round(binding_ns / bare_ns, 3),
                "python_version": sys.version.split()[0],
            }
        )
        with open(args.json, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
