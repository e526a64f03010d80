"""Tests of pcstate.aiortc.watch with real aiortc peers on 127.0.0.1 (aiortc is a pinned test
requirement): two watchers go new -> connecting -> connected while a data channel and an audio
track run, and closing one peer closes both; transports are added as aiortc creates them and
removed when BUNDLE drops them; the watcher's states against aiortc's own (checking -> new, no
end-of-candidates, DTLS failure); attaching late; handlers that create transports or close the
peer; freeing; and that the watcher never raises into aiortc."""
import asyncio
import os
import subprocess
import sys
import textwrap
from typing import Any, Callable, Dict, List, Tuple

import aioice.ice
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

import pcstate
import pcstate.aiortc

#: Every run is bounded: a pair of peers on loopback connects in well under a second.
TIMEOUT = 20.0

_AIORTC_STATES = ("connectionState", "iceConnectionState", "iceGatheringState")
_EVENT_OF = {
    "connectionState": "connectionstatechange",
    "iceConnectionState": "iceconnectionstatechange",
    "iceGatheringState": "icegatheringstatechange",
}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice gathers on every interface except 127.0.0.1: make it gather on 127.0.0.1 alone, so
    no packet leaves loopback (no ICE server is configured either: no STUN, no TURN)."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


def new_peer() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class Record:
    """aiortc's own state sequences and the watcher's events, per aggregate."""

    def __init__(self, pc: RTCPeerConnection, peer: pcstate.PeerConnection) -> None:
        self.aiortc: Dict[str, List[str]] = {name: [] for name in _AIORTC_STATES}
        self.events: Dict[str, List[Tuple[str, str]]] = {event: [] for event in _EVENT_OF.values()}
        for name in _AIORTC_STATES:
            pc.on(_EVENT_OF[name], self._aiortc_listener(pc, name))
        peer.on_event(self._on_event)

    def _aiortc_listener(self, pc: RTCPeerConnection, name: str) -> Callable[[], None]:
        return lambda: self.aiortc[name].append(getattr(pc, name))

    def _on_event(self, e: pcstate.Event) -> None:
        self.events[e.kind].append((e.old.value, e.new.value))


def without(line_prefix: str, desc: RTCSessionDescription) -> RTCSessionDescription:
    lines = [line for line in desc.sdp.split("\r\n") if not line.startswith(line_prefix)]
    return RTCSessionDescription("\r\n".join(lines), desc.type)


def assert_loopback(desc: RTCSessionDescription) -> None:
    candidates = [line.split() for line in desc.sdp.split("\r\n") if line.startswith("a=candidate:")]
    assert candidates and all(c[4] == "127.0.0.1" for c in candidates), desc.sdp


async def negotiate(
    a: RTCPeerConnection,
    b: RTCPeerConnection,
    munge: Callable[[RTCSessionDescription], RTCSessionDescription] = lambda d: d,
    after_offer: Callable[[], None] = lambda: None,
) -> None:
    """a offers, b answers; both descriptions pass through ``munge``."""
    await a.setLocalDescription(await a.createOffer())
    assert_loopback(a.localDescription)
    after_offer()
    await b.setRemoteDescription(munge(a.localDescription))
    await b.setLocalDescription(await b.createAnswer())
    assert_loopback(b.localDescription)
    await a.setRemoteDescription(munge(b.localDescription))


async def wait_until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


CONNECTED = [("new", "connecting"), ("connecting", "connected")]


