"""A pcstate.PeerConnection that follows a real aiortc RTCPeerConnection (the only module that imports aiortc).

::

    import pcstate.aiortc

    pc = aiortc.RTCPeerConnection()
    peer = pcstate.aiortc.watch(pc)          # a pcstate.PeerConnection
    peer.on_event(print)                      # the W3C states of pc, exactly

What it follows (docs/aiortc.md has the details and where aiortc's own states differ):

- every ``RTCDtlsTransport`` of the aiortc peer (its transceivers' senders and receivers, its SCTP
  transport) is one pcstate transport, fed from that DTLS transport, its ``RTCIceTransport`` and
  that one's ``RTCIceGatherer``, each of which emits ``"statechange"``. Transports are added and
  removed as aiortc creates and drops them (BUNDLE drops the ones it replaces): the watcher looks
  at ``pc.getTransceivers()`` and ``pc.sctp`` whenever the aiortc peer emits a state or signaling
  change, and whenever a watched object does. aiortc emits such a change whenever a new transport
  would change pcstate's aggregates, so they are always as if the transport were added when aiortc
  created it;
- states by name: ICE ``new``, ``checking``, ``failed``, ``closed`` as they are; aiortc's ICE
  ``completed`` (aioice nominated a pair) is ``completed`` once the remote's end-of-candidates
  arrived (a=end-of-candidates in the remote description, or ``addIceCandidate(None)``), otherwise
  ``connected``; the gatherer's ``completed`` is ``complete``; DTLS names are pcstate's;
- end-of-candidates: aiortc gathers before the description is set (no trickle), so the local one is
  the gatherer's ``completed``; the remote one is read from the ICE transport's gatherer when a
  transport is first seen and noticed afterwards through ``RTCIceTransport.addRemoteCandidate``,
  which the watcher wraps on each watched ICE transport (the one way aiortc takes it);
- ``close()`` of the aiortc peer (its signalingState becomes ``closed``, also when aiortc closes
  itself after every DTLS transport closed) closes the pcstate peer and detaches the watcher.

``free()`` of the returned peer (or ``close()``) detaches the watcher at the next aiortc event; the
aiortc peer is unaffected. The watcher never raises into aiortc: an error (a state name this
module does not know) is reported through ``sys.unraisablehook`` and changes nothing.
"""
import sys
from functools import partial
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, Union

import pcstate

try:
    from aiortc import RTCDtlsTransport, RTCIceCandidate, RTCIceTransport, RTCPeerConnection
    from aiortc.rtcicetransport import RTCIceGatherer
    from pyee.asyncio import AsyncIOEventEmitter
except ImportError as e:  # pragma: no cover - exercised in a child process by the tests
    raise ImportError(
        "pcstate.aiortc needs the aiortc package (pip install aiortc); the rest of pcstate does not"
    ) from e

__all__ = ["watch"]

#: aiortc's gatherer says "completed", pcstate (and W3C) "complete".
_GATHERER = {"completed": "complete"}

_Listener = Tuple[AsyncIOEventEmitter, str, Callable[[], None]]


def watch(
    pc: RTCPeerConnection,
    profile: Union[pcstate.Profile, str] = pcstate.Profile.W3C,
    *,
    close_events: bool = False,
    event_queue: bool = False,
    history: bool = False,
) -> pcstate.PeerConnection:
    """Returns a :class:`pcstate.PeerConnection` that follows the aiortc peer ``pc`` from now on
    (see the module docstring). The transports ``pc`` already has are added in their current
    states, one commit each; a closed ``pc`` gives a closed peer.

    ``profile``, ``close_events``, ``event_queue`` and ``history`` are those of
    :class:`pcstate.PeerConnection`; the peer is created with ``ignore_after_close`` (aiortc keeps
    reporting states while it tears down). Call it on the thread that runs ``pc``'s event loop,
    where every update then happens (and so every handler runs)."""
    if not isinstance(pc, RTCPeerConnection):
        raise TypeError(f"watch() takes an aiortc.RTCPeerConnection, not {type(pc).__name__}")
    peer = pcstate.PeerConnection(
        profile,
        close_events=close_events,
        event_queue=event_queue,
        history=history,
        ignore_after_close=True,
    )
    _Watcher(pc, peer)
    return peer


class _Followed:
    """One aiortc DTLS transport, its ICE transport and gatherer, and the pcstate transport fed
    from them."""

    __slots__ = ("dtls", "ice", "gatherer", "transport", "listeners", "add_remote_candidate", "eoc")

    def __init__(self, dtls: RTCDtlsTransport, peer: pcstate.PeerConnection) -> None:
        self.dtls = dtls
        self.ice: RTCIceTransport = dtls.transport
        self.gatherer: RTCIceGatherer = self.ice.iceGatherer
        self.eoc = False  # the remote's end-of-candidates, as seen through the wrapper
        ice, dtls_state, gatherer = self.states()
        self.transport = peer.add_transport(ice=ice, dtls=dtls_state, gatherer=gatherer)
        self.listeners: List[_Listener] = []
        self.add_remote_candidate: Optional[Callable[..., Any]] = None  # our wrapper, once set

    def remote_end_of_candidates(self) -> bool:
        # aiortc records it on the gatherer (RTCIceTransport.addRemoteCandidate(None)); a version
        # without that attribute still gets the ones seen through the wrapper.
        return self.eoc or bool(getattr(self.gatherer, "_remote_candidates_end", False))

    def states(self) -> Tuple[str, str, str]:
        """(ice, dtls, gatherer) as pcstate names."""
        gatherer = _GATHERER.get(self.gatherer.state, self.gatherer.state)
        ice = self.ice.state
        if ice == "completed" and not (gatherer == "complete" and self.remote_end_of_candidates()):
            ice = "connected"
        return ice, self.dtls.state, gatherer


