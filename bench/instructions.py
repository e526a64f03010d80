"""Instruction counts per operation under callgrind, beside the time ratios of the same run.

Each operation is run twice by the C benchmark (`bench --op NAME --count N`), with N1 and N2
iterations after the same set-up; the difference of the two runs' instruction counts, over
N2 - N1, is the operation's cost alone. Instruction counts do not move with machine load, so they
are the figures that compare builds on a busy machine; the ratios to the uncontended mutex pair
are judged against the targets. Merged into the JSON the C benchmark wrote (ns figures of that
run are read from it for the time ratios).

    python bench/instructions.py --bench target/c/bench [--json bench/results.json] [--quick]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

# (op, JSON key stem, the ns figure of the timed run it corresponds to)
OPS = [
    ("mutex", "mutex_pair", "mutex_pair_ns"),
    ("nochange", "nochange_update", "set_ice_nochange_2_ns"),
    ("event", "event_update_callback", "event_1_callback_ns"),
    ("event2", "event2_update_callback", "set_ice_2_events_2_ns"),
    ("queue", "event_update_queue_and_poll", "event_1_queue_and_poll_ns"),
    ("note_alive", "note_alive", "note_alive_ns"),
    ("create", "create_free", "create_free_ns"),
]

# Targets on the ratio to the mutex pair (issue: cheaper events).
TARGETS = {"event_update_callback": 6.0, "note_alive": 1.5}


def instructions(bench: str, op: str, count: int) -> int:
    """Instructions the whole process executed (callgrind's "Collected")."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", bench, "--op", op, "--count", str(count)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    m = re.search(r"Collected\s*:\s*(\d+)", r.stderr)
    if r.returncode != 0 or not m:
        sys.exit(f"instructions: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="the C benchmark program")
    ap.add_argument("--json", help="results file to merge into (its ns figures give the time ratios)")
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("instructions: valgrind is not installed (make bench-instructions installs it)")
    n1, n2 = (1_000, 3_000) if args.quick else (10_000, 110_000)
    data = {}
    if args.json and os.path.exists(args.json):
        with open(args.json) as f:
            data = json.load(f)
    per_op = {}
    for op, key, _ in OPS:
        per_op[key] = (instructions(args.bench, op, n2) - instructions(args.bench, op, n1)) / (n2 - n1)
    mutex = per_op["mutex_pair"]
    mutex_ns = data.get("mutex_pair_ns")
    names = dict(
        line.split("\t", 1)
        for line in subprocess.run([args.bench, "--list-ops"], capture_output=True, text=True, check=True)
        .stdout.splitlines()
    )
    print(f"\ninstructions per operation (callgrind, {n2 - n1} iterations, set-up subtracted)\n")
    print(f"{'operation':<52} {'instr':>8} {'ratio':>8} {'time ratio':>11}  target")
    ok = True
    out = {}
    for op, key, ns_key in OPS:
        ratio = per_op[key] / mutex
        ns = data.get(ns_key)
        time_ratio = f"{ns / mutex_ns:10.2f}x" if ns and mutex_ns else f"{'-':>11}"
        target = TARGETS.get(key)
        verdict = ""
        if target is not None:
            met = ratio <= target
            ok &= met
            verdict = f"<= {target}x {'met' if met else 'MISSED'}"
        print(f"{names.get(op, op):<52} {per_op[key]:8.1f} {ratio:7.2f}x {time_ratio}  {verdict}")
        out[f"instructions_{key}"] = round(per_op[key], 1)
        out[f"instructions_{key}_ratio_to_mutex"] = round(ratio, 3)
    out["instructions_targets_met"] = ok
    if args.json:
        data.update(out)
        with open(args.json, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
