"""Tests of ICE restart continuity, remote candidates and the browser liveness presets in Python:
Transport.restart_ice, Transport.note_remote_candidate, PeerConnection.set_liveness_preset."""
import pytest

import pcstate
from pcstate import _bindings

S = 1_000_000_000  # one second in ns
NICE_READY, NICE_GATHERING, NICE_CONNECTING, NICE_CONNECTED = 4, 1, 2, 3
JUICE_CONNECTING, JUICE_COMPLETED = 2, 4


def _recorder(pc):
    seen = []
    pc.on_event(lambda e: seen.append((e.kind, str(e.old), str(e.new))))
    return seen


def _completed_libnice_call(pc):
    """A transport driven by libnice, READY with both facts, DTLS connected: completed."""
    t = pc.add_transport(dtls="connected", gatherer="complete")
    t.set_agent_state("libnice", NICE_CONNECTING)
    t.set_remote_end_of_candidates()
    t.set_agent_state("libnice", NICE_READY)
    assert t.ice_state == "completed" and pc.connection_state == "connected"
    return t


# ---- restart_ice --------------------------------------------------------------------------------


def test_a_restart_on_a_healthy_call_keeps_connection_state_connected():
    """restart_ice, then libnice's own restart (GATHERING, CONNECTING, READY): connectionState
    never leaves connected, as in browsers; completed needs the new session's end-of-candidates."""
    pc = pcstate.PeerConnection()
    t = _completed_libnice_call(pc)
    seen = _recorder(pc)
    t.restart_ice()
    assert t.ice_state == "connected" and t.reported_states().ice == "connected"
    for number in (NICE_GATHERING, NICE_CONNECTING):
        t.set_agent_state("libnice", number)
        assert t.ice_state == "connected", number
    t.note_remote_candidate()
    t.set_agent_state("libnice", NICE_CONNECTED)
    t.set_agent_state("libnice", NICE_READY)
    assert t.ice_state == "connected"  # the old session's end-of-candidates ended
    t.set_remote_end_of_candidates()
    assert t.ice_state == "completed"
    assert ("connectionstatechange", "connected", "connecting") not in seen
    assert seen == [
        ("iceconnectionstatechange", "completed", "connected"),
        ("iceconnectionstatechange", "connected", "completed"),
    ]
    pc.free()


def test_a_restart_ends_the_remote_candidates_of_the_session():
    """A libjuice CONNECTING that read checking reads new after restart_ice (a transport that was
    not connected is not held), until the new session's first remote candidate is noted."""
    pc = pcstate.PeerConnection()
    t = pc.add_transport(gatherer="complete")
    t.note_remote_candidate()
    t.set_agent_state("libjuice", JUICE_CONNECTING)
    assert t.ice_state == "checking"
    t.restart_ice()  # not connected: nothing held, the noted candidate ends
    assert t.ice_state == "new"
    t.note_remote_candidate()
    assert t.ice_state == "checking"
    pc.free()


def test_a_restart_of_a_transport_set_directly_holds_connected_until_a_state_that_ends_it():
    pc = pcstate.PeerConnection()
    t = pc.add_transport(ice="completed", dtls="connected")
    t.restart_ice()
    assert t.ice_state == "connected"  # completed reads connected at once
    for state in ("new", "checking"):
        t.ice_state = state
        assert t.ice_state == "connected" and pc.connection_state == "connected", state
    t.ice_state = "failed"  # ends the hold
    assert t.ice_state == "failed" and pc.connection_state == "failed"
    t.ice_state = "checking"
    assert t.ice_state == "checking"
    pc.free()


def test_a_restart_of_a_transport_not_connected_holds_nothing():
    pc = pcstate.PeerConnection()
    t = pc.add_transport(ice="checking")
    t.restart_ice()
    assert t.ice_state == "checking"
    t.ice_state = "new"
    assert t.ice_state == "new"
    pc.free()


def test_a_restart_held_at_connected_still_goes_disconnected_and_failed_by_liveness():
    pc = pcstate.PeerConnection()
    pc.set_liveness(1.0, 2.0)
    t = pc.add_transport(ice="connected", dtls="connected")
    assert pc.tick(0) == S
    t.restart_ice()
    t.ice_state = "checking"  # held at connected
    assert t.reported_states().ice == "connected"
    pc.tick(S)
    assert t.ice_state == "disconnected" and pc.connection_state == "disconnected"
    pc.tick(2 * S)
    assert t.ice_state == "failed" and pc.connection_state == "failed"
    pc.free()


# ---- note_remote_candidate ----------------------------------------------------------------------


def test_libjuice_connecting_reads_checking_only_once_a_remote_candidate_is_noted():
    pc = pcstate.PeerConnection()
    seen = _recorder(pc)
    t = pc.add_transport(gatherer="complete")
    t.set_remote_end_of_candidates()  # not a candidate
    t.set_agent_state(pcstate.IceAgent.LIBJUICE, JUICE_CONNECTING)
    assert t.ice_state == "new" and pc.ice_connection_state == "new"
    t.note_remote_candidate()
    assert t.ice_state == "checking" and pc.ice_connection_state == "checking"
    t.note_remote_candidate()  # idempotent
    assert t.ice_state == "checking"
    assert ("iceconnectionstatechange", "new", "checking") in seen
    pc.free()


