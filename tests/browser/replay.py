"""Replays the committed browser recordings into pcstate (profile W3C): its aggregates equal the W3C
rules at every step, its event sequences equal the browser's (up to named browser deviations), and
the liveness thresholds reproduce the browsers' measured disconnected/failed times after a loss.
Needs no browser: run with PYTHONPATH=bindings/python and target/release/libpcstate.so built."""
import glob
import json
import os
import sys
from typing import Dict, List, Tuple

import pcstate

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deviations  # noqa: E402
import liveness  # noqa: E402
import w3c_rules  # noqa: E402

TRACES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "traces")
KINDS = ("iceconnectionstatechange", "connectionstatechange", "icegatheringstatechange")
FIELDS = {"ice": 0, "dtls": 1, "gathering": 2}


class Replay:
    """One pc of one recording fed into one pcstate peer, step by step."""

    def __init__(self, trace: dict, name: str) -> None:
        self.trace, self.name = trace, name
        self.pc = pcstate.PeerConnection("w3c", ignore_after_close=True)
        self.model: Dict[int, List[str]] = {}  # transport id -> [ice, dtls, gathering] as fed
        self.handles: Dict[int, pcstate.Transport] = {}
        self.closed = False
        self.mismatches: List[str] = []
        # (kind, value, log index) of every pcstate event and every browser pc-level event.
        self.ours: List[Tuple[str, str, int]] = []
        self.browser: List[Tuple[str, str, int]] = []
        self.index = -1
        self.pc.on_event(lambda e: self.ours.append((e.kind, str(e.new), self.index)))

    def feed(self, i: int, e: dict) -> None:
        self.index = i
        typ = e["type"]
        if typ == "pc":
            if not self.closed:
                self.browser.append((e["event"], e["value"], i))
            return
        if self.closed and typ != "close":
            return  # W3C: after close() nothing changes the aggregates
        if typ == "transport-add":
            states = [e["ice"], e["dtls"], e["gathering"]]
            self.model[e["id"]] = states
            self.handles[e["id"]] = self.pc.add_transport(*states)
        elif typ in FIELDS:
            if e["id"] not in self.handles:
                return
            self.model[e["id"]][FIELDS[typ]] = e["value"]
            t = self.handles[e["id"]]
            if typ == "ice":
                t.set_states(ice=e["value"])
            elif typ == "dtls":
                t.set_states(dtls=e["value"])
            else:
                t.set_states(gatherer=e["value"])
        elif typ == "transport-remove":
            self.handles.pop(e["id"]).remove()
            del self.model[e["id"]]
        elif typ == "close":
            self.pc.close()
            self.closed = True
        else:
            return
        self.check_rules(i)

    def check_rules(self, i: int) -> None:
        """pcstate's aggregates equal the W3C rules applied to the transports as fed."""
        ts = [tuple(s) for s in self.model.values()]
        want = (
            w3c_rules.connection_state(ts, self.closed),
            w3c_rules.ice_connection_state(ts, self.closed),
            self.gathering_before_close if self.closed else w3c_rules.gathering_state(ts),
        )
        if not self.closed:
            self.gathering_before_close = want[2]
        s = self.pc.snapshot()
        got = (str(s.connection_state), str(s.ice_connection_state), str(s.ice_gathering_state))
        if got != want:
            self.mismatches.append(f"log[{i}]: pcstate {got} but the W3C rules give {want} for {ts}")

    def sequences(self, events: List[Tuple[str, str, int]]) -> Dict[str, List[str]]:
        return {k: [v for kind, v, _ in events if kind == k] for k in KINDS}


def replay_trace(path: str) -> Tuple[bool, List[str]]:
    """Replays both pcs of one recording; returns (passed, report lines)."""
    trace = json.load(open(path))
    lines, ok = [], True
    if trace.get("outcome") != "done":
        return False, [f"recording did not finish: {trace.get('outcome')} {trace.get('error')}"]
    for name in ("a", "b"):
        r = Replay(trace, name)
        for i, e in enumerate(trace["log"]):
            if e["pc"] == name:
                r.feed(i, e)
        if r.mismatches:
            ok = False
            lines += [f"{name}: rules: {m}" for m in r.mismatches[:5]]
        verdict = deviations.compare(trace, name, r.browser, r.ours)
        ok = ok and verdict.equal
        lines.append(f"{name}: {verdict.summary()}")
        r.pc.free()
    return ok, lines


def main() -> None:
    verbose = "-v" in sys.argv
    dirs = [a for a in sys.argv[1:] if not a.startswith("-")]  # default: the committed recordings
    paths = sorted(glob.glob(os.path.join(dirs[0] if dirs else TRACES, "*.json")))
    passed = failed = 0
    if not paths:
        print(f"replay: no recordings in {TRACES}")
        sys.exit(1)
    for path in paths:
        ok, lines = replay_trace(path)
        name = os.path.basename(path)
        passed += ok
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
        if verbose or not ok:
            for line in lines:
                print(f"       {line}")
    for ok, line in liveness.check(paths):
        print(f"{'ok  ' if ok else 'FAIL'} {line}")
        passed += ok
        failed += not ok
    print(f"browser replay: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
