"""Loading libpcstate and declaring every C function (argtypes and restype).

The declarations here are checked against include/pcstate.h by the test suite, so the two cannot
drift.
"""
import ctypes
import ctypes.util
import os
from typing import Dict, List, Optional, Tuple

#: The C library version this binding is written for.
EXPECTED_VERSION = "0.1.0"

pcstate_peer = ctypes.c_uint64
pcstate_transport = ctypes.c_uint32


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
    """struct pcstate_snapshot."""

    _fields_ = [
        ("last_seq", ctypes.c_uint64),
        ("connection_state", ctypes.c_uint32),
        ("ice_connection_state", ctypes.c_uint32),
        ("ice_gathering_state", ctypes.c_uint32),
        ("transport_count", ctypes.c_uint32),
    ]


class TransportStates(ctypes.Structure):
    """struct pcstate_transport_states."""

    _fields_ = [
        ("ice_state", ctypes.c_uint32),
        ("dtls_state", ctypes.c_uint32),
        ("gatherer_state", ctypes.c_uint32),
    ]


EVENT_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(Event))
FREE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

_u32 = ctypes.c_uint32
_str = ctypes.c_char_p

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
    "pcstate_peer_new": (_u32, [_u32, _u32, ctypes.POINTER(pcstate_peer)]),
    "pcstate_peer_close": (_u32, [pcstate_peer]),
    "pcstate_peer_free": (_u32, [pcstate_peer]),
    "pcstate_transport_add": (_u32, [pcstate_peer, ctypes.POINTER(pcstate_transport)]),
    "pcstate_transport_remove": (_u32, [pcstate_peer, pcstate_transport]),
    "pcstate_transport_set_ice_state": (_u32, [pcstate_peer, pcstate_transport, _u32]),
    "pcstate_transport_set_dtls_state": (_u32, [pcstate_peer, pcstate_transport, _u32]),
    "pcstate_transport_set_gatherer_state": (_u32, [pcstate_peer, pcstate_transport, _u32]),
    "pcstate_transport_get_states": (
        _u32,
        [pcstate_peer, pcstate_transport, ctypes.POINTER(TransportStates)],
    ),
    "pcstate_peer_connection_state": (_u32, [pcstate_peer, ctypes.POINTER(_u32)]),
    "pcstate_peer_ice_connection_state": (_u32, [pcstate_peer, ctypes.POINTER(_u32)]),
    "pcstate_peer_ice_gathering_state": (_u32, [pcstate_peer, ctypes.POINTER(_u32)]),
    "pcstate_peer_snapshot": (_u32, [pcstate_peer, ctypes.POINTER(Snapshot)]),
    "pcstate_peer_set_callback": (_u32, [pcstate_peer, EVENT_CB, ctypes.c_void_p, FREE_CB]),
    "pcstate_peer_poll_event": (_u32, [pcstate_peer, ctypes.POINTER(Event)]),
    "pcstate_peer_event_fd": (_u32, [pcstate_peer, ctypes.POINTER(ctypes.c_int)]),
}


def _candidates() -> List[str]:
    """Every place the library is looked for, in order."""
    places = []
    env = os.environ.get("PCSTATE_LIBRARY")
    if env:
        places.append(env)
    here = os.path.dirname(os.path.abspath(__file__))
    places.append(os.path.join(here, "libpcstate.so"))
    # A source checkout: bindings/python/pcstate -> the repository's target/.
    repo = os.path.normpath(os.path.join(here, "..", "..", ".."))
    for profile in ("release", "debug"):
        places.append(os.path.join(repo, "target", profile, "libpcstate.so"))
    return places


def load() -> ctypes.CDLL:
    """Loads the library from the first place that has it and declares its functions."""
    tried = []
    lib = None
    for path in _candidates():
        if not os.path.exists(path):
            tried.append(f"{path} (not found)")
            continue
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            tried.append(f"{path} ({e})")
    if lib is None:
        found = ctypes.util.find_library("pcstate")
        if found:
            try:
                lib = ctypes.CDLL(found)
            except OSError as e:
                tried.append(f"system library {found} ({e})")
        else:
            tried.append("the system's libraries (ctypes.util.find_library('pcstate'): none)")
    if lib is None:
        raise ImportError(
            "pcstate: cannot load libpcstate.so. Build it with `make build` (or cargo build "
            "--release), or set PCSTATE_LIBRARY to its path. Tried:\n  " + "\n  ".join(tried)
        )
    for name, (restype, argtypes) in FUNCTIONS.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    version = lib.pcstate_version().decode()
    if version != EXPECTED_VERSION:
        raise ImportError(
            f"pcstate: the binding expects libpcstate {EXPECTED_VERSION} but loaded {version} "
            f"from {getattr(lib, '_name', '?')}; install matching versions"
        )
    return lib


def library_path(lib: Optional[ctypes.CDLL]) -> str:
    return getattr(lib, "_name", "?")
