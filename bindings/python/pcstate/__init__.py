"""pcstate: the RTCPeerConnection state machine exactly as browsers define it.

Report each transport's ICE, DTLS and gathering state; read ``connection_state``,
``ice_connection_state`` and ``ice_gathering_state``; get an :class:`Event` for every change.

Threads: every method may be called from any thread. Events of one peer arrive in order, one at a
time, on whichever thread is delivering them: the thread whose call caused them, or, when several
threads update one peer at once, the one already delivering. A handler may call anything on any
peer, including ``close()`` and ``free()`` of its own. An exception raised by a handler is reported
through ``sys.unraisablehook`` and the peer keeps working.
"""
import asyncio
import atexit
import ctypes
import enum
import itertools
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
    Type,
    TypeVar,
    Union,
    overload,
)

from . import _lib

__version__ = _lib.EXPECTED_VERSION

_c = _lib.load()

__all__ = [
    "__version__",
    "PeerConnection",
    "Transport",
    "Event",
    "Snapshot",
    "Profile",
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
]


_T = TypeVar("_T")


class _CEnum(str, enum.Enum):
    """A str-valued enum whose members, in order, are the C values 0, 1, 2, ..."""

    @classmethod
    def _from_c(cls: Type[_T], value: int) -> _T:
        return _MEMBERS[cls][value]  # type: ignore[no-any-return]

    def _to_c(self) -> int:
        return self._c  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def _coerce(cls, value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        names = ", ".join(repr(m.value) for m in cls)
        raise InvalidStateError(
            4, f"{value!r} is not a {cls.__name__} (one of {names})"
        )

    def __str__(self) -> str:
        return str(self.value)


class ConnectionState(_CEnum):
    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class IceConnectionState(_CEnum):
    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class IceTransportState(_CEnum):
    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class DtlsTransportState(_CEnum):
    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"
    FAILED = "failed"


class IceGatheringState(_CEnum):
    NEW = "new"
    GATHERING = "gathering"
    COMPLETE = "complete"


class IceGathererState(_CEnum):
    NEW = "new"
    GATHERING = "gathering"
    COMPLETE = "complete"


class Profile(_CEnum):
    W3C = "w3c"
    W3C_LITERAL = "w3c-literal"
    LEGACY_2016 = "legacy-2016"


_MEMBERS: Dict[type, List[Any]] = {}
for _cls in (
    ConnectionState,
    IceConnectionState,
    IceTransportState,
    DtlsTransportState,
    IceGatheringState,
    IceGathererState,
    Profile,
):
    _MEMBERS[_cls] = list(_cls)
    for _i, _m in enumerate(_cls):
        setattr(_m, "_c", _i)  # the C number, read on every set


def _c_of(cls: Any, value: Any) -> int:
    """The C number of a member of `cls` or of its string value (fast paths first)."""
    if type(value) is cls:
        return value._c  # type: ignore[no-any-return]
    if type(value) is str:
        m = cls._value2member_map_.get(value)
        if m is not None:
            return m._c  # type: ignore[no-any-return]
    return cls._coerce(value)._c  # type: ignore[no-any-return]

# The C library's names must be the binding's values, in the same order.
for _cls, _fn in (
    (ConnectionState, _c.pcstate_connection_state_name),
    (IceConnectionState, _c.pcstate_ice_connection_state_name),
    (IceTransportState, _c.pcstate_ice_transport_state_name),
    (DtlsTransportState, _c.pcstate_dtls_transport_state_name),
    (IceGatheringState, _c.pcstate_ice_gathering_state_name),
    (IceGathererState, _c.pcstate_ice_gatherer_state_name),
):
    assert [_fn(i).decode() for i in range(len(_cls))] == [m.value for m in _cls], _cls
    assert _fn(len(_cls)) is None


class PcstateError(Exception):
    """A pcstate call failed; ``code`` is the C result (``PCSTATE_RESULT_*``)."""

    def __init__(self, code: int, message: Optional[str] = None) -> None:
        self.code = code
        if message is None:
            message = _c.pcstate_result_message(code).decode()
        super().__init__(message)


class NullArgumentError(PcstateError):
    pass


class InvalidHandleError(PcstateError):
    """The peer was freed (or the handle was never valid)."""


class UnknownTransportError(PcstateError):
    pass


class InvalidStateError(PcstateError, ValueError):
    """A state value (or string) outside its enum."""


class InvalidArgumentError(PcstateError, ValueError):
    pass


class ClosedError(PcstateError):
    pass


class PanicError(PcstateError):
    pass


class LimitError(PcstateError):
    pass


class WouldDeadlockError(PcstateError):
    pass


_ERRORS = {
    1: NullArgumentError,
    2: InvalidHandleError,
    3: UnknownTransportError,
    4: InvalidStateError,
    5: InvalidArgumentError,
    6: ClosedError,
    8: PanicError,
    9: LimitError,
    10: WouldDeadlockError,
}

_EMPTY = 7


def _raise(code: int) -> None:
    raise _ERRORS.get(code, PcstateError)(code)


def _check(code: int) -> None:
    if code != 0:
        _raise(code)


_set_ice = _c.pcstate_transport_set_ice_state
_set_dtls = _c.pcstate_transport_set_dtls_state
_set_gatherer = _c.pcstate_transport_set_gatherer_state


_KINDS: Dict[int, Any] = {
    1: ("iceconnectionstatechange", IceConnectionState),
    2: ("connectionstatechange", ConnectionState),
    3: ("icegatheringstatechange", IceGatheringState),
}


class Event(NamedTuple):
    """A change of one aggregate state."""

    kind: str
    """``"iceconnectionstatechange"``, ``"connectionstatechange"`` or ``"icegatheringstatechange"``."""
    old: Any
    new: Any
    seq: int
    transport: int
    """The transport whose add/remove/set caused it; 0 for close."""
    time_ns: int
    """CLOCK_MONOTONIC when the change was committed."""

    @classmethod
    def _from_c(cls, e: _lib.Event) -> "Event":
        kind, enum_cls = _KINDS[e.kind]
        return cls(
            kind,
            enum_cls._from_c(e.old_state),
            enum_cls._from_c(e.new_state),
            e.seq,
            e.transport,
            e.time_ns,
        )


class Snapshot(NamedTuple):
    """One consistent reading of a peer."""

    connection_state: ConnectionState
    ice_connection_state: IceConnectionState
    ice_gathering_state: IceGatheringState
    transport_count: int
    last_seq: int


# ---- callbacks: one module-level trampoline for all peers ---------------------------------------
# user_data is an integer key into _HANDLERS; C calls _release(key) exactly once when it lets go.
# The CFUNCTYPE objects below live as long as the module, so C can never call a collected one.

# No lock: dict get/set/pop and next() on a counter are atomic, and a lock taken here could
# deadlock when a garbage-collected peer's __del__ releases a key on a thread holding it.
_HANDLERS: Dict[int, Callable[[Event], Any]] = {}
_KEYS = itertools.count(1)


def _dispatch(user_data: Optional[int], event_ptr: Any) -> None:
    handler = _HANDLERS.get(user_data or 0)
    if handler is not None:
        # An exception propagates out of the ctypes callback: ctypes reports it through
        # sys.unraisablehook and returns to C, and the peer goes on.
        handler(Event._from_c(event_ptr.contents))


def _release(user_data: Optional[int]) -> None:
    _HANDLERS.pop(user_data or 0, None)


_DISPATCH = _lib.EVENT_CB(_dispatch)
_RELEASE = _lib.FREE_CB(_release)

# Peers alive, so that interpreter exit can free them (their callbacks must not run after).
_LIVE: "weakref.WeakValueDictionary[int, PeerConnection]" = weakref.WeakValueDictionary()


def _free_all_at_exit() -> None:
    for pc in list(_LIVE.values()):
        try:
            pc.free()
        except Exception:
            pass


atexit.register(_free_all_at_exit)


_E = TypeVar("_E", bound=_CEnum)


class _StateField(Generic[_E]):
    """A Transport attribute: reads one field of pcstate_transport_get_states as a member of the
    enum; sets it from a member or its string through the C setter."""

    def __init__(self, cls: Type[_E], field: str, setter: Callable[..., int]) -> None:
        self.cls, self.field, self.setter = cls, field, setter

    @overload
    def __get__(self, obj: None, owner: Any) -> "_StateField[_E]": ...

    @overload
    def __get__(self, obj: "Transport", owner: Any) -> _E: ...

    def __get__(self, obj: Optional["Transport"], owner: Any) -> Any:
        if obj is None:
            return self
        return self.cls._from_c(getattr(obj._states(), self.field))

    def __set__(self, obj: "Transport", value: Union[_E, str]) -> None:
        code = self.setter(obj._pc._handle, obj.id, _c_of(self.cls, value))
        if code:
            _raise(code)


class Transport:
    """One transport (ICE + DTLS + gatherer) of a :class:`PeerConnection`."""

    __slots__ = ("_pc", "id", "__weakref__")

    def __init__(self, pc: "PeerConnection", transport_id: int) -> None:
        self._pc = pc
        self.id = transport_id

    def _states(self) -> _lib.TransportStates:
        out = _lib.TransportStates()
        _check(_c.pcstate_transport_get_states(self._pc._handle, self.id, ctypes.byref(out)))
        return out

    ice_state = _StateField(IceTransportState, "ice_state", _set_ice)
    """The ICE transport state: an :class:`IceTransportState`; set it with a member or its string."""
    dtls_state = _StateField(DtlsTransportState, "dtls_state", _set_dtls)
    """The DTLS transport state: a :class:`DtlsTransportState`; set with a member or its string."""
    gatherer_state = _StateField(IceGathererState, "gatherer_state", _set_gatherer)
    """The gatherer state: an :class:`IceGathererState`; set with a member or its string."""

    def remove(self) -> None:
        """Removes the transport from its peer; the aggregates are recomputed at once."""
        _check(_c.pcstate_transport_remove(self._pc._handle, self.id))
        self._pc._transports.pop(self.id, None)

    def __repr__(self) -> str:
        return f"<pcstate.Transport {self.id} of peer {self._pc._handle:#x}>"


_PeerArg = Union[Profile, str]


class PeerConnection:
    """A peer connection's aggregate states.

    ``profile``: ``Profile`` member or ``"w3c"`` / ``"w3c-literal"`` / ``"legacy-2016"``.
    ``close_events``: ``close()`` reports final ``closed`` events (as native stacks do).
    ``event_queue``: events are also queued for :meth:`poll_event` and :meth:`events`.
    """

    def __init__(
        self, profile: _PeerArg = Profile.W3C, close_events: bool = False, event_queue: bool = False
    ) -> None:
        self._handle = 0
        self._freed = False
        self._transports: Dict[int, Transport] = {}
        p = Profile._coerce(profile) if isinstance(profile, (Profile, str)) else profile
        if not isinstance(p, Profile):
            raise InvalidArgumentError(5, f"{profile!r} is not a Profile")
        flags = (1 if close_events else 0) | (2 if event_queue else 0)
        handle = _lib.pcstate_peer(0)
        _check(_c.pcstate_peer_new(p._to_c(), flags, ctypes.byref(handle)))
        self._handle = handle.value
        self.profile = p
        _LIVE[self._handle] = self

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        """``RTCPeerConnection.close()``: the states become closed; no event unless close_events."""
        _check(_c.pcstate_peer_close(self._handle))

    def free(self) -> None:
        """Frees the peer (idempotent). Using it afterwards raises :class:`InvalidHandleError`."""
        if self._freed:
            return
        self._freed = True
        code = _c.pcstate_peer_free(self._handle)
        if code not in (0, 2):
            self._freed = False
            _check(code)

    def __enter__(self) -> "PeerConnection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()

    def __del__(self) -> None:
        # Safe during interpreter shutdown: module globals may already be gone.
        try:
            if not self._freed and self._handle:
                self._freed = True
                _c.pcstate_peer_free(self._handle)
        except Exception:
            pass

    # -- transports -------------------------------------------------------------------------------
    def add_transport(self) -> Transport:
        """Adds a transport in states new/new/new."""
        out = _lib.pcstate_transport(0)
        _check(_c.pcstate_transport_add(self._handle, ctypes.byref(out)))
        t = Transport(self, out.value)
        self._transports[t.id] = t
        return t

    @property
    def transports(self) -> List[Transport]:
        """The live transports, in the order they were added."""
        return sorted(self._transports.values(), key=lambda t: t.id)

    # -- aggregates -------------------------------------------------------------------------------
    def _u32(self, fn: Any) -> int:
        out = ctypes.c_uint32(0)
        _check(fn(self._handle, ctypes.byref(out)))
        return out.value

    @property
    def connection_state(self) -> ConnectionState:
        return ConnectionState._from_c(self._u32(_c.pcstate_peer_connection_state))

    @property
    def ice_connection_state(self) -> IceConnectionState:
        return IceConnectionState._from_c(self._u32(_c.pcstate_peer_ice_connection_state))

    @property
    def ice_gathering_state(self) -> IceGatheringState:
        return IceGatheringState._from_c(self._u32(_c.pcstate_peer_ice_gathering_state))

    def snapshot(self) -> Snapshot:
        s = _lib.Snapshot()
        _check(_c.pcstate_peer_snapshot(self._handle, ctypes.byref(s)))
        return Snapshot(
            ConnectionState._from_c(s.connection_state),
            IceConnectionState._from_c(s.ice_connection_state),
            IceGatheringState._from_c(s.ice_gathering_state),
            s.transport_count,
            s.last_seq,
        )

    # -- events -----------------------------------------------------------------------------------
    def on_event(self, fn: Optional[Callable[[Event], Any]]) -> Optional[Callable[[Event], Any]]:
        """Calls ``fn(event)`` for every change (replacing any previous handler); ``None`` clears.
        Returns ``fn``, so it also works as a decorator."""
        if fn is None:
            _check(_c.pcstate_peer_set_callback(self._handle, _lib.EVENT_CB(), None, _lib.FREE_CB()))
            return None
        if not callable(fn):
            raise TypeError("on_event takes a callable or None")
        key = next(_KEYS)
        _HANDLERS[key] = fn
        code = _c.pcstate_peer_set_callback(self._handle, _DISPATCH, key, _RELEASE)
        if code != 0:
            _release(key)  # on error C took nothing
            _check(code)
        return fn

    def poll_event(self) -> Optional[Event]:
        """The oldest queued event, or ``None`` (needs ``event_queue=True``)."""
        e = _lib.Event()
        code = _c.pcstate_peer_poll_event(self._handle, ctypes.byref(e))
        if code == _EMPTY:
            return None
        _check(code)
        return Event._from_c(e)

    def fileno(self) -> int:
        """The event queue's fd: readable while events are queued (needs ``event_queue=True``)."""
        fd = ctypes.c_int(-1)
        _check(_c.pcstate_peer_event_fd(self._handle, ctypes.byref(fd)))
        return fd.value

    async def events(self) -> AsyncIterator[Event]:
        """Queued events as an async iterator, driven by the event fd (needs ``event_queue=True``).
        Ends when the peer is closed and its queue drained, or freed."""
        loop = asyncio.get_running_loop()
        fd = self.fileno()
        while True:
            try:
                event = self.poll_event()
            except InvalidHandleError:
                return
            if event is not None:
                yield event
                continue
            try:
                if self.connection_state == ConnectionState.CLOSED:
                    return
            except InvalidHandleError:
                return
            ready: "asyncio.Future[None]" = loop.create_future()

            def wake(ready: "asyncio.Future[None]" = ready) -> None:
                if not ready.done():
                    ready.set_result(None)

            loop.add_reader(fd, wake)
            try:
                await ready
            finally:
                loop.remove_reader(fd)

    def __repr__(self) -> str:
        state = "freed" if self._freed else self.connection_state.value
        return f"<pcstate.PeerConnection {self._handle:#x} {self.profile.value} {state}>"
