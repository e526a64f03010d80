//! The `extern "C"` surface: checks arguments, converts them, and calls into the registry and the
//! peer. Every body runs inside a panic boundary; out-parameters are written only on success;
//! enums from C arrive as `uint32_t` and are validated.
//!
//! The functions are meant to be called from C, where every pointer argument carries the
//! documented contract (NULL, or valid for the access); they are not `unsafe fn` so that Rust tests
//! can call them as C does.
#![allow(non_camel_case_types, clippy::not_unsafe_ptr_arg_deref)]

use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::delivery::{EventSink, Peer};
use crate::error::{Result, ResultCode};
use crate::registry;
use crate::rules::{
    ConnectionState, DtlsTransportState, GathererState, IceConnectionState, IceGatheringState,
    IceTransportState, Profile, TransportStates,
};
use crate::state::{self, Batch, Event};

/// An opaque peer handle. 0 is never valid; a freed handle never becomes valid again.
pub type pcstate_peer = u64;

/// A transport id within one peer: 1, 2, 3, ...; never reused within that peer; 0 is never valid.
pub type pcstate_transport = u32;

/// Flag for `pcstate_peer_new`: `pcstate_peer_close` commits an ICE connection event and then a
/// connection event (old -> closed, transport 0), as native stacks do. Without it close is silent,
/// as the W3C specifies.
pub const PCSTATE_FLAG_CLOSE_EVENTS: u32 = 1;

/// Flag for `pcstate_peer_new`: every committed event is also queued for
/// `pcstate_peer_poll_event`, and `pcstate_peer_event_fd` gives an fd readable while the queue is
/// not empty.
pub const PCSTATE_FLAG_EVENT_QUEUE: u32 = 2;

/// Flag for `pcstate_peer_new`: after `pcstate_peer_close`, calls that add, remove or set
/// transport states (and `pcstate_transport_note_alive`) return OK and change nothing, instead of
/// `CLOSED`: for stacks that keep reporting states while they tear down. `pcstate_transport_add`
/// then writes transport 0, which such calls also accept.
pub const PCSTATE_FLAG_IGNORE_AFTER_CLOSE: u32 = 4;

/// `pcstate_transport_set_ice_agent_state`: libnice's `NiceComponentState` of the transport's
/// component (DISCONNECTED 0, GATHERING 1, CONNECTING 2, CONNECTED 3, READY 4, FAILED 5).
pub const PCSTATE_ICE_AGENT_LIBNICE: u32 = 1;
/// `pcstate_transport_set_ice_agent_state`: libjuice's `juice_state_t` (DISCONNECTED 0,
/// GATHERING 1, CONNECTING 2, CONNECTED 3, COMPLETED 4, FAILED 5).
pub const PCSTATE_ICE_AGENT_LIBJUICE: u32 = 2;

const _: () = assert!(PCSTATE_FLAG_IGNORE_AFTER_CLOSE == state::FLAG_IGNORE_AFTER_CLOSE);
const _: () = assert!(PCSTATE_ICE_AGENT_LIBNICE == crate::agents::IceAgent::Libnice as u32);
const _: () = assert!(PCSTATE_ICE_AGENT_LIBJUICE == crate::agents::IceAgent::Libjuice as u32);
const _: () = assert!(PCSTATE_FLAG_CLOSE_EVENTS == state::FLAG_CLOSE_EVENTS);
const _: () = assert!(PCSTATE_FLAG_EVENT_QUEUE == state::FLAG_EVENT_QUEUE);

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

/// One consistent reading of a peer.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct pcstate_snapshot {
    /// The seq of the newest event committed (0 if none).
    pub last_seq: u64,
    /// A `pcstate_connection_state`.
    pub connection_state: u32,
    /// A `pcstate_ice_connection_state`.
    pub ice_connection_state: u32,
    /// A `pcstate_ice_gathering_state`.
    pub ice_gathering_state: u32,
    /// How many transports the peer has.
    pub transport_count: u32,
}

/// One transport's three states.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct pcstate_transport_states {
    /// A `pcstate_ice_transport_state`.
    pub ice_state: u32,
    /// A `pcstate_dtls_transport_state`.
    pub dtls_state: u32,
    /// A `pcstate_ice_gatherer_state`.
    pub gatherer_state: u32,
}

/// Receives a peer's events, one at a time, in order. `event` is valid only during the call.
pub type pcstate_event_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const pcstate_event)>;

/// Releases a callback's `user_data`; called exactly once when pcstate lets go of it.
pub type pcstate_free_cb = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

