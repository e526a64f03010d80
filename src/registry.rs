//! Peer handles: `generation << 32 | index` into a two-level table of [`Cell`]s.
//!
//! Looking a handle up reads one atomic pointer (the cell's segment) and writes nothing shared:
//! threads working on different peers touch different cache lines. Segments are allocated once
//! and never freed, so a cell's address stays valid forever; a cell freed by one peer is reused by
//! a later one with the next generation, so every stale handle fails its generation check. Only
//! creating and freeing a peer take the global allocation lock.
//!
//! The registry owns the cells; the delivery protocol only reports when a cell may be reused
//! (`Reuse` from `free`, the flag `Cell::update` returns), and the registry acts on that: the
//! protocol never calls up into the registry.

use std::sync::atomic::{AtomicPtr, Ordering};

use parking_lot::Mutex;

use crate::alloc::try_leak;
use crate::delivery::{Cell, Reuse};
use crate::error::{Result, ResultCode};
use crate::peer::Peer;

/// 256 cells (48 KiB) per segment: a cell's place in its segment is the handle's low byte (one
/// instruction to take), and a process with few peers maps little.
const SEGMENT_BITS: u32 = 8;
const SEGMENT_LEN: usize = 1 << SEGMENT_BITS;
const DIRECTORY_LEN: usize = 1 << 16;
/// The most peers alive at once (16M).
pub(crate) const MAX_PEERS: usize = SEGMENT_LEN * DIRECTORY_LEN;

/// The segments, null until allocated (zeroed static memory: nothing to write at load).
static DIRECTORY: [AtomicPtr<Cell>; DIRECTORY_LEN] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; DIRECTORY_LEN];

/// Freed cells ready for reuse, most recently freed first: a list linked through the free cells
/// themselves (`Cell::link_free`), so it costs no memory per peer and never allocates.
struct Allocator {
    /// The first free cell's index plus one (0: none).
    free: u32,
    /// Cells never used yet start here.
    next: u32,
}

static ALLOCATOR: Mutex<Allocator> = parking_lot::const_mutex(Allocator { free: 0, next: 0 });

#[inline(always)]
fn cell(index: u32) -> Option<&'static Cell> {
    let segment = DIRECTORY
        .get(index as usize >> SEGMENT_BITS)?
        .load(Ordering::Acquire);
    if segment.is_null() {
        return None;
    }
    // SAFETY: a published segment is `SEGMENT_LEN` cells leaked by `try_leak`, never freed or
    // moved.
    Some(unsafe { &*segment.add(index as usize & (SEGMENT_LEN - 1)) })
}

/// A cell never used yet, allocating a segment when the used ones are full (allocator locked).
fn fresh_index(a: &mut Allocator) -> Result<u32> {
    let i = a.next;
    if i as usize >= MAX_PEERS {
        return Err(ResultCode::Limit);
    }
    let slot = &DIRECTORY[i as usize >> SEGMENT_BITS];
    if slot.load(Ordering::Relaxed).is_null() {
        let segment = try_leak(SEGMENT_LEN, |_| Cell::new())?;
        slot.store(segment.as_mut_ptr(), Ordering::Release);
    }
    a.next += 1;
    Ok(i)
}

/// A registered cell: the delivery protocol's [`Cell`] (its `read`, `set_callback`, ...), with
/// `update` acting on what the protocol reports about reuse.
#[derive(Copy, Clone)]
pub struct Slot {
    cell: &'static Cell,
    index: u32,
}

impl std::ops::Deref for Slot {
    type Target = Cell;
    fn deref(&self) -> &Cell {
        self.cell
    }
}

impl Slot {
    /// `Cell::update`; hands the cell back for reuse when a callback the update ran freed its own
    /// peer and has returned.
    #[inline(always)]
    pub fn update<T>(
        &self,
        generation: u32,
        op: impl FnOnce(&mut Peer) -> Result<(T, crate::state::Batch)>,
    ) -> Result<T> {
        let (value, reusable) = self.cell.update(generation, op);
        if reusable {
            recycle(self.index);
        }
        value
    }
}

/// Splits a handle into its cell and generation; `InvalidHandle` for an index never allocated
/// (any other handle that names no peer is refused by the cell).
#[inline(always)]
pub fn lookup(handle: u64) -> Result<(Slot, u32)> {
    // Generation 0 (handle 0 among them) needs no test here: it names no peer, since a cell
    // whose generation is 0 is retired and empty, and `Cell` checks generation and peer.
    let generation = (handle >> 32) as u32;
    let index = handle as u32;
    let cell = cell(index).ok_or(ResultCode::InvalidHandle)?;
    Ok((Slot { cell, index }, generation))
}

/// Registers a new peer and returns its handle: in the most recently freed cell, else in one
/// never used. Lock order: the allocator's, then a cell's.
pub fn insert(peer: Peer) -> Result<u64> {
    let mut a = ALLOCATOR.lock();
    let index = match a.free {
        0 => fresh_index(&mut a)?,
        head => head - 1,
    };
    let cell = cell(index).expect("allocated cells exist");
    // Retired cells (generations used up) are never put on the free list.
    let (generation, next_free) = cell.occupy(peer).expect("a free cell is not retired");
    if a.free != 0 {
        a.free = next_free;
    }
    Ok((generation as u64) << 32 | index as u64)
}

/// Frees the peer behind a handle; its cell is reused later under a new generation.
pub fn remove(handle: u64) -> Result<()> {
    remove_reading(handle, |_| ())
}

/// `remove`, which also returns what `last` reads of the peer as it is freed (see
/// `Cell::free_reading`).
pub fn remove_reading<R>(handle: u64, last: impl FnOnce(&Peer) -> R) -> Result<R> {
    let (cell, generation) = lookup(handle)?;
    let (reuse, read) = cell.free_reading(generation, last)?;
    if reuse == Reuse::Now {
        recycle(handle as u32);
    }
    Ok(read)
}

/// Hands cell `index` back for reuse (its peer is freed and no callback of it is running).
/// Never allocates. Lock order: the allocator's, then a cell's (no cell lock is held here).
fn recycle(index: u32) {
    let mut a = ALLOCATOR.lock();
    cell(index).expect("a used cell exists").link_free(a.free);
    a.free = index + 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Profile;

    #[test]
    fn stale_and_forged_handles_fail() {
        let h = insert(Peer::new(Profile::W3c, 0).unwrap()).unwrap();
        assert_ne!(h, 0);
        let (cell, g) = lookup(h).unwrap();
        assert!(cell.read(g, |_| ()).is_ok());
        remove(h).unwrap();
        assert_eq!(remove(h), Err(ResultCode::InvalidHandle));
        let (cell, g) = lookup(h).unwrap();
        assert_eq!(cell.read(g, |_| ()), Err(ResultCode::InvalidHandle));
        // The cell is reused with a new generation; the old handle stays invalid.
        let h2 = insert(Peer::new(Profile::W3c, 0).unwrap()).unwrap();
        assert_ne!(h2, h);
        assert_eq!(cell.read(g, |_| ()), Err(ResultCode::InvalidHandle));
        for handle in [0, h2 & 0xFFFF_FFFF] {
            let refused = lookup(handle).and_then(|(cell, g)| cell.read(g, |_| ()));
            assert_eq!(refused, Err(ResultCode::InvalidHandle), "generation 0");
        }
        assert!(
            lookup(u32::MAX as u64 | 1 << 32).is_err(),
            "index never allocated"
        );
        remove(h2).unwrap();
    }
}
