"""The peer and its transports: PeerConnection and Transport."""
import ctypes
import weakref
from typing import Any, AsyncIterator, Callable, Dict, Generic, List, Optional, Type, TypeVar, Union, overload

from . import _bindings as B
from . import _callbacks as _cb
from . import _observe
from ._aio import queued_events
from ._clock import U64_MAX, clock, liveness_ns, now
from ._errors import OK, InvalidHandleError, InvalidStateError, argument_error, check, check_option, raise_for
from ._events import Event, Snapshot, TransportStates
from ._lib import C as _c
from ._managed import Managed, NoCopy
from ._observe import PeerStats
from ._states import (
    ConnectionState,
    DtlsTransportState,
    IceAgent,
    IceConnectionState,
    IceGathererState,
    IceGatheringState,
    IceTransportState,
    LivenessPreset,
    Profile,
    _CEnum,
    c_of,
)

_EMPTY = B.RESULT["EMPTY"]
_INVALID_STATE = B.RESULT["INVALID_STATE"]
_INVALID_HANDLE = B.RESULT["INVALID_HANDLE"]
_HISTORY_LEN = B.LIMITS["HISTORY_LEN"]
_after_call = _cb.after_call
_E = TypeVar("_E", bound=_CEnum)


# ---- transports ---------------------------------------------------------------------------------


class _StateField(Generic[_E]):
    """A Transport attribute: reads one field of pcstate_transport_get_states as a member of the
    enum; sets it from a member or its string through the C setter."""

    def __init__(self, cls: Type[_E], field: str, setter: Callable[..., int], doc: str) -> None:
        self.cls, self.field, self.setter = cls, field, setter
        self.__doc__ = doc

    @overload
    def __get__(self, obj: None, owner: Any) -> "_StateField[_E]": ...

    @overload
    def __get__(self, obj: "Transport", owner: Any) -> _E: ...

    def __get__(self, obj: Optional["Transport"], owner: Any) -> Any:
        if obj is None:
            return self
        return self.cls._from_c(getattr(obj._states(), self.field))

    def __set__(self, obj: "Transport", value: Union[_E, str]) -> None:
        code = self.setter(obj._pc._handle, obj._id, c_of(self.cls, value))
        if code or _cb.interrupted:
            _after_call(code)


