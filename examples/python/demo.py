"""pcstate demo in Python: the same call as examples/c/demo.c, printing each event as it arrives."""
import pcstate
from pcstate import DtlsTransportState as Dtls, IceGathererState as Gatherer, IceTransportState as Ice


def main() -> None:
    print(f"pcstate {pcstate.__version__} Python demo: W3C profile, close events on")
    events = 0
    with pcstate.PeerConnection(profile="w3c", close_events=True) as pc:

        @pc.on_event
        def show(e: pcstate.Event) -> None:
            nonlocal events
            events += 1
            print(f"  #{e.seq} {e.kind} {e.old} -> {e.new} (transport {e.transport})")

        audio, video = pc.add_transport(), pc.add_transport()
        print(f"added transports {audio.id} (audio) and {video.id} (video)")

        def step(t: pcstate.Transport, what: str, value: object) -> None:
            print(f"transport {t.id}: {what.split('_')[0]} {value}")
            setattr(t, what, value)

        for t in (audio, video):
            step(t, "gatherer_state", Gatherer.GATHERING)
        for t in (audio, video):
            step(t, "ice_state", Ice.CHECKING)
        for t in (audio, video):
            step(t, "gatherer_state", Gatherer.COMPLETE)
        for t in (audio, video):
            step(t, "ice_state", Ice.CONNECTED)
        for state in (Dtls.CONNECTING, Dtls.CONNECTED):
            for t in (audio, video):
                step(t, "dtls_state", state)
        for t in (audio, video):
            step(t, "ice_state", Ice.COMPLETED)

        print("-- the network blips on the video path, then recovers")
        step(video, "ice_state", "disconnected")
        step(video, "ice_state", "connected")

        print("-- ICE restart on video; the new DTLS handshake fails")
        step(video, "ice_state", "checking")
        step(video, "ice_state", "connected")
        step(video, "dtls_state", "failed")

        s = pc.snapshot()
        print(
            f"snapshot: connection {s.connection_state}, ice {s.ice_connection_state}, "
            f"gathering {s.ice_gathering_state}, {s.transport_count} transports, last seq {s.last_seq}"
        )
        print("-- close")
        pc.close()
    print(f"Python demo finished: {events} events")


if __name__ == "__main__":
    main()
