"""Observability: peer and process numbers, observers, and each peer's last reading at free."""
import ctypes
import dataclasses
import threading
from typing import Any, Dict, List, Optional, Tuple

from . import _bindings as B
from ._errors import OK, check, raise_for
from ._lib import C as _c
from ._states import ConnectionState, FailureCause

_STATES_IN_C_ORDER: List[ConnectionState] = sorted(ConnectionState, key=lambda m: m._to_c())
_FAILED_C = ConnectionState.FAILED._to_c()
_INVALID_HANDLE = B.RESULT["INVALID_HANDLE"]


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
    def _from_c(cls, s: B.PeerStats) -> "PeerStats":
        return cls(
            created_ns=s.created_ns,
            first_connected_ns=s.first_connected_ns or None,
            time_in_state_ns=_per_state(s.time_in_state_ns),
            entered=_per_state(s.entered_state),
            failure_cause=FailureCause._from_c(s.failure_cause),
            failure_transport=s.failure_transport or None,
        )


def peer_stats(handle: int) -> PeerStats:
    """The numbers of the peer ``handle`` now."""
    raw = B.PeerStats()
    check(_c.pcstate_peer_stats(handle, ctypes.byref(raw)))
    return PeerStats._from_c(raw)


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
    g = B.GlobalStats()
    check(_c.pcstate_global_stats(ctypes.byref(g)))
    return GlobalStats(g.live_peers, _per_state(g.peers_in_state), g.events_committed, g.failures)


# Observers: what the per-peer numbers of peers created through this binding newly say, found by
# reading them (observe_peers(), and a last time when a peer is freed). _TRACKED maps each live
# peer's handle to what was already reported of it: [failures seen, 1 once its first connect was
# seen]. A freed peer's last news waits in _PENDING (its raw numbers, about 200 bytes) for the next
# observe_peers(), so free() never runs an observer; at most PENDING_LIMIT of them wait, and the
# news of more is counted in _dropped. _OBSERVE_LOCK makes a reading and its bookkeeping one step,
# so nothing counts twice.

#: How many freed peers' last news may wait for the next :func:`observe_peers` (about 200 bytes
#: each); the news of more is dropped and counted (:meth:`Observer.news_dropped`).
PENDING_LIMIT = 65536


class Observer:
    """Receives what :func:`observe_peers` finds out about the peers created through this
    binding; subclass it and register an instance with :func:`add_observer` (the Prometheus
    collector, :class:`pcstate.prometheus.Collector`, is one). Methods run on the thread calling
    :func:`observe_peers`.

    Each first connect and each failure is reported once, at the first reading after it happened,
    to the observers registered at that reading. A peer freed while an observer is registered is
    read a last time by ``free()``, in the same C call that frees it: every failure committed
    before the free is counted (a commit racing the free is either in that reading or refused as
    the peer is gone), and the peer is reported as it was, not closed. Its news waits for the next reading; up to 65,536
    freed peers wait (about 200 bytes each), the news of more is dropped and counted
    (:meth:`news_dropped`). A peer freed while no observer is registered is not reported.

    An exception an observer method raises is reported through ``sys.unraisablehook`` (as a
    handler's is) and costs the other observers nothing; a ``KeyboardInterrupt`` or
    ``SystemExit`` propagates out of :func:`observe_peers` once every observer had the reading's
    news."""

    def peer_connected(self, stats: PeerStats) -> None:
        """Called once per peer, at the first reading after its ``connectionState`` first became
        connected; ``stats.time_to_connected`` is exact whenever the reading happens."""

    def peer_failed(self, stats: PeerStats, count: int) -> None:
        """Called when a reading finds that the peer's ``connectionState`` became failed
        ``count`` more times since the previous one; ``stats.failure_cause`` is the cause of the
        latest (when a peer failed more than once between two readings, the earlier ones are
        counted with the latest cause)."""

    def news_dropped(self, count: int) -> None:
        """Called when a reading finds that the last news of ``count`` more freed peers was
        dropped: more than 65,536 freed peers waited for a reading."""


_News = Tuple[bytes, bool, int]  # (raw struct pcstate_peer_stats, first connect, new failures)

_OBSERVE_LOCK = threading.RLock()
_OBSERVERS: Tuple[Observer, ...] = ()
_TRACKED: Dict[int, List[int]] = {}
_PENDING: List[_News] = []
_dropped = 0


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
    global _OBSERVERS, _dropped
    with _OBSERVE_LOCK:
        _OBSERVERS = tuple(o for o in _OBSERVERS if o is not observer)
        if not _OBSERVERS:
            _PENDING.clear()
            _dropped = 0


def _read(handle: int, seen: List[int], raw: B.PeerStats) -> Optional[_News]:
    """Reads the peer and returns what ``seen`` does not say yet (marking it seen), or None."""
    if _c.pcstate_peer_stats(handle, ctypes.byref(raw)) != OK:
        return None
    return _news(raw, seen)