def test_a_remote_candidate_noted_before_the_agent_runs_counts_for_its_first_run():
    pc = pcstate.PeerConnection()
    t = pc.add_transport()
    t.note_remote_candidate()
    t.set_agent_state("libjuice", JUICE_CONNECTING)
    assert t.ice_state == "checking"
    pc.free()


def test_libnice_connecting_reads_checking_with_or_without_a_noted_candidate():
    pc = pcstate.PeerConnection()
    t = pc.add_transport()
    t.set_agent_state("libnice", NICE_CONNECTING)
    assert t.ice_state == "checking"
    pc.free()


def test_a_noted_candidate_ends_when_the_agent_is_detached():
    pc = pcstate.PeerConnection()
    t = pc.add_transport()
    t.note_remote_candidate()
    t.set_agent_state("libjuice", JUICE_CONNECTING)
    assert t.ice_state == "checking"
    t.ice_state = "new"  # detached: the run's facts end
    t.set_agent_state("libjuice", JUICE_CONNECTING)
    assert t.ice_state == "new"
    pc.free()


# ---- set_liveness_preset ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "preset, disconnected, failed",
    [
        (pcstate.LivenessPreset.CHROMIUM, 6_500_000_000, 17_600_000_000),
        ("chromium", 6_500_000_000, 17_600_000_000),
        (pcstate.LivenessPreset.FIREFOX, 7_000_000_000, 27_500_000_000),
        ("firefox", 7_000_000_000, 27_500_000_000),
    ],
)
def test_a_preset_sets_the_measured_browser_thresholds(preset, disconnected, failed):
    pc = pcstate.PeerConnection()
    pc.set_liveness_preset(preset)
    pc.add_transport(ice="connected", dtls="connected")
    assert pc.tick(0) == disconnected
    assert pc.tick(disconnected - 1) == disconnected and pc.connection_state == "connected"
    assert pc.tick(disconnected) == failed and pc.connection_state == "disconnected"
    assert pc.tick(failed - 1) == failed and pc.connection_state == "disconnected"
    assert pc.tick(failed) is None and pc.connection_state == "failed"
    assert pc.stats().failure_cause == "liveness"
    pc.free()


def test_the_off_preset_turns_liveness_off():
    pc = pcstate.PeerConnection()
    pc.set_liveness_preset("chromium")
    pc.add_transport(ice="connected", dtls="connected")
    assert pc.tick(0) is not None
    pc.set_liveness_preset(pcstate.LivenessPreset.OFF)
    assert pc.tick(100 * S) is None and pc.connection_state == "connected"
    pc.free()


def test_the_preset_enum_is_the_header():
    assert {m._to_c() for m in pcstate.LivenessPreset} == set(_bindings.LIVENESS_PRESETS.values())
    for m in pcstate.LivenessPreset:
        assert _bindings.LIVENESS_PRESETS[m.name] == m._to_c()
        assert pcstate.LivenessPreset(m.value) is m and str(m) == m.value
    assert [m.value for m in pcstate.LivenessPreset] == ["off", "chromium", "firefox"]


def test_a_bad_preset_raises_invalid_argument_and_changes_nothing():
    pc = pcstate.PeerConnection()
    pc.set_liveness(1.0, 2.0)
    pc.add_transport(ice="connected")
    assert pc.tick(0) == S
    for bad in ("Chromium", "CHROMIUM", "safari", "", None, 1, 0, 1.0, True, pcstate.IceAgent.LIBNICE):
        with pytest.raises(pcstate.InvalidArgumentError) as ei:
            pc.set_liveness_preset(bad)
        assert ei.value.code == _bindings.RESULT["INVALID_ARGUMENT"]
        assert "'chromium'" in str(ei.value) and "'firefox'" in str(ei.value)  # names the accepted
        assert pc.tick(1) == S, bad  # the settings in force are unchanged
    pc.free()


# ---- closed and freed peers ---------------------------------------------------------------------


def test_after_close_the_new_calls_raise_closed_error():
    pc = pcstate.PeerConnection()
    t = pc.add_transport(ice="connected")
    pc.close()
    for call in (t.restart_ice, t.note_remote_candidate, lambda: pc.set_liveness_preset("firefox")):
        with pytest.raises(pcstate.ClosedError):
            call()
    with pytest.raises(pcstate.InvalidArgumentError):  # a bad value is still a bad value
        pc.set_liveness_preset("safari")
    pc.free()


def test_with_ignore_after_close_the_new_calls_change_nothing():
    pc = pcstate.PeerConnection(ignore_after_close=True)
    t = pc.add_transport(ice="connected", dtls="connected")
    pc.close()
    t.restart_ice()
    t.note_remote_candidate()
    pc.set_liveness_preset("chromium")
    assert pc.tick() is None
    inert = pc.add_transport()
    assert inert.id == 0
    inert.restart_ice()
    inert.note_remote_candidate()
    assert t.states() == ("closed", "closed", "new") and pc.connection_state == "closed"
    with pytest.raises(pcstate.InvalidArgumentError):
        pc.set_liveness_preset("safari")
    pc.free()


def test_on_a_removed_transport_or_a_freed_peer_the_new_calls_raise():
    pc = pcstate.PeerConnection()
    t = pc.add_transport()
    t.remove()
    for call in (t.restart_ice, t.note_remote_candidate):
        with pytest.raises(pcstate.UnknownTransportError):
            call()
    pc.free()
    with pytest.raises(pcstate.InvalidHandleError):
        pc.set_liveness_preset("firefox")