fn c_event(peer: pcstate_peer, e: &Event) -> pcstate_event {
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

impl EventSink for CRegistration {
    fn on_event(&mut self, event: &Event) {
        let e = c_event(self.peer, event);
        // SAFETY: same ABI (see above); the application registered `cb` and `user_data` for
        // exactly this use.
        let cb: EventFnUnwind = unsafe { std::mem::transmute(self.cb) };
        must_return(|| unsafe { cb(self.user_data, &e) });
    }
}

impl Drop for CRegistration {
    fn drop(&mut self) {
        if let Some(free) = self.user_data_free {
            // SAFETY: same ABI (see above); called once, when pcstate lets go of user_data, as
            // documented.
            let free: FreeFnUnwind = unsafe { std::mem::transmute(free) };
            must_return(|| unsafe { free(self.user_data) });
        }
    }
}

/// Runs a body that returns `Result<()>` and turns it into a result code; a panic becomes
/// `PCSTATE_RESULT_PANIC` instead of unwinding into C.
#[inline(always)]
fn boundary(f: impl FnOnce() -> Result<()>) -> u32 {
    match catch_unwind(AssertUnwindSafe(|| {
        crate::fault::maybe_panic();
        f()
    })) {
        Ok(Ok(())) => ResultCode::Ok as u32,
        Ok(Err(e)) => e as u32,
        Err(_) => ResultCode::Panic as u32,
    }
}

/// Like `boundary` for functions that return a static string pointer (NULL on panic).
fn boundary_ptr(f: impl FnOnce() -> *const c_char) -> *const c_char {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(std::ptr::null())
}

/// `NULL_ARGUMENT` unless `p` is non-NULL.
fn non_null<T>(p: *mut T) -> Result<()> {
    if p.is_null() {
        Err(ResultCode::NullArgument)
    } else {
        Ok(())
    }
}

/// Writes `v` through a pointer checked non-NULL.
fn write_out<T>(p: *mut T, v: T) {
    // SAFETY: the caller passes a valid, aligned, writable pointer (documented); NULL was checked.
    unsafe { p.write(v) }
}

fn c_str(s: &'static str) -> *const c_char {
    debug_assert!(s.ends_with('\0'));
    s.as_ptr().cast()
}

/// Runs a mutating peer operation (lock, commit, deliver).
#[inline(always)]
fn update<T>(peer: pcstate_peer, op: impl FnOnce(&mut Peer) -> Result<(T, Batch)>) -> Result<T> {
    let (cell, generation) = registry::lookup(peer)?;
    cell.update(generation, op)
}

/// Reads a peer under its lock.
fn read<T>(peer: pcstate_peer, f: impl FnOnce(&Peer) -> T) -> Result<T> {
    let (cell, generation) = registry::lookup(peer)?;
    cell.read(generation, f)
}

/// The library's version, e.g. `"0.1.0"` (static).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_version() -> *const c_char {
    boundary_ptr(|| c_str(concat!(env!("CARGO_PKG_VERSION"), "\0")))
}

/// A short static description of a result code; never NULL, also for unknown codes. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_result_message(result: u32) -> *const c_char {
    let p = boundary_ptr(|| ResultCode::message_with_nul(result).as_ptr().cast());
    if p.is_null() {
        c"internal error".as_ptr()
    } else {
        p
    }
}

/// The static NUL-terminated name that `name` gives, or NULL when it gives none; computed inside
/// the panic boundary.
fn state_name(name: impl FnOnce() -> Option<&'static str>) -> *const c_char {
    boundary_ptr(|| name().map_or(std::ptr::null(), c_str))
}

/// The W3C name of a `pcstate_connection_state` ("new", "connecting", ...); NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_connection_state_name(value: u32) -> *const c_char {
    state_name(|| ConnectionState::from_u32(value).map(ConnectionState::name_with_nul))
}

/// The W3C name of a `pcstate_ice_connection_state`; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_ice_connection_state_name(value: u32) -> *const c_char {
    state_name(|| IceConnectionState::from_u32(value).map(IceConnectionState::name_with_nul))
}

/// The W3C name of a `pcstate_ice_transport_state`; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_ice_transport_state_name(value: u32) -> *const c_char {
    state_name(|| IceTransportState::from_u32(value).map(IceTransportState::name_with_nul))
}

/// The W3C name of a `pcstate_dtls_transport_state`; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_dtls_transport_state_name(value: u32) -> *const c_char {
    state_name(|| DtlsTransportState::from_u32(value).map(DtlsTransportState::name_with_nul))
}

/// The W3C name of a `pcstate_ice_gathering_state`; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_ice_gathering_state_name(value: u32) -> *const c_char {
    state_name(|| IceGatheringState::from_u32(value).map(IceGatheringState::name_with_nul))
}

/// The W3C name of a `pcstate_ice_gatherer_state`; NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_ice_gatherer_state_name(value: u32) -> *const c_char {
    state_name(|| GathererState::from_u32(value).map(GathererState::name_with_nul))
}

/// Creates a peer with a `pcstate_profile` and `PCSTATE_FLAG_*` bits; writes its handle to
/// `*out_peer`.
///
/// Results: OK; NULL_ARGUMENT; INVALID_ARGUMENT (unknown profile or flag bits); LIMIT (16M live
/// peers, or no eventfd could be had for `PCSTATE_FLAG_EVENT_QUEUE`); NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_new(profile: u32, flags: u32, out_peer: *mut pcstate_peer) -> u32 {
    boundary(|| {
        non_null(out_peer)?;
        let profile = Profile::from_u32(profile).ok_or(ResultCode::InvalidArgument)?;
        if flags & !state::ALL_FLAGS != 0 {
            return Err(ResultCode::InvalidArgument);
        }
        let handle = registry::insert(Peer::new(profile, flags)?)?;
        write_out(out_peer, handle);
        Ok(())
    })
}

