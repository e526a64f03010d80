"""The loss recordings' timings (disconnected, failed and recovered after the UDP path went silent),
and the check that pcstate's liveness, with each browser's preset, falls within their spread."""
import json
import os
from typing import Dict, List, Optional, Tuple

import pcstate

# Each recording's browser ("chromium", "firefox") names its preset: the check measures the
# shipped thresholds (set_liveness_preset), not numbers of its own (docs/browser-parity.md).

NOTE_MS = 20.0  # note_alive + tick cadence while packets flow
TICK_MS = 10.0  # tick cadence while the path is silent
MS = 1_000_000  # ns per ms


def _marks(trace: dict) -> Dict[str, float]:
    """Page-clock ms: when both pcs connected, when the loss rule took effect and was lifted (the
    middle of the request that did it: +- half its duration, a few ms to tens of ms), and the
    earliest moment it can have been lifted (that request's start)."""
    out = {}
    for e in trace["log"]:
        if e["type"] in ("loss-start", "loss-end"):
            out[e["type"]] = (e["before"] + e["after"]) / 2
            out[e["type"] + "-earliest"] = e["before"]
        elif e["type"] == "mark" and e["what"] == "both connected":
            out["connected"] = e["t"]
    return out


def measure(trace: dict) -> Dict[str, Dict[str, Optional[float]]]:
    """Per pc, in seconds: from loss start to connectionState disconnected and failed (None if
    not during the loss); a disconnected that came only after the loss ended, from its end
    ("late"); and to connected again after a disconnection, from the earliest moment the loss can
    have ended (an upper bound)."""
    m = _marks(trace)
    start, end, lifted = m["loss-start"], m["loss-end"], m["loss-end-earliest"]
    out = {}
    for name in ("a", "b"):
        r: Dict[str, Optional[float]] = {"disconnected": None, "failed": None, "recovered": None, "late": None}
        for e in trace["log"]:
            if e["pc"] != name or e["type"] != "pc" or e["event"] != "connectionstatechange":
                continue
            t, v = e["t"], e["value"]
            if start <= t <= end and v in ("disconnected", "failed") and r[v] is None:
                r[v] = (t - start) / 1e3
            elif t > end and v == "disconnected" and r["disconnected"] is None and r["late"] is None:
                r["late"] = (t - end) / 1e3
            if t > lifted and v == "connected" and r["recovered"] is None and (
                    r["disconnected"] is not None or r["late"] is not None) and r["failed"] is None:
                r["recovered"] = (t - lifted) / 1e3
        out[name] = r
    return out


def thresholds(browser: str) -> Tuple[float, float]:
    """The browser's preset as (disconnected_after, failed_after) in seconds, read from pcstate:
    the deadlines a peer with the preset returns for a transport connected at 0."""
    pc = pcstate.PeerConnection("w3c")
    pc.set_liveness_preset(browser)
    pc.add_transport("connected", "connected", "complete")
    d = pc.tick(0)
    assert d is not None
    f = pc.tick(d)
    assert f is not None
    pc.free()
    return d / 1e9, f / 1e9


def simulate(trace: dict, browser: str) -> Dict[str, Optional[float]]:
    """pcstate fed as the recording's call: connected with packets noted until the loss, then only
    ticks until the loss ends, then packets again. Seconds from loss start to each event."""
    m = _marks(trace)
    start, end = m["loss-start"], m["loss-end"]
    pc = pcstate.PeerConnection("w3c")
    pc.set_liveness_preset(browser)
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
        d, f = thresholds(browser)
        results.append((ok, f"liveness {browser} (preset {d:g} s, {f:g} s; {len(traces)} loss recordings): "
                            + "; ".join(parts)))
    return results
