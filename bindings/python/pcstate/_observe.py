"""Observability: a peer's and the process's numbers, observers of the binding's peers, each peer's last reading at free."""
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


def _news(seen: List[int], raw: B.PeerStats) -> Optional[Tuple[PeerStats, bool, int]]:
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
    raw = B.PeerStats()
    with _OBSERVE_LOCK:
        news.extend(_PENDING)
        _PENDING.clear()
    for handle, seen in _TRACKED.copy().items():
        with _OBSERVE_LOCK:
            if _TRACKED.get(handle) is not seen:
                continue  # freed meanwhile: its news is pending
            if _c.pcstate_peer_stats(handle, ctypes.byref(raw)) != OK:
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


def track(handle: int) -> None:
    """Starts tracking a peer just created through the binding."""
    _TRACKED[handle] = [0, 0]


def _untrack(handle: int) -> Optional[List[int]]:
    """Stops tracking a peer about to be freed; with observers, keeps its last news pending."""
    if not _OBSERVERS:
        return _TRACKED.pop(handle, None)
    with _OBSERVE_LOCK:
        seen = _TRACKED.pop(handle, None)
        raw = B.PeerStats()
        if seen is not None and _c.pcstate_peer_stats(handle, ctypes.byref(raw)) == OK:
            item = _news(seen, raw)
            if item is not None:
                _PENDING.append(item)
        return seen


def free_peer(handle: int) -> None:
    """Frees a peer created through the binding (an already freed one is no error), keeping its
    last news for the observers."""
    seen = _untrack(handle)
    code = _c.pcstate_peer_free(handle)
    if code not in (OK, _INVALID_HANDLE):
        if seen is not None:
            _TRACKED[handle] = seen  # still alive (WOULD_DEADLOCK): tracked on
        raise_for(code)