/// Closes the peer as `RTCPeerConnection.close()` does: the ICE connection and connection states
/// become closed, every transport's ICE and DTLS state reads closed, gathering is unchanged. No
/// event unless the peer has `PCSTATE_FLAG_CLOSE_EVENTS`. Afterwards add/remove/set return
/// `CLOSED` (or OK and nothing, with `PCSTATE_FLAG_IGNORE_AFTER_CLOSE`); getters keep working;
/// the event fd is made readable once so that a reader sees the closed state. Closing a closed
/// peer is OK and does nothing.
///
/// Results: OK; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_close(peer: pcstate_peer) -> u32 {
    boundary(|| update(peer, |p| Ok(((), p.close()))))
}

/// Frees the peer. Afterwards every call with this handle returns `INVALID_HANDLE`. Called from
/// outside the peer's own callbacks, it first waits until no callback of the peer runs on another
/// thread; when it returns, no callback of any of the peer's registrations is running or will
/// run, and their `user_data_free` calls have returned. Called from inside the peer's callback,
/// that registration is dropped as soon as the callback returns. Undelivered events are dropped;
/// the event fd is made readable (waking a poll() on a dup of it) and closed. The peer's cell
/// (320 bytes) is kept for reuse by a later peer.
///
/// Results: OK; INVALID_HANDLE; WOULD_DEADLOCK (called from inside a callback, waiting would
/// close a cycle of threads each waiting for the other's callback; nothing changed).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_free(peer: pcstate_peer) -> u32 {
    boundary(|| registry::remove(peer))
}

/// Adds a transport (ICE new, DTLS new, gatherer new); writes its id to `*out_transport` (0
/// when ignored after close). Ids are 1, 2, 3, ... per peer, never reused.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; CLOSED; LIMIT (65,535 transports on the peer, or
/// its 2^32 - 1 ids used up); NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_add(
    peer: pcstate_peer,
    out_transport: *mut pcstate_transport,
) -> u32 {
    boundary(|| {
        non_null(out_transport)?;
        let id = update(peer, |p| p.state.add_transport())?;
        write_out(out_transport, id);
        Ok(())
    })
}

/// Removes a transport; the aggregates are recomputed at once.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_remove(
    peer: pcstate_peer,
    transport: pcstate_transport,
) -> u32 {
    boundary(|| update(peer, |p| Ok(((), p.state.remove_transport(transport)?))))
}

/// Sets a transport's ICE state (a `pcstate_ice_transport_state`), detaching it from an ICE agent
/// (see `pcstate_transport_set_ice_agent_state`). Setting it again ends a failed liveness reading.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE; CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_ice_state(
    peer: pcstate_peer,
    transport: pcstate_transport,
    state: u32,
) -> u32 {
    boundary(|| {
        let s = IceTransportState::from_u32(state).ok_or(ResultCode::InvalidState)?;
        update(peer, |p| Ok(((), p.state.set_ice(transport, s)?)))
    })
}

/// Sets a transport's DTLS state (a `pcstate_dtls_transport_state`).
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE; CLOSED.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_dtls_state(
    peer: pcstate_peer,
    transport: pcstate_transport,
    state: u32,
) -> u32 {
    boundary(|| {
        let s = DtlsTransportState::from_u32(state).ok_or(ResultCode::InvalidState)?;
        update(peer, |p| Ok(((), p.state.set_dtls(transport, s)?)))
    })
}

/// Sets a transport's ICE gatherer state (a `pcstate_ice_gatherer_state`); an agent-driven ICE
/// state is recomputed in the same commit.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE; CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_gatherer_state(
    peer: pcstate_peer,
    transport: pcstate_transport,
    state: u32,
) -> u32 {
    boundary(|| {
        let s = GathererState::from_u32(state).ok_or(ResultCode::InvalidState)?;
        update(peer, |p| Ok(((), p.state.set_gatherer(transport, s)?)))
    })
}

/// Reads one transport's three effective states (the ICE state after agent derivation and
/// liveness: what the aggregates use); ICE and DTLS read closed once the peer is closed.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; UNKNOWN_TRANSPORT.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_get_states(
    peer: pcstate_peer,
    transport: pcstate_transport,
    out: *mut pcstate_transport_states,
) -> u32 {
    transport_states(peer, out, |p| p.transport(transport))
}

/// Reads `connectionState` (a `pcstate_connection_state`).
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_connection_state(peer: pcstate_peer, out: *mut u32) -> u32 {
    boundary(|| {
        non_null(out)?;
        write_out(out, read(peer, |p| p.state.aggregates().connection as u32)?);
        Ok(())
    })
}

