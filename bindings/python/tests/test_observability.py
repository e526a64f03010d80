"""Tests of observability in Python: pc.stats() and pc.history() with exact values,
failure causes (ICE, DTLS, liveness), global_stats(), the observers, the structs against gcc."""
import ctypes
import gc
import os
import shutil
import subprocess
import sys

import pytest

import pcstate
from pcstate import _bindings

C = pcstate.ConnectionState
REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
S = 1_000_000_000


def _recorder(pc):
    seen = []
    pc.on_event(seen.append)
    return seen


def _connection_events(seen):
    return [e for e in seen if e.kind == "connectionstatechange"]


# ---- the structs, against the C compiler ------------------------------------------------------


def test_struct_layouts_are_the_compilers(tmp_path):
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to read the C layout")
    structs = {
        "pcstate_peer_stats": _bindings.PeerStats,
        "pcstate_global_stats": _bindings.GlobalStats,
        "pcstate_event": _bindings.Event,
        "pcstate_snapshot": _bindings.Snapshot,
        "pcstate_transport_states": _bindings.TransportStates,
    }
    lines = []
    for name, cls in structs.items():
        lines.append(f'printf("{name} %zu\\n", sizeof(struct {name}));')
        for field, _ in cls._fields_:
            lines.append(f'printf("{name}.{field} %zu\\n", offsetof(struct {name}, {field}));')
    src = tmp_path / "layout.c"
    src.write_text(
        '#include <stddef.h>\n#include <stdio.h>\n#include "pcstate.h"\nint main(void) {\n'
        + "\n".join(lines)
        + "\nreturn 0;\n}\n"
    )
    exe = tmp_path / "layout"
    subprocess.run(
        ["gcc", "-std=c11", "-I", os.path.join(REPO, "include"), "-o", str(exe), str(src)],
        check=True,
        timeout=60,
    )
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True, timeout=30).stdout
    want = {}
    for name, cls in structs.items():
        want[name] = ctypes.sizeof(cls)
        for field, _ in cls._fields_:
            want[f"{name}.{field}"] = getattr(cls, field).offset
    have = {k: int(v) for k, v in (line.split() for line in out.splitlines())}
    assert have == want
    assert have["pcstate_peer_stats"] == 96 and have["pcstate_global_stats"] == 72


# ---- pc.stats() -------------------------------------------------------------------------------


def test_free_with_stats_returns_the_last_reading_and_frees():
    """``free_with_stats()`` frees the peer and returns its numbers read by the same C call: as
    it was (failed, never closed); the peer is freed, a second call raises, ``free()`` stays
    idempotent."""
    pc = pcstate.PeerConnection()
    pc.add_transport(ice="connected", dtls="failed")
    before = pcstate.now_ns()
    last = pc.free_with_stats()
    after = pcstate.now_ns()
    assert last.entered[C.FAILED] == 1 and last.entered[C.CLOSED] == 0
    assert last.time_in_state_ns[C.CLOSED] == 0
    assert last.failure_cause is pcstate.FailureCause.DTLS
    assert before <= last.created_ns + sum(last.time_in_state_ns.values()) <= after
    with pytest.raises(pcstate.InvalidHandleError):
        pc.free_with_stats()
    with pytest.raises(pcstate.InvalidHandleError):
        pc.stats()
    pc.free()