def _news(raw: B.PeerStats, seen: List[int]) -> Optional[_News]:
    """What the numbers ``raw`` say that ``seen`` does not yet (marking it seen), or None."""
    failures = max(raw.entered_state[_FAILED_C] - seen[0], 0)
    first_connect = not seen[1] and raw.first_connected_ns != 0
    if not failures and not first_connect:
        return None
    seen[0] += failures
    seen[1] = 1 if raw.first_connected_ns else seen[1]
    return bytes(raw), first_connect, failures


def observe_peers() -> None:
    """Reads the numbers of every live peer created through this binding, and reports to the
    observers what is new since the previous reading: a first connect (once per peer) and new
    failures; also the last news of peers freed since (see :class:`Observer`). Nothing is read
    while no observer is registered. Cost: one C call per live peer (about a microsecond)."""
    global _dropped
    observers = _OBSERVERS
    if not observers:
        return
    raw = B.PeerStats()
    with _OBSERVE_LOCK:
        news = list(_PENDING)
        _PENDING.clear()
        dropped, _dropped = _dropped, 0
    for handle, seen in _TRACKED.copy().items():
        with _OBSERVE_LOCK:
            if _TRACKED.get(handle) is not seen:
                continue  # freed meanwhile: its news is pending
            item = _read(handle, seen, raw)
        if item is not None:
            news.append(item)
    _report(observers, news, dropped)


def _report(observers: Tuple[Observer, ...], news: List[_News], dropped: int) -> None:
    """Tells every observer all of ``news`` and ``dropped``, whatever one of them raises."""
    calls: List[Tuple[str, Tuple[Any, ...]]] = []
    for raw, first_connect, failures in news:
        stats = PeerStats._from_c(B.PeerStats.from_buffer_copy(raw))
        if first_connect:
            calls.append(("peer_connected", (stats,)))
        if failures:
            calls.append(("peer_failed", (stats, failures)))
    if dropped:
        calls.append(("news_dropped", (dropped,)))
    interrupt: List[BaseException] = []
    for name, args in calls:
        for observer in observers:
            try:
                getattr(observer, name)(*args)
            except Exception as e:
                _unraisable(e, f"{type(observer).__qualname__}.{name}")
            except BaseException as e:  # KeyboardInterrupt, SystemExit: once all had the news
                interrupt.append(e)
    if interrupt:
        raise interrupt[0]


class _Raise:
    """A callable that raises an observer's exception, for :func:`_unraisable`."""

    def __init__(self, exc: Exception, where: str) -> None:
        self.exc, self.where = exc, where

    def __call__(self) -> None:
        raise self.exc

    def __repr__(self) -> str:
        return f"<pcstate.Observer method {self.where}>"


_CALL = ctypes.CFUNCTYPE(None)


def _unraisable(exc: Exception, where: str) -> None:
    """Reports ``exc`` through ``sys.unraisablehook``, as handlers' exceptions are: raised in a
    ctypes callback, which reports it (naming ``where``) and returns."""
    _CALL(_Raise(exc, where))()


def track(handle: int) -> None:
    """Starts tracking a peer just created through the binding."""
    _TRACKED[handle] = [0, 0]


def free_peer(handle: int) -> Optional[PeerStats]:
    """Frees a peer created through the binding and returns its numbers as of the free, read by
    the same C call, so no commit made before the free is missed (see :class:`Observer`); None
    when it was freed already, by this thread or another (no error: that free reports it). A
    refused free raises and changes nothing. A free that went ahead is reported even when an
    exception (a ``KeyboardInterrupt`` arriving as the C call returns) then propagates."""
    # Outside the lock: the free may wait for a handler running on another thread, which may
    # itself call observe_peers(). The peer stays tracked until its free succeeded: a reading
    # meanwhile either comes first (and marks what it reported in ``seen``) or finds it freed.
    raw = B.PeerStats()  # created_ns stays 0 unless the C free went ahead and filled it
    try:
        code = _c.pcstate_peer_free_with_stats(handle, ctypes.byref(raw))
    finally:
        if raw.created_ns:
            _forget(handle, raw)
    if code == _INVALID_HANDLE:
        return None
    if code != OK:
        raise_for(code)
    return PeerStats._from_c(raw)


def _forget(handle: int, raw: B.PeerStats) -> None:
    """Untracks a peer just freed, keeping its last news (``raw``) for the next reading."""
    global _dropped
    with _OBSERVE_LOCK:
        seen = _TRACKED.pop(handle, None)
        item = None if seen is None or not _OBSERVERS else _news(raw, seen)
        if item is not None:
            if len(_PENDING) < PENDING_LIMIT:
                _PENDING.append(item)
            else:
                _dropped += 1