/// Reads `iceConnectionState` (a `pcstate_ice_connection_state`).
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_ice_connection_state(peer: pcstate_peer, out: *mut u32) -> u32 {
    boundary(|| {
        non_null(out)?;
        write_out(
            out,
            read(peer, |p| p.state.aggregates().ice_connection as u32)?,
        );
        Ok(())
    })
}

/// Reads `iceGatheringState` (a `pcstate_ice_gathering_state`).
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_ice_gathering_state(peer: pcstate_peer, out: *mut u32) -> u32 {
    boundary(|| {
        non_null(out)?;
        write_out(
            out,
            read(peer, |p| p.state.aggregates().ice_gathering as u32)?,
        );
        Ok(())
    })
}

/// Reads all three aggregates, the transport count and the newest event's seq in one consistent
/// reading (use it to resynchronise after a `PCSTATE_EVENT_KIND_OVERFLOW` event).
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_snapshot(peer: pcstate_peer, out: *mut pcstate_snapshot) -> u32 {
    boundary(|| {
        non_null(out)?;
        let s = read(peer, |p| p.state.snapshot())?;
        write_out(
            out,
            pcstate_snapshot {
                last_seq: s.last_seq,
                connection_state: s.aggregates.connection as u32,
                ice_connection_state: s.aggregates.ice_connection as u32,
                ice_gathering_state: s.aggregates.ice_gathering as u32,
                transport_count: s.transport_count,
            },
        );
        Ok(())
    })
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
) -> u32 {
    boundary(|| {
        let (cell, generation) = registry::lookup(peer)?;
        cell.set_callback(generation, || {
            let cb = cb?;
            Some(Box::new(CRegistration {
                peer,
                cb,
                user_data,
                user_data_free,
            }))
        })?;
        if let (None, Some(free)) = (cb, user_data_free) {
            // SAFETY: same ABI (see `FreeFnUnwind`); ownership of user_data passed to us on OK and
            // we let go of it at once.
            let free: FreeFnUnwind = unsafe { std::mem::transmute(free) };
            must_return(|| unsafe { free(user_data) });
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
pub extern "C" fn pcstate_peer_poll_event(peer: pcstate_peer, out: *mut pcstate_event) -> u32 {
    boundary(|| {
        non_null(out)?;
        let (cell, generation) = registry::lookup(peer)?;
        let e = cell.update(generation, |p| Ok((p.poll_event(), Batch::default())))??;
        write_out(out, c_event(peer, &e));
        Ok(())
    })
}

/// Writes the peer's eventfd to `*out_fd`, for poll, epoll or asyncio. It is made readable by
/// every queued event, by close and by free, and reset when `pcstate_peer_poll_event` returns
/// EMPTY: after a wakeup, call `pcstate_peer_poll_event` until EMPTY. Reading the fd yourself is
/// allowed and loses no later wakeup. Owned by the peer and closed by `pcstate_peer_free`: do not
/// close it (wait on a `dup` of it if your loop may outlive the peer). Needs
/// `PCSTATE_FLAG_EVENT_QUEUE`.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_ARGUMENT (no event queue).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_event_fd(peer: pcstate_peer, out_fd: *mut c_int) -> u32 {
    boundary(|| {
        non_null(out_fd)?;
        write_out(out_fd, read(peer, |p| p.event_fd())??);
        Ok(())
    })
}

/// How many events a peer's event queue, and separately its callback backlog (events committed
/// while a callback of the peer runs), hold at most unless `pcstate_peer_set_event_limit` says
/// otherwise: 1024 (40 KiB each).
pub const PCSTATE_DEFAULT_EVENT_LIMIT: u32 = 1024;
/// The largest limit `pcstate_peer_set_event_limit` accepts (2^20 events, 40 MiB each).
pub const PCSTATE_MAX_EVENT_LIMIT: u32 = 1 << 20;

const _: () = assert!(PCSTATE_DEFAULT_EVENT_LIMIT == crate::queue::DEFAULT_LIMIT);
const _: () = assert!(PCSTATE_MAX_EVENT_LIMIT == crate::queue::MAX_LIMIT);

/// Bounds the peer's event queue and its callback backlog to `max_events` events each
/// (1 ..= `PCSTATE_MAX_EVENT_LIMIT`, default `PCSTATE_DEFAULT_EVENT_LIMIT`). An event that does
/// not fit (or for which memory cannot be had) is dropped and counted, and so is every later
/// one until the reader has taken what was kept; the reader then gets one
/// `PCSTATE_EVENT_KIND_OVERFLOW` event (`old_state`: how many were dropped, saturating; `seq`:
/// the newest dropped one) and resynchronises with `pcstate_peer_snapshot`. The state changes
/// themselves are never refused. A smaller limit than what is stored keeps what is stored.
///
/// Results: OK; INVALID_HANDLE; INVALID_ARGUMENT (out of range).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_set_event_limit(peer: pcstate_peer, max_events: u32) -> u32 {
    boundary(|| {
        update(peer, |p| {
            Ok((p.set_event_limit(max_events)?, Batch::default()))
        })
    })
}

/// The three states of `*states` as enums, or `INVALID_STATE`.
fn typed_states(s: &pcstate_transport_states) -> Result<TransportStates> {
    Ok(TransportStates {
        ice: IceTransportState::from_u32(s.ice_state).ok_or(ResultCode::InvalidState)?,
        dtls: DtlsTransportState::from_u32(s.dtls_state).ok_or(ResultCode::InvalidState)?,
        gatherer: GathererState::from_u32(s.gatherer_state).ok_or(ResultCode::InvalidState)?,
    })
}

/// A field given to `pcstate_transport_set_states`: `None` for `PCSTATE_STATE_UNCHANGED`, else
/// the validated state (`INVALID_STATE`).
fn kept_or<T>(v: u32, from: fn(u32) -> Option<T>) -> Result<Option<T>> {
    match v {
        PCSTATE_STATE_UNCHANGED => Ok(None),
        v => from(v).map(Some).ok_or(ResultCode::InvalidState),
    }
}

/// Reads one transport's states with `get` into `*out`.
fn transport_states(
    peer: pcstate_peer,
    out: *mut pcstate_transport_states,
    get: impl FnOnce(&crate::state::PeerState) -> Result<TransportStates>,
) -> u32 {
    boundary(|| {
        non_null(out)?;
        let s = read(peer, |p| get(&p.state))??;
        write_out(out, c_states(s));
        Ok(())
    })
}

fn c_states(s: TransportStates) -> pcstate_transport_states {
    pcstate_transport_states {
        ice_state: s.ice as u32,
        dtls_state: s.dtls as u32,
        gatherer_state: s.gatherer as u32,
    }
}

/// A field of `pcstate_transport_states` given to `pcstate_transport_set_states` that keeps the
/// transport's current state (for example, to change DTLS alone on an agent-driven transport).
pub const PCSTATE_STATE_UNCHANGED: u32 = u32::MAX;

/// Sets a transport's ICE, DTLS and gatherer states at once: one commit, events only for the net
/// change (no intermediate states). A field set to `PCSTATE_STATE_UNCHANGED` keeps that state. A
/// given ICE state is set directly, as by `pcstate_transport_set_ice_state` (detaching an ICE agent
/// and ending a failed liveness reading); a kept one stays agent-derived, and a gatherer change
/// re-derives it in the same commit.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_STATE (any field out of
/// range); CLOSED; NO_MEMORY. On error nothing changed.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_states(
    peer: pcstate_peer,
    transport: pcstate_transport,
    states: *const pcstate_transport_states,
) -> u32 {
    boundary(|| {
        non_null(states.cast_mut())?;
        // SAFETY: non-NULL checked; the caller passes a valid struct (documented).
        let s = unsafe { &*states };
        let ice = kept_or(s.ice_state, IceTransportState::from_u32)?;
        let dtls = kept_or(s.dtls_state, DtlsTransportState::from_u32)?;
        let gatherer = kept_or(s.gatherer_state, GathererState::from_u32)?;
        update(peer, |p| {
            Ok(((), p.state.set_states(transport, ice, dtls, gatherer)?))
        })
    })
}

/// Adds a transport already in the given states (for example one that is already connected):
/// one commit, no intermediate events; writes its id to `*out_transport`.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_STATE; CLOSED; LIMIT; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_add_with_states(
    peer: pcstate_peer,
    states: *const pcstate_transport_states,
    out_transport: *mut pcstate_transport,
) -> u32 {
    boundary(|| {
        non_null(states.cast_mut())?;
        non_null(out_transport)?;
        // SAFETY: non-NULL checked; the caller passes a valid struct (documented).
        let s = typed_states(unsafe { &*states })?;
        let id = update(peer, |p| p.state.add_with_states(s))?;
        write_out(out_transport, id);
        Ok(())
    })
}

