"""The W3C aggregate rules, written independently of pcstate from the enum texts of webrtc-pc
(https://w3c.github.io/webrtc-pc/, RTCIceConnectionState, RTCPeerConnectionState and
RTCIceGatheringState; the Recommendation text of 2021-2023 that the W3C profile implements, see
docs/states.md). Each rule is the enum row it comes from, checked in the enum's order."""
from typing import Sequence, Tuple

# One transport: (ICE transport state, DTLS transport state, gatherer state), W3C names.
Transport = Tuple[str, str, str]


def ice_connection_state(transports: Sequence[Transport], closed: bool) -> str:
    ice = [t[0] for t in transports]
    if closed:  # "closed": the RTCPeerConnection's [[IsClosed]] slot is true.
        return "closed"
    if "failed" in ice:  # "failed": any RTCIceTransport is failed.
        return "failed"
    if "disconnected" in ice:  # "disconnected": none of the above, any RTCIceTransport disconnected.
        return "disconnected"
    if all(s in ("new", "closed") for s in ice):  # "new": all new or closed, or no transports.
        return "new"
    if any(s in ("new", "checking") for s in ice):  # "checking": any new or checking.
        return "checking"
    if all(s in ("completed", "closed") for s in ice):  # "completed": all completed or closed.
        return "completed"
    return "connected"  # "connected": all connected, completed or closed.


def connection_state(transports: Sequence[Transport], closed: bool) -> str:
    ice = [t[0] for t in transports]
    dtls = [t[1] for t in transports]
    if closed:  # "closed": [[IsClosed]] is true.
        return "closed"
    if "failed" in ice or "failed" in dtls:  # "failed": any ICE or DTLS transport failed.
        return "failed"
    if "disconnected" in ice:  # "disconnected": any RTCIceTransport disconnected.
        return "disconnected"
    if all(s in ("new", "closed") for s in ice) and all(s in ("new", "closed") for s in dtls):
        return "new"  # "new": all ICE and DTLS transports new or closed, or no transports.
    if any(s in ("new", "checking") for s in ice) or any(s in ("new", "connecting") for s in dtls):
        return "connecting"  # "connecting": any ICE new/checking or any DTLS new/connecting.
    return "connected"  # "connected": all ICE connected/completed/closed, DTLS connected/closed.


def gathering_state(transports: Sequence[Transport]) -> str:
    g = [t[2] for t in transports]
    if "gathering" in g:  # "gathering": any RTCIceTransport is gathering.
        return "gathering"
    if g and all(s == "complete" for s in g):  # "complete": at least one, all complete.
        return "complete"
    return "new"  # "new": any new and none gathering, or no transports.
