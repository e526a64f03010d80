"""A pcstate.PeerConnection that follows a real aiortc RTCPeerConnection (the only module that imports aiortc).

::

    import pcstate.aiortc

    pc = aiortc.RTCPeerConnection()
    peer = pcstate.aiortc.watch(pc)          # a pcstate.PeerConnection
    peer.on_event(print)                      # pc's states by the W3C rules

What it follows (docs/aiortc.md has the details, and where aiortc's own states differ):

- every ``RTCDtlsTransport`` of the aiortc peer (its transceivers' senders and receivers, its SCTP
  transport) is one pcstate transport, fed from that DTLS transport, its ``RTCIceTransport`` and
  that one's ``RTCIceGatherer``, each of which emits ``"statechange"``;
- transports are added and removed as aiortc creates and drops them. aiortc emits nothing when it
  creates one, so the watcher looks at ``pc.getTransceivers()`` and ``pc.sctp`` after each call that
  can create one (``addTrack``, ``addTransceiver``, ``createDataChannel``, ``createOffer``: wrapped
  on that peer instance only), at each ``signalingstatechange`` (``setRemoteDescription`` creates
  transports, BUNDLE drops some), and at each state change of a followed object;
- states by name: ICE ``new``, ``checking``, ``failed``, ``closed`` as they are; aiortc's ICE
  ``completed`` (aioice nominated a pair) is ``completed`` once the remote's end-of-candidates
  arrived (a=end-of-candidates in the remote description, or ``addIceCandidate(None)``), otherwise
  ``connected``; the gatherer's ``completed`` is ``complete``; DTLS names are pcstate's;
- end-of-candidates: aiortc gathers before the description is set (no trickle), so the local one is
  the gatherer's ``completed``. The remote one has no event: the watcher reads aiortc's record of
  it when it first sees a transport, and wraps ``addRemoteCandidate`` of each followed
  ``RTCIceTransport`` instance (every path aiortc takes it by) to notice it later;
- ``close()`` of the aiortc peer (its signalingState becomes ``closed``, also when aiortc closes
  itself after every DTLS transport closed) closes the pcstate peer and removes every hook.

``free()`` or ``close()`` of the returned peer removes the hooks at the next aiortc event; the
aiortc peer is unaffected. The watcher never raises into aiortc: an error (a state name this module
does not know) is reported through ``sys.unraisablehook`` and changes nothing.
"""
import functools
import sys
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

#: The aiortc peer's methods that can create a DTLS transport (setRemoteDescription also does, and
#: ends with a signalingstatechange). createOffer does with alwaysNegotiateDataChannels.
_CREATING = ("addTrack", "addTransceiver", "createDataChannel")
_CREATING_ASYNC = ("createOffer",)


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


class _Hooks:
    """Hooks set on aiortc objects (listeners, per-instance method wrappers), each with its undo."""

    def __init__(self) -> None:
        self._undo: List[Callable[[], None]] = []

    def listen(self, emitter: AsyncIOEventEmitter, event: str, fn: Callable[[], None]) -> None:
        def listener(*_: Any) -> None:
            fn()

        emitter.on(event, listener)

        def undo() -> None:
            try:
                emitter.remove_listener(event, listener)
            except KeyError:  # aiortc removed every listener of a closed ICE transport already
                pass

        self._undo.append(undo)

    def wrap(self, obj: Any, name: str, make: Callable[[Any], Any]) -> None:
        """Sets ``obj.name`` (on that instance) to ``make(the current obj.name)``. Undone only
        while it is still the outermost wrapper (another one set later stays, calling ours)."""
        own = vars(obj)
        had, previous = name in own, own.get(name)
        wrapper = make(getattr(obj, name))
        setattr(obj, name, wrapper)

        def undo() -> None:
            if vars(obj).get(name) is wrapper:
                if had:
                    setattr(obj, name, previous)
                else:
                    delattr(obj, name)

        self._undo.append(undo)

    def clear(self) -> None:
        undo, self._undo = self._undo, []
        for fn in reversed(undo):
            fn()


def _then(original: Callable[..., Any], after: Callable[[], None]) -> Callable[..., Any]:
    """``original``, then ``after()`` (also when it raises)."""

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        finally:
            after()

    return wrapper


def _then_async(original: Callable[..., Any], after: Callable[[], None]) -> Callable[..., Any]:
    """``await original``, then ``after()`` (also when it raises)."""

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await original(*args, **kwargs)
        finally:
            after()

    return wrapper


