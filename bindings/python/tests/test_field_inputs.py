"""Tests of the field inputs in Python: set_states/add_transport in one commit, ICE
agents and end-of-candidates, caller-clocked liveness on a fake clock, ignore_after_close, closed."""
import asyncio
import math
import subprocess
import sys
import textwrap
import time

import pytest

import pcstate
from pcstate import _bindings

S = 1_000_000_000  # one second in ns
NICE = _bindings.ICE_AGENTS  # the header's agent numbers, checked against it in test_design.py


def _recorder(pc):
    seen = []
    pc.on_event(lambda e: seen.append(e))
    return seen


def _changes(seen):
    return [(e.kind, str(e.old), str(e.new)) for e in seen]


# ---- set_states / add_transport(...): one commit ----------------------------------------------


def test_set_states_is_one_commit_without_intermediate_states():
    pc = pcstate.PeerConnection()
    seen = _recorder(pc)
    t = pc.add_transport()
    t.set_states(ice="connected", dtls=pcstate.DtlsTransportState.CONNECTED, gatherer="complete")
    assert _changes(seen) == [
        ("iceconnectionstatechange", "new", "connected"),
        ("connectionstatechange", "new", "connected"),
        ("icegatheringstatechange", "new", "complete"),
    ]
    assert len({e.time_ns for e in seen}) == 1  # one commit: one time
    assert t.states() == ("connected", "connected", "complete")

    # The same change through the single setters passes through "connecting".
    seen.clear()
    t2 = pc.add_transport()
    t2.ice_state = "connected"
    t2.dtls_state = "connected"
    assert ("connectionstatechange", "connected", "connecting") in _changes(seen)
    pc.free()


def test_set_states_keeps_what_is_omitted():
    pc = pcstate.PeerConnection()
    t = pc.add_transport()
    t.set_states(ice="checking", dtls="connecting", gatherer="gathering")
    t.set_states(dtls="connected")
    assert t.states() == ("checking", "connected", "gathering")
    t.set_states(ice="connected")
    assert t.states() == ("connected", "connected", "gathering")
    t.set_states(gatherer="complete")
    assert t.states() == ("connected", "connected", "complete")
    t.set_states(ice="disconnected", gatherer="gathering")
    assert t.states() == ("disconnected", "connected", "gathering")
    t.set_states()  # nothing given: nothing changes
    assert t.states() == ("disconnected", "connected", "gathering")
    assert pc.snapshot().last_seq > 0
    pc.free()


def test_set_states_dtls_and_gatherer_without_ice_is_one_commit():
    pc = pcstate.PeerConnection()
    t = pc.add_transport(ice="connected")
    seen = _recorder(pc)
    t.set_states(dtls="connected", gatherer="complete")
    assert _changes(seen) == [
        ("connectionstatechange", "connecting", "connected"),
        ("icegatheringstatechange", "new", "complete"),
    ]
    assert seen[0].time_ns == seen[1].time_ns
    assert t.states() == ("connected", "connected", "complete")
    pc.free()


def test_set_states_without_ice_keeps_the_ice_agent():
    pc = pcstate.PeerConnection()
    t = pc.add_transport()
    t.set_agent_state("libnice", 4)  # READY
    t.set_remote_end_of_candidates()
    assert t.ice_state == "connected"  # gathering not complete yet
    t.set_states(dtls="connected", gatherer="complete")
    assert t.states() == ("completed", "connected", "complete")  # still derived from the agent
    t.set_states(gatherer="gathering")
    assert t.ice_state == "connected"
    # Giving ice detaches the agent: the gatherer no longer moves the ICE state.
    t.set_states(ice="connected", gatherer="complete")
    assert t.ice_state == "connected"
    t.set_remote_end_of_candidates()
    assert t.ice_state == "connected"
    pc.free()


