"""pcstate: the RTCPeerConnection state machine exactly as browsers define it.

Report each transport's ICE, DTLS and gathering state (directly, or as an ICE agent's own states
with :meth:`Transport.set_agent_state`); read ``connection_state``, ``ice_connection_state`` and
``ice_gathering_state``; get an :class:`Event` for every change. Liveness
(:meth:`PeerConnection.set_liveness`, or a browser's measured timings with
:meth:`PeerConnection.set_liveness_preset`) gives browser-like disconnected/failed on the caller's
clock.
:meth:`PeerConnection.stats`, :func:`global_stats` and ``pcstate.prometheus`` say why calls failed
and how long they took to connect.

Threads: every method may be called from any thread. Events of one peer arrive in order, one at a
time, on whichever thread is delivering them: the thread whose call caused them, or, when several
threads update one peer at once, the one already delivering. A handler may call anything on any
peer, including ``close()`` and ``free()`` of its own.

Exceptions raised by a handler: ``KeyboardInterrupt`` is delivered to the main thread, as CPython
delivers SIGINT (``_thread.interrupt_main()``), and raised there at its next bytecode boundary.
Every other exception, ``SystemExit`` included, is reported through ``sys.unraisablehook``. Either
way the event counts as delivered and the peer keeps working.

Interpreter exit: an ``atexit`` hook stops every handler before finalization. It clears each
registration the C library holds, waiting for a handler running on another thread to return.
From then on no handler runs and ``on_event`` registers nothing (it is inert). Peers otherwise keep
working, so daemon threads may go on using their peers until the interpreter ends them.
"""
# The package's modules, one concern each: _bindings (the C ABI as ctypes), _lib (loading the
# library), _errors, _states (enums), _events, _clock, _callbacks (handlers), _observe
# (observability), _peer (PeerConnection and Transport), _aio (asyncio), _managed (lifecycle),
# prometheus (the optional collector). This file only re-exports the public API.
from ._errors import (
    ClosedError,
    InvalidArgumentError,
    InvalidHandleError,
    InvalidStateError,
    LimitError,
    NoMemoryError,
    NullArgumentError,
    PanicError,
    PcstateError,
    UnknownTransportError,
    WouldDeadlockError,
)
from ._lib import C as _c
from ._lib import EXPECTED_VERSION as __version__
from ._states import (
    ConnectionState,
    DtlsTransportState,
    FailureCause,
    IceAgent,
    IceConnectionState,
    IceGathererState,
    IceGatheringState,
    IceTransportState,
    LivenessPreset,
    Profile,
)
from ._events import Event, Snapshot, TransportStates
from ._clock import now_ns
from ._observe import (
    GlobalStats,
    Observer,
    PeerStats,
    add_observer,
    global_stats,
    observe_peers,
    remove_observer,
)
from ._peer import PeerConnection, Transport

__all__ = [
    "__version__",
    "PeerConnection",
    "Transport",
    "Event",
    "Snapshot",
    "TransportStates",
    "now_ns",
    "PeerStats",
    "GlobalStats",
    "global_stats",
    "FailureCause",
    "Observer",
    "add_observer",
    "remove_observer",
    "observe_peers",
    "Profile",
    "IceAgent",
    "LivenessPreset",
    "ConnectionState",
    "IceConnectionState",
    "IceGatheringState",
    "IceTransportState",
    "DtlsTransportState",
    "IceGathererState",
    "PcstateError",
    "NullArgumentError",
    "InvalidHandleError",
    "UnknownTransportError",
    "InvalidStateError",
    "InvalidArgumentError",
    "ClosedError",
    "PanicError",
    "LimitError",
    "WouldDeadlockError",
    "NoMemoryError",
]

# The public items are pcstate's (as before the split): reprs, pickles of values and the API
# reference name them pcstate.X, whichever module defines them.
for _name in __all__[1:]:
    globals()[_name].__module__ = __name__
del _name
