//! A peer's events: the event struct, the callback registration and the event queue with its fd.

use std::ffi::{c_int, c_void};

use super::{boundary, out, pcstate_peer, pcstate_transport, read, update_silent};
use crate::error::ResultCode;
use crate::peer::EventSink;
use crate::registry;
use crate::state::Event;

/// A change of one of a peer's aggregate states (40 bytes).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct pcstate_event {
    /// The peer it belongs to.
    pub peer: pcstate_peer,
    /// 1, 2, 3, ... per peer, across all kinds, no gaps.
    pub seq: u64,
    /// CLOCK_MONOTONIC, in nanoseconds, when the change was committed.
    pub time_ns: u64,
    /// A `pcstate_event_kind`.
    pub kind: u32,
    /// The previous value of that kind's enum.
    pub old_state: u32,
    /// The new value of that kind's enum.
    pub new_state: u32,
    /// The transport whose add, remove or set caused it; 0 for close.
    pub transport: pcstate_transport,
}

/// `pcstate_event` names `struct pcstate_event` too.
// (Rust needs another name for the alias; cbindgen.toml renames it to the struct's.)
pub type pcstate_event_typedef = pcstate_event;

impl pcstate_event {
    /// The C form of one of `peer`'s events.
    pub(super) fn from_event(peer: pcstate_peer, e: &Event) -> Self {
        pcstate_event {
            peer,
            seq: e.seq,
            time_ns: e.time_ns,
            kind: e.kind as u32,
            old_state: e.old_state,
            new_state: e.new_state,
            transport: e.transport,
        }
    }
}

/// Receives a peer's events, one at a time, in order. `event` is valid only during the call.
pub type pcstate_event_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const pcstate_event)>;

/// Releases a callback's `user_data`; called exactly once when pcstate lets go of it.
pub type pcstate_free_cb = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A C registration: calls `cb(user_data, event)`; dropping it calls `user_data_free(user_data)`.
struct CRegistration {
    peer: pcstate_peer,
    cb: unsafe extern "C" fn(*mut c_void, *const pcstate_event),
    user_data: *mut c_void,
    user_data_free: pcstate_free_cb,
}

// SAFETY: the C API documents that callbacks and user_data may be used from any thread.
unsafe impl Send for CRegistration {}

/// Armed around every call into the application. A C callback must return normally; if it
/// unwinds instead (`pthread_exit`, thread cancellation, a C++ exception), the peer's delivery
/// state could not be restored, so the process stops here with a message that says why rather
/// than deep inside the unwinder.
struct MustReturn;

impl Drop for MustReturn {
    fn drop(&mut self) {
        let msg = b"pcstate: a callback or user_data_free did not return normally (pthread_exit, \
thread cancellation or an exception unwound through pcstate); callbacks must return: aborting\n";
        // SAFETY: writes a static buffer to stderr; abort never returns.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::abort();
        }
    }
}

/// Runs a call into the application with [`MustReturn`] armed.
fn must_return(call: impl FnOnce()) {
    let guard = MustReturn;
    call();
    std::mem::forget(guard);
}

// The application's functions, called as functions that may unwind: an unwind then meets
// `MustReturn` instead of being undefined behaviour. "C" and "C-unwind" are the same calling
// convention; the latter only lets an unwind leave the function.
type EventFnUnwind = unsafe extern "C-unwind" fn(*mut c_void, *const pcstate_event);
type FreeFnUnwind = unsafe extern "C-unwind" fn(*mut c_void);

/// Calls the application's `user_data_free(user_data)`, as a function that may unwind.
fn call_free(free: unsafe extern "C" fn(*mut c_void), user_data: *mut c_void) {
    // SAFETY: "C" and "C-unwind" share the calling convention (see `FreeFnUnwind`).
    let free: FreeFnUnwind = unsafe { std::mem::transmute(free) };
    // SAFETY: the application registered `free` for `user_data` and pcstate calls it once, when
    // it lets go of `user_data` (the documented contract).
    must_return(|| unsafe { free(user_data) });
}

impl EventSink for CRegistration {
    fn on_event(&mut self, event: &Event) {
        let e = pcstate_event::from_event(self.peer, event);
        // SAFETY: "C" and "C-unwind" share the calling convention (see `EventFnUnwind`).
        let cb: EventFnUnwind = unsafe { std::mem::transmute(self.cb) };
        // SAFETY: the application registered `cb` and `user_data` for exactly this call; `e`
        // outlives it.
        must_return(|| unsafe { cb(self.user_data, &e) });
    }
}

impl Drop for CRegistration {
    fn drop(&mut self) {
        if let Some(free) = self.user_data_free {
            call_free(free, self.user_data);
        }
    }
}

