//! Runs an operation on the peer behind a handle (look the handle up, then lock, commit and
//! deliver): the one path into a peer that the C surface and the Rust API both take.

use crate::error::Result;
use crate::peer::Peer;
use crate::registry;
use crate::state::Batch;

/// Runs a mutating peer operation: locks the peer, commits the events `op` returns (history,
/// queue, callback) and delivers them unless another thread is delivering this peer's events.
#[inline(always)]
pub(crate) fn update<T>(peer: u64, op: impl FnOnce(&mut Peer) -> Result<(T, Batch)>) -> Result<T> {
    let (cell, generation) = registry::lookup(peer)?;
    cell.update(generation, op)
}

/// Reads a peer under its lock.
#[inline(always)]
pub(crate) fn read<T>(peer: u64, f: impl FnOnce(&Peer) -> T) -> Result<T> {
    let (cell, generation) = registry::lookup(peer)?;
    cell.read(generation, f)
}