def test_two_aiortc_peers_connect_and_closing_one_closes_both() -> None:
    """A data channel (SCTP) and an audio track on one BUNDLE transport: both watchers go
    new -> connecting -> connected, as aiortc does; a.close() closes a's watcher at once and b's
    when aiortc closes b (a's DTLS close_notify)."""

    async def main() -> None:
        a, b = new_peer(), new_peer()
        pa = pcstate.aiortc.watch(a, close_events=True)
        pb = pcstate.aiortc.watch(b)
        ra, rb = Record(a, pa), Record(b, pb)

        channel = a.createDataChannel("chat")
        a.addTrack(AudioStreamTrack())
        opened, echoed = asyncio.Event(), asyncio.Event()
        channel.on("open", opened.set)
        channel.on("message", lambda m: echoed.set())
        tracks: "asyncio.Queue[Any]" = asyncio.Queue()
        b.on("track", tracks.put_nowait)
        b.on("datachannel", lambda ch: ch.on("message", ch.send))

        counts: Dict[str, int] = {}

        def after_offer() -> None:
            # aiortc's default (balanced) bundle policy gave the data channel a transport of its
            # own; the answer's BUNDLE group then drops it.
            counts["a_offered"] = len(pa.transports)

        await negotiate(a, b, after_offer=after_offer)
        counts["a_answered"] = len(pa.transports)
        await opened.wait()
        channel.send("ping")
        await echoed.wait()
        await (await tracks.get()).recv()  # one decoded audio frame: media flows too

        assert counts == {"a_offered": 2, "a_answered": 1}
        assert len(pb.transports) == 1
        for peer, record in ((pa, ra), (pb, rb)):
            assert peer.snapshot()[:3] == ("connected", "completed", "complete")
            assert record.events["connectionstatechange"] == CONNECTED
            assert record.events["iceconnectionstatechange"] == [("new", "checking"), ("checking", "completed")]
            assert record.events["icegatheringstatechange"] == [("new", "gathering"), ("gathering", "complete")]
            ice, dtls, gatherer = peer.transports[0].states()
            assert (ice, dtls, gatherer) == ("completed", "connected", "complete")

        await a.close()
        assert pa.connection_state is pcstate.ConnectionState.CLOSED
        assert ra.events["connectionstatechange"] == CONNECTED + [("connected", "closed")]
        # b closes itself when a's DTLS close_notify arrives (every DTLS transport closed).
        await wait_until(lambda: b.connectionState == "closed")
        assert pb.connection_state is pcstate.ConnectionState.CLOSED
        assert rb.events["connectionstatechange"] == CONNECTED  # no close_events for b

        # aiortc's own sequences, for docs/aiortc.md: the same here.
        for record in (ra, rb):
            assert record.aiortc == {
                "connectionState": ["connecting", "connected", "closed"],
                "iceConnectionState": ["checking", "completed", "closed"],
                "iceGatheringState": ["gathering", "complete"],
            }

    run(main())


def test_unbundled_transports_aiortc_reports_checking_then_new_the_watcher_stays_checking() -> None:
    """Without BUNDLE each peer has two transports, which aiortc connects one after the other:
    while the first is completed and the second still new, aiortc's iceConnectionState goes back
    to "new"; the W3C rules (any transport new or checking) keep "checking"."""

    async def main() -> None:
        a, b = new_peer(), new_peer()
        pa, pb = pcstate.aiortc.watch(a), pcstate.aiortc.watch(b)
        ra, rb = Record(a, pa), Record(b, pb)
        channel = a.createDataChannel("chat")
        a.addTrack(AudioStreamTrack())
        opened = asyncio.Event()
        channel.on("open", opened.set)

        await negotiate(a, b, munge=lambda d: without("a=group:BUNDLE", d))
        await opened.wait()
        assert len(pa.transports) == len(pb.transports) == 2
        for peer, record in ((pa, ra), (pb, rb)):
            assert record.aiortc["iceConnectionState"] == ["checking", "new", "checking", "completed"]
            assert record.aiortc["connectionState"] == ["connecting", "connected"]
            assert record.events["iceconnectionstatechange"] == [("new", "checking"), ("checking", "completed")]
            assert record.events["connectionstatechange"] == CONNECTED
        await a.close()
        await wait_until(lambda: b.connectionState == "closed")
        assert pa.closed and pb.closed

    run(main())


