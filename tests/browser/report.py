"""Prints the comparison tables of docs/browser-parity.md from the recordings: per scenario and
browser, each pc's events as recorded and as pcstate gives them, and the loss timings."""
import glob
import json
import os
import statistics
import sys
from typing import Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deviations  # noqa: E402
import liveness  # noqa: E402
import replay  # noqa: E402

SHORT = {"iceconnectionstatechange": "ice", "connectionstatechange": "conn", "icegatheringstatechange": "gath"}


def _seq(by_kind: Dict[str, List[str]]) -> str:
    return "<br>".join(f"{SHORT[k]}: {' → '.join(v) if v else '–'}" for k, v in by_kind.items())


def events_table(paths: List[str]) -> None:
    print("| recording | pc | browser events | pcstate events | verdict |")
    print("|---|---|---|---|---|")
    for path in paths:
        base = os.path.basename(path)[:-5]
        if "-loss-" in base and not base.endswith("-1"):
            continue  # one row per loss scenario; every run is replayed by the test
        trace = json.load(open(path))
        for name in ("a", "b"):
            r = replay.Replay(trace, name)
            for i, e in enumerate(trace["log"]):
                if e["pc"] == name:
                    r.feed(i, e)
            raw_b, raw_o = deviations._by_kind(r.browser), deviations._by_kind(r.ours)
            v = deviations.compare(trace, name, r.browser, r.ours)
            verdict = ("equal" if not v.applied else "equal with " + ", ".join(f"`{d}`" for d in v.applied)) \
                if v.equal else "**different**"
            if r.mismatches:
                verdict += f"; {len(r.mismatches)} rule mismatches"
            print(f"| {base} | {name} | {_seq(raw_b)} | {_seq(raw_o)} | {verdict} |")
            r.pc.free()


def _fmt(values: List[Optional[float]]) -> str:
    got = sorted(v for v in values if v is not None)
    missing = len(values) - len(got)
    if not got:
        return f"none of {len(values)}"
    s = f"{got[0]:.2f}-{got[-1]:.2f} s (median {statistics.median(got):.2f})" if len(got) > 1 else f"{got[0]:.2f} s"
    return s + (f"; {missing} of {len(values)} not during the loss" if missing else "")


def loss_tables(paths: List[str]) -> None:
    print("| recording | loss (s) | pc | disconnected after loss start | failed after loss start | "
          "connected again after loss end | disconnected only after loss end |")
    print("|---|---|---|---|---|---|---|")
    per: Dict[str, Dict[str, List[Optional[float]]]] = {}
    for path in paths:
        if "-loss-" not in path:
            continue
        trace = json.load(open(path))
        m = liveness._marks(trace)
        for name, r in liveness.measure(trace).items():
            cell = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
            print(f"| {os.path.basename(path)[:-5]} | {(m['loss-end'] - m['loss-start']) / 1e3:.2f} | {name} | "
                  f"{cell(r['disconnected'])} | {cell(r['failed'])} | {cell(r['recovered'])} | {cell(r['late'])} |")
            key = f"{trace['browser']} {trace['scenario']}"
            for what, v in r.items():
                per.setdefault(key, {}).setdefault(what, []).append(v)
    print()
    print("| browser, scenario | disconnected | failed | recovered |")
    print("|---|---|---|---|")
    for key, r in sorted(per.items()):
        print(f"| {key} | {_fmt(r['disconnected'])} | {_fmt(r['failed'])} | {_fmt(r['recovered'])} |")


def main() -> None:
    paths = sorted(glob.glob(os.path.join(replay.TRACES, "*.json")))
    versions = sorted({json.load(open(p))["browser_version"] for p in paths})
    print("Recorded with: " + "; ".join(versions))
    print()
    events_table(paths)
    print()
    loss_tables(paths)


if __name__ == "__main__":
    main()
