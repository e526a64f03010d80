"""The loss recordings' timings (disconnected, failed and recovered after the UDP path went silent),
and the check that pcstate's liveness, with each browser's thresholds, falls within their spread."""
import json
import os
from typing import Dict, List, Optional, Tuple

import pcstate

# Per browser: (disconnected_after, failed_after) in seconds, the thresholds that reproduce the
# recorded timings (docs/browser-parity.md explains the choice).
# TODO(liveness preset): once pcstate_peer_set_liveness_preset is on this branch, set the peer
# with its preset (PCSTATE_LIVENESS_PRESET_CHROMIUM = 1, PCSTATE_LIVENESS_PRESET_FIREFOX = 2)
# instead of these numbers, so that this check measures the shipped presets.
THRESHOLDS: Dict[str, Tuple[float, float]] = {
    "chromium": (6.5, 17.6),
    "firefox": (6.5, 28.0),
}
PRESETS = {"chromium": 1, "firefox": 2}

NOTE_MS = 20.0  # note_alive + tick cadence while packets flow
TICK_MS = 10.0  # tick cadence while the path is silent
MS = 1_000_000  # ns per ms


def _marks(trace: dict) -> Dict[str, float]:
    out = {}
    for e in trace["log"]:
        if e["type"] in ("loss-start", "loss-end"):
            out[e["type"]] = e["at"]
        elif e["type"] == "mark" and e["what"] == "both connected":
            out["connected"] = e["t"]
    return out


def measure(trace: dict) -> Dict[str, Dict[str, Optional[float]]]:
    """Per pc: seconds from loss start to connectionState disconnected and failed (None if not
    during the loss), and from loss end to connected again (None if never)."""
    m = _marks(trace)
    start, end = m["loss-start"], m["loss-end"]
    out = {}
    for name in ("a", "b"):
        r: Dict[str, Optional[float]] = {"disconnected": None, "failed": None, "recovered": None}
        for e in trace["log"]:
            if e["pc"] != name or e["type"] != "pc" or e["event"] != "connectionstatechange":
                continue
            if start <= e["t"] <= end and e["value"] in ("disconnected", "failed") and r[e["value"]] is None:
                r[e["value"]] = (e["t"] - start) / 1e3
            if e["t"] > end and e["value"] == "connected" and r["recovered"] is None:
                r["recovered"] = (e["t"] - end) / 1e3
        out[name] = r
    return out


def simulate(trace: dict, browser: str) -> Dict[str, Optional[float]]:
    """pcstate fed as the recording's call: connected with packets noted until the loss, then only
    ticks until the loss ends, then packets again. Seconds from loss start to each event."""
    m = _marks(trace)
    start, end = m["loss-start"], m["loss-end"]
    pc = pcstate.PeerConnection("w3c")
    d, f = THRESHOLDS[browser]
    pc.set_liveness(d, f)
    now = [0.0]
    seen: Dict[str, Optional[float]] = {"disconnected": None, "failed": None, "recovered": None}

    def on(e: pcstate.Event) -> None:
        if e.kind != "connectionstatechange":
            return
        v = str(e.new)
        if v in ("disconnected", "failed") and seen[v] is None:
            seen[v] = (now[0] - start) / 1e3
        elif v == "connected" and now[0] > end and seen["recovered"] is None:
            seen["recovered"] = (now[0] - end) / 1e3

    pc.on_event(on)
    t = pc.add_transport("connected", "connected", "complete")
    now[0] = m["connected"]
    while now[0] < start:
        t.note_alive(int(now[0] * MS))
        pc.tick(int(now[0] * MS))
        now[0] = min(now[0] + NOTE_MS, start)
    t.note_alive(int(start * MS))  # the last packet before the loss
    while now[0] < end:
        now[0] = min(now[0] + TICK_MS, end)
        pc.tick(int(now[0] * MS))
    for _ in range(5):  # packets again
        t.note_alive(int(now[0] * MS))
        pc.tick(int(now[0] * MS))
        now[0] += NOTE_MS
    pc.free()
    return seen


def _spread(values: List[Optional[float]]) -> Optional[Tuple[float, float]]:
    got = [v for v in values if v is not None]
    return (min(got), max(got)) if got else None


def check(paths: List[str]) -> List[Tuple[bool, str]]:
    """Per browser: pcstate's disconnected and failed times after the loss, with that browser's
    thresholds, fall within the browser's recorded spread (all loss runs, both pcs)."""
    by_browser: Dict[str, List[dict]] = {}
    for p in paths:
        if "-loss-" in os.path.basename(p):
            trace = json.load(open(p))
            by_browser.setdefault(trace["browser"], []).append(trace)
    results = []
    for browser, traces in sorted(by_browser.items()):
        measured = [r for t in traces for r in measure(t).values()]
        simulated = [simulate(t, browser) for t in traces]
        ok = True
        parts = []
        for what in ("disconnected", "failed"):
            spread = _spread([r[what] for r in measured])
            ours = [s[what] for s in simulated]
            ours_spread = _spread(ours)
            if spread is None:
                parts.append(f"{what}: not recorded")
                continue
            inside = ours_spread is not None and spread[0] <= ours_spread[0] and ours_spread[1] <= spread[1]
            ok = ok and inside
            o = "never" if ours_spread is None else f"{ours_spread[0]:.2f}-{ours_spread[1]:.2f} s"
            parts.append(f"{what}: browser {spread[0]:.2f}-{spread[1]:.2f} s, pcstate {o}")
        d, f = THRESHOLDS[browser]
        results.append((ok, f"liveness {browser} ({d} s, {f} s; {len(traces)} loss recordings): "
                            + "; ".join(parts)))
    return results
