"""Python stress: threads, handlers that raise, frequent gc.collect(), peers dropped without free(),
and interpreter exit in the middle of event delivery on another thread."""
import gc
import random
import subprocess
import sys
import textwrap
import threading

import pcstate

ICE = list(pcstate.IceTransportState)
DTLS = list(pcstate.DtlsTransportState)
GATHER = list(pcstate.IceGathererState)


def test_threads_raising_handlers_gc_and_dropped_peers(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(type(u.exc_value)))
    # Handlers other tests left registered (a handler that refers to its own peer keeps it alive).
    earlier = set(pcstate._callbacks.HANDLERS)
    violations = []
    counts = {"events": 0, "raised": 0, "dropped": 0}
    lock = threading.Lock()

    def make_handler(state):
        def handler(e):
            # In order, one at a time, per peer.
            if not state["busy"].acquire(blocking=False):
                violations.append("overlap")
                return
            try:
                if e.seq != state["last"] + 1:
                    violations.append(f"seq {e.seq} after {state['last']}")
                state["last"] = e.seq
                with lock:
                    counts["events"] += 1
                if e.seq % 7 == 0:
                    with lock:
                        counts["raised"] += 1
                    raise RuntimeError("handler failure on purpose")
            finally:
                state["busy"].release()

        return handler

    shared = pcstate.PeerConnection()
    shared_state = {"busy": threading.Lock(), "last": 0}
    shared.on_event(make_handler(shared_state))
    shared_transports = [shared.add_transport() for _ in range(4)]
    errors = []

    def worker(n, seed):
        rng = random.Random(seed)
        try:
            for i in range(n):
                t = shared_transports[rng.randrange(4)]
                r = rng.randrange(3)
                if r == 0:
                    t.ice_state = rng.choice(ICE)
                elif r == 1:
                    t.dtls_state = rng.choice(DTLS)
                else:
                    t.gatherer_state = rng.choice(GATHER)
                if i % 50 == 0:
                    # A peer of its own, dropped without free() (the handler needs no reference).
                    pc = pcstate.PeerConnection(profile=rng.choice(list(pcstate.Profile)))
                    pc.on_event(make_handler({"busy": threading.Lock(), "last": 0}))
                    tt = pc.add_transport()
                    tt.ice_state = "checking"
                    tt.dtls_state = "connected"
                    del pc, tt
                    with lock:
                        counts["dropped"] += 1
                if i % 200 == 0:
                    gc.collect()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(1500, s)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()
    assert not errors, errors
    assert not violations, violations[:5]
    assert shared_state["last"] == shared.snapshot().last_seq
    assert counts["raised"] > 0 and len(reported) == counts["raised"]
    assert all(t is RuntimeError for t in reported)
    assert counts["dropped"] > 50
    shared.free()
    # Every dropped peer was freed: its handler key released.
    left = set(pcstate._callbacks.HANDLERS) - earlier
    assert not left, f"{len(left)} handlers still registered"


def test_exit_during_delivery_on_another_thread():
    code = textwrap.dedent(
        """
        import threading, time, pcstate
        pc = pcstate.PeerConnection(event_queue=True)
        inside = threading.Event()

        def slow(e):
            inside.set()
            time.sleep(0.01)           # the main thread exits while this runs

        pc.on_event(slow)
        ts = [pc.add_transport() for _ in range(2)]

        def churn():
            states = ["checking", "connected", "disconnected", "connected"]
            i = 0
            while True:
                try:
                    ts[i % 2].ice_state = states[i % 4]
                except pcstate.PcstateError:
                    return
                i += 1

        threading.Thread(target=churn, daemon=True).start()
        inside.wait(5)
        print("exiting while a callback runs", flush=True)
        """
    )
    for _ in range(3):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (r.returncode, r.stderr)
        assert "exiting while a callback runs" in r.stdout
        assert "Fatal" not in r.stderr and "Traceback" not in r.stderr, r.stderr
