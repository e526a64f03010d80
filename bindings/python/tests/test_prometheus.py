"""Tests of pcstate.prometheus.Collector: the metric lines prometheus_client.generate_latest writes
for scripted peers (ICE, DTLS and liveness failures, time to connected), registration, and that
`import pcstate` needs no prometheus_client (prometheus_client is a pinned test requirement)."""
import gc
import os
import subprocess
import sys
import textwrap

import prometheus_client
import pytest

import pcstate

S = 1_000_000_000


# ---- the Prometheus collector ------------------------------------------------------------------------

def _scrape(registry):
    return prometheus_client.generate_latest(registry).decode()


def _value(text, sample):
    """The value of one sample line, e.g. ``pcstate_peers{state="new"}``."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no {sample} in\n{text}")


def test_collector_metric_lines():
    from pcstate.prometheus import Collector

    gc.collect()
    registry = prometheus_client.CollectorRegistry()
    collector = Collector(registry=registry, buckets=(0.5, 1.0, 5.0))
    try:
        before = _scrape(registry)
        for line in [
            "# TYPE pcstate_peers gauge",
            "# TYPE pcstate_events_committed_total counter",
            "# TYPE pcstate_failures_total counter",
            "# TYPE pcstate_failures_by_cause_total counter",
            "# TYPE pcstate_time_to_connected_seconds histogram",
            'pcstate_failures_by_cause_total{cause="ice"} 0.0',
            'pcstate_failures_by_cause_total{cause="dtls"} 0.0',
            'pcstate_failures_by_cause_total{cause="liveness"} 0.0',
            'pcstate_time_to_connected_seconds_bucket{le="0.5"} 0.0',
            'pcstate_time_to_connected_seconds_bucket{le="+Inf"} 0.0',
            "pcstate_time_to_connected_seconds_count 0.0",
            "pcstate_time_to_connected_seconds_sum 0.0",
        ]:
            assert line in before.splitlines(), line

        ok = pcstate.PeerConnection()
        ok.add_transport(ice="connected", dtls="connected")
        ice = pcstate.PeerConnection()
        ice.add_transport(ice="connected", dtls="connected").ice_state = "failed"
        dtls = pcstate.PeerConnection()
        dtls.add_transport(ice="connected", dtls="failed")  # never connected
        live = pcstate.PeerConnection()
        live.set_liveness(1.0, 2.0)
        live.add_transport(ice="connected", dtls="connected")
        live.tick(0)
        live.tick(2 * S)
        assert live.connection_state == "failed"
        slow = pcstate.PeerConnection()
        t = slow.add_transport(ice="checking")
        t.set_states(ice="connected", dtls="connected")
        ttc = [p.stats().time_to_connected for p in (ok, ice, live, slow)]
        assert all(x is not None and x < 0.5 for x in ttc)

        text = _scrape(registry)
        g = pcstate.global_stats()
        lines = text.splitlines()
        for line in [
            'pcstate_failures_by_cause_total{cause="ice"} 1.0',
            'pcstate_failures_by_cause_total{cause="dtls"} 1.0',
            'pcstate_failures_by_cause_total{cause="liveness"} 1.0',
            'pcstate_time_to_connected_seconds_bucket{le="0.5"} 4.0',
            'pcstate_time_to_connected_seconds_bucket{le="1.0"} 4.0',
            'pcstate_time_to_connected_seconds_bucket{le="5.0"} 4.0',
            'pcstate_time_to_connected_seconds_bucket{le="+Inf"} 4.0',
            "pcstate_time_to_connected_seconds_count 4.0",
        ]:
            assert line in lines, line
        # Compared as numbers: prometheus_client writes 1e7 and more in exponent form.
        assert _value(text, "pcstate_events_committed_total") == g.events_committed
        assert _value(text, "pcstate_failures_total") == g.failures
        for state in pcstate.ConnectionState:
            assert f'pcstate_peers{{state="{state.value}"}} {float(g.peers_in_state[state])}' in lines
        assert _value(text, 'pcstate_peers{state="failed"}') - _value(before, 'pcstate_peers{state="failed"}') == 3
        assert _value(text, 'pcstate_peers{state="connected"}') - _value(before, 'pcstate_peers{state="connected"}') == 2
        assert _value(text, "pcstate_failures_total") - _value(before, "pcstate_failures_total") == 3
        assert _value(text, "pcstate_time_to_connected_seconds_sum") == pytest.approx(sum(ttc), abs=1e-9)

        # Freed peers leave the gauges at once; what they did stays counted.
        for p in (ok, ice, dtls, live, slow):
            p.free()
        text = _scrape(registry)
        assert 'pcstate_failures_by_cause_total{cause="ice"} 1.0' in text.splitlines()
        assert "pcstate_time_to_connected_seconds_count 4.0" in text.splitlines()
        assert _value(text, 'pcstate_peers{state="failed"}') == _value(before, 'pcstate_peers{state="failed"}')
    finally:
        collector.close()
    assert "pcstate_peers" not in _scrape(registry)
    assert collector not in pcstate._observe._OBSERVERS


def test_collector_buckets_must_increase():
    from pcstate.prometheus import Collector

    for bad in ((), (1.0, 0.5), (1.0, 1.0), (1.0, float("inf"))):
        with pytest.raises(ValueError):
            Collector(registry=None, buckets=bad)
    assert pcstate._observe._OBSERVERS == ()


def test_collector_on_the_default_registry_and_a_duplicate():
    from pcstate.prometheus import Collector

    c = Collector()  # prometheus_client.REGISTRY
    try:
        assert "pcstate_peers" in _scrape(prometheus_client.REGISTRY)
        with pytest.raises(ValueError):  # prometheus_client refuses duplicated metric names
            Collector()
        assert pcstate._observe._OBSERVERS == (c,)  # the refused one is not left observing
    finally:
        c.close()
    assert "pcstate_peers" not in _scrape(prometheus_client.REGISTRY)


def test_import_pcstate_does_not_need_prometheus_client():
    code = textwrap.dedent(
        """
        import sys
        import pcstate
        assert "prometheus_client" not in sys.modules
        sys.modules["prometheus_client"] = None  # as if not installed
        sys.modules["prometheus_client.core"] = None
        pc = pcstate.PeerConnection()
        print(pc.stats().failure_cause, pcstate.global_stats().live_peers)
        try:
            import pcstate.prometheus
        except ImportError as e:
            print("ImportError:", e)
        """
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(pcstate.__file__)))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.splitlines()
    assert first == "none 1"
    assert second.startswith("ImportError: pcstate.prometheus needs the prometheus_client package")


def test_every_public_item_of_the_module_has_a_docstring():
    import inspect

    import pcstate.prometheus as module

    assert module.__doc__ and module.__doc__.strip()
    missing = []
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isclass(obj):
            items = [(name, obj)] + [
                (f"{name}.{attr}", value)
                for attr, value in vars(obj).items()
                if not attr.startswith("_") and callable(value)
            ]
        elif callable(obj):
            items = [(name, obj)]
        else:
            continue  # DEFAULT_BUCKETS: documented by a #: comment
        missing += [n for n, o in items if not (o.__doc__ or "").strip()]
    assert not missing, missing
    assert {"describe", "collect", "close", "peer_connected", "peer_failed"} <= set(vars(module.Collector))


def test_what_the_collector_counts_of_peers_older_than_itself():
    """The module docstring says what a collector counts for peers alive, or freed, before it was
    registered; this checks each case it names."""
    from pcstate.prometheus import Collector
    import pcstate.prometheus as module

    doc = " ".join(module.__doc__.split())
    assert "alive when it was registered" in doc and "freed before it was registered" in doc

    class Early(pcstate.Observer):
        pass

    gc.collect()
    pcstate.observe_peers()

    def failed_peer():
        pc = pcstate.PeerConnection()
        pc.add_transport(ice="connected", dtls="connected").dtls_state = "failed"
        return pc

    # Freed while no observer was registered: not counted.
    failed_peer().free()
    # Another observer registered: a reading reports read_early to it; a peer freed after that
    # reading leaves its last news waiting for the next reading, whoever is registered then.
    early = Early()
    pcstate.add_observer(early)
    read_early = failed_peer()
    pcstate.observe_peers()
    failed_peer().free()
    # Alive at registration, connected and failed before it, never read: counted in full.
    alive_unread = failed_peer()

    registry = prometheus_client.CollectorRegistry()
    collector = Collector(registry=registry)
    try:
        text = _scrape(registry)
        # alive_unread and the peer freed after early's reading; not read_early nor the first.
        assert _value(text, 'pcstate_failures_by_cause_total{cause="dtls"}') == 2
        assert _value(text, "pcstate_time_to_connected_seconds_count") == 2
    finally:
        collector.close()
        pcstate.remove_observer(early)
        alive_unread.free()
        read_early.free()


def test_the_collector_exports_the_news_it_dropped(monkeypatch):
    from pcstate import _observe
    from pcstate.prometheus import Collector

    monkeypatch.setattr(_observe, "PENDING_LIMIT", 2)
    gc.collect()
    registry = prometheus_client.CollectorRegistry()
    collector = Collector(registry=registry)
    try:
        assert _value(_scrape(registry), "pcstate_observer_news_dropped_total") == 0
        for _ in range(5):
            pc = pcstate.PeerConnection()
            pc.add_transport(ice="failed")
            pc.free()
        text = _scrape(registry)
        assert _value(text, 'pcstate_failures_by_cause_total{cause="ice"}') == 2
        assert _value(text, "pcstate_observer_news_dropped_total") == 3
    finally:
        collector.close()