def test_set_states_bad_values_change_nothing():
    pc = pcstate.PeerConnection()
    seen = _recorder(pc)
    t = pc.add_transport()
    before = t.states()
    for kwargs in (
        {"ice": "connected", "dtls": "sideways"},
        {"ice": "connected", "gatherer": 2},
        {"ice": pcstate.DtlsTransportState.CONNECTING},  # a member of another enum
        {"dtls": "connected", "gatherer": "completed"},
        {"gatherer": "complete", "ice": "complete"},
    ):
        with pytest.raises(pcstate.InvalidStateError):
            t.set_states(**kwargs)
        assert t.states() == before, kwargs
    assert seen == []
    t.remove()
    with pytest.raises(pcstate.UnknownTransportError):
        t.set_states(ice="connected")
    with pytest.raises(pcstate.UnknownTransportError):
        t.set_states(dtls="connected", gatherer="complete")
    pc.free()


def test_add_transport_with_states_is_one_commit():
    pc = pcstate.PeerConnection()
    first = pc.add_transport(ice="connected", dtls="connected", gatherer="complete")
    assert pc.connection_state == "connected"
    seen = _recorder(pc)
    second = pc.add_transport(ice="connected", dtls="connected", gatherer="complete")
    assert seen == []  # connected -> connected: no event at all
    assert second.states() == ("connected", "connected", "complete")
    assert pc.transports == [first, second]
    third = pc.add_transport(dtls="connecting")  # the others new
    assert third.states() == ("new", "connecting", "new")
    assert _changes(seen) == [
        ("iceconnectionstatechange", "connected", "checking"),
        ("connectionstatechange", "connected", "connecting"),
        ("icegatheringstatechange", "complete", "new"),
    ]

    # Added empty and then set, the same transport makes the peer pass through "connecting".
    third.remove()
    seen.clear()
    fourth = pc.add_transport()
    fourth.set_states(ice="connected", dtls="connected", gatherer="complete")
    assert ("connectionstatechange", "connected", "connecting") in _changes(seen)
    pc.free()


def test_add_transport_bad_values_add_nothing():
    pc = pcstate.PeerConnection()
    seen = _recorder(pc)
    for kwargs in ({"ice": "connected", "dtls": "nope"}, {"gatherer": "completed"}, {"ice": 3}):
        with pytest.raises(pcstate.InvalidStateError):
            pc.add_transport(**kwargs)
    assert pc.snapshot().transport_count == 0 and pc.transports == [] and seen == []
    assert pc.add_transport(ice="checking").id == 1  # no id was used up
    pc.free()


# ---- ICE agents ---------------------------------------------------------------------------------

# An agent's state number -> the ICE state with no fact, and with every fact (gatherer complete,
# remote end-of-candidates, a remote candidate noted) (docs/feeding.md).
LIBNICE = [  # NiceComponentState
    (0, "new", "new"),
    (1, "new", "new"),
    (2, "checking", "checking"),  # a pair exists
    (3, "connected", "connected"),
    (4, "connected", "completed"),
    (5, "disconnected", "failed"),
]
# juice_state_t reads the same, but CONNECTING is entered before any remote candidate exists: it
# reads checking only once one was noted.
LIBJUICE = [(n, "new" if n == 2 else without, full) for n, without, full in LIBNICE]


@pytest.mark.parametrize("agent, table", [("libnice", LIBNICE), (pcstate.IceAgent.LIBJUICE, LIBJUICE)])
def test_agent_states_with_and_without_the_facts(agent, table):
    pc = pcstate.PeerConnection()
    for number, without, with_facts in table:
        bare = pc.add_transport()
        bare.set_agent_state(agent, number)
        assert bare.ice_state == without, (agent, number)
        full = pc.add_transport(gatherer="complete")
        full.set_remote_end_of_candidates()
        full.note_remote_candidate()
        full.set_agent_state(agent, number)
        assert full.ice_state == with_facts, (agent, number)
    pc.free()


