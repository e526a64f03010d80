"""Exceptions: one class per C result, raised from result codes; errors that name a missing option."""
from typing import Dict, NoReturn, Optional, Type

from ._bindings import RESULT
from ._lib import C as _c

OK = RESULT["OK"]


class PcstateError(Exception):
    """A pcstate call failed; ``code`` is the C result (``PCSTATE_RESULT_*``)."""

    def __init__(self, code: int, message: Optional[str] = None) -> None:
        self.code = code
        if message is None:
            message = _c.pcstate_result_message(code).decode()
        super().__init__(message)


class NullArgumentError(PcstateError):
    """A required pointer was NULL (cannot happen through this binding; kept for completeness)."""


class InvalidHandleError(PcstateError):
    """The peer was freed (or the handle was never valid)."""


class UnknownTransportError(PcstateError):
    """The transport was removed from its peer (or never belonged to it)."""


class InvalidStateError(PcstateError, ValueError):
    """A state value (or string) outside its enum."""


class InvalidArgumentError(PcstateError, ValueError):
    """An argument the call does not accept (an unknown profile, a bad duration or limit), or a
    call that needs an option the peer was created without (the message names it:
    ``event_queue=True``, ``history=True``)."""


class ClosedError(PcstateError):
    """The peer is closed: transports can no longer be added, removed or updated."""


class PanicError(PcstateError):
    """A bug inside pcstate was caught at the C boundary; the process keeps running."""


class LimitError(PcstateError):
    """A limit was reached: too many live peers, too many transports on one peer, or no file
    descriptor left for an event queue."""


class WouldDeadlockError(PcstateError):
    """The call would wait for a handler that is itself waiting for this thread's handler (a
    crossed ``free()`` or ``on_event()`` between two handlers); nothing was changed."""


class NoMemoryError(PcstateError, MemoryError):
    """Memory ran out inside pcstate; nothing was changed."""


_ERROR_OF: Dict[str, Type[PcstateError]] = {
    "NULL_ARGUMENT": NullArgumentError,
    "INVALID_HANDLE": InvalidHandleError,
    "UNKNOWN_TRANSPORT": UnknownTransportError,
    "INVALID_STATE": InvalidStateError,
    "INVALID_ARGUMENT": InvalidArgumentError,
    "CLOSED": ClosedError,
    "PANIC": PanicError,
    "LIMIT": LimitError,
    "WOULD_DEADLOCK": WouldDeadlockError,
    "NO_MEMORY": NoMemoryError,
}
#: C result -> the exception raised for it.
ERRORS: Dict[int, Type[PcstateError]] = {RESULT[name]: cls for name, cls in _ERROR_OF.items()}


def raise_for(code: int) -> NoReturn:
    """Raises the exception of C result ``code`` (not OK), with the library's message."""
    raise ERRORS.get(code, PcstateError)(code)


def check(code: int) -> None:
    """Raises unless ``code`` is OK."""
    if code != OK:
        raise_for(code)


def check_option(code: int, call: str, option: str) -> None:
    """As :func:`check`, but the INVALID_ARGUMENT of a call that needs a peer option names it."""
    if code == RESULT["INVALID_ARGUMENT"]:
        raise InvalidArgumentError(code, f"{call} needs a peer created with {option}=True")
    check(code)


def argument_error(message: str) -> InvalidArgumentError:
    """An :class:`InvalidArgumentError` (C's INVALID_ARGUMENT) with ``message``."""
    return InvalidArgumentError(RESULT["INVALID_ARGUMENT"], message)