class Transport(NoCopy):
    """One transport (ICE + DTLS + gatherer) of a :class:`PeerConnection`; keeps its peer alive.

    Two Transport objects are equal when they name the same transport of the same peer."""

    __slots__ = ("_pc", "_id", "__weakref__")

    def __init__(self, pc: "PeerConnection", transport_id: int) -> None:
        self._pc = pc
        self._id = transport_id

    @property
    def id(self) -> int:
        """The transport's id within its peer: 1, 2, 3, ... in the order added, never reused."""
        return self._id

    @property
    def peer(self) -> "PeerConnection":
        """The :class:`PeerConnection` this transport belongs to."""
        return self._pc

    def _states(self, getter: Any = _c.pcstate_transport_get_states) -> B.TransportStates:
        out = B.TransportStates()
        check(getter(self._pc._handle, self._id, ctypes.byref(out)))
        return out

    ice_state = _StateField(
        IceTransportState,
        "ice_state",
        _c.pcstate_transport_set_ice_state,
        "The effective ICE transport state (what the aggregates use: after ICE agent derivation "
        "and liveness): an :class:`IceTransportState`. Set it with a member or its string; "
        "setting it detaches the transport from its ICE agent and ends a failed liveness reading.",
    )
    dtls_state = _StateField(
        DtlsTransportState,
        "dtls_state",
        _c.pcstate_transport_set_dtls_state,
        "The DTLS transport state: a :class:`DtlsTransportState`; set it with a member or its string.",
    )
    gatherer_state = _StateField(
        IceGathererState,
        "gatherer_state",
        _c.pcstate_transport_set_gatherer_state,
        "The gatherer state: an :class:`IceGathererState`; set it with a member or its string.",
    )

    def states(self) -> TransportStates:
        """The three effective states, read at once: the ICE state after ICE agent derivation and
        liveness (what the aggregates use); ICE and DTLS read closed once the peer is closed."""
        return TransportStates._from_c(self._states())

    def reported_states(self) -> TransportStates:
        """The three states as reported: the ICE state as set, or as derived from its ICE agent,
        before liveness (a transport that liveness reads disconnected still reports connected)."""
        return TransportStates._from_c(self._states(_c.pcstate_transport_get_reported_states))

    def set_states(
        self,
        ice: Union[IceTransportState, str, None] = None,
        dtls: Union[DtlsTransportState, str, None] = None,
        gatherer: Union[IceGathererState, str, None] = None,
    ) -> None:
        """Sets several states at once: one commit, events only for the net change (no
        intermediate states). Omitted ones keep their value (``PCSTATE_STATE_UNCHANGED``); every
        value is checked before anything changes. Giving ``ice`` sets it directly, as
        :attr:`ice_state` does (detaching an ICE agent); without it an agent-driven ICE state stays
        agent-driven, re-derived from a new gatherer state in the same commit."""
        keep = B.STATE_UNCHANGED
        s = B.TransportStates(
            keep if ice is None else c_of(IceTransportState, ice),
            keep if dtls is None else c_of(DtlsTransportState, dtls),
            keep if gatherer is None else c_of(IceGathererState, gatherer),
        )
        _after_call(_c.pcstate_transport_set_states(self._pc._handle, self._id, ctypes.byref(s)))

    def set_agent_state(self, agent: Union[IceAgent, str], state: int) -> None:
        """Reports the state of the ICE agent that drives this transport: ``agent`` is an
        :class:`IceAgent` or its string (``"libnice"``, ``"libjuice"``), ``state`` the agent's own
        number (libnice ``NiceComponentState``, libjuice ``juice_state_t``; see
        :class:`IceAgent`). The ICE state is then derived from it, from the gatherer state, from
        :meth:`set_remote_end_of_candidates` and from :meth:`note_remote_candidate`, and
        recomputed whenever one of them changes: "completed" needs the agent's checks concluded
        (libnice READY, libjuice COMPLETED), the gatherer complete and the remote's
        end-of-candidates; otherwise it reads "connected". libjuice CONNECTING reads "checking"
        only once a remote candidate was noted, "new" before (libnice CONNECTING means a pair
        exists: "checking" either way). An agent going back to an earlier state (an ICE restart)
        ends the session's facts and, as :meth:`restart_ice` does, holds a connected or completed
        transport at "connected" while the agent gathers and checks again. Setting
        :attr:`ice_state` or :meth:`set_states` with ``ice`` detaches the agent (ending its run's
        facts). The tables are in docs/feeding.md.

        An unknown agent raises :class:`InvalidArgumentError`, a number outside the agent's
        states :class:`InvalidStateError`; either way nothing changes."""
        agent_c = c_of(IceAgent, agent)
        code = _INVALID_STATE
        if not isinstance(state, bool) and isinstance(state, int) and 0 <= state <= 0xFFFFFFFF:
            code = _c.pcstate_transport_set_ice_agent_state(self._pc._handle, self._id, agent_c, int(state))
        if code == _INVALID_STATE:
            name = IceAgent._from_c(agent_c).value
            raise InvalidStateError(code, f"{state!r} is not a state number of the {name} agent")
        _after_call(code)

    def set_remote_end_of_candidates(self) -> None:
        """Records that the remote signalled the end of its candidates for this transport (an
        ``a=end-of-candidates`` line, an empty candidate, or a remote that does not trickle). Kept
        until the ICE session ends (:meth:`restart_ice`, a restart seen in the agent's states, or
        the agent detached by setting :attr:`ice_state`); idempotent. Only an agent-driven ICE
        state (:meth:`set_agent_state`) uses it."""
        _after_call(_c.pcstate_transport_set_remote_end_of_candidates(self._pc._handle, self._id))

    def note_remote_candidate(self) -> None:
        """Records that a remote candidate was given to the transport's ICE agent
        (``nice_agent_set_remote_candidates``, ``juice_add_remote_candidate``, a remote
        description with candidates, ``addIceCandidate``). An agent state that runs checks before
        any candidate pair exists (libjuice CONNECTING) reads "checking" only once this was
        called, "new" before, as W3C "checking" needs a remote candidate; libnice CONNECTING
        reads "checking" either way. Kept until the ICE session ends (as
        :meth:`set_remote_end_of_candidates`); idempotent. Only an agent-driven ICE state uses
        it."""
        _after_call(_c.pcstate_transport_note_remote_candidate(self._pc._handle, self._id))

    def restart_ice(self) -> None:
        """Says that an ICE restart began on the transport: ``restartIce()``, or an ICE-restart
        offer or answer applied (new ICE credentials). Call it before restarting the agent
        (``nice_agent_restart_stream``, a new libjuice agent) and before the new session's remote
        candidates and end-of-candidates. It ends the session's facts (remote end-of-candidates
        and remote candidates). A transport that reads connected or completed then reads
        "connected" while its agent gathers and checks again, until the agent reports a state
        that reads connected, completed, disconnected or failed (for an ICE state set directly:
        until one of those is set; new and checking read connected meanwhile), as browsers keep a
        transport connected through ``restartIce()``. A restart seen in the agent's states gets
        the same hold. With liveness on, silence still makes it disconnected and failed. The
        steps per agent are in docs/feeding.md."""
        _after_call(_c.pcstate_transport_restart_ice(self._pc._handle, self._id))

    def note_alive(self, now_ns: Optional[int] = None) -> None:
        """Notes that something arrived on the transport (call it per received packet) at
        ``now_ns`` (default :func:`now_ns`; use the clock given to :meth:`PeerConnection.tick`).
        A transport that liveness reads disconnected reads its reported state again at once.
        Does nothing when liveness is off or the transport is not connected."""
        code = _c.pcstate_transport_note_alive(
            self._pc._handle, self._id, now() if now_ns is None else clock(now_ns)
        )
        if code or _cb.interrupted:
            _after_call(code)

    def remove(self) -> None:
        """Removes the transport from its peer; the aggregates are recomputed at once."""
        pc = self._pc
        code = _c.pcstate_transport_remove(pc._handle, self._id)
        if code == OK:
            probe = B.TransportStates()
            # After close, with ignore_after_close, OK changed nothing: the transport stays.
            if _c.pcstate_transport_get_states(pc._handle, self._id, ctypes.byref(probe)) != OK:
                pc._transport_ids.pop(self._id, None)
                pc._transport_objs.pop(self._id, None)
        _after_call(code)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Transport):
            return NotImplemented
        return self._pc is other._pc and self._id == other._id

    def __hash__(self) -> int:
        return hash((id(self._pc), self._id))

    def __repr__(self) -> str:
        return f"<pcstate.Transport {self._id} of peer {self._pc._handle:#x}>"