class _Followed:
    """One aiortc DTLS transport, its ICE transport and gatherer, the pcstate transport fed from
    them, and the hooks set on them."""

    def __init__(self, dtls: RTCDtlsTransport, peer: pcstate.PeerConnection) -> None:
        self.dtls = dtls
        self.ice: RTCIceTransport = dtls.transport
        self.gatherer: RTCIceGatherer = self.ice.iceGatherer
        self.eoc = False  # the remote's end-of-candidates, as seen by our addRemoteCandidate
        self.hooks = _Hooks()
        ice, dtls_state, gatherer = self.states()
        self.transport = peer.add_transport(ice=ice, dtls=dtls_state, gatherer=gatherer)

    def remote_end_of_candidates(self) -> bool:
        # aiortc records it on the gatherer (RTCIceTransport.addRemoteCandidate(None)), also
        # before the watcher saw the transport; a version without that attribute still gets the
        # ones seen through the wrapper.
        return self.eoc or bool(getattr(self.gatherer, "_remote_candidates_end", False))

    def states(self) -> Tuple[str, str, str]:
        """(ice, dtls, gatherer) as pcstate names."""
        gatherer = _GATHERER.get(self.gatherer.state, self.gatherer.state)
        ice = self.ice.state
        if ice == "completed" and not (gatherer == "complete" and self.remote_end_of_candidates()):
            ice = "connected"
        return ice, self.dtls.state, gatherer


class _Watcher:
    """Follows one aiortc peer into one pcstate peer; kept alive by its hooks on the aiortc
    objects until it detaches."""

    def __init__(self, pc: RTCPeerConnection, peer: pcstate.PeerConnection) -> None:
        self._pc = pc
        self._peer = peer
        self._followed: Dict[RTCDtlsTransport, _Followed] = {}
        self._hooks = _Hooks()
        self._detached = False
        self._scanning = False  # a rescan is running (see _rescan)
        self._scan_again = False
        if pc.signalingState == "closed":
            peer.close()
            self._detached = True
            return
        try:
            self._hooks.listen(pc, "signalingstatechange", self._guard(self._on_signaling))
            rescan = self._guard(self._rescan)
            for name in _CREATING:
                self._hooks.wrap(pc, name, functools.partial(_then, after=rescan))
            for name in _CREATING_ASYNC:
                self._hooks.wrap(pc, name, functools.partial(_then_async, after=rescan))
            self._rescan()
        except BaseException:
            self._detach()
            peer.free()
            raise

    def _guard(self, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn`` for an aiortc callback: does nothing once detached, detaches when the pcstate
        peer was closed or freed by its owner, and never raises into aiortc (pyee would raise it
        from ``emit``): other errors go to ``sys.unraisablehook``."""

        def guarded() -> None:
            if self._detached:
                return
            try:
                if self._peer.closed:
                    self._detach()
                    return
                fn()
            except pcstate.InvalidHandleError:  # freed by its owner meanwhile
                self._detach()
            except Exception as exc:  # reported, as pcstate reports a handler's exception
                sys.unraisablehook(_Unraisable(exc, "pcstate.aiortc: following an aiortc peer", self))

        return guarded

    # -- events -----------------------------------------------------------------------------------
    def _on_signaling(self) -> None:
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
        commit) and removes those of the ones aiortc dropped. pcstate delivers events inside
        those calls, and a handler may create or drop aiortc transports: a rescan asked for
        meanwhile runs after this one, never inside it. A handler that closes (or frees) the
        peer detaches the watcher there."""
        if self._scanning:
            self._scan_again = True
            return
        self._scanning = True
        try:
            self._scan_again = True
            while self._scan_again and not self._detached:
                self._scan_again = False
                now = self._dtls_transports()
                for dtls in [d for d in self._followed if d not in now]:
                    f = self._followed.pop(dtls, None)
                    if f is not None:
                        f.hooks.clear()
                        f.transport.remove()
                for dtls in now:
                    if self._detached:
                        break
                    if dtls not in self._followed:
                        self._follow(dtls)
            if not self._detached and self._peer.closed:
                self._detach()
        finally:
            self._scanning = False

    def _follow(self, dtls: RTCDtlsTransport) -> None:
        f = _Followed(dtls, self._peer)
        self._followed[dtls] = f
        changed = self._guard(functools.partial(self._on_transport_event, f))
        for emitter in (f.dtls, f.ice, f.gatherer):
            f.hooks.listen(emitter, "statechange", changed)

        def add_remote_candidate(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            async def wrapper(candidate: Optional[RTCIceCandidate]) -> None:
                try:
                    await original(candidate)
                finally:
                    if candidate is None:
                        f.eoc = True
                        changed()

            return wrapper

        f.hooks.wrap(f.ice, "addRemoteCandidate", add_remote_candidate)

    def _detach(self) -> None:
        """Removes every hook from the aiortc objects; the pcstate peer is left as it is."""
        self._detached = True
        self._hooks.clear()
        for f in self._followed.values():
            f.hooks.clear()
        self._followed.clear()


class _Unraisable:
    """What ``sys.unraisablehook`` takes (the shape of ``sys.UnraisableHookArgs``)."""

    def __init__(self, exc: BaseException, message: str, obj: object) -> None:
        self.exc_type: Type[BaseException] = type(exc)
        self.exc_value: Optional[BaseException] = exc
        self.exc_traceback: Optional[TracebackType] = exc.__traceback__
        self.err_msg: Optional[str] = message
        self.object: object = obj
