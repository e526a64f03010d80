"""Regression tests of the binding's guarantees: clean interpreter exit under churn,
events() ending and owning its fd, no reference cycles, no copies, handler interrupts, loader errors."""
import asyncio
import copy
import ctypes
import gc
import itertools
import os
import pickle
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pcstate

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(pcstate.__file__)))


def _env(**extra: str) -> dict:
    """The environment of a child interpreter that imports this very package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_DIR + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


# ---- interpreter exit while daemon threads churn peers with handlers -------------------------

_EXIT_STORM = textwrap.dedent(
    """
    import threading, time, pcstate

    def churn(seed):
        i = 0
        while True:
            try:
                pc = pcstate.PeerConnection(event_queue=(i % 3 == 0), close_events=True)
                pc.on_event(lambda e: None)
                t = pc.add_transport()
                t.ice_state = "checking"
                t.dtls_state = "connected"
                t.ice_state = "connected"
                if i % 2:
                    pc.on_event(lambda e: None)
                    pc.close()
                if i % 5:
                    pc.free()
                del pc, t
            except pcstate.PcstateError:
                pass
            i += 1

    for s in range(4):
        threading.Thread(target=churn, args=(s,), daemon=True).start()
    time.sleep(0.05)
    print("exiting", flush=True)
    """
)


def test_exit_while_daemon_threads_create_update_and_free_peers():
    """30 runs, 30 clean exits: no handler (nor user_data_free) runs during finalization."""
    failures = []
    for run in range(30):
        r = subprocess.run(
            [sys.executable, "-c", _EXIT_STORM], env=_env(), capture_output=True, text=True, timeout=30
        )
        bad = [s for s in ("Fatal", "FATAL", "Segmentation", "exception not rethrown") if s in r.stderr]
        if r.returncode != 0 or bad or r.stdout.strip() != "exiting":
            failures.append((run, r.returncode, r.stderr[-300:]))
    assert not failures, f"{len(failures)} of 30 runs did not exit cleanly: {failures[:3]}"


def test_registrations_after_exit_began_are_inert():
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import atexit, pcstate
                pc = pcstate.PeerConnection()
                seen = []
                pc.on_event(seen.append)
                t = pc.add_transport()
                def after_pcstate():
                    t.ice_state = "checking"         # the cleared registration: no handler
                    pc2 = pcstate.PeerConnection()
                    pc2.on_event(seen.append)        # inert
                    t2 = pc2.add_transport()
                    t2.ice_state = "checking"
                    print(len(seen), len(pcstate._callbacks.HANDLERS), pc.ice_connection_state, flush=True)
                # atexit runs the newest hook first: put pcstate's hook after ours so it runs first.
                atexit.unregister(pcstate._callbacks.stop_callbacks_at_exit)
                atexit.register(after_pcstate)
                atexit.register(pcstate._callbacks.stop_callbacks_at_exit)
                """
            ),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0", "checking"], (r.stdout, r.stderr)


# ---- events(): ends on close and free, owns its fd -------------------------------------------


def _first_event_or_end(pc):
    agen = pc.events()
    return agen, asyncio.ensure_future(agen.__anext__())


def test_events_ends_after_a_spec_close_without_close_events():
    async def main():
        pc = pcstate.PeerConnection(event_queue=True)  # close_events=False: close queues nothing
        t = pc.add_transport()
        got = []

        async def consume():
            async for e in pc.events():
                got.append(e.seq)

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.01)
        t.ice_state = "checking"
        await asyncio.sleep(0.01)
        pc.close()
        try:
            await asyncio.wait_for(task, 2)
        finally:
            pc.free()
        return got

    assert asyncio.run(main()) == [1, 2]


def test_events_ends_when_the_peer_is_freed_while_waiting():
    async def main():
        pc = pcstate.PeerConnection(event_queue=True)
        agen, step = _first_event_or_end(pc)
        await asyncio.sleep(0.01)
        assert not step.done()
        pc.free()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(step, 2)

    asyncio.run(main())


def test_events_ends_when_freed_from_another_thread():
    async def main():
        pc = pcstate.PeerConnection(event_queue=True)
        agen, step = _first_event_or_end(pc)
        await asyncio.sleep(0.01)
        th = threading.Thread(target=pc.free)
        th.start()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(step, 2)
        th.join()

    asyncio.run(main())


