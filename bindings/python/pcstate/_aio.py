"""asyncio: a peer's queued events as an async iterator that waits on a duplicate of its event fd."""
import asyncio
import os
from typing import AsyncIterator, Optional, Protocol

from ._errors import InvalidHandleError
from ._events import Event
from ._states import ConnectionState

class Queued(Protocol):
    """What :func:`queued_events` needs of a peer (a :class:`PeerConnection` with ``event_queue``)."""

    def fileno(self) -> int: ...

    def poll_event(self) -> Optional[Event]: ...

    @property
    def connection_state(self) -> ConnectionState: ...


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    """Waits until ``fd`` is readable; the reader is removed however the wait ends."""
    ready: "asyncio.Future[None]" = loop.create_future()
    loop.add_reader(fd, _wake, ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _wake(ready: "asyncio.Future[None]") -> None:
    if not ready.done():
        ready.set_result(None)


async def queued_events(peer: Queued) -> AsyncIterator[Event]:
    """The events of ``peer``'s queue on the running loop, until it is closed and drained or
    freed (see :meth:`PeerConnection.events`)."""
    loop = asyncio.get_running_loop()
    try:
        fd = os.dup(peer.fileno())
    except InvalidHandleError:
        return
    except OSError:  # freed by another thread between fileno() and dup()
        return
    try:
        closing = False
        while True:
            # A handle is never valid again once freed: if the peer was freed before the dup,
            # this raises, so a number reused in between is never waited on.
            try:
                event = peer.poll_event()
                closed = event is None and peer.connection_state is ConnectionState.CLOSED
            except InvalidHandleError:
                return
            if event is not None:
                yield event
            elif closed:
                if closing:
                    return
                closing = True  # poll once more: what close() queued, then end
            else:
                await _readable(loop, fd)
    finally:
        os.close(fd)
