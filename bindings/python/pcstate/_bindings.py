"""The C ABI as ctypes sees it: types, structures, callbacks, function signatures, constants.

This module is the binding's only copy of the ABI. The tests check it against include/pcstate.h,
the C compiler's struct layouts and, when present, include/pcstate.abi.json (one test,
tests/test_abi_manifest.py); the rest of the package takes every number and signature from here.
"""
import ctypes
from typing import Dict, List, Tuple, Type

# ---- typedefs -----------------------------------------------------------------------------------

pcstate_peer = ctypes.c_uint64
pcstate_transport = ctypes.c_uint32
pcstate_result = ctypes.c_uint32

# ---- constants ----------------------------------------------------------------------------------

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

#: ``PCSTATE_LIVENESS_PRESET_<name>`` -> value: the presets of ``pcstate_peer_set_liveness_preset``.
LIVENESS_PRESETS: Dict[str, int] = {"OFF": 0, "CHROMIUM": 1, "FIREFOX": 2}

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


def constants() -> Dict[str, int]:
    """Every integer constant of the header by its C name (enum members and ``#define``s), but
    the version's (``_lib.EXPECTED_VERSION``)."""
    out = {c_name(enum, name): value for enum, members in ENUMS.items() for name, value in members.items()}
    out.update({f"PCSTATE_FLAG_{k}": v for k, v in FLAGS.items()})
    out.update({f"PCSTATE_ICE_AGENT_{k}": v for k, v in ICE_AGENTS.items()})
    out.update({f"PCSTATE_LIVENESS_PRESET_{k}": v for k, v in LIVENESS_PRESETS.items()})
    out.update({f"PCSTATE_{k}": v for k, v in LIMITS.items()})
    out["PCSTATE_STATE_UNCHANGED"] = STATE_UNCHANGED
    return out


# ---- structures ---------------------------------------------------------------------------------


class Event(ctypes.Structure):
    """struct pcstate_event (40 bytes)."""

    _fields_ = [
        ("peer", pcstate_peer),
        ("seq", ctypes.c_uint64),
        ("time_ns", ctypes.c_uint64),
        ("kind", ctypes.c_uint32),
        ("old_state", ctypes.c_uint32),
        ("new_state", ctypes.c_uint32),
        ("transport", pcstate_transport),
    ]


class Snapshot(ctypes.Structure):
    """struct pcstate_snapshot (24 bytes)."""

    _fields_ = [
        ("last_seq", ctypes.c_uint64),
        ("connection_state", ctypes.c_uint32),
        ("ice_connection_state", ctypes.c_uint32),
        ("ice_gathering_state", ctypes.c_uint32),
        ("transport_count", ctypes.c_uint32),
    ]


class TransportStates(ctypes.Structure):
    """struct pcstate_transport_states (12 bytes)."""

    _fields_ = [
        ("ice_state", ctypes.c_uint32),
        ("dtls_state", ctypes.c_uint32),
        ("gatherer_state", ctypes.c_uint32),
    ]


class PeerStats(ctypes.Structure):
    """struct pcstate_peer_stats (96 bytes)."""

    _fields_ = [
        ("created_ns", ctypes.c_uint64),
        ("first_connected_ns", ctypes.c_uint64),
        ("time_in_state_ns", ctypes.c_uint64 * CONNECTION_STATES),
        ("entered_state", ctypes.c_uint32 * CONNECTION_STATES),
        ("failure_cause", ctypes.c_uint32),
        ("failure_transport", pcstate_transport),
    ]


class GlobalStats(ctypes.Structure):
    """struct pcstate_global_stats (72 bytes)."""

    _fields_ = [
        ("live_peers", ctypes.c_uint64),
        ("peers_in_state", ctypes.c_uint64 * CONNECTION_STATES),
        ("events_committed", ctypes.c_uint64),
        ("failures", ctypes.c_uint64),
    ]


#: C struct name -> its ctypes structure.
STRUCTS: Dict[str, Type[ctypes.Structure]] = {
    "pcstate_event": Event,
    "pcstate_snapshot": Snapshot,
    "pcstate_transport_states": TransportStates,
    "pcstate_peer_stats": PeerStats,
    "pcstate_global_stats": GlobalStats,
}

