//! The `extern "C"` surface: one file per topic of the header, in its order, and here what they
//! share (the panic boundary, checked pointers, and the calls into a peer).
//!
//! Every exported body runs inside `boundary` (a panic never crosses into C); pointers are
//! checked before anything changes and out-parameters written only on success; enums from C
//! arrive as `uint32_t` and are validated. The Rust signatures are the C ones: cbindgen writes
//! them into `include/pcstate.h` as they are. The functions are meant to be called from C, where
//! every pointer argument carries the documented contract (NULL, or valid for the access); they
//! are not `unsafe fn` so that Rust tests can call them as C does.
//!
//! Adding a function: write it in the file of its topic, then regenerate the header and the ABI
//! manifest with `PCSTATE_BLESS=1 cargo test --test header` and commit both.
#![allow(non_camel_case_types, clippy::not_unsafe_ptr_arg_deref)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use crate::error::{Result, ResultCode};
use crate::peer::Peer;
use crate::state::Batch;

mod names;
pub use names::*;
mod peer;
pub use peer::*;
mod transports;
pub use transports::*;
mod events;
pub use events::*;
mod field;
pub use field::*;
mod observability;
pub use observability::*;

pub use crate::constants::*;

/// Runs an exported body and turns its outcome into the result C receives; a panic becomes
/// `PCSTATE_RESULT_PANIC` instead of unwinding into C.
#[inline(always)]
fn boundary(f: impl FnOnce() -> Result<()>) -> ResultCode {
    match catch_unwind(AssertUnwindSafe(|| {
        crate::fault::maybe_panic();
        f()
    })) {
        Ok(Ok(())) => ResultCode::Ok,
        Ok(Err(e)) => e,
        Err(_) => ResultCode::Panic,
    }
}

/// Runs an exported body that cannot fail (names, the clock); a panic gives `on_panic`.
fn boundary_or<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// An out-parameter checked non-NULL by [`out`]; [`Out::write`] stores the result once the call
/// has succeeded.
struct Out<T>(NonNull<T>);

/// Checks an out-parameter: `NULL_ARGUMENT` when it is NULL.
fn out<T>(p: *mut T) -> Result<Out<T>> {
    NonNull::new(p).map(Out).ok_or(ResultCode::NullArgument)
}

impl<T> Out<T> {
    /// Writes the call's result.
    fn write(self, v: T) {
        // SAFETY: non-NULL (checked by `out`); the C caller passes a pointer valid and aligned
        // for writing one `T`, the documented contract of every out-parameter.
        unsafe { self.0.as_ptr().write(v) }
    }
}

/// An array out-parameter of `capacity` elements; NULL is accepted only when `capacity` is 0.
struct OutArray<T> {
    first: *mut T,
    capacity: usize,
}

/// Checks an array out-parameter: `NULL_ARGUMENT` when it is NULL but `capacity` is not 0.
fn out_array<T>(first: *mut T, capacity: usize) -> Result<OutArray<T>> {
    if first.is_null() && capacity > 0 {
        return Err(ResultCode::NullArgument);
    }
    Ok(OutArray { first, capacity })
}

impl<T: Copy> OutArray<T> {
    /// Copies `items` to the start of the array; more items than its capacity is a bug (a panic,
    /// caught by the boundary, before anything is written).
    fn write(self, items: &[T]) {
        assert!(
            items.len() <= self.capacity,
            "more items than the array holds"
        );
        if items.is_empty() {
            return;
        }
        // SAFETY: `first` is non-NULL (capacity > 0, checked by `out_array`) and, by the
        // documented contract, valid for writing `capacity` elements; `items` fits and is Rust
        // memory, so the two do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), self.first, items.len()) }
    }
}

/// Reads an input pointer: `NULL_ARGUMENT` when it is NULL.
fn input<'a, T>(p: *const T) -> Result<&'a T> {
    // SAFETY: the C caller passes NULL or a pointer valid and aligned for reading one `T` for the
    // duration of the call, the documented contract of every input pointer.
    unsafe { p.as_ref() }.ok_or(ResultCode::NullArgument)
}

/// Runs an operation that may commit events on the peer: under its lock, then delivers them.
#[inline(always)]
fn update(peer: pcstate_peer, op: impl FnOnce(&mut Peer) -> Result<Batch>) -> Result<()> {
    update_value(peer, |p| op(p).map(|batch| ((), batch)))
}

/// [`update`] for an operation that also gives a value (a new transport's id, a deadline).
#[inline(always)]
fn update_value<T>(
    peer: pcstate_peer,
    op: impl FnOnce(&mut Peer) -> Result<(T, Batch)>,
) -> Result<T> {
    crate::handle::update(peer, op)
}

/// Changes the peer under its lock without committing events (the queue, the event limit).
fn update_silent<T>(peer: pcstate_peer, op: impl FnOnce(&mut Peer) -> Result<T>) -> Result<T> {
    update_value(peer, |p| Ok((op(p)?, Batch::default())))
}

/// Reads the peer under its lock.
fn read<T>(peer: pcstate_peer, f: impl FnOnce(&Peer) -> Result<T>) -> Result<T> {
    crate::handle::read(peer, f)?
}