# ---- peers --------------------------------------------------------------------------------------


class PeerConnection(Managed):
    """A peer connection's aggregate states.

    ``profile``: a :class:`Profile` member or ``"w3c"`` / ``"w3c-literal"`` / ``"legacy-2016"``.
    ``close_events``: ``close()`` reports final ``closed`` events (as native stacks do).
    ``event_queue``: events are also queued for :meth:`poll_event` and :meth:`events`.
    ``history``: the peer keeps its last {HISTORY_LEN} events for :meth:`history`.
    ``ignore_after_close``: after ``close()``, adding, removing and setting transports (and
    ``note_alive``) change nothing and raise nothing, instead of :class:`ClosedError`: for stacks
    that keep reporting states while they tear down. ``add_transport()`` then returns an inert
    transport with id 0, which every setter accepts (its getters raise).

    ``free()`` (or leaving a ``with`` block, or dropping the last reference to the peer and its
    transports) frees it; while an :class:`Observer` is registered the same C call reads its
    numbers a last time, so the reading is exact. A handler that refers to its peer keeps it
    alive until ``free()`` or ``on_event(None)``. Copying or pickling a peer raises ``TypeError``.
    """

    def __init__(
        self,
        profile: Union[Profile, str] = Profile.W3C,
        close_events: bool = False,
        event_queue: bool = False,
        ignore_after_close: bool = False,
        history: bool = False,
    ) -> None:
        # Ids in the order added; the Transport objects only weakly, so that they, which keep
        # their peer alive, form no reference cycle with it.
        self._transport_ids: Dict[int, None] = {}
        self._transport_objs: "weakref.WeakValueDictionary[int, Transport]" = (
            weakref.WeakValueDictionary()
        )
        self._closed = False
        if not isinstance(profile, (Profile, str)):
            raise Profile._error(profile)
        p: Profile = Profile._coerce(profile)
        options = {
            "CLOSE_EVENTS": close_events,
            "EVENT_QUEUE": event_queue,
            "IGNORE_AFTER_CLOSE": ignore_after_close,
            "HISTORY": history,
        }
        flags = sum(B.FLAGS[name] for name, wanted in options.items() if wanted)
        handle = B.pcstate_peer(0)
        check(_c.pcstate_peer_new(p._to_c(), flags, ctypes.byref(handle)))
        self._profile = p
        self._handle = handle.value
        self._freed = False
        _observe.track(handle.value)

    def _release(self, handle: int) -> Optional[PeerStats]:
        return _observe.free_peer(handle)

    def _exists(self) -> bool:
        # Handles are never reused, so INVALID_HANDLE means this peer was freed.
        state = ctypes.c_uint32()
        code: int = _c.pcstate_peer_connection_state(self._handle, ctypes.byref(state))
        return code != _INVALID_HANDLE

    @property
    def profile(self) -> Profile:
        """The :class:`Profile` the peer was created with."""
        return self._profile

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        """``RTCPeerConnection.close()``: the states become closed; no event unless close_events.
        Idempotent."""
        code = _c.pcstate_peer_close(self._handle)
        if code == OK:
            self._closed = True
        _after_call(code)

    @property
    def closed(self) -> bool:
        """True once the peer is closed (``close()`` ran, so ``connection_state`` is closed) or
        freed; a freed peer raises on every other call."""
        if self._closed or self._freed:
            return True
        try:
            return self.connection_state is ConnectionState.CLOSED
        except InvalidHandleError:  # freed by another thread just now
            return True

    # -- transports -------------------------------------------------------------------------------
    def add_transport(
        self,
        ice: Union[IceTransportState, str, None] = None,
        dtls: Union[DtlsTransportState, str, None] = None,
        gatherer: Union[IceGathererState, str, None] = None,
    ) -> Transport:
        """Adds a transport. Without arguments its states are new/new/new; with any of them, it
        is added already in those states (the others new) in one commit, with no intermediate
        events (for a transport that already runs). Every value is checked before anything
        changes."""
        out = B.pcstate_transport(0)
        if ice is None and dtls is None and gatherer is None:
            code = _c.pcstate_transport_add(self._handle, ctypes.byref(out))
        else:
            s = B.TransportStates(
                0 if ice is None else c_of(IceTransportState, ice),
                0 if dtls is None else c_of(DtlsTransportState, dtls),
                0 if gatherer is None else c_of(IceGathererState, gatherer),
            )
            code = _c.pcstate_transport_add_with_states(self._handle, ctypes.byref(s), ctypes.byref(out))
        if code != OK:
            _after_call(code)
        t = Transport(self, out.value)
        if t._id != 0:  # 0: ignored after close
            self._transport_ids[t._id] = None
            self._transport_objs[t._id] = t
        if _cb.interrupted:
            _after_call(code)
        return t

    @property
    def transports(self) -> List[Transport]:
        """The live transports, in the order they were added."""
        out = []
        for i in list(self._transport_ids):
            t = self._transport_objs.get(i)
            if t is None:
                t = Transport(self, i)
                self._transport_objs[i] = t
            out.append(t)
        return out

    # -- aggregates -------------------------------------------------------------------------------
    def _u32(self, fn: Any) -> int:
        out = ctypes.c_uint32(0)
        check(fn(self._handle, ctypes.byref(out)))
        return out.value

    @property
    def connection_state(self) -> ConnectionState:
        """``connectionState``: a :class:`ConnectionState`."""
        return ConnectionState._from_c(self._u32(_c.pcstate_peer_connection_state))

    @property
    def ice_connection_state(self) -> IceConnectionState:
        """``iceConnectionState``: an :class:`IceConnectionState`."""
        return IceConnectionState._from_c(self._u32(_c.pcstate_peer_ice_connection_state))

    @property
    def ice_gathering_state(self) -> IceGatheringState:
        """``iceGatheringState``: an :class:`IceGatheringState`."""
        return IceGatheringState._from_c(self._u32(_c.pcstate_peer_ice_gathering_state))

    def snapshot(self) -> Snapshot:
        """All three aggregates, the transport count and the newest event's seq, read at once."""
        s = B.Snapshot()
        check(_c.pcstate_peer_snapshot(self._handle, ctypes.byref(s)))
        return Snapshot._from_c(s)

    # -- observability ----------------------------------------------------------------------------
    def stats(self) -> PeerStats:
        """The peer's numbers now (a :class:`PeerStats`): creation and first-connected times,
        time in and entries into each ``connectionState``, the cause of the latest failure.
        Kept for every peer at no cost on the update path."""
        return _observe.peer_stats(self._handle)

    def free_with_stats(self) -> PeerStats:
        """Frees the peer, as ``free()`` does, and returns its numbers as of the free, read in the
        same C call (``pcstate_peer_free_with_stats``): a final report that has every change made
        before and needs no ``close()`` first. Raises ``InvalidHandleError`` when the peer was
        freed already."""
        last: Optional[PeerStats] = self._free_once()
        if last is None:
            raise_for(_INVALID_HANDLE)
        return last

    def history(self) -> List[Event]:
        """The peer's last committed events (at most {HISTORY_LEN}), oldest first, including any
        that the event queue or a slow handler dropped at the event limit. Needs
        ``history=True`` (else :class:`InvalidArgumentError`, which says so)."""
        buf = (B.Event * _HISTORY_LEN)()
        count = ctypes.c_size_t(0)
        code = _c.pcstate_peer_history(self._handle, buf, _HISTORY_LEN, ctypes.byref(count))
        check_option(code, "history()", "history")
        return [Event._from_c(buf[i]) for i in range(count.value)]

    # -- events -----------------------------------------------------------------------------------
    def on_event(self, fn: Optional[Callable[[Event], Any]]) -> Optional[Callable[[Event], Any]]:
        """Calls ``fn(event)`` for every change (replacing any previous handler); ``None`` clears.
        Returns ``fn``, so it also works as a decorator. Once the interpreter is exiting (see the
        module docstring) it registers nothing."""
        if fn is None:
            check(_cb.clear(self._handle))
            return None
        if not callable(fn):
            raise TypeError("on_event takes a callable or None")
        _cb.register(self._handle, fn)
        return fn

    def set_event_limit(self, max_events: int) -> None:
        # The docstring is set below, from the constants table.
        low, high = 1, B.LIMITS["MAX_EVENT_LIMIT"]
        if type(max_events) is not int or not low <= max_events <= high:
            raise argument_error(f"{max_events!r} is not an event limit ({low} to {high})")
        check(_c.pcstate_peer_set_event_limit(self._handle, max_events))

    def poll_event(self) -> Optional[Event]:
        """The oldest queued event, or ``None`` (needs ``event_queue=True``)."""
        e = B.Event()
        code = _c.pcstate_peer_poll_event(self._handle, ctypes.byref(e))
        if code == _EMPTY:
            return None
        check_option(code, "poll_event()", "event_queue")
        return Event._from_c(e)

    def fileno(self) -> int:
        """The event queue's fd (needs ``event_queue=True``): readable while events are queued,
        after ``close()``, and just before ``free()`` closes it; ``poll_event()`` returning
        ``None`` resets it. Owned by the peer: do not read or close it."""
        fd = ctypes.c_int(-1)
        check_option(_c.pcstate_peer_event_fd(self._handle, ctypes.byref(fd)), "fileno()", "event_queue")
        return fd.value

    def events(self) -> AsyncIterator[Event]:
        """Queued events as an async iterator on the running loop (needs ``event_queue=True``).
        Ends when the peer is closed and its queue drained, or when it is freed (also while
        waiting, from any thread). It waits on its own duplicate of the event fd, closed when the
        iterator ends, so no reader is ever left on a number the peer no longer owns. Use one
        iterator per peer: each event goes to one reader."""
        return queued_events(self)

    # -- liveness ---------------------------------------------------------------------------------
    def set_liveness(
        self, disconnected_after: Optional[float] = 5.0, failed_after: Optional[float] = 30.0
    ) -> None:
        """Turns liveness on: a transport whose ICE state is connected or completed and on which
        nothing was noted alive (:meth:`Transport.note_alive`) for ``disconnected_after`` seconds
        reads disconnected; for ``failed_after`` seconds, failed, until its ICE state is set
        again (as after an ICE restart). The defaults, 5 s and 30 s, are round numbers, not a
        browser's: measured, Chromium reads disconnected 6-7 s after traffic stops and failed
        after about 17.6 s, Firefox 5-8 s and about 27.5 s; :meth:`set_liveness_preset` sets
        those. libnice and libjuice report neither promptly. ``failed_after`` None (or
        0): never failed. Both None (or 0): liveness off, the default of a new peer; otherwise
        ``failed_after`` must exceed ``disconnected_after`` (:class:`InvalidArgumentError`), as
        given. Both are then rounded to whole nanoseconds (at least 1 ns), ``failed_after`` kept
        at least 1 ns above ``disconnected_after``. Every transport is watched afresh, in one
        commit.

        Caller-clocked: no threads, no timers. A transport's alive clock starts at the first
        :meth:`tick` or note after it became connected: call :meth:`tick` after changing states
        and whenever the deadline it returns has passed (see the README's asyncio example)."""
        d, f = liveness_ns(disconnected_after, failed_after)
        _after_call(_c.pcstate_peer_set_liveness(self._handle, d, f))

    def set_liveness_preset(self, preset: Union[LivenessPreset, str]) -> None:
        """Turns liveness on with the thresholds that reproduce a browser's timings for a path
        that goes silent during media, as :meth:`set_liveness` with them: ``preset`` is a
        :class:`LivenessPreset` or its string, ``"chromium"`` (disconnected after 6.5 s, failed
        after 17.6 s), ``"firefox"`` (7 s, 27.5 s) or ``"off"`` (liveness off). The numbers come
        from the project's own browser recordings (docs/feeding.md, "Presets"). Another value
        raises :class:`InvalidArgumentError` and changes nothing."""
        _after_call(_c.pcstate_peer_set_liveness_preset(self._handle, c_of(LivenessPreset, preset)))

    def tick(self, now_ns: Optional[int] = None) -> Optional[int]:
        """Applies the liveness deadlines that passed by ``now_ns`` (default :func:`now_ns`; any
        monotonic nanosecond clock, the same for every call on this peer), delivers the events,
        and returns the next deadline on that clock in nanoseconds, or None when there is none
        (liveness off, nothing connected, or the peer closed): one timer per peer. Cheap when
        nothing is due. Times are read modulo 2**64 (only differences count): a deadline past
        2**64 - 1 wraps around, and one that falls on 2**64 - 1 itself is returned 1 ns early."""
        out = ctypes.c_uint64(0)
        at = now() if now_ns is None else clock(now_ns)
        _after_call(_c.pcstate_peer_tick(self._handle, at, ctypes.byref(out)))
        return None if out.value == U64_MAX else out.value

    def __repr__(self) -> str:
        state = "freed" if self._freed else self.connection_state.value
        profile = getattr(self, "_profile", None)
        return f"<pcstate.PeerConnection {self._handle:#x} {profile} {state}>"


for _f in (PeerConnection, PeerConnection.history):
    _f.__doc__ = (_f.__doc__ or "").replace("{HISTORY_LEN}", str(_HISTORY_LEN))

PeerConnection.set_event_limit.__doc__ = """Bounds the event queue, and separately the backlog of
events committed while one of the peer's handlers runs, to ``max_events`` each (1 to {MAX_EVENT_LIMIT};
default {DEFAULT_EVENT_LIMIT}). An event that does not fit is dropped and counted, and so is every
later one, even once there is room again, until the reader has taken what was kept and then the
:class:`Event` of kind ``"overflow"`` that stands for the dropped ones (``dropped`` says how many,
``seq`` is the newest of them); it then resynchronises from :meth:`snapshot`. The counting is
exact and the state changes themselves are never refused. ``NoMemoryError`` (nothing changed) if a
limit other than the default, on a peer without a handler, history or queue yet, cannot get the few
bytes that keep it.""".format(**B.LIMITS)