def test_stats_of_a_scripted_call_are_exact():
    before = pcstate.now_ns()
    pc = pcstate.PeerConnection(close_events=True)
    after_create = pcstate.now_ns()
    seen = _recorder(pc)
    s = pc.stats()
    assert before <= s.created_ns <= after_create
    assert s.first_connected_ns is None and s.time_to_connected is None
    assert s.entered == {C.NEW: 1, C.CONNECTING: 0, C.CONNECTED: 0, C.DISCONNECTED: 0, C.FAILED: 0, C.CLOSED: 0}
    assert s.failure_cause is pcstate.FailureCause.NONE and s.failure_transport is None

    audio = pc.add_transport()
    video = pc.add_transport()
    audio.ice_state = "checking"  # connecting
    audio.set_states(ice="connected", dtls="connected")
    video.set_states(ice="connected", dtls="connected")  # connected
    video.ice_state = "disconnected"  # disconnected
    video.ice_state = "connected"  # connected again
    video.dtls_state = "failed"  # failed
    before_read = pcstate.now_ns()
    s = pc.stats()
    after_read = pcstate.now_ns()

    changes = _connection_events(seen)
    assert [str(e.new) for e in changes] == ["connecting", "connected", "disconnected", "connected", "failed"]
    assert s.entered == {C.NEW: 1, C.CONNECTING: 1, C.CONNECTED: 2, C.DISCONNECTED: 1, C.FAILED: 1, C.CLOSED: 0}
    assert s.failure_cause is pcstate.FailureCause.DTLS and s.failure_transport == video.id
    # The times are the events' commit times; past stays are kept in whole milliseconds (rounded
    # at each change), so each is within 1 ms per stay, and the six still sum to the read's moment.
    t = [s.created_ns] + [e.time_ns for e in changes]
    ms = 1_000_000
    assert s.first_connected_ns == t[2]
    assert s.time_to_connected == (t[2] - t[0]) / 1e9
    ns = s.time_in_state_ns
    assert abs(ns[C.NEW] - (t[1] - t[0])) <= ms
    assert abs(ns[C.CONNECTING] - (t[2] - t[1])) <= ms
    assert abs(ns[C.CONNECTED] - ((t[3] - t[2]) + (t[5] - t[4]))) <= 2 * ms
    assert abs(ns[C.DISCONNECTED] - (t[4] - t[3])) <= ms
    assert ns[C.CLOSED] == 0
    assert before_read - t[5] <= ns[C.FAILED] <= after_read - t[5] + ms  # the current stay, to the read
    assert before_read <= s.created_ns + sum(ns.values()) <= after_read
    assert s.time_in_state == {state: v / 1e9 for state, v in ns.items()}

    pc.close()
    s2 = pc.stats()
    assert s2.entered[C.CLOSED] == 1 and s2.entered[C.FAILED] == 1
    assert s2.first_connected_ns == s.first_connected_ns  # the first connect stays
    assert abs(s2.time_in_state_ns[C.FAILED] - (_connection_events(seen)[-1].time_ns - t[5])) <= ms
    with pytest.raises(dataclass_frozen_error()):
        s2.created_ns = 0  # type: ignore[misc]
    pc.on_event(None)
    pc.free()
    with pytest.raises(pcstate.InvalidHandleError):
        pc.stats()


def dataclass_frozen_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_closed_is_counted_without_close_events():
    pc = pcstate.PeerConnection()
    pc.add_transport(ice="connected", dtls="connected")
    pc.close()
    s = pc.stats()
    assert s.entered[C.CLOSED] == 1 and s.entered[C.CONNECTED] == 1
    pc.free()


# ---- failure causes ----------------------------------------------------------------------------


def _failed_peer():
    pc = pcstate.PeerConnection()
    a = pc.add_transport(ice="connected", dtls="connected")
    b = pc.add_transport(ice="connected", dtls="connected")
    assert pc.connection_state == "connected"
    return pc, a, b


def test_failure_cause_ice():
    pc, a, b = _failed_peer()
    b.ice_state = "failed"
    s = pc.stats()
    assert pc.connection_state == "failed"
    assert (s.failure_cause, s.failure_transport) == (pcstate.FailureCause.ICE, b.id)
    pc.free()


def test_failure_cause_ice_from_an_agent():
    pc = pcstate.PeerConnection()
    t = pc.add_transport(dtls="connected", gatherer="complete")
    t.set_remote_end_of_candidates()
    t.set_agent_state("libjuice", 4)
    assert pc.connection_state == "connected"
    t.set_agent_state("libjuice", 5)  # FAILED with both facts: failed
    s = pc.stats()
    assert (s.failure_cause, s.failure_transport) == (pcstate.FailureCause.ICE, t.id)
    pc.free()


