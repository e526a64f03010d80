"""The named browser deviations from the W3C rules that the recordings show, and the comparison of a
browser's event sequences with pcstate's that applies them only where they explain a difference."""
import itertools
from typing import Callable, Dict, List, NamedTuple, Tuple

Events = List[Tuple[str, str, int]]  # (event kind, new value, index in the recording's log)


class Deviation(NamedTuple):
    name: str
    browser: str
    what: str
    # (trace, pc name, browser events, pcstate events) -> the two sequences as they compare once
    # the deviation is accounted for.
    adjust: Callable[[dict, str, Events, Events], Tuple[Events, Events]]


def _snapshot_transports(trace: dict, name: str, index: int) -> List[dict]:
    return trace["log"][index]["snapshot"][name]["transports"]


def _chromium_failed_shown_disconnected(trace: dict, name: str, browser: Events, ours: Events):
    """Chromium's connectionState `failed` while no transport reads failed: the ICE transport failed
    (libwebrtc's connection-state path), but RTCIceTransport.state and iceConnectionState keep
    reading `disconnected`. Fed the transports as Chromium shows them, pcstate (like the W3C rules)
    reads `disconnected`: that browser event counts as `disconnected` (and as no change when the
    browser already read `disconnected`)."""
    kept: Events = []
    last = None
    for kind, value, i in browser:
        if kind == "connectionstatechange" and value == "failed":
            ts = _snapshot_transports(trace, name, i)
            if not any(t["ice"] == "failed" or t["dtls"] == "failed" for t in ts) and any(
                t["ice"] == "disconnected" for t in ts
            ):
                value = "disconnected"
        if kind == "connectionstatechange":
            if value == last:
                continue
            last = value
        kept.append((kind, value, i))
    return kept, ours


def _firefox_gathering_ignores_unstarted(trace: dict, name: str, browser: Events, ours: Events):
    """Firefox keeps iceGatheringState `complete` when transports that have not begun gathering
    (`new`) appear beside complete ones, as an ICE-restart offer's provisional transports do; the
    W3C rules (and pcstate) read `new` until they gather or go. pcstate's `new` from such a moment,
    and its return to `complete`, are set aside."""
    kept, hiding = [], False
    for kind, value, i in ours:
        if kind == "icegatheringstatechange":
            gs = [t["gathering"] for t in _snapshot_transports(trace, name, i)]
            if value == "new" and "complete" in gs and "gathering" not in gs:
                hiding = True
                continue
            if hiding and value == "complete":
                hiding = False
                continue
            hiding = False
        kept.append((kind, value, i))
    return browser, kept


def _firefox_dtls_update_in_later_task(trace: dict, name: str, browser: Events, ours: Events):
    """The W3C text updates connectionState for a DTLS change in a task of its own, which reads
    the states as they are when it runs; Firefox does so. A DTLS state that is replaced before that
    task runs (connected, then failed at once on a bad fingerprint) never shows in Firefox's
    connectionState. pcstate updates at each reported change: its connectionState event caused by
    a DTLS change and superseded by its next one before the browser fired any connectionstatechange
    is set aside."""
    conn = [(v, i) for kind, v, i in ours if kind == "connectionstatechange"]
    seen = [i for kind, _, i in browser if kind == "connectionstatechange"]
    hidden = set()
    for (v, i), (_, k) in zip(conn, conn[1:]):
        if trace["log"][i]["type"] == "dtls" and not any(i <= j < k for j in seen):
            hidden.add(i)
    return browser, [e for e in ours if not (e[0] == "connectionstatechange" and e[2] in hidden)]


DEVIATIONS = [
    Deviation(
        "chromium-ice-failed-shown-as-disconnected",
        "chromium",
        "Chromium reports an ICE failure only in connectionState (`failed`); RTCIceTransport.state "
        "and iceConnectionState stay `disconnected`.",
        _chromium_failed_shown_disconnected,
    ),
    Deviation(
        "firefox-gathering-ignores-unstarted-transports",
        "firefox",
        "Firefox keeps iceGatheringState `complete` while transports that have not begun gathering "
        "sit beside complete ones (an ICE restart's provisional transports); W3C reads `new`.",
        _firefox_gathering_ignores_unstarted,
    ),
    Deviation(
        "firefox-dtls-update-in-later-task",
        "firefox",
        "Firefox updates connectionState for a DTLS change in a later task (as the W3C text says), "
        "reading the states then: a DTLS state replaced before it runs never shows.",
        _firefox_dtls_update_in_later_task,
    ),
]


class Verdict(NamedTuple):
    equal: bool
    applied: List[str]
    browser: Dict[str, List[str]]
    ours: Dict[str, List[str]]

    def summary(self) -> str:
        if self.equal:
            how = f" with deviation {', '.join(self.applied)}" if self.applied else ""
            n = sum(len(v) for v in self.ours.values())
            return f"equal{how} ({n} pcstate events)"
        diff = [f"{k}: browser {self.browser[k]} pcstate {self.ours[k]}"
                for k in self.browser if self.browser[k] != self.ours[k]]
        return "DIFFERENT: " + "; ".join(diff)


def _by_kind(events: Events) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {}
    for kind, value, _ in events:
        out.setdefault(kind, []).append(value)
    for k in ("iceconnectionstatechange", "connectionstatechange", "icegatheringstatechange"):
        out.setdefault(k, [])
    return out


def compare(trace: dict, name: str, browser: Events, ours: Events) -> Verdict:
    """Equal per event kind as recorded; else with the smallest set of this browser's deviations
    that makes them equal, each of which changes something (so each explains a difference)."""
    raw = Verdict(_by_kind(browser) == _by_kind(ours), [], _by_kind(browser), _by_kind(ours))
    if raw.equal:
        return raw
    mine = [d for d in DEVIATIONS if d.browser == trace["browser"]]
    for size in range(1, len(mine) + 1):
        for combo in itertools.combinations(mine, size):
            b, o = browser, ours
            useful = True
            for d in combo:
                nb, no = d.adjust(trace, name, b, o)
                useful = useful and (nb, no) != (b, o)
                b, o = nb, no
            if useful and _by_kind(b) == _by_kind(o):
                return Verdict(True, [d.name for d in combo], _by_kind(b), _by_kind(o))
    return raw
