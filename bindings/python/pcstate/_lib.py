"""Finding and loading libpcstate, checking its version, declaring every C function.

The declarations here are checked against include/pcstate.h by the test suite, so the two cannot
drift. Where the library is looked for: ``PCSTATE_LIBRARY`` alone when it is set; otherwise the
package's own ``libpcstate.so`` (what a wheel ships), a source checkout's ``target/release`` and
``target/debug``, then the system's (the SONAME, then ``ctypes.util.find_library``).
"""
import ctypes
import ctypes.util
import os
import re
from typing import Dict, List, Optional, Tuple

#: The C library version this binding is written for.
EXPECTED_VERSION = "0.1.0"

#: The library's SONAME: while 0.x every minor release may break the ABI, so it names the minor.
SONAME = "libpcstate.so.0.1"

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


_STATES = 6  # pcstate_connection_state values (checked against the table by the tests)


class PeerStats(ctypes.Structure):
    """struct pcstate_peer_stats (96 bytes)."""

    _fields_ = [
        ("created_ns", ctypes.c_uint64),
        ("first_connected_ns", ctypes.c_uint64),
        ("time_in_state_ns", ctypes.c_uint64 * _STATES),
        ("entered_state", ctypes.c_uint32 * _STATES),
        ("failure_cause", ctypes.c_uint32),
        ("failure_transport", pcstate_transport),
    ]


class GlobalStats(ctypes.Structure):
    """struct pcstate_global_stats (72 bytes)."""

    _fields_ = [
        ("live_peers", ctypes.c_uint64),
        ("peers_in_state", ctypes.c_uint64 * _STATES),
        ("events_committed", ctypes.c_uint64),
        ("failures", ctypes.c_uint64),
    ]


EVENT_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(Event))
FREE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
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
    "pcstate_peer_set_event_limit": (_u32, [pcstate_peer, _u32]),
    "pcstate_transport_set_states": (
        _u32,
        [pcstate_peer, pcstate_transport, ctypes.POINTER(TransportStates)],
    ),
    "pcstate_transport_add_with_states": (
        _u32,
        [pcstate_peer, ctypes.POINTER(TransportStates), ctypes.POINTER(pcstate_transport)],
    ),
    "pcstate_transport_set_ice_agent_state": (_u32, [pcstate_peer, pcstate_transport, _u32, _u32]),
    "pcstate_transport_set_remote_end_of_candidates": (_u32, [pcstate_peer, pcstate_transport]),
    "pcstate_now_ns": (_u64, []),
    "pcstate_peer_set_liveness": (_u32, [pcstate_peer, _u64, _u64]),
    "pcstate_transport_note_alive": (_u32, [pcstate_peer, pcstate_transport, _u64]),
    "pcstate_peer_tick": (_u32, [pcstate_peer, _u64, ctypes.POINTER(_u64)]),
    "pcstate_transport_get_reported_states": (
        _u32,
        [pcstate_peer, pcstate_transport, ctypes.POINTER(TransportStates)],
    ),
    "pcstate_event_kind_name": (_str, [_u32]),
    "pcstate_failure_cause_name": (_str, [_u32]),
    "pcstate_peer_stats": (_u32, [pcstate_peer, ctypes.POINTER(PeerStats)]),
    "pcstate_peer_history": (
        _u32,
        [pcstate_peer, ctypes.POINTER(Event), ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)],
    ),
    "pcstate_global_stats": (_u32, [ctypes.POINTER(GlobalStats)]),
}


def version_compatible(version: str) -> bool:
    """Whether a library of ``version`` has the ABI this binding needs: the same ABI series (major
    and, while 0.x, minor) and no older than ``EXPECTED_VERSION`` (which may add functions)."""
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if m is None:
        return False
    have = tuple(int(x) for x in m.groups())
    want = tuple(int(x) for x in EXPECTED_VERSION.split("."))
    series = 2 if want[0] == 0 else 1
    return have[:series] == want[:series] and have >= want


def _declare(lib: ctypes.CDLL) -> Optional[str]:
    """Checks the version first, then declares every function. None, or why ``lib`` is unusable."""
    try:
        version_fn = getattr(lib, "pcstate_version")
    except AttributeError:
        return "not libpcstate: it has no pcstate_version"
    version_fn.restype, version_fn.argtypes = FUNCTIONS["pcstate_version"]
    raw = version_fn()
    version = raw.decode(errors="replace") if isinstance(raw, bytes) else repr(raw)
    if not version_compatible(version):
        return (
            f"version {version}, but this binding needs {EXPECTED_VERSION} or a later "
            f"{EXPECTED_VERSION.rsplit('.', 1)[0]}.x; install matching versions"
        )
    missing = []
    for name, (restype, argtypes) in FUNCTIONS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        return f"version {version} but it lacks " + ", ".join(missing)
    return None


def _open(path: str) -> Tuple[Optional[ctypes.CDLL], str]:
    """The library at ``path`` (a path or a name for the dynamic loader), declared; or why not."""
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        return None, f"cannot be loaded: {e}"
    why = _declare(lib)
    if why is not None:
        return None, why
    return lib, ""


def candidates() -> List[str]:
    """The paths tried before the system's libraries, in order (``PCSTATE_LIBRARY`` alone if set)."""
    env = os.environ.get("PCSTATE_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    # A source checkout: bindings/python/pcstate -> the repository's target/.
    repo = os.path.normpath(os.path.join(here, "..", "..", ".."))
    return [os.path.join(here, "libpcstate.so")] + [
        os.path.join(repo, "target", profile, "libpcstate.so") for profile in ("release", "debug")
    ]


def load() -> ctypes.CDLL:
    """Loads the library from the first place that has a usable one (see the module docstring)
    and declares its functions; ImportError naming every place tried and why each failed."""
    tried = []
    for path in candidates():
        if not os.path.exists(path):
            tried.append(f"{path} (not found)")
            continue
        lib, why = _open(path)
        if lib is not None:
            return lib
        tried.append(f"{path} ({why})")
    env = os.environ.get("PCSTATE_LIBRARY")
    if env:
        raise ImportError(
            f"pcstate: PCSTATE_LIBRARY={env} is not a usable libpcstate: {tried[0]}. Point it at "
            "the libpcstate.so that `make build` makes (target/release/libpcstate.so), or unset it."
        )
    lib, why = _open(SONAME)
    if lib is not None:
        return lib
    tried.append(f"the system's {SONAME} ({why})")
    found = ctypes.util.find_library("pcstate")
    if not found:
        tried.append("the system's libraries (ctypes.util.find_library('pcstate'): none)")
    elif found == SONAME:
        tried.append(f"ctypes.util.find_library('pcstate'): {found}, tried above")
    else:
        lib, why = _open(found)
        if lib is not None:
            return lib
        tried.append(f"the system's {found}, from ctypes.util.find_library('pcstate') ({why})")
    raise ImportError(
        "pcstate: cannot load libpcstate. Build it with `make build` (or cargo build --release), "
        "install the package with `pip install ./bindings/python`, or set PCSTATE_LIBRARY to its "
        "path. Tried:\n  " + "\n  ".join(tried)
    )


def library_path(lib: Optional[ctypes.CDLL]) -> str:
    """The path (or name) ``lib`` was loaded from."""
    return getattr(lib, "_name", "?")
