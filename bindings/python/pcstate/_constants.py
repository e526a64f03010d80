"""The C ABI's numbers (results, flags, limits, event kinds, enums) in one table, checked against
include/pcstate.h by the tests; the rest of the binding takes every number from here."""
from typing import Dict

#: C enum name -> {member name without its prefix: value}; the C constant is ``c_name(enum, name)``.
ENUMS: Dict[str, Dict[str, int]] = {
    "pcstate_result": {
        "OK": 0,
        "NULL_ARGUMENT": 1,
        "INVALID_HANDLE": 2,
        "UNKNOWN_TRANSPORT": 3,
        "INVALID_STATE": 4,
        "INVALID_ARGUMENT": 5,
        "CLOSED": 6,
        "EMPTY": 7,
        "PANIC": 8,
        "LIMIT": 9,
        "WOULD_DEADLOCK": 10,
        "NO_MEMORY": 11,
    },
    "pcstate_profile": {"W3C": 0, "W3C_LITERAL": 1, "LEGACY_2016": 2},
    "pcstate_connection_state": {
        "NEW": 0,
        "CONNECTING": 1,
        "CONNECTED": 2,
        "DISCONNECTED": 3,
        "FAILED": 4,
        "CLOSED": 5,
    },
    "pcstate_ice_connection_state": {
        "NEW": 0,
        "CHECKING": 1,
        "CONNECTED": 2,
        "COMPLETED": 3,
        "DISCONNECTED": 4,
        "FAILED": 5,
        "CLOSED": 6,
    },
    "pcstate_ice_transport_state": {
        "NEW": 0,
        "CHECKING": 1,
        "CONNECTED": 2,
        "COMPLETED": 3,
        "DISCONNECTED": 4,
        "FAILED": 5,
        "CLOSED": 6,
    },
    "pcstate_dtls_transport_state": {
        "NEW": 0,
        "CONNECTING": 1,
        "CONNECTED": 2,
        "CLOSED": 3,
        "FAILED": 4,
    },
    "pcstate_ice_gathering_state": {"NEW": 0, "GATHERING": 1, "COMPLETE": 2},
    "pcstate_ice_gatherer_state": {"NEW": 0, "GATHERING": 1, "COMPLETE": 2},
    "pcstate_event_kind": {
        "ICE_CONNECTION_STATE": 1,
        "CONNECTION_STATE": 2,
        "ICE_GATHERING_STATE": 3,
        "OVERFLOW": 4,
    },
    "pcstate_failure_cause": {"NONE": 0, "ICE": 1, "DTLS": 2, "LIVENESS": 3},
}

#: ``PCSTATE_FLAG_<name>`` -> value: the flags of ``pcstate_peer_new``.
FLAGS: Dict[str, int] = {"CLOSE_EVENTS": 1, "EVENT_QUEUE": 2, "IGNORE_AFTER_CLOSE": 4, "HISTORY": 8}

#: ``PCSTATE_ICE_AGENT_<name>`` -> value: the agents of ``pcstate_transport_set_ice_agent_state``.
ICE_AGENTS: Dict[str, int] = {"LIBNICE": 1, "LIBJUICE": 2}

#: ``PCSTATE_<name>`` -> value: the bounds of ``pcstate_peer_set_event_limit`` and the length of
#: ``pcstate_peer_history``.
LIMITS: Dict[str, int] = {"DEFAULT_EVENT_LIMIT": 1024, "MAX_EVENT_LIMIT": 1 << 20, "HISTORY_LEN": 32}

#: ``PCSTATE_STATE_UNCHANGED``: a field of ``pcstate_transport_set_states`` that keeps its state.
STATE_UNCHANGED = 0xFFFFFFFF

#: How many ``pcstate_connection_state`` values there are: the length of the per-state arrays of
#: ``struct pcstate_peer_stats`` and ``struct pcstate_global_stats``.
CONNECTION_STATES = len(ENUMS["pcstate_connection_state"])

RESULT = ENUMS["pcstate_result"]
EVENT_KIND = ENUMS["pcstate_event_kind"]


def c_name(enum: str, member: str) -> str:
    """The C constant of a member: ``c_name("pcstate_result", "OK")`` is ``PCSTATE_RESULT_OK``."""
    return f"{enum.upper()}_{member}"