def test_a_transport_aiortc_creates_in_a_call_is_added_and_removed_when_bundle_drops_it() -> None:
    """A video transceiver added to a connected call gets a new transport of its own (aiortc's
    balanced bundle policy) until the renegotiated BUNDLE group drops it: the watcher adds it at
    once, in its states, and removes it when aiortc drops it."""

    async def main() -> None:
        a, b = new_peer(), new_peer()
        channel = a.createDataChannel("chat")
        opened = asyncio.Event()
        channel.on("open", opened.set)
        await negotiate(a, b)
        await opened.wait()
        pa = pcstate.aiortc.watch(a)
        ra = Record(a, pa)
        (first,) = pa.transports

        a.addTransceiver("video", direction="recvonly")
        assert len(pa.transports) == 2
        second = pa.transports[1]
        assert second.states() == ("new", "new", "new")
        assert pa.snapshot()[:3] == ("connecting", "checking", "new")

        await negotiate(a, b)
        assert pa.transports == [first]
        assert pa.snapshot()[:3] == ("connected", "completed", "complete")
        assert ra.events == {
            "connectionstatechange": [("connected", "connecting"), ("connecting", "connected")],
            "iceconnectionstatechange": [("completed", "checking"), ("checking", "completed")],
            "icegatheringstatechange": [
                ("complete", "new"),
                ("new", "gathering"),
                ("gathering", "complete"),
            ],
        }
        # aiortc's own iceConnectionState reads "new" while the new transport is new (W3C:
        # "checking", a transport being new or checking).
        assert ra.aiortc == {
            "connectionState": ["connecting", "connected"],
            "iceConnectionState": ["new", "completed"],
            "iceGatheringState": ["new", "gathering", "complete"],
        }
        await a.close()
        await b.close()

    run(main())


def test_transports_are_added_as_aiortc_creates_them_and_hooks_go_with_close() -> None:
    """aiortc emits nothing when it creates a transport: the watcher rescans after each call that
    can create one (createOffer creates the SCTP transport with alwaysNegotiateDataChannels)."""

    async def main() -> None:
        a = RTCPeerConnection(RTCConfiguration(iceServers=[], alwaysNegotiateDataChannels=True))
        pa = pcstate.aiortc.watch(a)
        assert pa.transports == []
        await a.createOffer()
        assert len(pa.transports) == 1
        a.addTransceiver("audio")
        assert len(pa.transports) == 2
        a.addTrack(AudioStreamTrack())  # takes the audio transceiver: no new transport
        a.addTransceiver("video")
        assert len(pa.transports) == 3
        assert all(t.states() == ("new", "new", "new") for t in pa.transports)
        hooked = {"addTrack", "addTransceiver", "createDataChannel", "createOffer"}
        assert hooked <= set(vars(a))
        await a.close()
        assert pa.closed
        assert not hooked & set(vars(a))  # every wrapper removed, aiortc's methods again
        assert not any("addRemoteCandidate" in vars(t.receiver.transport.transport) for t in a.getTransceivers())

    run(main())


def test_ice_completed_waits_for_the_remote_end_of_candidates() -> None:
    """aiortc's ICE "completed" (a nominated pair) reads "connected" until the remote's
    end-of-candidates arrives, here through addIceCandidate(None) (a trickling remote)."""

    async def main() -> None:
        a, b = new_peer(), new_peer()
        pa = pcstate.aiortc.watch(a)
        ra = Record(a, pa)
        channel = a.createDataChannel("chat")
        opened = asyncio.Event()
        channel.on("open", opened.set)

        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(without("a=end-of-candidates", b.localDescription))
        await opened.wait()
        assert a.iceConnectionState == "completed"
        assert pa.ice_connection_state is pcstate.IceConnectionState.CONNECTED
        assert pa.connection_state is pcstate.ConnectionState.CONNECTED

        await a.addIceCandidate(None)
        assert pa.ice_connection_state is pcstate.IceConnectionState.COMPLETED
        assert ra.events["iceconnectionstatechange"] == [
            ("new", "checking"),
            ("checking", "connected"),
            ("connected", "completed"),
        ]
        await a.close()
        await b.close()

    run(main())


