"""pcstate: the RTCPeerConnection state machine exactly as browsers define it.

Report each transport's ICE, DTLS and gathering state (directly, or as an ICE agent's own states
with :meth:`Transport.set_agent_state`); read ``connection_state``, ``ice_connection_state`` and
``ice_gathering_state``; get an :class:`Event` for every change. Liveness
(:meth:`PeerConnection.set_liveness`) gives browser-like disconnected/failed on the caller's clock.
:meth:`PeerConnection.stats`, :func:`global_stats` and ``pcstate.prometheus`` say why calls failed
and how long they took to connect.

Threads: every method may be called from any thread. Events of one peer arrive in order, one at a
time, on whichever thread is delivering them: the thread whose call caused them, or, when several
threads update one peer at once, the one already delivering. A handler may call anything on any
peer, including ``close()`` and ``free()`` of its own.

Exceptions raised by a handler: ``KeyboardInterrupt`` is delivered to the main thread, as CPython
delivers SIGINT (``_thread.interrupt_main()``), and raised there at its next bytecode boundary.
Every other exception, ``SystemExit`` included, is reported through ``sys.unraisablehook``. Either
way the event counts as delivered and the peer keeps working.

Interpreter exit: an ``atexit`` hook stops every handler before finalization. It clears each
registration the C library holds, waiting for a handler running on another thread to return.
From then on no handler runs and ``on_event`` registers nothing (it is inert). Peers otherwise keep
working, so daemon threads may go on using theirs until the interpreter ends them.
"""
import _thread
import asyncio
import atexit
import ctypes
import dataclasses
import enum
import itertools
import os
import threading
import time
import weakref
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Dict,
    Generic,
    List,
    NamedTuple,
    Optional,
    Set,
    Tuple,
    Type,
    TypeVar,
    Union,
    overload,
)

from . import _constants, _lib
from ._managed import Managed, NoCopy

__version__ = _lib.EXPECTED_VERSION

_c = _lib.load()

__all__ = [
    "__version__",
    "PeerConnection",
    "Transport",
    "Event",
    "Snapshot",
    "TransportStates",
    "now_ns",
    "PeerStats",
    "GlobalStats",
    "global_stats",
    "FailureCause",
    "Observer",
    "add_observer",
    "remove_observer",
    "observe_peers",
    "Profile",
    "IceAgent",
    "ConnectionState",
    "IceConnectionState",
    "IceGatheringState",
    "IceTransportState",
    "DtlsTransportState",
    "IceGathererState",
    "PcstateError",
    "NullArgumentError",
    "InvalidHandleError",
    "UnknownTransportError",
    "InvalidStateError",
    "InvalidArgumentError",
    "ClosedError",
    "PanicError",
    "LimitError",
    "WouldDeadlockError",
    "NoMemoryError",
]

_R = _constants.RESULT
_OK, _EMPTY, _INVALID_HANDLE = _R["OK"], _R["EMPTY"], _R["INVALID_HANDLE"]

_T = TypeVar("_T")


# ---- enums --------------------------------------------------------------------------------------


