"""Observers lose nothing and hold bounded memory: a failure committed while its peer is freed is
counted, one observer's exception costs the others nothing (and is reported), freed peers' news
waiting for a reading is bounded with an exact dropped count."""
import ctypes
import gc
import shutil
import subprocess
import sys
import threading
import time

import prometheus_client
import pytest

import pcstate
from pcstate import _observe


class Recorder(pcstate.Observer):
    def __init__(self):
        self.connected = 0
        self.failed = 0
        self.dropped = 0

    def peer_connected(self, stats):
        self.connected += 1

    def peer_failed(self, stats, count):
        self.failed += count

    def news_dropped(self, count):
        self.dropped += count


class ScrapedCollector:
    """The Prometheus collector as the observer: what a scrape says it counted."""

    def __init__(self):
        from pcstate.prometheus import Collector

        self.registry = prometheus_client.CollectorRegistry()
        self.collector = Collector(registry=self.registry)

    @property
    def failed(self):
        text = prometheus_client.generate_latest(self.registry).decode()
        return sum(
            float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith("pcstate_failures_by_cause_total{")
        )

    def close(self):
        self.collector.close()


@pytest.fixture
def quiet():
    """No peer of an earlier test is freed (and no observer left registered) during the test."""
    gc.collect()
    pcstate.observe_peers()
    assert _observe._OBSERVERS == ()
    yield


# A C thread that keeps failing and repairing a transport's DTLS until a call is refused: it
# commits without the GIL, so its commits land at any point of a free() on the Python side.
_FLAPPER_C = r"""
#include <stdint.h>
typedef uint32_t (*set_fn)(uint64_t peer, uint32_t transport, uint32_t state);
uint64_t flap(set_fn set, uint64_t peer, uint32_t transport, uint32_t failed, uint32_t connected,
              volatile int *started) {
    uint64_t n = 0;
    for (;;) {
        if (set(peer, transport, failed) != 0) return n;
        n++;
        *started = 1;
        if (set(peer, transport, connected) != 0) return n;
    }
}
"""


@pytest.fixture(scope="module")
def flapper(tmp_path_factory):
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the C thread that races free()")
    d = tmp_path_factory.mktemp("flapper")
    (d / "flap.c").write_text(_FLAPPER_C)
    out = str(d / "libflap.so")
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", out, str(d / "flap.c")], check=True, timeout=60)
    lib = ctypes.CDLL(out)
    lib.flap.restype = ctypes.c_uint64
    lib.flap.argtypes = [
        ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32,
        ctypes.POINTER(ctypes.c_int),
    ]
    return lib.flap


def _racing_failures(flap, peers: int) -> int:
    """Frees peers while a C thread keeps failing and repairing them; returns how many times
    their connectionState became failed (every commit, by the process-wide counter)."""
    set_dtls = ctypes.cast(pcstate._c.pcstate_transport_set_dtls_state, ctypes.c_void_p)
    failed, connected = (pcstate.DtlsTransportState(s)._to_c() for s in ("failed", "connected"))
    before = pcstate.global_stats().failures
    for _ in range(peers):
        pc = pcstate.PeerConnection()
        t = pc.add_transport(ice="connected", dtls="connected")
        started = ctypes.c_int(0)
        th = threading.Thread(
            target=flap, args=(set_dtls, pc._handle, t.id, failed, connected, ctypes.byref(started))
        )
        th.start()
        while not started.value:
            time.sleep(0)
        pc.free()
        th.join(10)
        assert not th.is_alive()
    return pcstate.global_stats().failures - before


@pytest.mark.parametrize("kind", ["observer", "prometheus"])
def test_failures_committed_while_a_peer_is_freed_are_counted(quiet, flapper, kind):
    """A C thread commits failures until the free: every failure committed before free()
    returned is counted, by a plain observer and by the Prometheus collector."""
    observer = Recorder() if kind == "observer" else ScrapedCollector()
    if kind == "observer":
        pcstate.add_observer(observer)
    try:
        committed = _racing_failures(flapper, 50)
        pcstate.observe_peers()
        assert committed >= 50
        assert observer.failed == committed
    finally:
        pcstate.remove_observer(observer) if kind == "observer" else observer.close()


def test_a_commit_just_before_the_c_free_is_counted(quiet, monkeypatch):
    """The moment the old binding lost: a failure committed after the last reading, right before
    the C free. The last reading is now made by the C call that frees the peer, so such a commit
    lands and is counted."""
    rec = Recorder()
    pcstate.add_observer(rec)
    try:
        pc = pcstate.PeerConnection()
        t = pc.add_transport(ice="connected", dtls="connected")
        c = pcstate._c
        real_free = c.pcstate_peer_free_with_stats
        landed = []

        def free_after_a_racing_commit(handle, last):
            failed = pcstate.DtlsTransportState.FAILED._to_c()
            landed.append(c.pcstate_transport_set_dtls_state(handle, t.id, failed) == 0)
            return real_free(handle, last)

        monkeypatch.setattr(c, "pcstate_peer_free_with_stats", free_after_a_racing_commit)
        pc.free()
        monkeypatch.undo()
        pcstate.observe_peers()
        assert landed == [True]
        assert rec.failed == 1
    finally:
        pcstate.remove_observer(rec)