/// Reports the state of the ICE agent that drives the transport (`PCSTATE_ICE_AGENT_*` and the
/// agent's own state number); the transport's ICE state is then derived from it, from the
/// transport's gatherer state and from the remote's end-of-candidates, and recomputed whenever
/// one of them changes. "completed" needs the agent's checks concluded (libnice READY, libjuice
/// COMPLETED) and gathering complete and remote end-of-candidates; without the last two it reads
/// "connected". libjuice CONNECTING reads "checking" only once a remote candidate was noted
/// (`pcstate_transport_note_remote_candidate`). An ICE restart (the agent going back to an earlier
/// state) ends the session's facts and holds a connected transport at "connected", as
/// `pcstate_transport_restart_ice` does. The tables are in docs/feeding.md.
/// `pcstate_transport_set_ice_state` or `pcstate_transport_set_states` detach the transport from
/// its agent, ending the agent run's facts.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; INVALID_ARGUMENT (unknown agent);
/// INVALID_STATE (state number out of the agent's range); CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_ice_agent_state(
    peer: pcstate_peer,
    transport: pcstate_transport,
    agent: u32,
    agent_state: u32,
) -> u32 {
    boundary(|| {
        let a = crate::agents::agent_state(agent, agent_state)?;
        update(peer, |p| Ok(((), p.state.set_agent_state(transport, a)?)))
    })
}