def test_agent_end_of_candidates_before_and_after_ready_and_restart():
    pc = pcstate.PeerConnection()
    t = pc.add_transport(gatherer="complete")
    t.set_agent_state(pcstate.IceAgent.LIBNICE, 2)
    t.set_remote_end_of_candidates()  # before READY
    t.set_agent_state("libnice", 4)
    assert t.ice_state == "completed" and pc.ice_connection_state == "completed"
    t.set_agent_state("libnice", 1)  # restart: ends the remote end-of-candidates
    assert t.ice_state == "connected"  # held through the restart, as browsers do
    t.set_agent_state("libnice", 2)
    assert t.ice_state == "connected"
    t.set_agent_state("libnice", 4)
    assert t.ice_state == "connected"
    t.set_remote_end_of_candidates()  # after READY
    assert t.ice_state == "completed"
    t.set_remote_end_of_candidates()  # idempotent
    assert t.reported_states().ice == "completed"
    pc.free()


def test_agent_bad_inputs_change_nothing():
    pc = pcstate.PeerConnection()
    seen = _recorder(pc)
    t = pc.add_transport()
    t.set_agent_state("libnice", 2)
    seen.clear()
    for agent in ("libnice2", "LIBNICE", "", None, NICE["LIBNICE"], 1.0, pcstate.Profile.W3C):
        with pytest.raises(pcstate.InvalidArgumentError) as ei:
            t.set_agent_state(agent, 3)
        assert not isinstance(ei.value, pcstate.InvalidStateError)
        assert "libjuice" in str(ei.value)  # names the accepted agents
    for state in (6, 7, 255, -1, 2**32, 2**40, True, "3", 3.0, None):
        with pytest.raises(pcstate.InvalidStateError) as ei:
            t.set_agent_state("libjuice", state)
        assert ei.value.code == _bindings.RESULT["INVALID_STATE"]
    assert t.ice_state == "checking" and seen == []
    t.set_agent_state("libnice", 3)  # the agent was not replaced by a refused call
    assert t.ice_state == "connected"
    t.remove()
    with pytest.raises(pcstate.UnknownTransportError):
        t.set_agent_state("libnice", 3)
    with pytest.raises(pcstate.UnknownTransportError):
        t.set_remote_end_of_candidates()
    pc.free()


def test_setting_ice_state_detaches_the_agent():
    pc = pcstate.PeerConnection()
    t = pc.add_transport()
    t.set_agent_state("libnice", 4)
    assert t.ice_state == "connected"  # derived from the agent
    t.ice_state = "checking"
    t.gatherer_state = "complete"
    t.set_remote_end_of_candidates()
    assert t.ice_state == "checking"
    pc.free()


# ---- liveness on a fake clock -------------------------------------------------------------------