def test_failure_cause_dtls():
    pc, a, b = _failed_peer()
    a.dtls_state = "failed"
    s = pc.stats()
    assert (s.failure_cause, s.failure_transport) == (pcstate.FailureCause.DTLS, a.id)
    pc.free()


def test_failure_cause_is_the_input_that_failed_first():
    pc, a, b = _failed_peer()
    a.dtls_state = "failed"
    b.ice_state = "failed"
    assert pc.stats().failure_cause is pcstate.FailureCause.DTLS
    pc.free()
    pc, a, b = _failed_peer()
    b.ice_state = "failed"
    a.dtls_state = "failed"
    s = pc.stats()
    assert (s.failure_cause, s.failure_transport) == (pcstate.FailureCause.ICE, b.id)
    # Recovery, then a new failure: the cause is the new one's.
    b.ice_state = "connected"
    a.dtls_state = "connected"
    assert pc.connection_state == "connected"
    a.dtls_state = "failed"
    s = pc.stats()
    assert (s.failure_cause, s.failure_transport, s.entered[C.FAILED]) == (
        pcstate.FailureCause.DTLS,
        a.id,
        2,
    )
    pc.free()


def test_failure_cause_liveness():
    pc, a, b = _failed_peer()
    pc.set_liveness(1.0, 3.0)
    assert pc.tick(0) == S
    a.note_alive(2 * S)  # a stays alive; b is silent
    assert pc.tick(S) == 3 * S and pc.connection_state == "disconnected"
    assert pc.stats().failure_cause is pcstate.FailureCause.NONE
    a.note_alive(3 * S)
    pc.tick(3 * S)
    s = pc.stats()
    assert pc.connection_state == "failed"
    assert (s.failure_cause, s.failure_transport) == (pcstate.FailureCause.LIVENESS, b.id)
    pc.free()


# ---- history ---------------------------------------------------------------------------------------


def test_history_is_the_last_events():
    pc = pcstate.PeerConnection(history=True)
    seen = _recorder(pc)
    assert pc.history() == []
    t = pc.add_transport()
    t.ice_state = "checking"
    t.set_states(ice="connected", dtls="connected", gatherer="complete")
    assert pc.history() == seen and len(seen) == 5
    for i in range(20):  # 40 more events
        t.ice_state = "disconnected" if i % 2 == 0 else "connected"
    assert len(seen) == 45
    h = pc.history()
    assert len(h) == pcstate._bindings.LIMITS["HISTORY_LEN"] == 32
    assert h == seen[-32:] and [e.seq for e in h] == list(range(14, 46))
    pc.close()
    assert pc.history() == seen[-32:]  # close without close_events commits nothing
    pc.free()
    with pytest.raises(pcstate.InvalidHandleError):
        pc.history()


def test_history_keeps_what_the_queue_dropped():
    pc = pcstate.PeerConnection(history=True, event_queue=True)
    pc.set_event_limit(2)
    t = pc.add_transport()
    t.ice_state = "checking"
    t.ice_state = "connected"  # 3 events: the queue keeps 2
    assert [e.seq for e in pc.history()] == [1, 2, 3]
    assert [e.kind for e in pc.history()] == [
        "iceconnectionstatechange",
        "connectionstatechange",
        "iceconnectionstatechange",
    ]
    pc.free()


def test_history_needs_the_flag():
    pc = pcstate.PeerConnection()
    with pytest.raises(pcstate.InvalidArgumentError):
        pc.history()
    pc.free()


# ---- global stats ---------------------------------------------------------------------------------


