"""Handlers: one ctypes trampoline for all peers, handlers' exceptions, stopping them at exit.

user_data is an integer key into HANDLERS; C calls _release(key) exactly once when it lets go.
The CFUNCTYPE objects below live as long as the module, so C can never call a collected one.
HANDLERS and _REGISTERED need no lock: dict get/set/pop and next() on a counter are atomic, and
_release may run in a garbage-collected peer's __del__ on any thread.
"""
import _thread
import atexit
import itertools
import threading
import time
from typing import Any, Callable, Dict, Optional

from . import _bindings as B
from ._errors import OK, check
from ._events import Event
from ._lib import C as _c

HANDLERS: Dict[int, Callable[[Event], Any]] = {}
_REGISTERED: Dict[int, int] = {}  # key -> peer handle, while C holds the registration
_KEYS = itertools.count(1)

# Interpreter exit: _exiting is set once, under _EXIT_LOCK, by the atexit hook; a registration
# counts itself in _registering (under the lock, never held across a C call) while it is in C.
_EXIT_LOCK = threading.Lock()
_EXIT_IDLE = threading.Condition(_EXIT_LOCK)
_exiting = False
_registering = 0
#: How long the atexit hook waits in all for registrations already inside C and for frees under
#: way on other threads to release their keys (each waits at most for one running handler).
_EXIT_WAIT_S = 5.0

_MAIN_THREAD = threading.main_thread().ident
#: A KeyboardInterrupt raised by a handler on the main thread, to be raised when the binding's call
#: that delivered it returns: an interrupt_main() there would fire inside the callback itself.
interrupted = False


def _dispatch(user_data: Optional[int], event_ptr: Any) -> None:
    global interrupted
    try:
        if _exiting:
            return
        handler = HANDLERS.get(user_data or 0)
        if handler is not None:
            handler(Event._from_c(event_ptr.contents))
    except KeyboardInterrupt:
        if threading.get_ident() == _MAIN_THREAD:
            interrupted = True
        else:
            _thread.interrupt_main()
    # Any other exception propagates out of the ctypes callback: ctypes reports it through
    # sys.unraisablehook and returns to C, and the peer goes on.


def after_call(code: int) -> None:
    """After a call that can deliver events on this thread: a KeyboardInterrupt its handlers
    raised on the main thread, else the call's error."""
    global interrupted
    if interrupted and threading.get_ident() == _MAIN_THREAD:
        interrupted = False
        raise KeyboardInterrupt
    check(code)


def _release(user_data: Optional[int]) -> None:
    key = user_data or 0
    HANDLERS.pop(key, None)
    _REGISTERED.pop(key, None)


_DISPATCH = B.EVENT_CB(_dispatch)
_RELEASE = B.FREE_CB(_release)
_NO_CB = B.EVENT_CB()
_NO_FREE = B.FREE_CB()


def clear(handle: int) -> int:
    """Clears the peer's registration (waiting for its running handler, see the C header); the
    C result."""
    return _c.pcstate_peer_set_callback(handle, _NO_CB, None, _NO_FREE)  # type: ignore[no-any-return]


def register(handle: int, fn: Callable[[Event], Any]) -> None:
    """Makes ``fn`` the peer's handler; nothing once the interpreter is exiting."""
    if not _begin_registration():
        return
    try:
        key = next(_KEYS)
        HANDLERS[key] = fn
        _REGISTERED[key] = handle
        code = _c.pcstate_peer_set_callback(handle, _DISPATCH, key, _RELEASE)
        if code != OK:
            _release(key)  # on error C took nothing
            check(code)
    finally:
        _end_registration()


def _begin_registration() -> bool:
    """Counts a registration about to enter C; False once the interpreter is exiting."""
    global _registering
    with _EXIT_LOCK:
        if _exiting:
            return False
        _registering += 1
        return True


def _end_registration() -> None:
    global _registering
    with _EXIT_LOCK:
        _registering -= 1
        if _registering == 0 and _exiting:
            _EXIT_IDLE.notify_all()


def stop_callbacks_at_exit() -> None:
    """Before finalization: refuse new registrations, let those inside C land, then clear every
    registration C holds. Each clear returns once that peer's handlers are no longer running and
    their keys are released. A peer that another thread is freeing right now is already invalid
    (its clear fails) but releases its key only when that free drops the registration: wait for
    those too. So during finalization C never calls into Python."""
    global _exiting
    deadline = time.monotonic() + _EXIT_WAIT_S
    with _EXIT_IDLE:
        _exiting = True
        while _registering:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _EXIT_IDLE.wait(left)
    while True:
        for handle in set(_REGISTERED.values()):
            clear(handle)
        if not _REGISTERED or time.monotonic() >= deadline:
            return
        time.sleep(0.001)  # lets the freeing threads run their release


atexit.register(stop_callbacks_at_exit)