class _Watcher:
    """Hooks one aiortc peer's events and feeds one pcstate peer; kept alive by the listeners
    it registers on the aiortc objects, until it detaches."""

    def __init__(self, pc: RTCPeerConnection, peer: pcstate.PeerConnection) -> None:
        self._pc = pc
        self._peer = peer
        self._followed: Dict[RTCDtlsTransport, _Followed] = {}
        self._listeners: List[_Listener] = []
        self._detached = False
        if pc.signalingState == "closed":
            peer.close()
            self._detached = True
            return
        for event in (
            "signalingstatechange",
            "connectionstatechange",
            "iceconnectionstatechange",
            "icegatheringstatechange",
        ):
            self._listen(self._listeners, pc, event, self._on_peer_event)
        try:
            self._rescan()
        except BaseException:
            self._detach()
            peer.free()
            raise

    # -- hooks ------------------------------------------------------------------------------------
    def _listen(
        self,
        into: List[_Listener],
        emitter: AsyncIOEventEmitter,
        event: str,
        fn: Callable[[], None],
    ) -> None:
        def listener(*_: Any) -> None:
            self._guarded(fn)

        emitter.on(event, listener)
        into.append((emitter, event, listener))

    @staticmethod
    def _unlisten(listeners: List[_Listener]) -> None:
        for emitter, event, listener in listeners:
            try:
                emitter.remove_listener(event, listener)
            except KeyError:  # aiortc removed every listener of a closed ICE transport already
                pass
        listeners.clear()

    def _wrap_add_remote_candidate(self, f: _Followed) -> None:
        """Wraps ``f.ice.addRemoteCandidate`` (on that instance only) to notice the remote's
        end-of-candidates, which aiortc signals with no event."""
        original = f.ice.addRemoteCandidate

        async def add_remote_candidate(candidate: Optional[RTCIceCandidate]) -> None:
            try:
                await original(candidate)
            finally:
                if candidate is None:
                    f.eoc = True
                    self._guarded(partial(self._on_transport_event, f))

        f.add_remote_candidate = add_remote_candidate
        setattr(f.ice, "addRemoteCandidate", add_remote_candidate)

    @staticmethod
    def _unwrap_add_remote_candidate(f: _Followed) -> None:
        if f.add_remote_candidate is not None and vars(f.ice).get("addRemoteCandidate") is f.add_remote_candidate:
            delattr(f.ice, "addRemoteCandidate")
        f.add_remote_candidate = None

    def _guarded(self, fn: Callable[[], None]) -> None:
        """Runs ``fn`` unless detached; never raises into aiortc (pyee would raise it from
        ``emit``). A freed or closed pcstate peer detaches the watcher."""
        if self._detached:
            return
        try:
            if self._peer.closed:
                self._detach()
                return
            fn()
        except pcstate.InvalidHandleError:  # freed by its owner meanwhile
            self._detach()
        except Exception as exc:  # noqa: BLE001 - reported, as pcstate reports a handler's
            sys.unraisablehook(_Unraisable(exc, "pcstate.aiortc: following an aiortc peer", self))

    # -- events -----------------------------------------------------------------------------------
    def _on_peer_event(self) -> None:
        if self._pc.signalingState == "closed":
            self._detach()
            self._peer.close()
        else:
            self._rescan()

    def _on_transport_event(self, f: _Followed) -> None:
        self._rescan()
        if self._followed.get(f.dtls) is f:
            ice, dtls, gatherer = f.states()
            f.transport.set_states(ice=ice, dtls=dtls, gatherer=gatherer)

    # -- membership -------------------------------------------------------------------------------
    def _dtls_transports(self) -> List[RTCDtlsTransport]:
        """The aiortc peer's DTLS transports now: its transceivers', then its SCTP transport's."""
        out: Dict[RTCDtlsTransport, None] = {}
        for transceiver in self._pc.getTransceivers():
            out[transceiver.sender.transport] = None
            out[transceiver.receiver.transport] = None
        sctp = self._pc.sctp
        if sctp is not None:
            out[sctp.transport] = None
        return list(out)

    def _rescan(self) -> None:
        """Adds a pcstate transport for each new DTLS transport (in its current states, one
        commit) and removes those of the ones aiortc dropped."""
        now = self._dtls_transports()
        for dtls in [d for d in self._followed if d not in now]:
            f = self._followed.pop(dtls)
            self._unlisten(f.listeners)
            self._unwrap_add_remote_candidate(f)
            f.transport.remove()
        for dtls in now:
            if dtls in self._followed:
                continue
            f = _Followed(dtls, self._peer)
            self._followed[dtls] = f
            for emitter in (f.dtls, f.ice, f.gatherer):
                self._listen(f.listeners, emitter, "statechange", partial(self._on_transport_event, f))
            self._wrap_add_remote_candidate(f)

    def _detach(self) -> None:
        """Removes every hook from the aiortc objects; the pcstate peer is left as it is."""
        self._detached = True
        self._unlisten(self._listeners)
        for f in self._followed.values():
            self._unlisten(f.listeners)
            self._unwrap_add_remote_candidate(f)
        self._followed.clear()


class _Unraisable:
    """What ``sys.unraisablehook`` takes (the shape of ``sys.UnraisableHookArgs``)."""

    def __init__(self, exc: BaseException, message: str, obj: object) -> None:
        self.exc_type: Type[BaseException] = type(exc)
        self.exc_value: Optional[BaseException] = exc
        self.exc_traceback: Optional[TracebackType] = exc.__traceback__
        self.err_msg: Optional[str] = message
        self.object: object = obj
