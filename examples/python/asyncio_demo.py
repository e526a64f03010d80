"""pcstate with asyncio: a task consumes `pc.events()` (driven by the event fd) while another
drives the transports, as an ICE/DTLS stack running on the same event loop would."""
import asyncio

import pcstate


async def drive(pc: pcstate.PeerConnection) -> None:
    t = pc.add_transport()
    for attr, value in [
        ("gatherer_state", "gathering"),
        ("ice_state", "checking"),
        ("gatherer_state", "complete"),
        ("ice_state", "connected"),
        ("dtls_state", "connecting"),
        ("dtls_state", "connected"),
        ("ice_state", "disconnected"),
        ("ice_state", "connected"),
    ]:
        await asyncio.sleep(0.005)
        print(f"stack: transport {t.id} {attr.split('_')[0]} {value}")
        setattr(t, attr, value)
    await asyncio.sleep(0.005)
    print("stack: close")
    pc.close()


async def main() -> None:
    print(f"pcstate {pcstate.__version__} Python asyncio demo: an event queue read with async for")
    with pcstate.PeerConnection(event_queue=True, close_events=True) as pc:
        consumer = asyncio.ensure_future(consume(pc))
        await drive(pc)
        count = await consumer
        print(f"Python asyncio demo finished: the consumer saw {count} events; the iterator ended after close")


async def consume(pc: pcstate.PeerConnection) -> int:
    n = 0
    async for e in pc.events():
        print(f"  event #{e.seq} {e.kind} {e.old} -> {e.new} (transport {e.transport})")
        n += 1
    return n


if __name__ == "__main__":
    asyncio.run(main())