def test_liveness_on_a_fake_clock():
    pc = pcstate.PeerConnection()
    seen = _recorder(pc)
    assert pc.tick(0) is None  # liveness off
    pc.set_liveness(disconnected_after=1.0, failed_after=3.0)
    t = pc.add_transport(ice="connected", dtls="connected", gatherer="complete")
    t0 = 1_000
    assert pc.tick(t0) == t0 + 1 * S  # the alive clock starts at the first tick
    assert pc.tick(t0 + S - 1) == t0 + 1 * S
    seen.clear()
    assert pc.tick(t0 + S) == t0 + 3 * S
    assert pc.connection_state == "disconnected"
    assert t.states().ice == "disconnected" and t.reported_states().ice == "connected"
    assert _changes(seen) == [
        ("iceconnectionstatechange", "connected", "disconnected"),
        ("connectionstatechange", "connected", "disconnected"),
    ]
    assert seen[0].transport == t.id

    t.note_alive(t0 + 3 * S // 2)  # a packet: connected again at once
    assert pc.connection_state == "connected"
    assert pc.tick(t0 + 3 * S // 2) == t0 + 5 * S // 2
    deadline = pc.tick(t0 + 5 * S // 2)
    assert pc.connection_state == "disconnected"
    # Failed 3 s after the last packet, at t0 + 4.5 s. A deadline may come early (a wakeup with
    # nothing to do), never late: tick at each one returned until there is none.
    while True:
        assert deadline is not None and t0 + 5 * S // 2 < deadline <= t0 + 9 * S // 2
        assert pc.connection_state == "disconnected"
        now = deadline
        deadline = pc.tick(now)
        if pc.connection_state != "disconnected":
            break
    assert now == t0 + 9 * S // 2 and deadline is None  # failed: nothing left to watch
    assert pc.connection_state == "failed" and t.states().ice == "failed"
    t.note_alive(t0 + 5 * S)  # sticky
    assert pc.connection_state == "failed" and t.reported_states().ice == "connected"

    t.ice_state = "connected"  # as after an ICE restart: watched afresh
    assert pc.connection_state == "connected"
    assert pc.tick(t0 + 6 * S) == t0 + 7 * S
    pc.set_liveness(None, None)  # off
    assert pc.tick(t0 + 100 * S) is None and pc.connection_state == "connected"
    pc.free()


def test_liveness_disconnected_only():
    pc = pcstate.PeerConnection()
    pc.set_liveness(0.5, None)  # never failed
    t = pc.add_transport(ice="completed", dtls="connected")
    assert pc.tick(0) == S // 2
    assert pc.tick(S // 2) is None  # disconnected, and no failed deadline
    assert pc.ice_connection_state == "disconnected"
    assert pc.tick(1000 * S) is None and pc.ice_connection_state == "disconnected"
    t.note_alive(1000 * S)
    assert pc.ice_connection_state == "completed"
    pc.free()


def test_liveness_defaults_are_5_s_and_30_s():
    pc = pcstate.PeerConnection()
    pc.set_liveness()
    pc.add_transport(ice="connected", dtls="connected")
    assert pc.tick(0) == 5 * S
    assert pc.tick(5 * S) == 30 * S
    assert pc.tick(30 * S) is None and pc.connection_state == "failed"
    pc.free()


def test_liveness_bad_durations_change_nothing():
    pc = pcstate.PeerConnection()
    pc.set_liveness(1.0, 2.0)
    pc.add_transport(ice="connected")
    assert pc.tick(0) == S
    for args in (
        (0, 3.0),
        (None, 3.0),
        (3.0, 1.0),
        (2.0, 2.0),
        (-1.0, None),
        (1.0, -2.0),
        (math.nan, None),
        (math.inf, None),
        (1.0, math.inf),
        ("5", None),
        (True, None),
        (1e12, None),
    ):
        with pytest.raises(pcstate.InvalidArgumentError) as ei:
            pc.set_liveness(*args)
        assert isinstance(ei.value, ValueError)
        assert pc.tick(1) == S, args  # the settings in force are unchanged
    pc.set_liveness(1e-12, None)  # below a nanosecond, but on: 1 ns
    assert pc.tick(10) == 11
    pc.free()


def test_liveness_durations_are_compared_as_given_then_rounded():
    """failed_after above disconnected_after is accepted however close the two are: rounding to
    whole nanoseconds keeps failed at least 1 ns after disconnected (no refusal that the given
    numbers do not justify); failed_after not above it is refused, whatever the rounding."""
    pc = pcstate.PeerConnection()
    t = pc.add_transport(ice="connected", dtls="connected")
    pc.set_liveness(5, 5.0000000001)  # 0.1 ns apart: both round to 5 s
    assert pc.tick(0) == 5 * S
    assert pc.tick(5 * S) == 5 * S + 1 and pc.connection_state == "disconnected"
    pc.tick(5 * S + 1)
    assert pc.connection_state == "failed"
    t.ice_state = "connected"
    pc.set_liveness(1e-10, 2e-10)  # both below a nanosecond: 1 ns and 2 ns
    assert pc.tick(10) == 11 and pc.tick(11) == 12
    for args in ((5.0000000001, 5), (5.0000000001, 5.0000000001)):
        with pytest.raises(pcstate.InvalidArgumentError, match="needs a disconnected_after below it"):
            pc.set_liveness(*args)
    pc.free()


def test_an_agent_state_error_names_the_agent():
    pc = pcstate.PeerConnection()
    t = pc.add_transport()
    for state in (-1, 2**32, "3", 6, 255):
        with pytest.raises(pcstate.InvalidStateError) as ei:
            t.set_agent_state(pcstate.IceAgent.LIBNICE, state)
        assert f"{state!r} is not a state number of the libnice agent" in str(ei.value)
    pc.free()


def test_bad_clock_values():
    pc = pcstate.PeerConnection()
    pc.set_liveness(1.0, 2.0)
    t = pc.add_transport(ice="connected")
    for bad in (-1, 2**64, 1.5, "1", True, math.nan):
        with pytest.raises(pcstate.InvalidArgumentError):
            pc.tick(bad)
        with pytest.raises(pcstate.InvalidArgumentError):
            t.note_alive(bad)
    assert pc.connection_state == "connecting" and pc.tick(0) == S  # nothing changed
    t.remove()
    with pytest.raises(pcstate.UnknownTransportError):
        t.note_alive()
    pc.free()
    with pytest.raises(pcstate.InvalidHandleError):
        pc.tick()
    with pytest.raises(pcstate.InvalidHandleError):
        pc.set_liveness()


def test_the_largest_clock_value_is_accepted_and_deadlines_wrap_past_it():
    """2**64 - 1 is a valid time, and a packet noted then is alive: deadlines past the end of the
    clock wrap around, as the clock itself would. Run in a child with a time limit: a library
    that loops on it must fail this test, not hang the suite."""
    code = textwrap.dedent(
        """
        import pcstate
        pc = pcstate.PeerConnection()
        pc.set_liveness(1.0, 2.0)
        t = pc.add_transport(ice="connected", dtls="connected")
        print(pc.tick(2**64 - 1), pc.tick(2**64 - 1))
        t.note_alive(2**64 - 1)
        print(pc.connection_state, pc.tick(2**64 - 1))
        print(pc.tick(999_999_999), pc.connection_state)
        """
    )
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("pcstate_peer_tick(UINT64_MAX) did not return within 20 s")
    assert r.returncode == 0, r.stderr
    # The clock starts at 2**64 - 1: disconnected 1 s later, at 999_999_999 after the wrap.
    assert r.stdout.split() == [
        "999999999", "999999999",
        "connected", "999999999",
        "1999999999", "disconnected",
    ]


def test_now_ns_is_clock_monotonic():
    a = pcstate.now_ns()
    b = time.monotonic_ns()  # CLOCK_MONOTONIC on Linux too
    c = pcstate.now_ns()
    assert a <= b + 1_000_000 and abs(b - a) < S // 10 and c >= a
    pc = pcstate.PeerConnection()
    seen = _recorder(pc)
    pc.add_transport(ice="checking")
    assert a <= seen[0].time_ns <= pcstate.now_ns()
    pc.free()


def test_liveness_with_the_real_clock_and_asyncio_call_at():
    """The README's pattern: one timer per peer, re-armed from each tick's deadline."""

    async def main():
        loop = asyncio.get_running_loop()
        pc = pcstate.PeerConnection()
        pc.set_liveness(disconnected_after=0.05, failed_after=0.15)
        states = []
        pc.on_event(lambda e: states.append(str(e.new)) if e.kind == "connectionstatechange" else None)
        timer = None

        def rearm():
            nonlocal timer
            if timer is not None:
                timer.cancel()
            deadline = pc.tick()
            timer = None
            if deadline is not None:
                delay = max(0.0, (deadline - pcstate.now_ns()) / 1e9)
                timer = loop.call_at(loop.time() + delay, rearm)

        t = pc.add_transport(ice="connected", dtls="connected")
        rearm()
        for _ in range(10):  # packets every 10 ms for 100 ms: stays connected
            await asyncio.sleep(0.01)
            t.note_alive()
        assert pc.connection_state == "connected"
        start = time.monotonic()
        while pc.connection_state != "failed" and time.monotonic() - start < 5:
            await asyncio.sleep(0.005)  # no packets: the timer alone moves the states
        elapsed = time.monotonic() - start
        if timer is not None:
            timer.cancel()
        pc.free()
        return states, elapsed

    states, elapsed = asyncio.run(main())
    assert states == ["connected", "disconnected", "failed"]
    assert 0.1 <= elapsed < 2.0


# ---- closing ---------------------------------------------------------------------------------------


def test_ignore_after_close():
    pc = pcstate.PeerConnection(ignore_after_close=True)
    pc.set_liveness(1.0, 2.0)
    t = pc.add_transport(ice="connected", dtls="connected")
    pc.close()
    assert pc.closed
    t.ice_state = "failed"
    t.dtls_state = "failed"
    t.gatherer_state = "complete"
    t.set_states(ice="checking", dtls="connecting", gatherer="gathering")
    t.set_states(dtls="connected", gatherer="complete")
    t.set_agent_state("libnice", 5)
    t.set_remote_end_of_candidates()
    t.note_alive()
    pc.set_liveness(2.0, 4.0)
    assert pc.tick() is None
    t.remove()  # ignored: the transport stays
    assert pc.transports == [t]
    assert t.states() == ("closed", "closed", "new")
    inert = pc.add_transport(ice="connected")
    assert inert.id == 0 and pc.transports == [t]
    inert.ice_state = "connected"
    inert.set_states(dtls="connected", gatherer="complete")
    inert.set_states(ice="connected")
    inert.set_agent_state("libjuice", 3)
    inert.note_alive()
    inert.remove()
    assert pc.add_transport().id == 0
    assert pc.connection_state == "closed" and pc.snapshot().transport_count == 1
    # Bad values are still refused, with their own errors.
    with pytest.raises(pcstate.InvalidStateError):
        t.ice_state = "sideways"
    with pytest.raises(pcstate.InvalidArgumentError):
        t.set_agent_state("pion", 3)
    pc.free()


def test_without_ignore_after_close_every_change_is_closed_error():
    pc = pcstate.PeerConnection()
    pc.set_liveness(1.0, 2.0)
    t = pc.add_transport(ice="connected")
    pc.close()
    for call in (
        lambda: setattr(t, "ice_state", "failed"),
        lambda: setattr(t, "dtls_state", "failed"),
        lambda: t.set_states(ice="checking"),
        lambda: t.set_states(dtls="connected", gatherer="complete"),
        lambda: t.set_agent_state("libnice", 5),
        lambda: t.set_remote_end_of_candidates(),
        lambda: t.note_alive(),
        lambda: pc.add_transport(),
        lambda: pc.add_transport(ice="connected"),
        lambda: pc.set_liveness(),
        lambda: t.remove(),
    ):
        with pytest.raises(pcstate.ClosedError):
            call()
    assert pc.tick() is None  # after close: OK, no deadline
    assert pc.transports == [t]
    pc.free()


def test_closed():
    pc = pcstate.PeerConnection()
    assert pc.closed is False
    pc.add_transport(ice="failed")
    assert pc.closed is False  # failed is not closed
    pc.close()
    assert pc.closed is True
    pc.close()
    assert pc.closed is True
    pc.free()
    assert pc.closed is True  # and stays so once freed
    other = pcstate.PeerConnection()
    other.free()
    assert other.closed is True
