"""The lifecycle of objects that own or name a C handle: freed once, context managers, never copied."""
import sys
from typing import Any, NoReturn, TypeVar

_M = TypeVar("_M", bound="Managed")


class NoCopy:
    """Refuses ``copy.copy``, ``copy.deepcopy`` and pickling: a copy would share the C handle
    (and later free it twice)."""

    __slots__ = ()

    def _refuse(self, what: str) -> NoReturn:
        raise TypeError(
            f"{type(self).__name__} {what}: it stands for one C handle, which a copy would share"
        )

    def __copy__(self) -> NoReturn:
        self._refuse("cannot be copied")

    def __deepcopy__(self, memo: Any) -> NoReturn:
        self._refuse("cannot be copied")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        self._refuse("cannot be pickled")

    def __reduce__(self) -> NoReturn:
        self._refuse("cannot be pickled")


class Managed(NoCopy):
    """Owns one C handle: ``free()`` releases it once (idempotent); the object is a context
    manager that frees on exit; dropping the last reference frees it too.

    Subclasses set ``_handle`` and ``_freed = False`` once the C object exists, and implement
    ``_release(handle)``, which frees it in C and raises on failure.
    """

    # Class-level defaults: an object whose __init__ failed before the handle existed is "freed".
    _handle: int = 0
    _freed: bool = True

    def _release(self, handle: int) -> Any:
        raise NotImplementedError

    def free(self) -> None:
        """Frees the C object (idempotent). Using it afterwards raises ``InvalidHandleError``."""
        self._free_once()

    def _free_once(self) -> Any:
        """Frees the C object unless it is freed already; returns what ``_release`` returned
        (None when it was freed already)."""
        if self._freed:
            return None
        self._freed = True
        try:
            return self._release(self._handle)
        except BaseException:
            self._freed = not self._exists()  # an interrupt may come after the C free went ahead
            raise

    def _exists(self) -> bool:
        """Whether the C object still exists (after ``_release`` raised); subclasses that can
        ask the C library say, others assume it does."""
        return True

    def __enter__(self: _M) -> _M:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()

    def __del__(self, _finalizing: Any = sys.is_finalizing) -> None:
        # At interpreter shutdown module globals may already be gone: failures are expected
        # there and ignored. Otherwise an error propagates and is reported as unraisable.
        if self._freed:
            return
        try:
            self.free()
        except Exception:
            if not _finalizing():
                raise