/// Registers the peer's event callback, replacing the previous registration (`cb` NULL clears it).
/// On OK pcstate owns `user_data` and calls `user_data_free` (when not NULL) exactly once when it
/// lets go: when the registration is replaced, cleared or the peer freed; right away when `cb` is
/// NULL. Called from outside the peer's callbacks, it waits until no callback of the peer runs on
/// another thread: when it returns, no replaced registration is running or will run, and their
/// `user_data_free` calls have returned. Called from inside the peer's callback, that (replaced)
/// registration is dropped as soon as the callback returns. Events committed before the call and
/// not yet delivered go to the new registration. On any other result nothing was taken:
/// `user_data` is still the caller's.
///
/// Results: OK; INVALID_HANDLE; WOULD_DEADLOCK (see `pcstate_peer_free`); NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_set_callback(
    peer: pcstate_peer,
    cb: pcstate_event_cb,
    user_data: *mut c_void,
    user_data_free: pcstate_free_cb,
) -> ResultCode {
    boundary(|| {
        let (cell, generation) = registry::lookup(peer)?;
        // Allocated first, without `user_data_free`, so that a refused call drops it without
        // touching `user_data`; the set arms it and allocates nothing more.
        let registration = match cb {
            Some(cb) => Some(crate::alloc::try_box(CRegistration {
                peer,
                cb,
                user_data,
                user_data_free: None,
            })?),
            None => None,
        };
        let make = registration.map(|mut r| {
            move || -> Box<dyn EventSink> {
                r.user_data_free = user_data_free;
                r
            }
        });
        cell.set_callback(generation, make)?;
        if let (None, Some(free)) = (cb, user_data_free) {
            // Ownership of user_data passed to pcstate on OK, which lets go of it at once.
            call_free(free, user_data);
        }
        Ok(())
    })
}

/// Pops the oldest queued event into `*out` (or the `PCSTATE_EVENT_KIND_OVERFLOW` event that
/// stands for dropped ones); `EMPTY` when none is queued, which also resets the event fd. Needs
/// `PCSTATE_FLAG_EVENT_QUEUE`.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_ARGUMENT (no event queue); EMPTY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_poll_event(
    peer: pcstate_peer,
    out: *mut pcstate_event,
) -> ResultCode {
    boundary(|| {
        let out = super::out(out)?;
        let e = update_silent(peer, |p| p.poll_event())?;
        out.write(pcstate_event::from_event(peer, &e));
        Ok(())
    })
}

/// Writes the peer's event fd (an eventfd on Linux and Android, the read end of a pipe elsewhere or
/// with the `pipe-wakeup` build) to `*out_fd`, for poll, epoll or asyncio. It is made readable by
/// every queued event, by close and by free, and reset when `pcstate_peer_poll_event` returns
/// EMPTY: after a wakeup, call `pcstate_peer_poll_event` until EMPTY. Reading the fd yourself is
/// allowed and loses no later wakeup. Owned by the peer and closed by `pcstate_peer_free`: do not
/// close it (wait on a `dup` of it if your loop may outlive the peer). Needs
/// `PCSTATE_FLAG_EVENT_QUEUE`.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_ARGUMENT (no event queue).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_event_fd(peer: pcstate_peer, out_fd: *mut c_int) -> ResultCode {
    boundary(|| {
        let out_fd = out(out_fd)?;
        out_fd.write(read(peer, |p| p.event_fd())?);
        Ok(())
    })
}

/// Bounds the peer's event queue and its callback backlog to `max_events` events each
/// (1 ..= `PCSTATE_MAX_EVENT_LIMIT`, default `PCSTATE_DEFAULT_EVENT_LIMIT`). An event that does
/// not fit (or for which memory cannot be had) is dropped and counted, and so is every later
/// one, even one that would fit again, until the reader has taken the events kept before it and
/// then the one `PCSTATE_EVENT_KIND_OVERFLOW` event that stands for all of them (`old_state`: how
/// many were dropped, saturating at `UINT32_MAX`; `seq`: the newest dropped one); the reader
/// resynchronises with `pcstate_peer_snapshot`. The state changes
/// themselves are never refused. A smaller limit than what is stored keeps what is stored.
///
/// Results: OK; INVALID_HANDLE; INVALID_ARGUMENT (out of range); NO_MEMORY (a limit other than the
/// default on a peer that has no callback, history or queue yet needs a small allocation to keep
/// it; nothing changed).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_set_event_limit(peer: pcstate_peer, max_events: u32) -> ResultCode {
    boundary(|| update_silent(peer, |p| p.set_event_limit(max_events)))
}
