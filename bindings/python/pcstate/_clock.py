"""The caller's clock: now_ns, and times and durations checked and converted to nanoseconds."""
from typing import Optional, Tuple

from ._errors import argument_error
from ._lib import C as _c

U64_MAX = (1 << 64) - 1
now = _c.pcstate_now_ns


def now_ns() -> int:
    """CLOCK_MONOTONIC now, in nanoseconds: the clock of :attr:`Event.time_ns`, and the default
    clock of :meth:`Transport.note_alive` and :meth:`PeerConnection.tick` (any monotonic
    nanosecond clock works if one peer always gets the same one, e.g. a fake clock in tests)."""
    return now()  # type: ignore[no-any-return]


def clock(value: Optional[int]) -> int:
    """A caller's ``now_ns``: ``pcstate.now_ns()`` for None, else an int in 0 .. 2**64 - 1."""
    if value is None:
        return now()  # type: ignore[no-any-return]
    if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
        if 0 <= value <= U64_MAX:
            return int(value)
    raise argument_error(f"{value!r} is not a time in nanoseconds (an int, 0 to 2**64 - 1)")


def seconds_ns(value: Optional[float], what: str) -> int:
    """A duration in seconds (None or 0: off) as nanoseconds, at least 1 when positive."""
    if value is None:
        return 0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value == 0:
            return 0
        if 0 < value < float("inf") and value * 1e9 < U64_MAX:
            return max(1, round(value * 1_000_000_000))
    raise argument_error(
        f"{what}={value!r} is not a duration (seconds: a finite number >= 0, or None for off)"
    )


def liveness_ns(disconnected_after: Optional[float], failed_after: Optional[float]) -> Tuple[int, int]:
    """``set_liveness``'s two durations as nanoseconds. Checked as given (``failed_after`` must
    exceed ``disconnected_after``), then rounded to whole nanoseconds, ``failed_after`` kept at
    least 1 ns above ``disconnected_after`` (rounding never turns an accepted pair into one that C
    refuses, nor a refused one into one it accepts)."""
    d = seconds_ns(disconnected_after, "disconnected_after")
    f = seconds_ns(failed_after, "failed_after")
    if f and (not d or (failed_after or 0) <= (disconnected_after or 0)):
        raise argument_error(
            f"failed_after={failed_after!r} needs a disconnected_after below it "
            f"(disconnected_after={disconnected_after!r})"
        )
    return d, f if f == 0 else max(f, d + 1)