/// Records that the remote signalled the end of its candidates for this transport (an
/// `a=end-of-candidates` line, an empty candidate, or a remote that does not trickle). Kept until
/// the ICE session ends (`pcstate_transport_restart_ice`, a restart seen in the agent's states, or
/// the agent detached by setting the ICE state). Idempotent.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_set_remote_end_of_candidates(
    peer: pcstate_peer,
    transport: pcstate_transport,
) -> u32 {
    boundary(|| {
        update(peer, |p| {
            Ok(((), p.state.set_remote_end_of_candidates(transport)?))
        })
    })
}

/// CLOCK_MONOTONIC now, in nanoseconds: the clock event times use, and a clock to pass to
/// `pcstate_transport_note_alive` and `pcstate_peer_tick` (any monotonic nanosecond clock works if
/// used consistently for one peer).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_now_ns() -> u64 {
    catch_unwind(state::monotonic_ns).unwrap_or(0)
}

/// Turns liveness on for the peer: a transport whose ICE state is connected or completed and on
/// which nothing was noted alive (`pcstate_transport_note_alive`) for `disconnected_after_ns`
/// reads disconnected; for `failed_after_ns`, failed, until its ICE state is set again (as after
/// an ICE restart). Browsers report disconnected 5-10 s after traffic stops and failed after
/// about 15 s (Chromium) or 28 s (Firefox): `pcstate_peer_set_liveness_preset` sets their numbers;
/// libnice and libjuice report neither promptly. A transport's alive clock
/// starts at the first tick or note after it became connected. (0, 0) turns liveness off (the
/// default); otherwise `disconnected_after_ns` > 0 and `failed_after_ns` is 0 (never failed) or
/// greater. Every transport is watched afresh; one commit. Caller-clocked: no threads, no timers;
/// call `pcstate_peer_tick` when the deadline it returns has passed and after changing states.
///
/// Results: OK; INVALID_HANDLE; INVALID_ARGUMENT (bad durations); CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_set_liveness(
    peer: pcstate_peer,
    disconnected_after_ns: u64,
    failed_after_ns: u64,
) -> u32 {
    boundary(|| {
        update(peer, |p| {
            let b = p
                .state
                .set_liveness(disconnected_after_ns, failed_after_ns)?;
            Ok(((), b))
        })
    })
}

/// Notes that something arrived on the transport at `now_ns` (call it per received packet): a
/// transport that liveness reads disconnected reads its reported state again at once. A note
/// older than the transport's last one changes nothing, and so does one that the last
/// `pcstate_peer_tick` would already have read disconnected (it would be disconnected again at
/// the next tick). Does nothing when liveness is off or the transport is not connected. Costs
/// about one update.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED; NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_note_alive(
    peer: pcstate_peer,
    transport: pcstate_transport,
    now_ns: u64,
) -> u32 {
    boundary(|| update(peer, |p| Ok(((), p.state.note_alive(transport, now_ns)?))))
}

/// Applies the liveness deadlines that passed by `now_ns`, delivers the events (one commit for
/// all transports; the events carry the first transport that changed), and writes the next
/// deadline to `*out_next_deadline_ns` (`UINT64_MAX` when none): one timer per peer. Cheap when
/// nothing is due. After close: OK, next deadline `UINT64_MAX`.
///
/// Times (here and in `pcstate_transport_note_alive`) are read modulo 2^64: only differences
/// between them count, so a clock may start at any value, the largest included, and wrap around.
/// A deadline past `UINT64_MAX` wraps around too (with a clock that can wrap, test
/// `(int64_t)(now - deadline) >= 0`); one that falls on `UINT64_MAX` itself is written as
/// `UINT64_MAX - 1`, and a tick then writes it again. A peer's times must stay within 2^62 ns
/// (146 years) of its first tick.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_tick(
    peer: pcstate_peer,
    now_ns: u64,
    out_next_deadline_ns: *mut u64,
) -> u32 {
    boundary(|| {
        non_null(out_next_deadline_ns)?;
        let next = update(peer, |p| Ok(p.state.tick(now_ns)))?;
        write_out(out_next_deadline_ns, next);
        Ok(())
    })
}

/// Reads one transport's states as reported: ICE as set, or as derived from its ICE agent, before
/// liveness (`pcstate_transport_get_states` gives the effective ones, which the aggregates use).
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; UNKNOWN_TRANSPORT.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_get_reported_states(
    peer: pcstate_peer,
    transport: pcstate_transport,
    out: *mut pcstate_transport_states,
) -> u32 {
    transport_states(peer, out, |p| p.reported(transport))
}

/// The DOM event name of a `pcstate_event_kind` ("iceconnectionstatechange",
/// "connectionstatechange", "icegatheringstatechange", "overflow"); NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_event_kind_name(kind: u32) -> *const c_char {
    state_name(|| {
        crate::rules::EventKind::from_u32(kind).map(crate::rules::EventKind::dom_name_with_nul)
    })
}