# ---- callbacks ----------------------------------------------------------------------------------

#: ``pcstate_event_cb``: ``void (*)(void *user_data, const struct pcstate_event *event)``.
EVENT_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(Event))
#: ``pcstate_free_cb``: ``void (*)(void *user_data)``.
FREE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

# ---- functions ----------------------------------------------------------------------------------

_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_str = ctypes.c_char_p
_R = pcstate_result
_P = pcstate_peer
_T = pcstate_transport
_ptr = ctypes.POINTER

#: name -> (restype, argtypes), for every function in include/pcstate.h.
FUNCTIONS: Dict[str, Tuple[object, List[object]]] = {
    "pcstate_version": (_str, []),
    "pcstate_result_message": (_str, [_u32]),
    "pcstate_connection_state_name": (_str, [_u32]),
    "pcstate_ice_connection_state_name": (_str, [_u32]),
    "pcstate_ice_transport_state_name": (_str, [_u32]),
    "pcstate_dtls_transport_state_name": (_str, [_u32]),
    "pcstate_ice_gathering_state_name": (_str, [_u32]),
    "pcstate_ice_gatherer_state_name": (_str, [_u32]),
    "pcstate_peer_new": (_R, [_u32, _u32, _ptr(_P)]),
    "pcstate_peer_close": (_R, [_P]),
    "pcstate_peer_free": (_R, [_P]),
    "pcstate_transport_add": (_R, [_P, _ptr(_T)]),
    "pcstate_transport_remove": (_R, [_P, _T]),
    "pcstate_transport_set_ice_state": (_R, [_P, _T, _u32]),
    "pcstate_transport_set_dtls_state": (_R, [_P, _T, _u32]),
    "pcstate_transport_set_gatherer_state": (_R, [_P, _T, _u32]),
    "pcstate_transport_get_states": (_R, [_P, _T, _ptr(TransportStates)]),
    "pcstate_peer_connection_state": (_R, [_P, _ptr(_u32)]),
    "pcstate_peer_ice_connection_state": (_R, [_P, _ptr(_u32)]),
    "pcstate_peer_ice_gathering_state": (_R, [_P, _ptr(_u32)]),
    "pcstate_peer_snapshot": (_R, [_P, _ptr(Snapshot)]),
    "pcstate_peer_set_callback": (_R, [_P, EVENT_CB, ctypes.c_void_p, FREE_CB]),
    "pcstate_peer_poll_event": (_R, [_P, _ptr(Event)]),
    "pcstate_peer_event_fd": (_R, [_P, _ptr(ctypes.c_int)]),
    "pcstate_peer_set_event_limit": (_R, [_P, _u32]),
    "pcstate_transport_set_states": (_R, [_P, _T, _ptr(TransportStates)]),
    "pcstate_transport_add_with_states": (_R, [_P, _ptr(TransportStates), _ptr(_T)]),
    "pcstate_transport_set_ice_agent_state": (_R, [_P, _T, _u32, _u32]),
    "pcstate_transport_set_remote_end_of_candidates": (_R, [_P, _T]),
    "pcstate_transport_restart_ice": (_R, [_P, _T]),
    "pcstate_transport_note_remote_candidate": (_R, [_P, _T]),
    "pcstate_now_ns": (_u64, []),
    "pcstate_peer_set_liveness": (_R, [_P, _u64, _u64]),
    "pcstate_peer_set_liveness_preset": (_R, [_P, _u32]),
    "pcstate_transport_note_alive": (_R, [_P, _T, _u64]),
    "pcstate_peer_tick": (_R, [_P, _u64, _ptr(_u64)]),
    "pcstate_transport_get_reported_states": (_R, [_P, _T, _ptr(TransportStates)]),
    "pcstate_event_kind_name": (_str, [_u32]),
    "pcstate_failure_cause_name": (_str, [_u32]),
    "pcstate_peer_stats": (_R, [_P, _ptr(PeerStats)]),
    "pcstate_peer_free_with_stats": (_R, [_P, _ptr(PeerStats)]),
    "pcstate_peer_history": (_R, [_P, _ptr(Event), ctypes.c_size_t, _ptr(ctypes.c_size_t)]),
    "pcstate_global_stats": (_R, [_ptr(GlobalStats)]),
}