def test_events_leaves_no_reader_on_a_reused_fd_number():
    """After the peer is freed, a socket that gets its fd number is read by the loop, and closing
    or cancelling the old iterator does not remove the socket's reader."""

    async def main():
        loop = asyncio.get_running_loop()
        pc = pcstate.PeerConnection(event_queue=True)
        number = pc.fileno()
        agen, step = _first_event_or_end(pc)
        await asyncio.sleep(0.01)
        pc.free()
        await asyncio.sleep(0.01)
        try:
            os.fstat(number)
            pytest.fail(f"fd {number} still open after free(): {os.readlink(f'/proc/self/fd/{number}')}")
        except OSError:
            pass
        a, b = socket.socketpair()
        if b.fileno() == number:
            a, b = b, a
        extra = a.fileno() != number
        if extra:
            os.dup2(a.fileno(), number)  # the socket now also has the freed peer's fd number
        try:
            reads = []
            got = asyncio.Event()

            def readable():
                reads.append(os.read(number, 16))
                got.set()

            loop.add_reader(number, readable)
            try:
                b.send(b"one")
                await asyncio.wait_for(got.wait(), 2)
                got.clear()
                step.cancel()
                try:
                    await step
                except (asyncio.CancelledError, StopAsyncIteration):
                    pass
                await agen.aclose()
                b.send(b"two")
                await asyncio.wait_for(got.wait(), 2)
                assert reads == [b"one", b"two"]
            finally:
                loop.remove_reader(number)
        finally:
            if extra:
                os.close(number)
            a.close()
            b.close()

    asyncio.run(main())


def test_events_cancelled_while_waiting_closes_its_descriptor():
    async def main():
        pc = pcstate.PeerConnection(event_queue=True)
        before = len(os.listdir("/proc/self/fd"))
        agen, step = _first_event_or_end(pc)
        await asyncio.sleep(0.01)
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
        await agen.aclose()
        after = len(os.listdir("/proc/self/fd"))
        # The peer still works and its queue is still readable through the API.
        t = pc.add_transport()
        t.ice_state = "checking"
        assert pc.poll_event().seq == 1
        pc.free()
        return before, after

    before, after = asyncio.run(main())
    assert after == before


# ---- no reference cycles, no copies -------------------------------------------------------------


def _is_freed(handle: int) -> bool:
    out = ctypes.c_uint32()
    return pcstate._c.pcstate_peer_connection_state(handle, ctypes.byref(out)) == 2


def test_dropping_the_last_reference_frees_a_peer_with_transports_at_once():
    gc.collect()
    gc.disable()
    try:
        pc = pcstate.PeerConnection(event_queue=True)
        t1, t2 = pc.add_transport(), pc.add_transport()
        t2.ice_state = "checking"
        assert pc.transports == [t1, t2]
        handle = pc._handle
        del pc
        assert not _is_freed(handle), "a transport keeps its peer alive"
        del t1
        assert not _is_freed(handle)
        del t2
        assert _is_freed(handle), "peer <-> transport cycle: freed only by the cyclic GC"
    finally:
        gc.enable()


def test_transports_keep_identity_and_equality():
    pc = pcstate.PeerConnection()
    t = pc.add_transport()
    pc.add_transport()  # not kept by the caller
    ts = pc.transports
    assert ts[0] is t
    assert [x.id for x in ts] == [1, 2]
    assert ts[1] == pc.transports[1] and hash(ts[1]) == hash(pc.transports[1])
    assert ts[0] != ts[1]
    ts[1].remove()
    assert pc.transports == [t]
    pc.free()


@pytest.mark.parametrize("how", ["copy", "deepcopy", "pickle"])
def test_copies_of_a_peer_are_refused(how):
    pc = pcstate.PeerConnection()
    t = pc.add_transport()
    ops = {
        "copy": copy.copy,
        "deepcopy": copy.deepcopy,
        "pickle": lambda o: pickle.dumps(o, protocol=pickle.HIGHEST_PROTOCOL),
    }
    for obj in (pc, t):
        with pytest.raises(TypeError, match="cannot be copied|cannot be pickled"):
            ops[how](obj)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(pc, protocol=proto)
    # Nothing was shared: the peer is intact and freed once.
    t.ice_state = "checking"
    assert pc.ice_connection_state == "checking"
    pc.free()
    assert pc._freed


# ---- what happens to exceptions a handler raises --------------------------------------------


def test_keyboard_interrupt_in_a_handler_reaches_the_main_thread():
    pc = pcstate.PeerConnection()

    @pc.on_event
    def stop(e):
        raise KeyboardInterrupt

    t = pc.add_transport()
    with pytest.raises(KeyboardInterrupt):
        t.ice_state = "checking"
        for _ in range(100_000):  # the interrupt is raised at the next check of the eval loop
            pass
    assert pc.ice_connection_state == "checking"  # the peer goes on
    pc.on_event(None)
    pc.free()


def test_keyboard_interrupt_in_a_handler_on_another_thread_reaches_the_main_thread():
    pc = pcstate.PeerConnection()
    raised = []

    @pc.on_event
    def stop(e):
        # Once: the change commits two events, and a second interrupt_main() made after the main
        # thread took the first would land outside pytest.raises (a busy machine separates them).
        if not raised:
            raised.append(e.seq)
            raise KeyboardInterrupt

    t = pc.add_transport()
    th = threading.Thread(target=lambda: setattr(t, "ice_state", "checking"))
    with pytest.raises(KeyboardInterrupt):
        th.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.001)
    th.join()
    assert raised == [1]
    pc.on_event(None)
    pc.free()