class StatsRecorder(pcstate.Observer):
    def __init__(self):
        self.failed = []

    def peer_failed(self, stats, count):
        self.failed.append(stats)


def test_a_freed_peers_last_reading_shows_it_as_it_was_not_closed(quiet):
    """Freeing a peer does not close it first: its last reading (what observers and the
    Prometheus collector get) has it failed, with no stay in closed, as pcstate_peer_free would
    leave it (the old binding closed it for that reading and reported a close that never
    happened)."""
    rec = StatsRecorder()
    pcstate.add_observer(rec)
    try:
        pc = pcstate.PeerConnection()
        pc.add_transport(ice="connected", dtls="failed")
        assert pc.connection_state == pcstate.ConnectionState.FAILED
        pc.free()
        pcstate.observe_peers()
        assert len(rec.failed) == 1
        stats = rec.failed[0]
        assert stats.entered[pcstate.ConnectionState.CLOSED] == 0
        assert stats.time_in_state_ns[pcstate.ConnectionState.CLOSED] == 0
        assert stats.time_in_state_ns[pcstate.ConnectionState.FAILED] > 0
    finally:
        pcstate.remove_observer(rec)


def test_a_refused_free_with_observers_changes_nothing(quiet):
    """Two handlers on two threads each free the other's peer while the other's handler runs:
    one free is refused (WouldDeadlockError). With an observer registered the refused peer is
    left exactly as it was: open, its handler set, still tracked, and its later failure
    counted."""
    rec = Recorder()
    pcstate.add_observer(rec)
    a, b = pcstate.PeerConnection(), pcstate.PeerConnection()
    ta, tb = a.add_transport(), b.add_transport()
    inside = threading.Barrier(2, timeout=10)
    results = {}

    def handler_freeing(other, name):
        def on_event(event):
            if name in results:
                return
            inside.wait()
            try:
                other.free()
                results[name] = "freed"
            except pcstate.WouldDeadlockError:
                results[name] = "refused"

        return on_event

    a.on_event(handler_freeing(b, "a"))
    b.on_event(handler_freeing(a, "b"))
    threads = [
        threading.Thread(target=setattr, args=(ta, "ice_state", "checking")),
        threading.Thread(target=setattr, args=(tb, "ice_state", "checking")),
    ]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
        assert sorted(results.values()) == ["freed", "refused"]
        survivor, t = (b, tb) if results["a"] == "refused" else (a, ta)
        seen = []
        survivor.on_event(seen.append)  # the refused free left it open and working
        assert survivor.connection_state != pcstate.ConnectionState.CLOSED
        assert survivor._handle in _observe._TRACKED
        t.dtls_state = "failed"
        assert survivor.connection_state == pcstate.ConnectionState.FAILED
        assert seen, "its handler still runs"
        pcstate.observe_peers()
        assert rec.failed == 1
        survivor.free()
    finally:
        pcstate.remove_observer(rec)


def test_one_observers_exception_costs_the_others_nothing(quiet, monkeypatch):
    reported = []
    monkeypatch.setattr(
        sys, "unraisablehook", lambda u: reported.append((type(u.exc_value), f"{u.object!r} {u.err_msg}"))
    )

    class Raising(pcstate.Observer):
        def peer_connected(self, stats):
            raise RuntimeError("observer failure on purpose")

        def peer_failed(self, stats, count):
            raise RuntimeError("observer failure on purpose")

    raising, rec = Raising(), Recorder()
    pcstate.add_observer(raising)
    pcstate.add_observer(rec)
    try:
        peers = []
        for _ in range(10):
            pc = pcstate.PeerConnection()
            pc.add_transport(ice="connected", dtls="connected").dtls_state = "failed"
            peers.append(pc)
        peers.pop().free()  # one of them through the freed peers' news
        pcstate.observe_peers()  # does not raise
        assert (rec.connected, rec.failed) == (10, 10)
        assert len(reported) == 20 and {r[0] for r in reported} == {RuntimeError}
        assert all("Raising.peer_" in r[1] for r in reported), reported[0]  # names the observer
        for pc in peers:
            pc.free()
    finally:
        pcstate.remove_observer(raising)
        pcstate.remove_observer(rec)


def test_an_interrupt_in_an_observer_propagates_after_every_observer_had_the_news(quiet):
    class Interrupting(pcstate.Observer):
        def peer_failed(self, stats, count):
            raise KeyboardInterrupt

    first, rec = Interrupting(), Recorder()
    pcstate.add_observer(first)
    pcstate.add_observer(rec)
    try:
        peers = [pcstate.PeerConnection() for _ in range(3)]
        for pc in peers:
            pc.add_transport(ice="failed")
        with pytest.raises(KeyboardInterrupt):
            pcstate.observe_peers()
        assert rec.failed == 3
        for pc in peers:
            pc.free()
    finally:
        pcstate.remove_observer(first)
        pcstate.remove_observer(rec)