/// Flag for `pcstate_peer_new`: the peer keeps its last `PCSTATE_HISTORY_LEN` events for
/// `pcstate_peer_history` (about 1.3 KiB); without it a peer pays nothing for history.
pub const PCSTATE_FLAG_HISTORY: u32 = 8;
/// How many events `PCSTATE_FLAG_HISTORY` keeps.
pub const PCSTATE_HISTORY_LEN: u32 = 32;

const _: () = assert!(PCSTATE_FLAG_HISTORY == state::FLAG_HISTORY);
const _: () = assert!(PCSTATE_HISTORY_LEN as usize == crate::delivery::HISTORY_LEN);

/// A peer's connection in numbers (`pcstate_peer_stats`). Times are CLOCK_MONOTONIC nanoseconds
/// (`pcstate_now_ns`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct pcstate_peer_stats {
    /// When the peer was created.
    pub created_ns: u64,
    /// When connectionState first became connected; 0 until then.
    pub first_connected_ns: u64,
    /// Time spent in each `pcstate_connection_state`, up to the moment of the call; sums to that
    /// moment minus `created_ns`.
    pub time_in_state_ns: [u64; 6],
    /// How many times each `pcstate_connection_state` was entered (new: 1, at creation).
    pub entered_state: [u32; 6],
    /// A `pcstate_failure_cause`: why connectionState last became failed, or NONE.
    pub failure_cause: u32,
    /// The transport whose input that was (0 if none).
    pub failure_transport: pcstate_transport,
}

/// Process-wide numbers (`pcstate_global_stats`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct pcstate_global_stats {
    /// Peers created and not freed.
    pub live_peers: u64,
    /// Live peers per `pcstate_connection_state`; sums to `live_peers` when no call is in flight.
    pub peers_in_state: [u64; 6],
    /// Events committed by all peers since the process started (freed peers' included).
    pub events_committed: u64,
    /// How many times any peer's connectionState became failed.
    pub failures: u64,
}

/// The name of a `pcstate_failure_cause` ("none", "ice", "dtls", "liveness": the labels the
/// bindings and metrics use); NULL if out of range.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_failure_cause_name(cause: u32) -> *const c_char {
    state_name(|| {
        crate::stats::FailureCause::from_u32(cause).map(crate::stats::FailureCause::name_with_nul)
    })
}

/// Reads the peer's numbers: when it was created and first connected, the time spent in and the
/// number of entries into each connectionState, and the cause of its latest failure: the input
/// (ICE transport, DTLS transport, or a liveness deadline) whose failure started the run of failed
/// inputs that made connectionState failed (when ICE and DTLS both failed, the one that failed
/// first). Kept for every peer at no cost on the update path.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_stats(peer: pcstate_peer, out: *mut pcstate_peer_stats) -> u32 {
    boundary(|| {
        non_null(out)?;
        let s = read(peer, |p| p.state.stats(state::monotonic_ns()))?;
        write_out(
            out,
            pcstate_peer_stats {
                created_ns: s.created_ns,
                first_connected_ns: s.first_connected_ns,
                time_in_state_ns: s.time_in_state_ns,
                entered_state: s.entered_state,
                failure_cause: s.failure_cause as u32,
                failure_transport: s.failure_transport,
            },
        );
        Ok(())
    })
}

/// Copies the peer's last events (at most `PCSTATE_HISTORY_LEN`, oldest first) into `out`: at
/// most `capacity` of them, the newest ones when it is smaller; writes how many to `*out_count`.
/// `out` may be NULL when `capacity` is 0 (then `*out_count` is how many are kept). Needs
/// `PCSTATE_FLAG_HISTORY`.
///
/// Results: OK; NULL_ARGUMENT; INVALID_HANDLE; INVALID_ARGUMENT (no history flag).
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_history(
    peer: pcstate_peer,
    out: *mut pcstate_event,
    capacity: usize,
    out_count: *mut usize,
) -> u32 {
    boundary(|| {
        non_null(out_count)?;
        if capacity > 0 {
            non_null(out)?;
        }
        let mut kept = [pcstate_event {
            peer,
            seq: 0,
            time_ns: 0,
            kind: 0,
            old_state: 0,
            new_state: 0,
            transport: 0,
        }; crate::delivery::HISTORY_LEN];
        let n = read(peer, |p| {
            p.history().map(|h| {
                let mut n = 0;
                for (slot, e) in kept.iter_mut().zip(h) {
                    *slot = c_event(peer, e);
                    n += 1;
                }
                n
            })
        })??;
        let (skip, count) = if capacity == 0 {
            (0, n)
        } else {
            let count = n.min(capacity);
            (n - count, count)
        };
        if capacity > 0 {
            for (i, e) in kept[skip..n].iter().enumerate() {
                // SAFETY: `out` is valid for `capacity` events (documented); i < count <= capacity.
                unsafe { out.add(i).write(*e) };
            }
        }
        write_out(out_count, count);
        Ok(())
    })
}