def test_system_exit_and_errors_in_a_handler_are_reported_and_the_peer_goes_on(monkeypatch):
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reports.append(type(u.exc_value)))
    pc = pcstate.PeerConnection()
    raised = itertools.chain([SystemExit(3), ValueError("x")], itertools.repeat(None))

    @pc.on_event
    def handler(e):
        exc = next(raised)
        if exc is not None:
            raise exc

    t = pc.add_transport()
    t.ice_state = "checking"
    t.ice_state = "connected"
    assert reports == [SystemExit, ValueError]
    assert pc.ice_connection_state == "connected"
    pc.free()


# ---- a wrong PCSTATE_LIBRARY --------------------------------------------------------------------


def _import_with(library: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import pcstate; print(pcstate._lib.library_path(pcstate._c))"],
        env=_env(PCSTATE_LIBRARY=library),
        capture_output=True,
        text=True,
        timeout=30,
    )


def _assert_import_error_naming(r: subprocess.CompletedProcess, library: str, why: str) -> None:
    assert r.returncode != 0, f"imported anyway from {r.stdout.strip()}"
    assert re.search(r"^ImportError: pcstate", r.stderr, re.M), r.stderr
    assert library in r.stderr and why in r.stderr, r.stderr
    assert "AttributeError" not in r.stderr, r.stderr


def test_pcstate_library_missing_file_is_an_import_error(tmp_path):
    missing = str(tmp_path / "nope.so")
    _assert_import_error_naming(_import_with(missing), missing, "not found")


def test_pcstate_library_not_a_library_is_an_import_error(tmp_path):
    junk = tmp_path / "junk.so"
    junk.write_text("not an ELF file\n")
    _assert_import_error_naming(_import_with(str(junk)), str(junk), "cannot be loaded")


def test_pcstate_library_another_library_is_an_import_error():
    import _ctypes

    other = _ctypes.__file__  # a shared library without any pcstate symbol
    _assert_import_error_naming(_import_with(other), other, "pcstate_version")


# ---- bounded memory: the event limit and the overflow event ---------------------------------


def test_a_full_queue_reports_an_overflow_and_the_snapshot_resynchronises():
    pc = pcstate.PeerConnection(event_queue=True)
    pc.set_event_limit(2)
    t = pc.add_transport()
    t.ice_state = "checking"  # 1 ice, 2 connection: kept
    t.gatherer_state = "gathering"  # 3: dropped
    t.ice_state = "connected"  # 4: dropped
    assert [pc.poll_event().seq for _ in range(2)] == [1, 2]
    overflow = pc.poll_event()
    assert overflow.kind == "overflow"
    assert overflow.dropped == 2 and overflow.seq == 4
    assert overflow.old is None and overflow.new is None
    assert pc.poll_event() is None
    s = pc.snapshot()
    assert s.last_seq == 4 and s.ice_connection_state == "connected" and s.ice_gathering_state == "gathering"
    # After the reader took the gap, events are kept again.
    t.dtls_state = "connected"
    e = pc.poll_event()
    assert (e.seq, e.kind, e.dropped) == (5, "connectionstatechange", 0)
    pc.free()


def test_overflow_ends_nothing_in_events():
    async def main():
        pc = pcstate.PeerConnection(event_queue=True, close_events=True)
        pc.set_event_limit(1)
        t = pc.add_transport()
        t.ice_state = "checking"
        t.ice_state = "connected"
        pc.close()
        got = []
        async for e in pc.events():
            got.append((e.kind, e.seq, e.dropped))
        pc.free()
        return got

    got = asyncio.run(asyncio.wait_for(main(), 5))
    assert got[0] == ("iceconnectionstatechange", 1, 0)
    assert got[1][0] == "overflow" and got[1][2] == 4 and got[1][1] == 5


@pytest.mark.parametrize("bad", [0, -1, 2**20 + 1, 2**32, 1.5, "8", True, None])
def test_event_limit_out_of_range(bad):
    pc = pcstate.PeerConnection(event_queue=True)
    with pytest.raises(pcstate.InvalidArgumentError) as ei:
        pc.set_event_limit(bad)
    assert ei.value.code == 5
    pc.set_event_limit(1)
    pc.set_event_limit(2**20)
    pc.free()
    with pytest.raises(pcstate.InvalidHandleError):
        pc.set_event_limit(8)


def test_no_memory_error_is_a_memory_error():
    e = pcstate.NoMemoryError(11)
    assert isinstance(e, MemoryError) and isinstance(e, pcstate.PcstateError)
    assert "memory" in str(e)
