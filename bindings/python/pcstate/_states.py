"""The enums: W3C names carrying their C numbers, checked against the library's names."""
import enum
from typing import Any, Dict, Type, TypeVar

from ._bindings import ENUMS, ICE_AGENTS, LIVENESS_PRESETS, RESULT
from ._errors import InvalidStateError, PcstateError, argument_error
from ._lib import C as _c
from ._lib import library_path

_T = TypeVar("_T")


class _CEnum(str, enum.Enum):
    """A str-valued enum of W3C names; each member carries its C number, taken from the table."""

    @classmethod
    def _from_c(cls: Type[_T], value: int) -> _T:
        return _BY_C[cls][value]  # type: ignore[no-any-return]

    def _to_c(self) -> int:
        return self._c  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def _error(cls, value: Any) -> PcstateError:
        message = f"{value!r} is not a {cls.__name__} (one of {_names(cls)})"
        return InvalidStateError(RESULT["INVALID_STATE"], message)

    @classmethod
    def _coerce(cls, value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            member = cls._value2member_map_.get(value)
            if member is not None:
                return member
        raise cls._error(value)

    def __str__(self) -> str:
        return str(self.value)


def _names(cls: Type[_CEnum]) -> str:
    return ", ".join(repr(m.value) for m in cls)


class ConnectionState(_CEnum):
    """RTCPeerConnectionState: the peer's ``connectionState``."""

    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class IceConnectionState(_CEnum):
    """RTCIceConnectionState: the peer's ``iceConnectionState``."""

    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class IceTransportState(_CEnum):
    """RTCIceTransportState: one transport's ICE state, as the application reports it."""

    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class DtlsTransportState(_CEnum):
    """RTCDtlsTransportState: one transport's DTLS state, as the application reports it."""

    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"
    FAILED = "failed"


class IceGatheringState(_CEnum):
    """RTCIceGatheringState: the peer's ``iceGatheringState``."""

    NEW = "new"
    GATHERING = "gathering"
    COMPLETE = "complete"


class IceGathererState(_CEnum):
    """RTCIceGathererState: one transport's candidate gathering state, as the application reports it."""

    NEW = "new"
    GATHERING = "gathering"
    COMPLETE = "complete"


class _ArgumentEnum(_CEnum):
    """A :class:`_CEnum` that C takes as an argument, not a state: a bad value is an
    :class:`InvalidArgumentError`, as C's INVALID_ARGUMENT."""

    @classmethod
    def _error(cls, value: Any) -> PcstateError:
        return argument_error(f"{value!r} is not a {cls.__name__} (one of {_names(cls)})")


class Profile(_ArgumentEnum):
    """Which rules a peer follows: ``"w3c"`` (the default: the W3C rules as intended, what
    libwebrtc computes), ``"w3c-literal"`` (the 2025 Recommendation read literally) or
    ``"legacy-2016"`` (the 2016 draft's table, still shown by MDN)."""

    W3C = "w3c"
    W3C_LITERAL = "w3c-literal"
    LEGACY_2016 = "legacy-2016"


class IceAgent(_ArgumentEnum):
    """An ICE agent whose own state numbers :meth:`Transport.set_agent_state` takes.

    ``"libnice"``: ``NiceComponentState`` of the transport's component (DISCONNECTED 0,
    GATHERING 1, CONNECTING 2, CONNECTED 3, READY 4, FAILED 5). ``"libjuice"``: ``juice_state_t``
    (DISCONNECTED 0, GATHERING 1, CONNECTING 2, CONNECTED 3, COMPLETED 4, FAILED 5)."""

    LIBNICE = "libnice"
    LIBJUICE = "libjuice"


class LivenessPreset(_ArgumentEnum):
    """A browser's liveness timings for :meth:`PeerConnection.set_liveness_preset`: the
    thresholds that reproduce that browser's recorded disconnected and failed times for a path
    that goes silent during media (silence counted from the last packet noted).

    ``"chromium"``: disconnected after 6.5 s, failed after 17.6 s (Chromium 156 recorded
    disconnected 6.1-7.2 s and connectionState failed 17.5-17.8 s after the loss; libwebrtc's 5 s
    unwritable and 15 s inactive timeouts). ``"firefox"``: disconnected after 7 s, failed after
    27.5 s (Firefox ESR 153 recorded 5.4-8.3 s and 26.9-29.3 s; nICEr's consent checks every 4-6 s
    and RFC 7675's 30 s consent expiry). ``"off"``: liveness off. Sources: docs/feeding.md
    ("Presets") and docs/browser-parity.md."""

    OFF = "off"
    CHROMIUM = "chromium"
    FIREFOX = "firefox"


class FailureCause(_CEnum):
    """Why a peer's ``connectionState`` last became failed (:attr:`PeerStats.failure_cause`):
    ``"none"`` (it never failed), ``"ice"`` (an ICE transport failed, as reported or as derived
    from its ICE agent), ``"dtls"`` (a DTLS transport failed) or ``"liveness"`` (a liveness
    deadline expired, see :meth:`PeerConnection.set_liveness`). When several inputs failed, the
    one whose failure came first."""

    NONE = "none"
    ICE = "ice"
    DTLS = "dtls"
    LIVENESS = "liveness"


#: Each Python enum and the C enum whose numbers its members carry.
ENUM_OF: Dict[Type[_CEnum], str] = {
    Profile: "pcstate_profile",
    ConnectionState: "pcstate_connection_state",
    IceConnectionState: "pcstate_ice_connection_state",
    IceTransportState: "pcstate_ice_transport_state",
    DtlsTransportState: "pcstate_dtls_transport_state",
    IceGatheringState: "pcstate_ice_gathering_state",
    IceGathererState: "pcstate_ice_gatherer_state",
    FailureCause: "pcstate_failure_cause",
}
_BY_C: Dict[type, Dict[int, Any]] = {}


def _number(cls: Type[_CEnum], table: Dict[str, int]) -> None:
    """Gives each member of ``cls`` its C number from ``table`` (read on every set)."""
    for m in cls:
        setattr(m, "_c", table[m.name])
    _BY_C[cls] = {table[m.name]: m for m in cls}


for _cls, _enum in ENUM_OF.items():
    _number(_cls, ENUMS[_enum])
_number(IceAgent, ICE_AGENTS)  # agents and presets are #defines, not C enums
_number(LivenessPreset, LIVENESS_PRESETS)


def c_of(cls: Any, value: Any) -> int:
    """The C number of a member of ``cls`` or of its string value (fast paths first)."""
    if type(value) is cls:
        return value._c  # type: ignore[no-any-return]
    if type(value) is str:
        m = cls._value2member_map_.get(value)
        if m is not None:
            return m._c  # type: ignore[no-any-return]
    return cls._coerce(value)._c  # type: ignore[no-any-return]


_NAME_FUNCTION_OF: Dict[Type[_CEnum], str] = {
    ConnectionState: "pcstate_connection_state_name",
    IceConnectionState: "pcstate_ice_connection_state_name",
    IceTransportState: "pcstate_ice_transport_state_name",
    DtlsTransportState: "pcstate_dtls_transport_state_name",
    IceGatheringState: "pcstate_ice_gathering_state_name",
    IceGathererState: "pcstate_ice_gatherer_state_name",
    FailureCause: "pcstate_failure_cause_name",
}


def check_library(c: Any) -> None:
    """ImportError unless the library names every state as the binding does, at the same numbers,
    and no more (a run-time check: it holds under ``python -O`` too)."""
    for cls, fn_name in _NAME_FUNCTION_OF.items():
        fn = getattr(c, fn_name)
        numbers = [m._to_c() for m in cls]
        have = [fn(n) for n in numbers] + [fn(max(numbers) + 1)]
        want = [m.value.encode() for m in cls] + [None]
        if have != want:
            raise ImportError(
                f"pcstate: the library {library_path(c)} names {cls.__name__} {have[:-1]!r} "
                f"(then {have[-1]!r}) where the binding has {want[:-1]!r}: mismatched versions"
            )


check_library(_c)
