"""A prometheus_client collector for pcstate's numbers (the only module that imports prometheus_client).

What it exports, read at each scrape::

    pcstate_peers{state="..."}            gauge    live peers per connectionState (every peer of
                                                   the process: pcstate.global_stats())
    pcstate_events_committed_total        counter  events committed by all peers (global_stats())
    pcstate_failures_total                counter  times any peer's connectionState became failed
                                                   (global_stats(): every peer of the process)
    pcstate_failures_by_cause_total{cause="ice"|"dtls"|"liveness"}
                                          counter  the same, by cause, for the peers created
                                                   through this binding (below)
    pcstate_time_to_connected_seconds     histogram  creation to first connected, once per peer
                                                   created through this binding (below)
    pcstate_observer_news_dropped_total   counter  freed peers whose last news was dropped,
                                                   unread (below)

The first three come from the C library's process-wide counters, whenever things happened. The
by-cause counter and the histogram come from the collector being a :class:`pcstate.Observer`:
each scrape calls :func:`pcstate.observe_peers`, which reads every live peer created through the
binding (one C call each) and takes the last reading of each peer freed since, and reports each
first connect and each failure once, at the first reading after it happened, to the observers
registered at that reading. A peer that failed more than once between two readings has all those
failures counted under its latest cause. So, for peers older than the collector:

- a peer alive when it was registered is counted in full since its creation (its first connect,
  every failure), less what a reading before the registration already reported to other
  observers;
- a peer freed before it was registered is counted only if it was freed while another observer
  was registered and after that observer's last reading (its last news waited for the next
  reading, which the collector gets too); one freed while no observer was registered is not.

Every failure committed before a peer's ``free()`` returned is in its last reading. While no scrape
comes, the last news of at most 65,536 freed peers waits (about 200 bytes each); the news of more
is dropped and counted in ``pcstate_observer_news_dropped_total``.
"""
import threading
from typing import Dict, Iterable, List, Optional, Sequence

import pcstate

try:
    from prometheus_client.core import (
        REGISTRY,
        CollectorRegistry,
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
    )
    from prometheus_client.utils import floatToGoString
except ImportError as e:  # pragma: no cover - exercised in a child process by the tests
    raise ImportError(
        "pcstate.prometheus needs the prometheus_client package (pip install prometheus_client); "
        "the rest of pcstate does not"
    ) from e

__all__ = ["Collector", "DEFAULT_BUCKETS"]

#: Upper bounds (seconds) of the time-to-connected histogram's buckets: a WebRTC call usually
#: connects within 0.1 to 3 s; +Inf is added.
DEFAULT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_CAUSES = [c for c in pcstate.FailureCause if c is not pcstate.FailureCause.NONE]


class Collector(pcstate.Observer):
    """Exports pcstate's numbers to a prometheus_client registry (see the module docstring for
    the metrics and what each counts).

    ``registry``: where to register (default: prometheus_client's global ``REGISTRY``; None: do
    not register, call ``registry.register(collector)`` yourself). ``buckets``: the histogram's
    upper bounds in seconds, increasing (default :data:`DEFAULT_BUCKETS`). :meth:`close`
    unregisters it."""

    def __init__(
        self,
        registry: Optional[CollectorRegistry] = REGISTRY,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        bounds = [float(b) for b in buckets]
        if not bounds or any(b >= c for b, c in zip(bounds, bounds[1:])) or bounds[-1] == float("inf"):
            raise ValueError(f"buckets must be finite upper bounds in increasing order, not {buckets!r}")
        self._lock = threading.Lock()
        self._bounds = bounds
        self._bucket_counts = [0] * (len(bounds) + 1)  # the last one: +Inf
        self._connected_sum = 0.0
        self._by_cause: Dict[pcstate.FailureCause, int] = {c: 0 for c in _CAUSES}
        self._dropped = 0
        self._registry = registry
        pcstate.add_observer(self)
        if registry is not None:
            try:
                registry.register(self)
            except BaseException:
                pcstate.remove_observer(self)
                raise

    # -- pcstate.Observer ------------------------------------------------------------------------
    def peer_connected(self, stats: pcstate.PeerStats) -> None:
        """Observes the peer's time to connected in the histogram."""
        seconds = stats.time_to_connected
        if seconds is None:
            return
        i = next((i for i, b in enumerate(self._bounds) if seconds <= b), len(self._bounds))
        with self._lock:
            self._bucket_counts[i] += 1
            self._connected_sum += seconds

    def peer_failed(self, stats: pcstate.PeerStats, count: int) -> None:
        """Counts ``count`` failures under the peer's latest failure cause."""
        cause = stats.failure_cause
        if cause is pcstate.FailureCause.NONE:  # cannot happen with a failure counted
            return
        with self._lock:
            self._by_cause[cause] = self._by_cause.get(cause, 0) + count

    def news_dropped(self, count: int) -> None:
        """Counts freed peers whose last news was dropped unread."""
        with self._lock:
            self._dropped += count

    # -- prometheus_client -------------------------------------------------------------------------
    def describe(self) -> Iterable[Metric]:
        """The metric families, without samples (so that registering reads nothing)."""
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        """Reads the peers (:func:`pcstate.observe_peers`) and the process-wide numbers, and
        returns the metric families."""
        pcstate.observe_peers()
        return self._families(pcstate.global_stats())

    def _families(self, g: Optional[pcstate.GlobalStats]) -> List[Metric]:
        peers = GaugeMetricFamily(
            "pcstate_peers", "Live peers per connectionState.", labels=["state"]
        )
        events = CounterMetricFamily(
            "pcstate_events_committed", "Events committed by all peers of the process."
        )
        failures = CounterMetricFamily(
            "pcstate_failures", "Times any peer's connectionState became failed."
        )
        by_cause = CounterMetricFamily(
            "pcstate_failures_by_cause",
            "Times a peer created through the Python binding failed, by the cause pcstate recorded.",
            labels=["cause"],
        )
        dropped = CounterMetricFamily(
            "pcstate_observer_news_dropped",
            "Freed peers created through the Python binding whose last news was dropped unread "
            "(more waited for a scrape than the binding keeps).",
        )
        if g is None:
            histogram = HistogramMetricFamily(
                "pcstate_time_to_connected_seconds",
                "Seconds from a peer's creation to its first connected connectionState.",
            )
            return [peers, events, failures, by_cause, histogram, dropped]
        for state, n in g.peers_in_state.items():
            peers.add_metric([state.value], n)
        events.add_metric([], g.events_committed)
        failures.add_metric([], g.failures)
        with self._lock:
            causes = dict(self._by_cause)
            counts = list(self._bucket_counts)
            total = self._connected_sum
            dropped.add_metric([], self._dropped)
        for cause, n in causes.items():
            by_cause.add_metric([cause.value], n)
        cumulative, running = [], 0
        for bound, n in zip([*map(floatToGoString, self._bounds), "+Inf"], counts):
            running += n
            cumulative.append((bound, running))
        histogram = HistogramMetricFamily(
            "pcstate_time_to_connected_seconds",
            "Seconds from a peer's creation to its first connected connectionState.",
            buckets=cumulative,
            sum_value=total,
        )
        return [peers, events, failures, by_cause, histogram, dropped]

    def close(self) -> None:
        """Stops observing peers and unregisters from the registry it registered with."""
        pcstate.remove_observer(self)
        registry, self._registry = self._registry, None
        if registry is not None:
            registry.unregister(self)