def test_a_dtls_failure_reads_failed() -> None:
    """The answer carries a wrong certificate fingerprint: the offerer's DTLS transport fails
    after its handshake, and so does its connectionState, with the cause pcstate records."""

    def wrong_fingerprint(desc: RTCSessionDescription) -> RTCSessionDescription:
        lines = []
        for line in desc.sdp.split("\r\n"):
            if line.startswith("a=fingerprint:sha-256 "):
                line = "a=fingerprint:sha-256 " + ":".join(["00"] * 32)
            lines.append(line)
        return RTCSessionDescription("\r\n".join(lines), desc.type)

    async def main() -> None:
        a, b = new_peer(), new_peer()
        pa = pcstate.aiortc.watch(a)
        ra = Record(a, pa)
        a.createDataChannel("chat")
        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(wrong_fingerprint(b.localDescription))
        await wait_until(lambda: a.connectionState == "failed")
        assert pa.transports[0].states().dtls is pcstate.DtlsTransportState.FAILED
        assert ra.events["connectionstatechange"] == [("new", "connecting"), ("connecting", "failed")]
        assert ra.aiortc["connectionState"] == ["connecting", "failed"]
        assert pa.stats().failure_cause is pcstate.FailureCause.DTLS
        await a.close()
        await b.close()
        assert pa.closed

    run(main())


def test_watching_a_running_peer_adds_its_transports_in_their_states() -> None:
    """watch() on a connected peer reads connected at once (one commit, no connecting); on a
    closed one, closed."""

    async def main() -> None:
        a, b = new_peer(), new_peer()
        channel = a.createDataChannel("chat")
        opened = asyncio.Event()
        channel.on("open", opened.set)
        await negotiate(a, b)
        await opened.wait()

        pa = pcstate.aiortc.watch(a, history=True)
        assert isinstance(pa, pcstate.PeerConnection)
        seen = [(e.kind, e.old.value, e.new.value) for e in pa.history()]
        # One commit: each aggregate moved once, straight to its current value.
        assert seen == [
            ("iceconnectionstatechange", "new", "completed"),
            ("connectionstatechange", "new", "connected"),
            ("icegatheringstatechange", "new", "complete"),
        ]
        assert len(pa.transports) == 1
        await a.close()
        assert pa.closed
        await b.close()
        # A closed aiortc peer gives a closed pcstate peer.
        assert pcstate.aiortc.watch(a).connection_state is pcstate.ConnectionState.CLOSED

    run(main())


def test_a_handler_may_create_transports_while_the_watcher_adds_one() -> None:
    """pcstate delivers the event of an added transport inside the watcher's rescan; a handler
    creating another transport there gets it added once, after, with no duplicate."""

    async def main() -> None:
        a, b = new_peer(), new_peer()
        channel = a.createDataChannel("chat")
        opened = asyncio.Event()
        channel.on("open", opened.set)
        await negotiate(a, b)
        await opened.wait()
        pa = pcstate.aiortc.watch(a)
        created: List[Any] = []

        @pa.on_event
        def create_one(e: pcstate.Event) -> None:
            if not created:
                created.append(a.addTransceiver("audio"))

        a.addTransceiver("video")  # connected -> connecting: the handler adds an audio one
        assert len(created) == 1
        assert len(pa.transports) == 3
        assert [t.states() for t in pa.transports[1:]] == [("new", "new", "new")] * 2
        await a.close()
        await b.close()

    run(main())


