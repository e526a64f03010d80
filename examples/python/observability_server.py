"""A server-style program: 1,000 peers through random realistic calls on one asyncio loop, then
pcstate's global stats, failure causes and the time-to-connected distribution.

Each call is driven as a libnice-based stack would drive it (agent states, remote end-of-candidates,
DTLS, a packet pump calling note_alive, liveness with one loop timer per peer), on the real clock
with times scaled down so that the whole run takes a couple of seconds. Mix: most calls connect
and hang up; some fail their ICE checks; some fail the DTLS handshake (fingerprint mismatch); some
lose packets for a while and recover; some lose the remote for good and fail by liveness.
Run: PYTHONPATH=bindings/python python3 examples/python/observability_server.py [--peers N] [--seed S]
"""
import argparse
import asyncio
import collections
import random
import sys
import time
from typing import Dict, List, Optional, Set, Tuple

import pcstate

# Liveness, scaled from Firefox's (pcstate.LivenessPreset.FIREFOX: 7 s / 27.5 s).
DISCONNECTED_AFTER = 0.15
FAILED_AFTER = 0.6
PACKET_INTERVAL = 0.02  # the pump notes every flowing transport alive this often
NICE_GATHERING, NICE_CONNECTING, NICE_CONNECTED, NICE_READY, NICE_FAILED = 1, 2, 3, 4, 5

KINDS = [("normal", 0.80), ("ice", 0.07), ("dtls", 0.05), ("blip", 0.05), ("vanish", 0.03)]
#: What each kind of call must end with: (the failure cause, whether it ever connected).
EXPECTED = {
    "normal": (pcstate.FailureCause.NONE, True),
    "ice": (pcstate.FailureCause.ICE, False),
    "dtls": (pcstate.FailureCause.DTLS, False),
    "blip": (pcstate.FailureCause.NONE, True),
    "vanish": (pcstate.FailureCause.LIVENESS, True),
}


