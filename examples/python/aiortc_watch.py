"""pcstate.aiortc: two real aiortc peers on 127.0.0.1, each followed by a pcstate watcher; prints
aiortc's own states beside the watcher's events while they connect, chat and close.

Needs aiortc (pip install aiortc; `make test` installs it pinned into target/venv):

    PYTHONPATH=bindings/python target/venv/bin/python examples/python/aiortc_watch.py
"""
import asyncio

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection

import pcstate
import pcstate.aiortc

# This demo keeps every packet on loopback: aioice gathers on every interface except 127.0.0.1,
# so it is told to gather on 127.0.0.1 alone; no ICE server is configured (no STUN, no TURN).
setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])

AIORTC_STATES = {
    "connectionstatechange": "connectionState",
    "iceconnectionstatechange": "iceConnectionState",
    "icegatheringstatechange": "iceGatheringState",
}


def show(name: str, pc: RTCPeerConnection) -> pcstate.PeerConnection:
    """Watches ``pc``; prints its own state changes and the watcher's events."""
    peer = pcstate.aiortc.watch(pc, close_events=True)

    for event, attr in AIORTC_STATES.items():
        pc.on(event, lambda attr=attr: print(f"  {name} aiortc  {attr}: {getattr(pc, attr)}"))

    @peer.on_event
    def changed(e: pcstate.Event) -> None:
        attr = AIORTC_STATES[e.kind]
        print(f"  {name} pcstate {attr}: {e.old} -> {e.new} (transport {e.transport})")

    return peer


async def main() -> None:
    print(f"pcstate {pcstate.__version__} following two aiortc peers on 127.0.0.1")
    a = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    b = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    peer_a, peer_b = show("A", a), show("B", b)

    channel = a.createDataChannel("chat")
    answered = asyncio.Event()
    channel.on("open", lambda: channel.send("ping"))
    channel.on("message", lambda message: answered.set())
    b.on("datachannel", lambda ch: ch.on("message", lambda message: ch.send("pong")))

    print("A offers, B answers")
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    await asyncio.wait_for(answered.wait(), 10)
    print(f"data channel: ping answered; A {peer_a.connection_state}, B {peer_b.connection_state}")

    print("A closes (B closes itself when A's DTLS close_notify arrives)")
    await a.close()
    while b.connectionState != "closed":
        await asyncio.sleep(0.01)
    print(f"aiortc watcher demo finished: A {peer_a.connection_state}, B {peer_b.connection_state}")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), 30))