def test_freed_peers_news_is_bounded_with_an_exact_dropped_count(quiet, monkeypatch):
    """While nothing reads, each freed peer's last news waits; beyond PENDING_LIMIT of them, the
    news is dropped and counted, and the count reaches every observer at the next reading."""
    monkeypatch.setattr(_observe, "PENDING_LIMIT", 5)
    rec = Recorder()
    pcstate.add_observer(rec)
    try:
        for _ in range(12):
            pc = pcstate.PeerConnection()
            pc.add_transport(ice="connected", dtls="connected").ice_state = "failed"
            pc.free()
        quiet_peer = pcstate.PeerConnection()  # no news: takes no room
        quiet_peer.free()
        assert len(_observe._PENDING) == 5
        pcstate.observe_peers()
        assert (rec.connected, rec.failed, rec.dropped) == (5, 5, 7)
        assert _observe._PENDING == []
        pcstate.observe_peers()
        assert (rec.connected, rec.failed, rec.dropped) == (5, 5, 7)  # once
    finally:
        pcstate.remove_observer(rec)


def test_a_waiting_freed_peers_news_is_small(quiet):
    """What a freed peer's news costs while it waits (the bound above is affordable): its raw
    numbers, not a PeerStats with two dicts (about 1.1 KB before)."""
    import tracemalloc

    rec = Recorder()
    pcstate.add_observer(rec)
    try:
        peers = []
        for _ in range(2000):
            pc = pcstate.PeerConnection()
            pc.add_transport(ice="connected", dtls="connected").ice_state = "failed"
            peers.append(pc)
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            for pc in peers:
                pc.free()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
        assert len(_observe._PENDING) == 2000
        assert grown / 2000 < 400, f"{grown / 2000:.0f} bytes per waiting freed peer"
        pcstate.observe_peers()
        assert rec.failed == 2000
    finally:
        pcstate.remove_observer(rec)


def test_two_threads_freeing_one_peer_report_its_last_news_once(quiet, monkeypatch):
    """Two threads reach the free of one peer (``free()`` is idempotent, not locked): the one
    whose C free succeeds reports the peer's last news, exactly once, and the peer is no longer
    tracked (found by review: the loser had untracked it first, and the winner reported
    nothing)."""
    rec = Recorder()
    pcstate.add_observer(rec)
    try:
        pc = pcstate.PeerConnection()
        pc.add_transport(ice="connected", dtls="failed")  # one failure, not yet read
        h = pc._handle
        c = pcstate._c
        real = c.pcstate_peer_free_with_stats
        first = threading.Event()
        calls = []

        def first_caller_slow(handle, last):
            calls.append(threading.current_thread().name)
            if len(calls) == 1:
                first.set()
                time.sleep(0.2)  # the first thread is preempted before its C free
            return real(handle, last)

        monkeypatch.setattr(c, "pcstate_peer_free_with_stats", first_caller_slow)
        a = threading.Thread(target=_observe.free_peer, args=(h,), name="A")
        a.start()
        assert first.wait(5)
        _observe.free_peer(h)  # this thread overtakes it and wins the C free
        a.join(10)
        monkeypatch.undo()
        pc._freed = True
        pcstate.observe_peers()
        assert sorted(calls) == ["A", "MainThread"]
        assert h not in _observe._TRACKED
        assert rec.failed == 1
    finally:
        pcstate.remove_observer(rec)


@pytest.mark.parametrize("freed_in_c", [True, False])
def test_an_interrupt_around_the_c_free_loses_nothing(quiet, monkeypatch, freed_in_c):
    """A ``KeyboardInterrupt`` arriving as the C free returns (the free went ahead) propagates,
    and the peer is still reported once, untracked, and known freed (found by review: it stayed
    tracked for good and looked alive). One arriving before the call leaves it alive, tracked,
    and free() later reports it."""
    rec = Recorder()
    pcstate.add_observer(rec)
    try:
        pc = pcstate.PeerConnection()
        pc.add_transport(ice="connected", dtls="failed")
        h = pc._handle
        c = pcstate._c
        real = c.pcstate_peer_free_with_stats

        def interrupted(handle, last):
            if freed_in_c:
                real(handle, last)
            raise KeyboardInterrupt

        monkeypatch.setattr(c, "pcstate_peer_free_with_stats", interrupted)
        with pytest.raises(KeyboardInterrupt):
            pc.free()
        monkeypatch.undo()
        assert pc._freed is freed_in_c
        assert (h in _observe._TRACKED) is not freed_in_c
        pc.free()  # a no-op once freed; else the free, reported then
        pcstate.observe_peers()
        assert rec.failed == 1
        assert h not in _observe._TRACKED
        with pytest.raises(pcstate.InvalidHandleError):
            pc.stats()
    finally:
        pcstate.remove_observer(rec)