class _CEnum(str, enum.Enum):
    """A str-valued enum of W3C names; each member carries its C number, taken from the table."""

    @classmethod
    def _from_c(cls: Type[_T], value: int) -> _T:
        return _BY_C[cls][value]  # type: ignore[no-any-return]

    def _to_c(self) -> int:
        return self._c  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def _error(cls, value: Any) -> "PcstateError":
        names = ", ".join(repr(m.value) for m in cls)
        return InvalidStateError(_R["INVALID_STATE"], f"{value!r} is not a {cls.__name__} (one of {names})")

    @classmethod
    def _coerce(cls, value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            member = cls._value2member_map_.get(value)
            if member is not None:
                return member
        raise cls._error(value)

    def __str__(self) -> str:
        return str(self.value)


class ConnectionState(_CEnum):
    """RTCPeerConnectionState: the peer's ``connectionState``."""

    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class IceConnectionState(_CEnum):
    """RTCIceConnectionState: the peer's ``iceConnectionState``."""

    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class IceTransportState(_CEnum):
    """RTCIceTransportState: one transport's ICE state, as the application reports it."""

    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class DtlsTransportState(_CEnum):
    """RTCDtlsTransportState: one transport's DTLS state, as the application reports it."""

    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"
    FAILED = "failed"


class IceGatheringState(_CEnum):
    """RTCIceGatheringState: the peer's ``iceGatheringState``."""

    NEW = "new"
    GATHERING = "gathering"
    COMPLETE = "complete"


class IceGathererState(_CEnum):
    """RTCIceGathererState: one transport's candidate gathering state, as the application reports it."""

    NEW = "new"
    GATHERING = "gathering"
    COMPLETE = "complete"


class _ArgumentEnum(_CEnum):
    """A :class:`_CEnum` that C takes as an argument, not a state: a bad value is an
    :class:`InvalidArgumentError`, as C's INVALID_ARGUMENT."""

    @classmethod
    def _error(cls, value: Any) -> "PcstateError":
        return _argument_error(cls, value)


class Profile(_ArgumentEnum):
    """Which rules a peer follows: ``"w3c"`` (the default: the W3C rules as intended, what
    libwebrtc computes), ``"w3c-literal"`` (the 2025 Recommendation read literally) or
    ``"legacy-2016"`` (the 2016 draft's table, still shown by MDN)."""

    W3C = "w3c"
    W3C_LITERAL = "w3c-literal"
    LEGACY_2016 = "legacy-2016"


class IceAgent(_ArgumentEnum):
    """An ICE agent whose own state numbers :meth:`Transport.set_agent_state` takes.

    ``"libnice"``: ``NiceComponentState`` of the transport's component (DISCONNECTED 0,
    GATHERING 1, CONNECTING 2, CONNECTED 3, READY 4, FAILED 5). ``"libjuice"``: ``juice_state_t``
    (DISCONNECTED 0, GATHERING 1, CONNECTING 2, CONNECTED 3, COMPLETED 4, FAILED 5)."""

    LIBNICE = "libnice"
    LIBJUICE = "libjuice"


class FailureCause(_CEnum):
    """Why a peer's ``connectionState`` last became failed (:attr:`PeerStats.failure_cause`):
    ``"none"`` (it never failed), ``"ice"`` (an ICE transport failed, as reported or as derived
    from its ICE agent), ``"dtls"`` (a DTLS transport failed) or ``"liveness"`` (a liveness
    deadline expired, see :meth:`PeerConnection.set_liveness`). When several inputs failed, the
    one whose failure came first."""

    NONE = "none"
    ICE = "ice"
    DTLS = "dtls"
    LIVENESS = "liveness"


def _argument_error(cls: Type[_CEnum], value: Any) -> "PcstateError":
    """InvalidArgumentError for a value that is not a member (nor the value of one) of ``cls``."""
    names = ", ".join(repr(m.value) for m in cls)
    return InvalidArgumentError(
        _R["INVALID_ARGUMENT"], f"{value!r} is not a {cls.__name__} (one of {names})"
    )


#: Each Python enum and the C enum whose numbers its members carry.
_ENUM_OF: Dict[Type[_CEnum], str] = {
    Profile: "pcstate_profile",
    ConnectionState: "pcstate_connection_state",
    IceConnectionState: "pcstate_ice_connection_state",
    IceTransportState: "pcstate_ice_transport_state",
    DtlsTransportState: "pcstate_dtls_transport_state",
    IceGatheringState: "pcstate_ice_gathering_state",
    IceGathererState: "pcstate_ice_gatherer_state",
    FailureCause: "pcstate_failure_cause",
}
_BY_C: Dict[type, Dict[int, Any]] = {}
for _cls, _enum in _ENUM_OF.items():
    _table = _constants.ENUMS[_enum]
    for _m in _cls:
        setattr(_m, "_c", _table[_m.name])  # the C number, read on every set
    _BY_C[_cls] = {_table[_m.name]: _m for _m in _cls}
# Agents are #defines, not a C enum: their numbers come from their own table.
for _m in IceAgent:
    setattr(_m, "_c", _constants.ICE_AGENTS[_m.name])
_BY_C[IceAgent] = {_constants.ICE_AGENTS[_m.name]: _m for _m in IceAgent}


def _c_of(cls: Any, value: Any) -> int:
    """The C number of a member of `cls` or of its string value (fast paths first)."""
    if type(value) is cls:
        return value._c  # type: ignore[no-any-return]
    if type(value) is str:
        m = cls._value2member_map_.get(value)
        if m is not None:
            return m._c  # type: ignore[no-any-return]
    return cls._coerce(value)._c  # type: ignore[no-any-return]


# ---- errors -------------------------------------------------------------------------------------


class PcstateError(Exception):
    """A pcstate call failed; ``code`` is the C result (``PCSTATE_RESULT_*``)."""

    def __init__(self, code: int, message: Optional[str] = None) -> None:
        self.code = code
        if message is None:
            message = _c.pcstate_result_message(code).decode()
        super().__init__(message)


class NullArgumentError(PcstateError):
    """A required pointer was NULL (cannot happen through this binding; kept for completeness)."""


class InvalidHandleError(PcstateError):
    """The peer was freed (or the handle was never valid)."""


class UnknownTransportError(PcstateError):
    """The transport was removed from its peer (or never belonged to it)."""


class InvalidStateError(PcstateError, ValueError):
    """A state value (or string) outside its enum."""


class InvalidArgumentError(PcstateError, ValueError):
    """An argument the call does not accept: an unknown profile, or a queue call on a peer
    created without ``event_queue=True``."""


class ClosedError(PcstateError):
    """The peer is closed: transports can no longer be added, removed or updated."""


class PanicError(PcstateError):
    """A bug inside pcstate was caught at the C boundary; the process keeps running."""


class LimitError(PcstateError):
    """A limit was reached: too many live peers, too many transports on one peer, or no file
    descriptor left for an event queue."""


class WouldDeadlockError(PcstateError):
    """The call would wait for a handler that is itself waiting for this thread's handler (a
    crossed ``free()`` or ``on_event()`` between two handlers); nothing was changed."""


class NoMemoryError(PcstateError, MemoryError):
    """Memory ran out inside pcstate; nothing was changed."""


_ERROR_OF: Dict[str, Type[PcstateError]] = {
    "NULL_ARGUMENT": NullArgumentError,
    "INVALID_HANDLE": InvalidHandleError,
    "UNKNOWN_TRANSPORT": UnknownTransportError,
    "INVALID_STATE": InvalidStateError,
    "INVALID_ARGUMENT": InvalidArgumentError,
    "CLOSED": ClosedError,
    "PANIC": PanicError,
    "LIMIT": LimitError,
    "WOULD_DEADLOCK": WouldDeadlockError,
    "NO_MEMORY": NoMemoryError,
}
_ERRORS: Dict[int, Type[PcstateError]] = {_R[name]: cls for name, cls in _ERROR_OF.items()}


def _raise(code: int) -> None:
    raise _ERRORS.get(code, PcstateError)(code)


def _check(code: int) -> None:
    if code != _OK:
        _raise(code)


# ---- the loaded library must name the states as the binding does -------------------------------

_NAME_FUNCTION_OF: Dict[Type[_CEnum], str] = {
    ConnectionState: "pcstate_connection_state_name",
    IceConnectionState: "pcstate_ice_connection_state_name",
    IceTransportState: "pcstate_ice_transport_state_name",
    DtlsTransportState: "pcstate_dtls_transport_state_name",
    IceGatheringState: "pcstate_ice_gathering_state_name",
    IceGathererState: "pcstate_ice_gatherer_state_name",
    FailureCause: "pcstate_failure_cause_name",
}


def _check_library(c: Any) -> None:
    """ImportError unless the library names every state as the binding does, at the same numbers,
    and no more (a run-time check: it holds under ``python -O`` too)."""
    for cls, fn_name in _NAME_FUNCTION_OF.items():
        fn = getattr(c, fn_name)
        numbers = [m._to_c() for m in cls]
        have = [fn(n) for n in numbers] + [fn(max(numbers) + 1)]
        want = [m.value.encode() for m in cls] + [None]
        if have != want:
            raise ImportError(
                f"pcstate: the library {_lib.library_path(c)} names {cls.__name__} {have[:-1]!r} "
                f"(then {have[-1]!r}) where the binding has {want[:-1]!r}: mismatched versions"
            )


_check_library(_c)

_set_ice = _c.pcstate_transport_set_ice_state
_set_dtls = _c.pcstate_transport_set_dtls_state
_set_gatherer = _c.pcstate_transport_set_gatherer_state
_note_alive = _c.pcstate_transport_note_alive


# ---- events and snapshots -----------------------------------------------------------------------

_K = _constants.EVENT_KIND

#: C event kind -> the enum of its old and new values (None: not a state change).
_KIND_ENUMS: Dict[int, Any] = {
    _K["ICE_CONNECTION_STATE"]: IceConnectionState,
    _K["CONNECTION_STATE"]: ConnectionState,
    _K["ICE_GATHERING_STATE"]: IceGatheringState,
    _K["OVERFLOW"]: None,
}


def _kinds(c: Any) -> Dict[int, Tuple[str, Any]]:
    """C event kind -> (its DOM name as the library spells it, the enum of old and new)."""
    kinds = {}
    for kind, enum_cls in _KIND_ENUMS.items():
        name = c.pcstate_event_kind_name(kind)
        if not name:
            raise ImportError(
                f"pcstate: the library {_lib.library_path(c)} has no name for event kind {kind}: "
                "mismatched versions"
            )
        kinds[kind] = (name.decode(), enum_cls)
    return kinds


_KINDS = _kinds(_c)


def _document(cls: type, **docs: str) -> None:
    """Sets the docstring of each NamedTuple field (class-body strings do not reach them)."""
    for field, doc in docs.items():
        getattr(cls, field).__doc__ = doc


class Event(NamedTuple):
    """A change of one aggregate state, or an ``"overflow"``: events were dropped because the
    peer's event limit was reached (see :meth:`PeerConnection.set_event_limit`)."""

    kind: str
    old: Any
    new: Any
    seq: int
    transport: int
    time_ns: int
    dropped: int = 0

    @classmethod
    def _from_c(cls, e: _lib.Event) -> "Event":
        known = _KINDS.get(e.kind)
        if known is None:  # a kind newer than this binding: raw numbers
            return cls("unknown", e.old_state, e.new_state, e.seq, e.transport, e.time_ns)
        kind, enum_cls = known
        if enum_cls is None:  # overflow: old_state counts the dropped events
            return cls(kind, None, None, e.seq, e.transport, e.time_ns, e.old_state)
        return cls(
            kind,
            enum_cls._from_c(e.old_state),
            enum_cls._from_c(e.new_state),
            e.seq,
            e.transport,
            e.time_ns,
        )


_document(
    Event,
    kind='``"iceconnectionstatechange"``, ``"connectionstatechange"``, '
    '``"icegatheringstatechange"``, or ``"overflow"`` (``"unknown"`` for a kind newer than this '
    "binding).",
    old="The previous value: a member of that kind's enum (:class:`IceConnectionState`, ...); "
    "None for an overflow.",
    new="The new value: a member of that kind's enum; None for an overflow.",
    seq="1, 2, 3, ... per peer, across all kinds, without gaps; for an overflow, the seq of the "
    "newest dropped event.",
    transport="The transport whose add/remove/set caused it; 0 for close.",
    time_ns="CLOCK_MONOTONIC, in nanoseconds, when the change was committed.",
    dropped="For an overflow: how many events were dropped (saturating); resynchronise from "
    ":meth:`PeerConnection.snapshot`. 0 otherwise.",
)


class Snapshot(NamedTuple):
    """One consistent reading of a peer."""

    connection_state: ConnectionState
    ice_connection_state: IceConnectionState
    ice_gathering_state: IceGatheringState
    transport_count: int
    last_seq: int


_document(
    Snapshot,
    connection_state="The peer's ``connectionState``.",
    ice_connection_state="The peer's ``iceConnectionState``.",
    ice_gathering_state="The peer's ``iceGatheringState``.",
    transport_count="How many transports the peer has.",
    last_seq="The seq of the newest event committed (0 if none).",
)


class TransportStates(NamedTuple):
    """One transport's three states (:meth:`Transport.states`, :meth:`Transport.reported_states`)."""

    ice: IceTransportState
    dtls: DtlsTransportState
    gatherer: IceGathererState

    @classmethod
    def _from_c(cls, s: _lib.TransportStates) -> "TransportStates":
        return cls(
            IceTransportState._from_c(s.ice_state),
            DtlsTransportState._from_c(s.dtls_state),
            IceGathererState._from_c(s.gatherer_state),
        )


_document(
    TransportStates,
    ice="The ICE transport state: an :class:`IceTransportState`.",
    dtls="The DTLS transport state: a :class:`DtlsTransportState`.",
    gatherer="The candidate gatherer state: an :class:`IceGathererState`.",
)


# ---- the caller's clock -------------------------------------------------------------------------

_U64_MAX = (1 << 64) - 1
_now = _c.pcstate_now_ns


def now_ns() -> int:
    """CLOCK_MONOTONIC now, in nanoseconds: the clock of :attr:`Event.time_ns`, and the default
    clock of :meth:`Transport.note_alive` and :meth:`PeerConnection.tick` (any monotonic
    nanosecond clock works if one peer always gets the same one, e.g. a fake clock in tests)."""
    return _now()  # type: ignore[no-any-return]


def _clock(now: Optional[int]) -> int:
    """A caller's ``now_ns``: ``pcstate.now_ns()`` for None, else an int in 0 .. 2**64 - 1."""
    if now is None:
        return _now()  # type: ignore[no-any-return]
    if type(now) is int or (isinstance(now, int) and not isinstance(now, bool)):
        if 0 <= now <= _U64_MAX:
            return int(now)
    raise InvalidArgumentError(
        _R["INVALID_ARGUMENT"], f"{now!r} is not a time in nanoseconds (an int, 0 to 2**64 - 1)"
    )


def _seconds_ns(value: Optional[float], what: str) -> int:
    """A duration in seconds (None or 0: off) as nanoseconds, at least 1 when positive."""
    if value is None:
        return 0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value == 0:
            return 0
        if 0 < value < float("inf") and value * 1e9 < _U64_MAX:
            return max(1, round(value * 1_000_000_000))
    raise InvalidArgumentError(
        _R["INVALID_ARGUMENT"],
        f"{what}={value!r} is not a duration (seconds: a finite number >= 0, or None for off)",
    )


# ---- observability: per-peer and process-wide numbers -------------------------------------------

_STATES_IN_C_ORDER: List[ConnectionState] = sorted(ConnectionState, key=lambda m: m._to_c())
_FAILED_C = ConnectionState.FAILED._to_c()
_HISTORY_LEN = _constants.LIMITS["HISTORY_LEN"]


def _per_state(values: Any) -> Dict[ConnectionState, int]:
    return {state: int(values[state._to_c()]) for state in _STATES_IN_C_ORDER}


@dataclasses.dataclass(frozen=True)
class PeerStats:
    """A peer's connection in numbers (:meth:`PeerConnection.stats`). Times are CLOCK_MONOTONIC
    nanoseconds (:func:`now_ns`) or seconds.

    ``created_ns``: when the peer was created. ``first_connected_ns``: when ``connectionState``
    first became connected, or None. ``time_in_state_ns``: nanoseconds spent in each
    :class:`ConnectionState`, the current stay included (they sum to the moment of the reading
    minus ``created_ns``). ``entered``: how many times each state was entered (new: 1, at
    creation; closed also when close commits no event). ``failure_cause``: a
    :class:`FailureCause`, why ``connectionState`` last became failed. ``failure_transport``: the
    transport whose input that was, or None."""

    created_ns: int
    first_connected_ns: Optional[int]
    time_in_state_ns: Dict[ConnectionState, int]
    entered: Dict[ConnectionState, int]
    failure_cause: FailureCause
    failure_transport: Optional[int]

    @property
    def time_in_state(self) -> Dict[ConnectionState, float]:
        """Seconds spent in each :class:`ConnectionState` (``time_in_state_ns`` / 1e9)."""
        return {state: ns / 1e9 for state, ns in self.time_in_state_ns.items()}

    @property
    def time_to_connected(self) -> Optional[float]:
        """Seconds from creation until ``connectionState`` first became connected; None if it
        never did."""
        if self.first_connected_ns is None:
            return None
        return (self.first_connected_ns - self.created_ns) / 1e9

    @classmethod
    def _from_c(cls, s: _lib.PeerStats) -> "PeerStats":
        return cls(
            created_ns=s.created_ns,
            first_connected_ns=s.first_connected_ns or None,
            time_in_state_ns=_per_state(s.time_in_state_ns),
            entered=_per_state(s.entered_state),
            failure_cause=FailureCause._from_c(s.failure_cause),
            failure_transport=s.failure_transport or None,
        )


@dataclasses.dataclass(frozen=True)
class GlobalStats:
    """The process-wide numbers (:func:`global_stats`), over every peer of the process, whichever
    language created it.

    ``live_peers``: peers created and not freed. ``peers_in_state``: live peers per
    :class:`ConnectionState` (sums to ``live_peers`` when no call is in flight).
    ``events_committed``: events committed by all peers since the process started, freed peers'
    included. ``failures``: how many times any peer's ``connectionState`` became failed."""

    live_peers: int
    peers_in_state: Dict[ConnectionState, int]
    events_committed: int
    failures: int


def global_stats() -> GlobalStats:
    """The process-wide numbers now: live peers, live peers per ``connectionState``, events
    committed, failures. Cheap (per-thread shards summed); any thread."""
    g = _lib.GlobalStats()
    _check(_c.pcstate_global_stats(ctypes.byref(g)))
    return GlobalStats(g.live_peers, _per_state(g.peers_in_state), g.events_committed, g.failures)


# Observers: what the per-peer numbers of peers created through this binding newly say, found by
# reading them (observe_peers(), and once more when a peer is freed). _TRACKED maps each live peer's
# handle to what was already reported of it: [failures seen, 1 once its first connect was seen].
# A freed peer's last news waits in _PENDING for the next observe_peers(), so free() never runs an
# observer. _OBSERVE_LOCK makes a reading and its bookkeeping one step, so nothing counts twice.


class Observer:
    """Receives what :func:`observe_peers` finds out about the peers created through this
    binding; subclass it and register an instance with :func:`add_observer` (the Prometheus
    collector, :class:`pcstate.prometheus.Collector`, is one). Methods run on the thread calling
    :func:`observe_peers`; an exception propagates out of that call."""

    def peer_connected(self, stats: PeerStats) -> None:
        """Called once per peer, at the first reading after its ``connectionState`` first became
        connected; ``stats.time_to_connected`` is exact whenever the reading happens."""

    def peer_failed(self, stats: PeerStats, count: int) -> None:
        """Called when a reading finds that the peer's ``connectionState`` became failed
        ``count`` more times since the previous one; ``stats.failure_cause`` is the cause of the
        latest (when a peer failed more than once between two readings, the earlier ones are
        counted with the latest cause)."""


_OBSERVE_LOCK = threading.RLock()
_OBSERVERS: Tuple[Observer, ...] = ()
_TRACKED: Dict[int, List[int]] = {}
_PENDING: List[Tuple[PeerStats, bool, int]] = []  # (stats, first connect, new failures)


def add_observer(observer: Observer) -> None:
    """Registers ``observer`` (an :class:`Observer`): from now on :func:`observe_peers` reports
    to it. Registering one twice has no effect."""
    global _OBSERVERS
    if not isinstance(observer, Observer):
        raise TypeError("add_observer takes a pcstate.Observer")
    with _OBSERVE_LOCK:
        if observer not in _OBSERVERS:
            _OBSERVERS = _OBSERVERS + (observer,)


def remove_observer(observer: Observer) -> None:
    """Unregisters ``observer``; nothing if it was not registered."""
    global _OBSERVERS
    with _OBSERVE_LOCK:
        _OBSERVERS = tuple(o for o in _OBSERVERS if o is not observer)
        if not _OBSERVERS:
            _PENDING.clear()


def _news(seen: List[int], raw: _lib.PeerStats) -> Optional[Tuple[PeerStats, bool, int]]:
    """What ``raw`` says that ``seen`` does not (and marks it seen), or None."""
    failures = raw.entered_state[_FAILED_C] - seen[0]
    first_connect = not seen[1] and raw.first_connected_ns != 0
    if failures <= 0 and not first_connect:
        return None
    seen[0] += max(failures, 0)
    seen[1] = 1 if raw.first_connected_ns else seen[1]
    return PeerStats._from_c(raw), first_connect, max(failures, 0)


def observe_peers() -> None:
    """Reads the numbers of every live peer created through this binding, and reports to the
    observers what is new since the previous reading: a first connect (once per peer) and new
    failures; also the last news of peers freed since. Nothing is read while no observer is
    registered. Cost: one C call per live peer (about a microsecond)."""
    observers = _OBSERVERS
    if not observers:
        return
    news = []
    raw = _lib.PeerStats()
    with _OBSERVE_LOCK:
        news.extend(_PENDING)
        _PENDING.clear()
    for handle, seen in _TRACKED.copy().items():
        with _OBSERVE_LOCK:
            if _TRACKED.get(handle) is not seen:
                continue  # freed meanwhile: its news is pending
            if _c.pcstate_peer_stats(handle, ctypes.byref(raw)) != _OK:
                continue
            item = _news(seen, raw)
        if item is not None:
            news.append(item)
    for stats, first_connect, failures in news:
        for observer in observers:
            if first_connect:
                observer.peer_connected(stats)
            if failures:
                observer.peer_failed(stats, failures)


def _untrack(handle: int) -> Optional[List[int]]:
    """Stops tracking a peer about to be freed; with observers, keeps its last news pending."""
    if not _OBSERVERS:
        return _TRACKED.pop(handle, None)
    with _OBSERVE_LOCK:
        seen = _TRACKED.pop(handle, None)
        raw = _lib.PeerStats()
        if seen is not None and _c.pcstate_peer_stats(handle, ctypes.byref(raw)) == _OK:
            item = _news(seen, raw)
            if item is not None:
                _PENDING.append(item)
        return seen


# ---- callbacks: one module-level trampoline for all peers ---------------------------------------
# user_data is an integer key into _HANDLERS; C calls _release(key) exactly once when it lets go.
# The CFUNCTYPE objects below live as long as the module, so C can never call a collected one.
# _HANDLERS and _REGISTERED need no lock: dict get/set/pop and next() on a counter are atomic, and
# _release may run in a garbage-collected peer's __del__ on any thread.

_HANDLERS: Dict[int, Callable[["Event"], Any]] = {}
_REGISTERED: Dict[int, int] = {}  # key -> peer handle, while C holds the registration
_KEYS = itertools.count(1)

# Interpreter exit: _exiting is set once, under _EXIT_LOCK, by the atexit hook; a registration
# counts itself in _registering (under the lock, never held across a C call) while it is in C.
_EXIT_LOCK = threading.Lock()
_EXIT_IDLE = threading.Condition(_EXIT_LOCK)
_exiting = False
_registering = 0
#: How long the atexit hook waits in all for registrations already inside C and for frees under
#: way on other threads to release their keys (each waits at most for one running handler).
_EXIT_WAIT_S = 5.0


_MAIN_THREAD = threading.main_thread().ident
# A KeyboardInterrupt raised by a handler on the main thread, to be raised when the binding's call
# that delivered it returns: an interrupt_main() there would fire inside the callback itself.
_interrupted = False


def _dispatch(user_data: Optional[int], event_ptr: Any) -> None:
    global _interrupted
    try:
        if _exiting:
            return
        handler = _HANDLERS.get(user_data or 0)
        if handler is not None:
            handler(Event._from_c(event_ptr.contents))
    except KeyboardInterrupt:
        if threading.get_ident() == _MAIN_THREAD:
            _interrupted = True
        else:
            _thread.interrupt_main()
    # Any other exception propagates out of the ctypes callback: ctypes reports it through
    # sys.unraisablehook and returns to C, and the peer goes on.


def _after_call(code: int) -> None:
    """After a call that can deliver events on this thread: a KeyboardInterrupt its handlers
    raised on the main thread, else the call's error."""
    global _interrupted
    if _interrupted and threading.get_ident() == _MAIN_THREAD:
        _interrupted = False
        raise KeyboardInterrupt
    _check(code)


def _release(user_data: Optional[int]) -> None:
    key = user_data or 0
    _HANDLERS.pop(key, None)
    _REGISTERED.pop(key, None)


_DISPATCH = _lib.EVENT_CB(_dispatch)
_RELEASE = _lib.FREE_CB(_release)
_NO_CB = _lib.EVENT_CB()
_NO_FREE = _lib.FREE_CB()


def _begin_registration() -> bool:
    """Counts a registration about to enter C; False once the interpreter is exiting."""
    global _registering
    with _EXIT_LOCK:
        if _exiting:
            return False
        _registering += 1
        return True


def _end_registration() -> None:
    global _registering
    with _EXIT_LOCK:
        _registering -= 1
        if _registering == 0 and _exiting:
            _EXIT_IDLE.notify_all()


def _stop_callbacks_at_exit() -> None:
    """Before finalization: refuse new registrations, let those inside C land, then clear every
    registration C holds. Each clear returns once that peer's handlers are no longer running and
    their keys are released. A peer that another thread is freeing right now is already invalid
    (its clear fails) but releases its key only when that free drops the registration: wait for
    those too. So during finalization C never calls into Python."""
    global _exiting
    deadline = time.monotonic() + _EXIT_WAIT_S
    with _EXIT_IDLE:
        _exiting = True
        while _registering:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _EXIT_IDLE.wait(left)
    while True:
        for handle in set(_REGISTERED.values()):
            _c.pcstate_peer_set_callback(handle, _NO_CB, None, _NO_FREE)
        if not _REGISTERED or time.monotonic() >= deadline:
            return
        time.sleep(0.001)  # lets the freeing threads run their release


atexit.register(_stop_callbacks_at_exit)


# ---- transports ---------------------------------------------------------------------------------

_E = TypeVar("_E", bound=_CEnum)


class _StateField(Generic[_E]):
    """A Transport attribute: reads one field of pcstate_transport_get_states as a member of the
    enum; sets it from a member or its string through the C setter."""

    def __init__(
        self, cls: Type[_E], field: str, setter: Callable[..., int], doc: str, detaches: bool = False
    ) -> None:
        self.cls, self.field, self.setter = cls, field, setter
        self.detaches = detaches  # setting it detaches the transport from its ICE agent
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
        pc = obj._pc
        code = self.setter(pc._handle, obj._id, _c_of(self.cls, value))
        if code == _OK and self.detaches and pc._agent_ids:
            pc._agent_ids.discard(obj._id)
        if code or _interrupted:
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

    def _states(self, getter: Any = _c.pcstate_transport_get_states) -> _lib.TransportStates:
        out = _lib.TransportStates()
        _check(getter(self._pc._handle, self._id, ctypes.byref(out)))
        return out

    ice_state = _StateField(
        IceTransportState,
        "ice_state",
        _set_ice,
        "The effective ICE transport state (what the aggregates use: after ICE agent derivation "
        "and liveness): an :class:`IceTransportState`. Set it with a member or its string; "
        "setting it detaches the transport from its ICE agent and ends a failed liveness reading.",
        detaches=True,
    )
    dtls_state = _StateField(
        DtlsTransportState,
        "dtls_state",
        _set_dtls,
        "The DTLS transport state: a :class:`DtlsTransportState`; set it with a member or its string.",
    )
    gatherer_state = _StateField(
        IceGathererState,
        "gatherer_state",
        _set_gatherer,
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
        keep = _constants.STATE_UNCHANGED
        s = _lib.TransportStates(
            keep if ice is None else _c_of(IceTransportState, ice),
            keep if dtls is None else _c_of(DtlsTransportState, dtls),
            keep if gatherer is None else _c_of(IceGathererState, gatherer),
        )
        pc = self._pc
        code = _c.pcstate_transport_set_states(pc._handle, self._id, ctypes.byref(s))
        if code == _OK and ice is not None:
            pc._agent_ids.discard(self._id)
        _after_call(code)

    def _reported_c(self) -> _lib.TransportStates:
        """The reported states (all new for the inert transport 0 of a closed peer with
        ``ignore_after_close``, which every setter accepts)."""
        if self._id == 0:
            return _lib.TransportStates(0, 0, 0)
        return self._states(_c.pcstate_transport_get_reported_states)

    def set_agent_state(self, agent: Union[IceAgent, str], state: int) -> None:
        """Reports the state of the ICE agent that drives this transport: ``agent`` is an
        :class:`IceAgent` or its string (``"libnice"``, ``"libjuice"``), ``state`` the agent's own
        number (libnice ``NiceComponentState``, libjuice ``juice_state_t``; see
        :class:`IceAgent`). The ICE state is then derived from it, from the gatherer state and
        from :meth:`set_remote_end_of_candidates`, and recomputed whenever one of them changes:
        "completed" needs the agent's checks concluded (libnice READY, libjuice COMPLETED), the
        gatherer complete and the remote's end-of-candidates; otherwise it reads "connected". An
        agent going back to an earlier state (an ICE restart) clears the end-of-candidates.
        Setting :attr:`ice_state` or :meth:`set_states` with ``ice`` detaches the agent.

        An unknown agent raises :class:`InvalidArgumentError`, a number outside the agent's
        states :class:`InvalidStateError`; either way nothing changes."""
        agent_c = _c_of(IceAgent, agent)
        if isinstance(state, bool) or not isinstance(state, int) or not 0 <= state <= 0xFFFFFFFF:
            raise InvalidStateError(
                _R["INVALID_STATE"], f"{state!r} is not a state number of the {agent_c} agent"
            )
        pc = self._pc
        code = _c.pcstate_transport_set_ice_agent_state(pc._handle, self._id, agent_c, int(state))
        if code == _OK and self._id != 0:
            pc._agent_ids.add(self._id)
        _after_call(code)

    def set_remote_end_of_candidates(self) -> None:
        """Records that the remote signalled the end of its candidates for this transport (an
        ``a=end-of-candidates`` line, an empty candidate, or a remote that does not trickle). Kept
        until the transport's ICE agent restarts ICE; idempotent. Only an agent-driven ICE state
        (:meth:`set_agent_state`) uses it."""
        _after_call(_c.pcstate_transport_set_remote_end_of_candidates(self._pc._handle, self._id))

    def note_alive(self, now_ns: Optional[int] = None) -> None:
        """Notes that something arrived on the transport (call it per received packet) at
        ``now_ns`` (default :func:`now_ns`; use the clock given to :meth:`PeerConnection.tick`).
        A transport that liveness reads disconnected reads its reported state again at once.
        Does nothing when liveness is off or the transport is not connected."""
        code = _note_alive(self._pc._handle, self._id, _now() if now_ns is None else _clock(now_ns))
        if code or _interrupted:
            _after_call(code)

    def remove(self) -> None:
        """Removes the transport from its peer; the aggregates are recomputed at once."""
        pc = self._pc
        code = _c.pcstate_transport_remove(pc._handle, self._id)
        if code == _OK:
            probe = _lib.TransportStates()
            # After close, with ignore_after_close, OK changed nothing: the transport stays.
            if _c.pcstate_transport_get_states(pc._handle, self._id, ctypes.byref(probe)) != _OK:
                pc._transport_ids.pop(self._id, None)
                pc._transport_objs.pop(self._id, None)
                pc._agent_ids.discard(self._id)
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

_PeerArg = Union[Profile, str]
_F = _constants.FLAGS


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    """Waits until ``fd`` is readable; the reader is removed however the wait ends."""
    ready: "asyncio.Future[None]" = loop.create_future()
    loop.add_reader(fd, _wake, ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _wake(ready: "asyncio.Future[None]") -> None:
    if not ready.done():
        ready.set_result(None)


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
    transports) frees it. A handler that refers to its peer keeps it alive until ``free()`` or
    ``on_event(None)``. Copying or pickling a peer raises ``TypeError``.
    """

    def __init__(
        self,
        profile: _PeerArg = Profile.W3C,
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
        self._agent_ids: Set[int] = set()  # transports driven by an ICE agent through this binding
        self._closed = False
        if not isinstance(profile, (Profile, str)):
            raise Profile._error(profile)
        p: Profile = Profile._coerce(profile)
        flags = 0
        for name, wanted in (
            ("CLOSE_EVENTS", close_events),
            ("EVENT_QUEUE", event_queue),
            ("IGNORE_AFTER_CLOSE", ignore_after_close),
            ("HISTORY", history),
        ):
            if wanted:
                flags |= _F[name]
        handle = _lib.pcstate_peer(0)
        _check(_c.pcstate_peer_new(p._to_c(), flags, ctypes.byref(handle)))
        self._profile = p
        self._handle = handle.value
        self._freed = False
        _TRACKED[handle.value] = [0, 0]

    def _release(self, handle: int) -> None:
        seen = _untrack(handle)
        code = _c.pcstate_peer_free(handle)
        if code not in (_OK, _INVALID_HANDLE):
            if seen is not None:
                _TRACKED[handle] = seen  # still alive (WOULD_DEADLOCK): tracked on
            _raise(code)

    @property
    def profile(self) -> Profile:
        """The :class:`Profile` the peer was created with."""
        return self._profile

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        """``RTCPeerConnection.close()``: the states become closed; no event unless close_events.
        Idempotent."""
        code = _c.pcstate_peer_close(self._handle)
        if code == _OK:
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
        out = _lib.pcstate_transport(0)
        if ice is None and dtls is None and gatherer is None:
            code = _c.pcstate_transport_add(self._handle, ctypes.byref(out))
        else:
            s = _lib.TransportStates(
                0 if ice is None else _c_of(IceTransportState, ice),
                0 if dtls is None else _c_of(DtlsTransportState, dtls),
                0 if gatherer is None else _c_of(IceGathererState, gatherer),
            )
            code = _c.pcstate_transport_add_with_states(
                self._handle, ctypes.byref(s), ctypes.byref(out)
            )
        if code != _OK:
            _after_call(code)
        t = Transport(self, out.value)
        if t._id != 0:  # 0: ignored after close
            self._transport_ids[t._id] = None
            self._transport_objs[t._id] = t
        if _interrupted:
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
        _check(fn(self._handle, ctypes.byref(out)))
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
        s = _lib.Snapshot()
        _check(_c.pcstate_peer_snapshot(self._handle, ctypes.byref(s)))
        return Snapshot(
            ConnectionState._from_c(s.connection_state),
            IceConnectionState._from_c(s.ice_connection_state),
            IceGatheringState._from_c(s.ice_gathering_state),
            s.transport_count,
            s.last_seq,
        )

    # -- observability ----------------------------------------------------------------------------
    def stats(self) -> PeerStats:
        """The peer's numbers now (a :class:`PeerStats`): creation and first-connected times,
        time in and entries into each ``connectionState``, the cause of the latest failure.
        Kept for every peer at no cost on the update path."""
        raw = _lib.PeerStats()
        _check(_c.pcstate_peer_stats(self._handle, ctypes.byref(raw)))
        return PeerStats._from_c(raw)

    def history(self) -> List[Event]:
        """The peer's last committed events (at most {HISTORY_LEN}), oldest first, including any
        that the event queue or a slow handler dropped at the event limit. Needs
        ``history=True`` (else :class:`InvalidArgumentError`)."""
        buf = (_lib.Event * _HISTORY_LEN)()
        count = ctypes.c_size_t(0)
        _check(_c.pcstate_peer_history(self._handle, buf, _HISTORY_LEN, ctypes.byref(count)))
        return [Event._from_c(buf[i]) for i in range(count.value)]

    # -- events -----------------------------------------------------------------------------------
    def on_event(self, fn: Optional[Callable[[Event], Any]]) -> Optional[Callable[[Event], Any]]:
        """Calls ``fn(event)`` for every change (replacing any previous handler); ``None`` clears.
        Returns ``fn``, so it also works as a decorator. Once the interpreter is exiting (see the
        module docstring) it registers nothing."""
        if fn is None:
            _check(_c.pcstate_peer_set_callback(self._handle, _NO_CB, None, _NO_FREE))
            return None
        if not callable(fn):
            raise TypeError("on_event takes a callable or None")
        if not _begin_registration():
            return fn
        try:
            key = next(_KEYS)
            _HANDLERS[key] = fn
            _REGISTERED[key] = self._handle
            code = _c.pcstate_peer_set_callback(self._handle, _DISPATCH, key, _RELEASE)
            if code != _OK:
                _release(key)  # on error C took nothing
                _check(code)
        finally:
            _end_registration()
        return fn

    def set_event_limit(self, max_events: int) -> None:
        # The docstring is set below, from the constants table.
        low, high = 1, _constants.LIMITS["MAX_EVENT_LIMIT"]
        if type(max_events) is not int or not low <= max_events <= high:
            raise InvalidArgumentError(
                _R["INVALID_ARGUMENT"], f"{max_events!r} is not an event limit ({low} to {high})"
            )
        _check(_c.pcstate_peer_set_event_limit(self._handle, max_events))

    # -- liveness ---------------------------------------------------------------------------------
    def set_liveness(
        self, disconnected_after: Optional[float] = 5.0, failed_after: Optional[float] = 30.0
    ) -> None:
        """Turns liveness on: a transport whose ICE state is connected or completed and on which
        nothing was noted alive (:meth:`Transport.note_alive`) for ``disconnected_after`` seconds
        reads disconnected; for ``failed_after`` seconds, failed, until its ICE state is set
        again (as after an ICE restart). The defaults, 5 s and 30 s, are about what browsers do
        without traffic; libnice and libjuice report neither promptly. ``failed_after`` None (or
        0): never failed. Both None (or 0): liveness off, the default of a new peer; otherwise
        ``failed_after`` must exceed ``disconnected_after`` (:class:`InvalidArgumentError`).
        Every transport is watched afresh, in one commit.

        Caller-clocked: no threads, no timers. A transport's alive clock starts at the first
        :meth:`tick` or note after it became connected: call :meth:`tick` after changing states
        and whenever the deadline it returns has passed (see the README's asyncio example)."""
        d = _seconds_ns(disconnected_after, "disconnected_after")
        f = _seconds_ns(failed_after, "failed_after")
        if (d == 0 and f != 0) or (f != 0 and f <= d):
            raise InvalidArgumentError(
                _R["INVALID_ARGUMENT"],
                f"failed_after={failed_after!r} needs a disconnected_after below it "
                f"(disconnected_after={disconnected_after!r})",
            )
        _after_call(_c.pcstate_peer_set_liveness(self._handle, d, f))

    def tick(self, now_ns: Optional[int] = None) -> Optional[int]:
        """Applies the liveness deadlines that passed by ``now_ns`` (default :func:`now_ns`; any
        monotonic nanosecond clock, the same for every call on this peer), delivers the events,
        and returns the next deadline on that clock in nanoseconds, or None when there is none
        (liveness off, nothing connected, or the peer closed): one timer per peer. Cheap when
        nothing is due."""
        out = ctypes.c_uint64(0)
        now = _now() if now_ns is None else _clock(now_ns)
        _after_call(_c.pcstate_peer_tick(self._handle, now, ctypes.byref(out)))
        return None if out.value == _U64_MAX else out.value

    def poll_event(self) -> Optional[Event]:
        """The oldest queued event, or ``None`` (needs ``event_queue=True``)."""
        e = _lib.Event()
        code = _c.pcstate_peer_poll_event(self._handle, ctypes.byref(e))
        if code == _EMPTY:
            return None
        _check(code)
        return Event._from_c(e)

    def fileno(self) -> int:
        """The event queue's fd (needs ``event_queue=True``): readable while events are queued,
        after ``close()``, and just before ``free()`` closes it; ``poll_event()`` returning
        ``None`` resets it. Owned by the peer: do not read or close it."""
        fd = ctypes.c_int(-1)
        _check(_c.pcstate_peer_event_fd(self._handle, ctypes.byref(fd)))
        return fd.value

    async def events(self) -> AsyncIterator[Event]:
        """Queued events as an async iterator on the running loop (needs ``event_queue=True``).
        Ends when the peer is closed and its queue drained, or when it is freed (also while
        waiting, from any thread). It waits on its own duplicate of the event fd, closed when the
        iterator ends, so no reader is ever left on a number the peer no longer owns. Use one
        iterator per peer: each event goes to one reader."""
        loop = asyncio.get_running_loop()
        try:
            fd = os.dup(self.fileno())
        except InvalidHandleError:
            return
        except OSError:  # freed by another thread between fileno() and dup()
            return
        try:
            closing = False
            while True:
                # A handle is never valid again once freed: if the peer was freed before the dup,
                # this raises, so a number reused in between is never waited on.
                try:
                    event = self.poll_event()
                    closed = event is None and self.connection_state is ConnectionState.CLOSED
                except InvalidHandleError:
                    return
                if event is not None:
                    yield event
                elif closed:
                    if closing:
                        return
                    closing = True  # poll once more: what close() queued, then end
                else:
                    await _readable(loop, fd)
        finally:
            os.close(fd)

    def __repr__(self) -> str:
        state = "freed" if self._freed else self.connection_state.value
        profile = getattr(self, "_profile", None)
        return f"<pcstate.PeerConnection {self._handle:#x} {profile} {state}>"


for _f in (PeerConnection, PeerConnection.history):
    _f.__doc__ = (_f.__doc__ or "").replace("{HISTORY_LEN}", str(_HISTORY_LEN))

PeerConnection.set_event_limit.__doc__ = """Bounds the event queue, and separately the backlog of
events committed while one of the peer's handlers runs, to ``max_events`` each (1 to {MAX_EVENT_LIMIT};
default {DEFAULT_EVENT_LIMIT}). An event that does not fit is dropped and counted, and so is every
later one until the reader has taken what was kept; the reader then gets one :class:`Event` of
kind ``"overflow"`` whose ``dropped`` says how many, and resynchronises from :meth:`snapshot`. The
state changes themselves are never refused.""".format(**_constants.LIMITS)