/// Reads the process-wide numbers: live peers, live peers per connectionState (exact at the
/// moment of the call when no other call is in flight), events committed and failures. Kept in
/// per-thread shards touched only when an aggregate changes, so threads on different peers do not
/// contend. Any thread.
///
/// Results: OK; NULL_ARGUMENT.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_global_stats(out: *mut pcstate_global_stats) -> u32 {
    boundary(|| {
        non_null(out)?;
        let (live_peers, peers_in_state, events_committed, failures) = crate::stats::global::read();
        write_out(
            out,
            pcstate_global_stats {
                live_peers,
                peers_in_state,
                events_committed,
                failures,
            },
        );
        Ok(())
    })
}

// ---- Restart continuity, remote candidates and liveness presets ---------------------------------
// Added by the state-engine work (issue 17, items 1-3); to be moved into their topics: the two
// transport calls beside `pcstate_transport_set_remote_end_of_candidates`, the preset beside
// `pcstate_peer_set_liveness`.

/// Says that an ICE restart began on the transport: `restartIce()`, or an ICE-restart offer or
/// answer applied (new ICE credentials). Call it before restarting the agent
/// (`nice_agent_restart_stream`, a new libjuice agent) and before the new session's remote
/// candidates and end-of-candidates. It ends the session's facts (remote end-of-candidates,
/// remote candidates). A transport that reads connected or completed then reads connected while
/// its agent gathers and checks again, until the agent reports a state that reads connected,
/// completed, disconnected or failed (for an ICE state set directly: until such a state is set;
/// new and checking read connected meanwhile), as browsers keep a transport connected through
/// `restartIce()`. A restart seen in the agent's states (a move back to an earlier state) gets
/// the same hold. With liveness on, silence still makes the transport disconnected and failed; a
/// failed liveness reading lasts until a new ICE state is reported.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_restart_ice(
    peer: pcstate_peer,
    transport: pcstate_transport,
) -> u32 {
    boundary(|| update(peer, |p| Ok(((), p.state.restart_ice(transport)?))))
}

/// Says that a remote candidate was given to the transport's agent
/// (`nice_agent_set_remote_candidates`, `juice_add_remote_candidate`, a remote description with
/// candidates, `addIceCandidate`). An agent state that runs checks before any candidate pair
/// exists (libjuice CONNECTING) reads checking only once this was called, new before; libnice
/// CONNECTING means a pair exists and reads checking either way. Kept until the ICE session ends
/// (`pcstate_transport_restart_ice`, a restart seen in the agent's states, or the agent detached
/// by setting the ICE state). Idempotent.
///
/// Results: OK; INVALID_HANDLE; UNKNOWN_TRANSPORT; CLOSED.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_transport_note_remote_candidate(
    peer: pcstate_peer,
    transport: pcstate_transport,
) -> u32 {
    boundary(|| {
        update(peer, |p| {
            Ok(((), p.state.note_remote_candidate(transport)?))
        })
    })
}

/// `pcstate_peer_set_liveness_preset`: liveness off.
pub const PCSTATE_LIVENESS_PRESET_OFF: u32 = 0;
/// `pcstate_peer_set_liveness_preset`: Chromium's timings: disconnected after 6 s without a packet,
/// failed after 15.3 s (libwebrtc's 5 s unwritable and 15 s inactive timeouts, counted from its
/// first unanswered check; measured 5.3-7.0 s and 15.3 s after the loss).
pub const PCSTATE_LIVENESS_PRESET_CHROMIUM: u32 = 1;
/// `pcstate_peer_set_liveness_preset`: Firefox's timings: disconnected after 7.5 s without a
/// packet, failed after 28.5 s (a consent check unanswered, consent expiry of RFC 7675; measured
/// 5.3-9.5 s and 28-29 s after the loss).
pub const PCSTATE_LIVENESS_PRESET_FIREFOX: u32 = 2;

const _: () = assert!(PCSTATE_LIVENESS_PRESET_OFF == crate::liveness::Preset::Off as u32);
const _: () = assert!(PCSTATE_LIVENESS_PRESET_CHROMIUM == crate::liveness::Preset::Chromium as u32);
const _: () = assert!(PCSTATE_LIVENESS_PRESET_FIREFOX == crate::liveness::Preset::Firefox as u32);

/// Turns liveness on with the thresholds that reproduce a browser's timings for a path that goes
/// silent during media, as `pcstate_peer_set_liveness` with them: `PCSTATE_LIVENESS_PRESET_CHROMIUM`
/// or `PCSTATE_LIVENESS_PRESET_FIREFOX`; `PCSTATE_LIVENESS_PRESET_OFF` turns liveness off. The
/// numbers and their sources are in docs/feeding.md ("Liveness").
///
/// Results: OK; INVALID_HANDLE; INVALID_ARGUMENT (unknown preset; also after close); CLOSED;
/// NO_MEMORY.
#[unsafe(no_mangle)]
pub extern "C" fn pcstate_peer_set_liveness_preset(peer: pcstate_peer, preset: u32) -> u32 {
    boundary(|| {
        let (disconnected, failed) = crate::liveness::Preset::from_u32(preset)
            .ok_or(ResultCode::InvalidArgument)?
            .durations();
        update(peer, |p| {
            Ok(((), p.state.set_liveness(disconnected, failed)?))
        })
    })
}