def test_a_handler_closing_the_peer_inside_a_rescan_detaches_the_watcher() -> None:
    """A handler that closes the watcher's peer on the event of an added transport: the watcher
    detaches before the aiortc call that created the transport returns."""

    async def main() -> None:
        a, b = new_peer(), new_peer()
        channel = a.createDataChannel("chat")
        opened = asyncio.Event()
        channel.on("open", opened.set)
        await negotiate(a, b)
        await opened.wait()
        pa = pcstate.aiortc.watch(a)
        pa.on_event(lambda e: pa.close())

        a.addTransceiver("video")  # connected -> connecting: the handler closes the peer
        assert pa.closed and len(pa.transports) == 2
        # Detached before addTransceiver returned: every hook removed.
        assert not {"addTrack", "addTransceiver", "createDataChannel", "createOffer"} & set(vars(a))
        assert not any("addRemoteCandidate" in vars(t.receiver.transport.transport) for t in a.getTransceivers())
        pa.free()  # the handler refers to its peer: freed here, not left to other tests
        await a.close()
        await b.close()

    run(main())


def test_freeing_the_watcher_detaches_it_and_aiortc_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """free() of the watcher's peer mid-negotiation: aiortc connects as if it were not watched."""
    unraisable: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    async def main() -> None:
        a, b = new_peer(), new_peer()
        pa = pcstate.aiortc.watch(a)
        channel = a.createDataChannel("chat")
        opened = asyncio.Event()
        channel.on("open", opened.set)
        await a.setLocalDescription(await a.createOffer())
        assert len(pa.transports) == 1
        ice = a.sctp.transport.transport
        assert "addRemoteCandidate" in vars(ice)  # the watcher's wrapper
        pa.free()
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
        await opened.wait()
        assert a.connectionState == "connected"
        # Detached at the first event after free(): every wrapper removed.
        assert "addRemoteCandidate" not in vars(ice) and "createOffer" not in vars(a)
        await a.close()
        await b.close()

    run(main())
    assert unraisable == []


def test_an_unknown_aiortc_state_is_reported_and_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A state name pcstate does not know (a newer aiortc's) is not raised into aiortc's emit: it
    goes to sys.unraisablehook and changes nothing."""
    unraisable: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    async def main() -> None:
        a = new_peer()
        a.createDataChannel("chat")
        pa = pcstate.aiortc.watch(a)
        (t,) = pa.transports
        gatherer = a.sctp.transport.transport.iceGatherer
        before = t.states()
        gatherer._RTCIceGatherer__state = "bogus"  # as a newer aiortc might name a state
        gatherer.emit("statechange")  # does not raise into aiortc
        assert t.states() == before
        assert len(unraisable) == 1
        assert isinstance(unraisable[0].exc_value, pcstate.InvalidStateError)
        assert "pcstate.aiortc" in unraisable[0].err_msg
        gatherer._RTCIceGatherer__state = "new"
        await a.close()
        assert pa.closed

    run(main())


def test_watch_takes_only_an_aiortc_peer() -> None:
    with pytest.raises(TypeError, match="RTCPeerConnection"):
        pcstate.aiortc.watch(object())  # type: ignore[arg-type]


def test_pcstate_imports_without_aiortc() -> None:
    code = textwrap.dedent(
        """
        import sys
        import pcstate
        assert "aiortc" not in sys.modules
        sys.modules["aiortc"] = None  # as if it were not installed
        try:
            import pcstate.aiortc
        except ImportError as e:
            print(e)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "pcstate.aiortc needs the aiortc package" in out.stdout


def test_the_example_runs() -> None:
    """examples/python/aiortc_watch.py connects, chats and closes two watched peers."""
    repo = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    example = os.path.join(repo, "examples", "python", "aiortc_watch.py")
    out = subprocess.run([sys.executable, example], capture_output=True, text=True, timeout=60, check=True)
    for line in [
        "  A pcstate connectionState: new -> connecting (transport 1)",
        "  A pcstate connectionState: connecting -> connected (transport 1)",
        "  B pcstate connectionState: connecting -> connected (transport 1)",
        "aiortc watcher demo finished: A closed, B closed",
    ]:
        assert line in out.stdout.splitlines(), out.stdout