def test_global_stats_follow_a_peer_exactly():
    gc.collect()  # no peer of an earlier test is freed by the collector during this one
    g0 = pcstate.global_stats()
    assert sum(g0.peers_in_state.values()) == g0.live_peers
    pc = pcstate.PeerConnection()
    g1 = pcstate.global_stats()
    assert g1.live_peers == g0.live_peers + 1
    assert g1.peers_in_state[C.NEW] == g0.peers_in_state[C.NEW] + 1
    seen = _recorder(pc)
    t = pc.add_transport(ice="connected", dtls="connected")
    t.dtls_state = "failed"
    g2 = pcstate.global_stats()
    assert g2.peers_in_state[C.FAILED] == g0.peers_in_state[C.FAILED] + 1
    assert g2.peers_in_state[C.NEW] == g0.peers_in_state[C.NEW]
    assert g2.events_committed == g0.events_committed + len(seen) == g0.events_committed + 3
    assert g2.failures == g0.failures + 1
    assert sum(g2.peers_in_state.values()) == g2.live_peers
    pc.on_event(None)
    pc.free()
    g3 = pcstate.global_stats()
    assert g3.live_peers == g0.live_peers and g3.peers_in_state == g0.peers_in_state
    assert g3.events_committed == g2.events_committed and g3.failures == g2.failures


# ---- observers ------------------------------------------------------------------------------------


class Recorder(pcstate.Observer):
    def __init__(self):
        self.connected = []
        self.failed = []

    def peer_connected(self, stats):
        self.connected.append(stats.time_to_connected)

    def peer_failed(self, stats, count):
        self.failed.append((str(stats.failure_cause), count))


def test_observers_see_each_first_connect_once_and_every_failure():
    rec = Recorder()
    pcstate.add_observer(rec)
    pcstate.add_observer(rec)  # once
    try:
        pcstate.observe_peers()
        rec.connected.clear()
        rec.failed.clear()  # what older live peers had to say
        a = pcstate.PeerConnection()
        ta = a.add_transport(ice="connected", dtls="connected")
        b = pcstate.PeerConnection()
        b.add_transport(ice="checking")
        pcstate.observe_peers()
        assert rec.connected == [a.stats().time_to_connected] and rec.failed == []
        ta.ice_state = "failed"
        ta.ice_state = "connected"  # connected again: not a first connect
        ta.dtls_state = "failed"  # two failures between readings: counted under the latest cause
        pcstate.observe_peers()
        assert len(rec.connected) == 1 and rec.failed == [("dtls", 2)]
        pcstate.observe_peers()
        assert len(rec.connected) == 1 and rec.failed == [("dtls", 2)]
        # A peer freed between readings is reported at the next one.
        c = pcstate.PeerConnection()
        tc = c.add_transport(ice="connected", dtls="connected")
        tc.ice_state = "failed"
        ttc = c.stats().time_to_connected
        c.free()
        del tc
        assert len(rec.connected) == 1
        pcstate.observe_peers()
        assert rec.connected[1:] == [ttc] and rec.failed[1:] == [("ice", 1)]
        a.free()
        b.free()
    finally:
        pcstate.remove_observer(rec)
    d = pcstate.PeerConnection()
    d.add_transport(ice="connected", dtls="connected")
    pcstate.observe_peers()
    assert len(rec.connected) == 2  # removed: told nothing more
    d.free()
    with pytest.raises(TypeError):
        pcstate.add_observer(object())  # type: ignore[arg-type]


def test_observers_cost_nothing_when_absent():
    assert pcstate._observe._OBSERVERS == ()
    pc = pcstate.PeerConnection()
    assert pcstate._observe._TRACKED[pc._handle] == [0, 0]
    pc.add_transport(ice="failed")
    pc.free()
    assert pc._handle not in pcstate._observe._TRACKED and pcstate._observe._PENDING == []


def test_the_observability_server_example_runs():
    """examples/python/observability_server.py, with fewer peers: every call ends as its scenario
    says (it checks that itself) and the report is printed."""
    example = os.path.join(REPO, "examples", "python", "observability_server.py")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(pcstate.__file__)))
    r = subprocess.run(
        [sys.executable, example, "--peers", "300", "--seed", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert "300 calls in" in r.stdout and "time to connected (" in r.stdout
    assert "every call ended as its scenario says" in r.stdout