class LivenessTimer:
    """One loop timer per peer: ticks the peer at each deadline tick() returns."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pc: pcstate.PeerConnection) -> None:
        self.loop, self.pc = loop, pc
        self.handle: Optional[asyncio.TimerHandle] = None

    def rearm(self) -> None:
        """Ticks now and schedules the next tick; call it after changing states, too."""
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        if self.pc.closed:
            return
        deadline = self.pc.tick()
        if deadline is not None:
            delay = max(0.0, (deadline - pcstate.now_ns()) / 1e9)
            self.handle = self.loop.call_at(self.loop.time() + delay, self.rearm)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


class Server:
    def __init__(self, peers: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.peers = peers
        self.flowing: Set[pcstate.Transport] = set()  # transports whose packets arrive
        self.results: List[Tuple[str, pcstate.PeerStats]] = []
        self.done = False

    async def pump(self) -> None:
        """Stands for the media path: every flowing transport receives packets."""
        while not self.done:
            now = pcstate.now_ns()
            for t in list(self.flowing):
                t.note_alive(now)
            await asyncio.sleep(PACKET_INTERVAL)

    def pick_kind(self) -> str:
        x, acc = self.rng.random(), 0.0
        for kind, share in KINDS:
            acc += share
            if x < acc:
                return kind
        return KINDS[0][0]

    async def call(self, kind: str) -> None:
        rng, loop = self.rng, asyncio.get_running_loop()
        # ignore_after_close: the stack's teardown may keep reporting states after close().
        pc = pcstate.PeerConnection(ignore_after_close=True)
        pc.set_liveness(DISCONNECTED_AFTER, FAILED_AFTER)
        timer = LivenessTimer(loop, pc)
        changed = asyncio.Event()
        pc.on_event(lambda e: changed.set() if e.kind == "connectionstatechange" else None)

        async def until(state: str, limit: float) -> None:
            end = loop.time() + limit
            while pc.connection_state != state and loop.time() < end:
                changed.clear()
                try:
                    await asyncio.wait_for(changed.wait(), max(0.0, end - loop.time()))
                except asyncio.TimeoutError:
                    break

        t = pc.add_transport()
        t.gatherer_state = "gathering"
        t.set_agent_state("libnice", NICE_GATHERING)
        await asyncio.sleep(rng.uniform(0.002, 0.01))  # the offer/answer round trip
        t.set_agent_state("libnice", NICE_CONNECTING)
        await asyncio.sleep(rng.uniform(0.005, 0.03))
        t.gatherer_state = "complete"
        t.set_remote_end_of_candidates()  # the remote's a=end-of-candidates
        if kind == "ice":  # no working pair: libnice gives up
            await asyncio.sleep(rng.uniform(0.1, 0.3))
            t.set_agent_state("libnice", NICE_FAILED)
        else:
            await asyncio.sleep(rng.lognormvariate(-3.0, 0.6))  # checks: median 50 ms
            t.set_agent_state("libnice", NICE_CONNECTED)
            t.dtls_state = "connecting"
            self.flowing.add(t)
            timer.rearm()  # connected: the alive clock starts
            await asyncio.sleep(rng.uniform(0.01, 0.05))  # the handshake's round trips
            t.set_agent_state("libnice", NICE_READY)
            if kind == "dtls":
                t.dtls_state = "failed"  # the certificate's fingerprint does not match
            else:
                t.dtls_state = "connected"
                await asyncio.sleep(rng.uniform(0.1, 0.4))  # media flows
                if kind == "blip":  # packets lost for a while, then back
                    self.flowing.discard(t)
                    await asyncio.sleep(rng.uniform(0.25, 0.4))
                    self.flowing.add(t)
                    t.note_alive()
                    timer.rearm()
                    await asyncio.sleep(rng.uniform(0.05, 0.2))
                elif kind == "vanish":  # the remote is gone for good
                    self.flowing.discard(t)
                    await until("failed", FAILED_AFTER * 3)
                else:
                    await asyncio.sleep(rng.uniform(0.1, 0.5))
        self.flowing.discard(t)
        timer.stop()
        pc.close()
        t.dtls_state = "closed"  # teardown keeps reporting: ignored after close
        t.set_agent_state("libnice", NICE_FAILED)
        self.results.append((kind, pc.stats()))
        pc.on_event(None)
        pc.free()

    async def monitor(self, started: float) -> None:
        """What a dashboard would poll: the process-wide gauges."""
        while not self.done:
            g = pcstate.global_stats()
            states = " ".join(f"{s.value}={n}" for s, n in g.peers_in_state.items())
            print(f"  t={time.monotonic() - started:4.2f}s live={g.live_peers:4d}  {states}")
            await asyncio.sleep(0.5)

    async def run(self) -> None:
        started = time.monotonic()
        pump = asyncio.ensure_future(self.pump())
        monitor = asyncio.ensure_future(self.monitor(started))
        calls = []
        for _ in range(self.peers):  # arrivals over about one second
            calls.append(asyncio.ensure_future(self.call(self.pick_kind())))
            await asyncio.sleep(self.rng.expovariate(self.peers / 1.0))
        await asyncio.gather(*calls)
        self.done = True
        await asyncio.gather(pump, monitor)


def percentile(sorted_values: List[float], p: float) -> float:
    """The nearest-rank percentile of a sorted list."""
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def report(server: Server, g0: pcstate.GlobalStats, elapsed: float) -> int:
    g = pcstate.global_stats()
    print(f"\n{len(server.results)} calls in {elapsed:.2f} s")
    print(
        f"global stats: live peers {g.live_peers}, events committed {g.events_committed - g0.events_committed}, "
        f"failures {g.failures - g0.failures}"
    )
    kinds = collections.Counter(kind for kind, _ in server.results)
    causes = collections.Counter(str(s.failure_cause) for _, s in server.results)
    print("calls by scenario: " + ", ".join(f"{k} {kinds[k]}" for k, _ in KINDS))
    print("failure causes:    " + ", ".join(f"{c.value} {causes[c.value]}" for c in pcstate.FailureCause))
    recovered = sum(1 for k, s in server.results if k == "blip" and s.entered[pcstate.ConnectionState.DISCONNECTED])
    spurious = sum(1 for k, s in server.results if k == "normal" and s.entered[pcstate.ConnectionState.DISCONNECTED])
    print(f"disconnected and recovered: {recovered} of {kinds['blip']} blips; normal calls that saw a "
          f"disconnected (event loop stalls): {spurious}")

    ttc = sorted(s.time_to_connected for _, s in server.results if s.time_to_connected is not None)
    print(f"\ntime to connected ({len(ttc)} peers): " + ", ".join(
        f"p{p} {percentile(ttc, p) * 1000:.0f} ms" for p in (50, 90, 99)
    ) + f", max {ttc[-1] * 1000:.0f} ms")
    bounds = [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, float("inf")]
    low = 0.0
    for b in bounds:
        n = sum(1 for x in ttc if low < x <= b)
        label = f"<= {b * 1000:.0f} ms" if b != float("inf") else "> 1000 ms"
        print(f"  {label:>11} {n:5d} {'#' * (n * 60 // max(1, len(ttc)))}")
        low = b

    wrong = [
        (kind, str(s.failure_cause), s.time_to_connected)
        for kind, s in server.results
        if (s.failure_cause, s.time_to_connected is not None) != EXPECTED[kind]
    ]
    if g.failures - g0.failures != sum(1 for _, s in server.results if s.entered[pcstate.ConnectionState.FAILED]):
        wrong.append(("global failures", str(g.failures - g0.failures), None))
    if wrong:
        print(f"\nMISMATCH: {len(wrong)} calls did not end as their scenario says, e.g. {wrong[:5]}")
        return 1
    print("\nevery call ended as its scenario says (failure cause and connected or not)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    collector = None
    try:
        from pcstate.prometheus import Collector

        collector = Collector(registry=None)  # scraped by hand below
    except ImportError:
        pass
    print(f"pcstate {pcstate.__version__}: {args.peers} peers, liveness {DISCONNECTED_AFTER} s / {FAILED_AFTER} s")
    g0 = pcstate.global_stats()
    server = Server(args.peers, args.seed)
    started = time.monotonic()
    asyncio.run(server.run())
    code = report(server, g0, time.monotonic() - started)
    if collector is not None:
        import prometheus_client

        registry = prometheus_client.CollectorRegistry()
        registry.register(collector)
        print("\nPrometheus (pcstate.prometheus.Collector):")
        for line in prometheus_client.generate_latest(registry).decode().splitlines():
            if not line.startswith("#") and "_created" not in line:
                print("  " + line)
        collector.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
