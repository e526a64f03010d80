"""What a peer reports: Event (kinds named by the library), Snapshot and TransportStates."""
from typing import Any, Dict, NamedTuple, Tuple

from . import _bindings as B
from ._lib import C as _c
from ._lib import library_path
from ._states import (
    ConnectionState,
    DtlsTransportState,
    IceConnectionState,
    IceGathererState,
    IceGatheringState,
    IceTransportState,
)

_K = B.EVENT_KIND

#: C event kind -> the enum of its old and new values (None: not a state change).
_KIND_ENUMS: Dict[int, Any] = {
    _K["ICE_CONNECTION_STATE"]: IceConnectionState,
    _K["CONNECTION_STATE"]: ConnectionState,
    _K["ICE_GATHERING_STATE"]: IceGatheringState,
    _K["OVERFLOW"]: None,
}


def kinds(c: Any) -> Dict[int, Tuple[str, Any]]:
    """C event kind -> (its DOM name as the library spells it, the enum of old and new)."""
    out = {}
    for kind, enum_cls in _KIND_ENUMS.items():
        name = c.pcstate_event_kind_name(kind)
        if not name:
            raise ImportError(
                f"pcstate: the library {library_path(c)} has no name for event kind {kind}: "
                "mismatched versions"
            )
        out[kind] = (name.decode(), enum_cls)
    return out


KINDS = kinds(_c)


def document(cls: type, **docs: str) -> None:
    """Sets the docstring of each NamedTuple field (class-body strings do not reach them)."""
    for field, doc in docs.items():
        getattr(cls, field).__doc__ = doc


class Event(NamedTuple):
    """A change of one aggregate state, or an ``"overflow"``: events were dropped because the
    peer's event limit was reached (see :meth:`PeerConnection.set_event_limit`)."""

    kind: str
    old: Any
    new: Any
    seq: int
    transport: int
    time_ns: int
    dropped: int = 0

    @classmethod
    def _from_c(cls, e: B.Event) -> "Event":
        known = KINDS.get(e.kind)
        if known is None:  # a kind newer than this binding: raw numbers
            return cls("unknown", e.old_state, e.new_state, e.seq, e.transport, e.time_ns)
        kind, enum_cls = known
        if enum_cls is None:  # overflow: old_state counts the dropped events
            return cls(kind, None, None, e.seq, e.transport, e.time_ns, e.old_state)
        return cls(
            kind,
            enum_cls._from_c(e.old_state),
            enum_cls._from_c(e.new_state),
            e.seq,
            e.transport,
            e.time_ns,
        )


document(
    Event,
    kind='``"iceconnectionstatechange"``, ``"connectionstatechange"``, '
    '``"icegatheringstatechange"``, or ``"overflow"`` (``"unknown"`` for a kind newer than this '
    "binding).",
    old="The previous value: a member of that kind's enum (:class:`IceConnectionState`, ...); "
    "None for an overflow.",
    new="The new value: a member of that kind's enum; None for an overflow.",
    seq="1, 2, 3, ... per peer, across all kinds, without gaps; for an overflow, the seq of the "
    "newest dropped event.",
    transport="The transport whose add/remove/set caused it; 0 for close.",
    time_ns="CLOCK_MONOTONIC, in nanoseconds, when the change was committed.",
    dropped="For an overflow: how many events were dropped (saturating); resynchronise from "
    ":meth:`PeerConnection.snapshot`. 0 otherwise.",
)


class Snapshot(NamedTuple):
    """One consistent reading of a peer."""

    connection_state: ConnectionState
    ice_connection_state: IceConnectionState
    ice_gathering_state: IceGatheringState
    transport_count: int
    last_seq: int

    @classmethod
    def _from_c(cls, s: B.Snapshot) -> "Snapshot":
        return cls(
            ConnectionState._from_c(s.connection_state),
            IceConnectionState._from_c(s.ice_connection_state),
            IceGatheringState._from_c(s.ice_gathering_state),
            s.transport_count,
            s.last_seq,
        )


document(
    Snapshot,
    connection_state="The peer's ``connectionState``.",
    ice_connection_state="The peer's ``iceConnectionState``.",
    ice_gathering_state="The peer's ``iceGatheringState``.",
    transport_count="How many transports the peer has.",
    last_seq="The seq of the newest event committed (0 if none).",
)


class TransportStates(NamedTuple):
    """One transport's three states (:meth:`Transport.states`, :meth:`Transport.reported_states`)."""

    ice: IceTransportState
    dtls: DtlsTransportState
    gatherer: IceGathererState

    @classmethod
    def _from_c(cls, s: B.TransportStates) -> "TransportStates":
        return cls(
            IceTransportState._from_c(s.ice_state),
            DtlsTransportState._from_c(s.dtls_state),
            IceGathererState._from_c(s.gatherer_state),
        )


document(
    TransportStates,
    ice="The ICE transport state: an :class:`IceTransportState`.",
    dtls="The DTLS transport state: a :class:`DtlsTransportState`.",
    gatherer="The candidate gatherer state: an :class:`IceGathererState`.",
)
