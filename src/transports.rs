//! A peer's transports: id -> an 8-byte entry (effective states, ICE source, liveness slot); a
//! lookup is worst-case O(1) whatever ids are live.
//!
//! Ids are handed out 1, 2, 3, ... and never reused, and which of them stay live is up to the
//! application, so it can keep exactly the ids that collide under any fixed hash. The table is a
//! bucketized cuckoo hash: buckets of 4 slots, and every id lives in one of its two buckets, named
//! by two multiplicative hashes seeded per table (drawn from a per-thread random source seeded by
//! the OS whenever the table is built or rebuilt). So:
//! - a lookup (every update) examines at most 8 slots, for any set of live ids, even ids chosen
//!   by someone who knows the seed: worst-case O(1), no randomness in that bound;
//! - an add finds room in one of its buckets or moves a few others along a short path to a free
//!   slot; when there is none, the table is rebuilt with a fresh seed (or twice the buckets). An add
//!   is therefore O(1) expected, amortized, against anyone who cannot see the seed;
//! - a remove is O(1) (a shrink, amortized, when the table is 1/8 full).
//!
//! Memory follows the live transports (at least 1/8 full above 8 slots) however many were ever
//! added. A table of up to 4 transports is one bucket of 4 slots: no hashing, no seed.
//! The table keeps its buckets compact (occupied slots first), so a scan stops at an empty slot.

use std::ptr::NonNull;

use crate::alloc::try_slice;
use crate::error::{Result, ResultCode};
use crate::ice_source::Source;
use crate::liveness::Slot;
use crate::rules::{DtlsTransportState, GathererState, IceTransportState, Input, TransportStates};

/// One slot (8 bytes): `id == 0` marks it empty. What a transport that uses neither an ICE agent
/// nor liveness pays for them: the `source` byte's agent field and the 2-byte `live` slot.
#[derive(Copy, Clone, Default)]
pub(crate) struct Entry {
    id: u32,
    /// Its liveness record (see `liveness`), 0 while liveness is off.
    pub live: Slot,
    /// The effective ICE, DTLS and gatherer states, packed by [`Input`] (see [`Entry::get`]):
    /// what the counters count.
    states: u8,
    /// Where its ICE state comes from: set directly, or an ICE agent's state and the session's
    /// facts.
    pub source: Source,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 8);
const _: () = assert!(std::mem::size_of::<TransportTable>() == 16);

/// Bits needed for the C numbers `0..count`.
const fn width(count: usize) -> u32 {
    usize::BITS - (count - 1).leading_zeros()
}

/// How many bits an input's states take in [`Entry::states`].
const fn bits_of(which: Input) -> u32 {
    match which {
        Input::Ice => width(IceTransportState::COUNT),
        Input::Dtls => width(DtlsTransportState::COUNT),
        Input::Gatherer => width(GathererState::COUNT),
    }
}

/// Where an input's states sit in [`Entry::states`]: after the inputs listed before it.
const fn shift_of(which: Input) -> u32 {
    let mut shift = 0;
    let mut k = 0;
    while (Input::ALL[k] as usize) < which as usize {
        shift += bits_of(Input::ALL[k]);
        k += 1;
    }
    shift
}

/// Per input, (shift, mask) of its field in [`Entry::states`].
const FIELDS: [(u32, u8); Input::COUNT] = {
    let mut f = [(0, 0); Input::COUNT];
    let mut k = 0;
    while k < Input::COUNT {
        let which = Input::ALL[k];
        assert!(
            shift_of(which) + bits_of(which) <= 8,
            "the inputs' states fit one byte"
        );
        f[k] = (shift_of(which), ((1u32 << bits_of(which)) - 1) as u8);
        k += 1;
    }
    f
};

impl Entry {
    /// The transport's id.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// One effective state as its C number.
    #[inline(always)]
    pub(crate) fn get(&self, which: Input) -> u8 {
        let (shift, mask) = FIELDS[which as usize];
        self.states >> shift & mask
    }

    /// Stores one effective state (a C number in range for that input).
    #[inline(always)]
    pub(crate) fn set(&mut self, which: Input, v: u8) {
        let (shift, mask) = FIELDS[which as usize];
        self.states = self.states & !(mask << shift) | v << shift;
    }

    pub(crate) fn states(&self) -> TransportStates {
        TransportStates {
            ice: IceTransportState::ALL[self.get(Input::Ice) as usize],
            dtls: DtlsTransportState::ALL[self.get(Input::Dtls) as usize],
            gatherer: GathererState::ALL[self.get(Input::Gatherer) as usize],
        }
    }

    fn set_states(&mut self, s: TransportStates) {
        for &which in Input::ALL {
            self.set(which, s.get(which));
        }
    }

    fn new(id: u32, s: TransportStates, source: Source) -> Entry {
        let mut e = Entry {
            id,
            source,
            ..Entry::default()
        };
        e.set_states(s);
        e
    }
}

/// Slots per bucket.
const BUCKET: usize = 4;
/// Buckets a path search visits at most before the table is rebuilt instead.
const PATH_SEARCH: usize = 32;
/// Seeds a rebuild tries at one size before it doubles the buckets.
const SEEDS: u32 = 8;
/// Doublings a rebuild tries before giving up with `NoMemory` (unreachable in practice: at 1/8
/// load or less, 8 seeds in a row would all have to fail).
const DOUBLINGS: u32 = 4;

/// The bucket an empty table points to: its first slot is empty, so every lookup fails there.
/// Never written (only found entries are, and inserts go to a table's own slots).
static EMPTY: [Entry; BUCKET] = [Entry {
    id: 0,
    live: 0,
    states: 0,
    source: Source::direct(IceTransportState::New, crate::agents::Facts::NONE),
}; BUCKET];

/// The transport table of one peer (16 bytes, plus its slots on the heap).
pub struct TransportTable {
    /// `1 << (32 - shift)` buckets, a power of two: the table's own (a leaked `Box<[_]>`, thin:
    /// its length follows from `shift`), or, while it has none, [`EMPTY`] with `shift` 32. A
    /// table of one bucket may be full; larger ones are at most 3/4 full.
    buckets: NonNull<[Entry; BUCKET]>,
    /// At most 65,535 (`rules::Count::MAX`, the most transports a peer has at once).
    len: u16,
    /// 32 - log2(buckets): the first bucket of `id` is `(id * seed) >> shift`.
    shift: u8,
    /// Odd; picks this table's two hash functions (see `bucket`); drawn when it is built.
    seed: u32,
}

// SAFETY: the table owns its buckets as a `Box<[_]>` would (EMPTY is never written).
unsafe impl Send for TransportTable {}
// SAFETY: as `Box<[_]>`: shared access only reads.
unsafe impl Sync for TransportTable {}

impl Default for TransportTable {
    fn default() -> Self {
        TransportTable {
            buckets: NonNull::from(&EMPTY),
            len: 0,
            shift: 32,
            seed: 1,
        }
    }
}

impl Drop for TransportTable {
    fn drop(&mut self) {
        drop(self.take_buckets());
    }
}

/// A breadth-first search node: `bucket`, reached from node `parent` by moving the entry in
/// slot `slot` of the parent's bucket.
#[derive(Copy, Clone, Default)]
struct Node {
    bucket: u32,
    parent: u8,
    slot: u8,
}

impl TransportTable {
    /// How many transports are in the table.
    pub fn len(&self) -> u32 {
        u32::from(self.len)
    }

    /// Whether the table holds no transport.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the table has buckets of its own (else it points to [`EMPTY`]).
    fn owns_buckets(&self) -> bool {
        !std::ptr::eq(self.buckets.as_ptr(), &EMPTY)
    }

    /// Its own buckets (none while it points to [`EMPTY`]).
    fn buckets(&self) -> &[[Entry; BUCKET]] {
        let n = if self.owns_buckets() {
            self.mask() + 1
        } else {
            0
        };
        // SAFETY: an owned pointer is a leaked `Box<[_]>` of `mask() + 1` buckets.
        unsafe { std::slice::from_raw_parts(self.buckets.as_ptr(), n) }
    }

    fn buckets_mut(&mut self) -> &mut [[Entry; BUCKET]] {
        let n = if self.owns_buckets() {
            self.mask() + 1
        } else {
            0
        };
        // SAFETY: as `buckets`, borrowed mutably with the table.
        unsafe { std::slice::from_raw_parts_mut(self.buckets.as_ptr(), n) }
    }

    /// Takes its own buckets back as the box they were (the table is left pointing to
    /// [`EMPTY`]).
    fn take_buckets(&mut self) -> Box<[[Entry; BUCKET]]> {
        let n = if self.owns_buckets() {
            self.mask() + 1
        } else {
            0
        };
        let ptr = std::mem::replace(&mut self.buckets, NonNull::from(&EMPTY));
        self.shift = 32;
        if n == 0 {
            return Box::default();
        }
        // SAFETY: an owned pointer is a leaked `Box<[_]>` of `n` buckets, now no longer the
        // table's.
        unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr.as_ptr(), n)) }
    }

    /// Makes `buckets` (a power of two of them, at least one) the table's own.
    fn set_buckets(&mut self, buckets: Box<[[Entry; BUCKET]]>) {
        debug_assert!(buckets.len().is_power_of_two());
        drop(self.take_buckets());
        self.shift = (32 - buckets.len().trailing_zeros()) as u8;
        self.buckets = NonNull::from(Box::leak(buckets)).cast();
    }

    /// The number of buckets minus 1 (as addressed: [`EMPTY`] is one bucket).
    #[inline(always)]
    fn mask(&self) -> usize {
        (1usize << (32 - u32::from(self.shift))) - 1
    }

    /// Every slot; slot `i` is slot `i % BUCKET` of bucket `i / BUCKET`.
    fn slots(&self) -> &[Entry] {
        self.buckets().as_flattened()
    }

    fn slots_mut(&mut self) -> &mut [Entry] {
        self.buckets_mut().as_flattened_mut()
    }

    /// Bucket `b` (`b <= mask()`, as `bucket` returns), by reference.
    #[inline(always)]
    fn bucket_at(&self, b: usize) -> &[Entry; BUCKET] {
        debug_assert!(b <= self.mask());
        // SAFETY: `buckets` points to `mask() + 1` buckets (EMPTY is one).
        unsafe { &*self.buckets.as_ptr().add(b) }
    }

    /// Bucket `which` (0 or 1) of `id` (the table has slots). The first is the top bits of
    /// `id * a`, the second differs from it in the lowest bit and elsewhere by the top bits of
    /// `id * b` (`a`, `b` odd, from the seed: multiplicative hashing), so the two are distinct
    /// when there are two buckets or more. One bucket: both are 0.
    #[inline(always)]
    fn bucket(&self, id: u32, which: u32) -> usize {
        debug_assert!(self.shift <= 32);
        // SAFETY: `shift` is 32 - log2(buckets), at most 32 (so the shift needs no masking).
        unsafe { std::hint::assert_unchecked(self.shift <= 32) };
        let top = |x: u32| (u64::from(x) >> self.shift) as usize;
        let first = top(id.wrapping_mul(self.seed));
        if which == 0 {
            return first;
        }
        let b = self.seed.rotate_left(16) ^ 0x9E37_79B9 | 1;
        (first ^ (top(id.wrapping_mul(b)) | 1)) & self.mask()
    }

    /// The slot of `id` within `bucket`, if there. Buckets are compact (occupied slots first),
    /// so the scan stops at the first empty slot, and id 0 is never found.
    #[inline(always)]
    fn scan(bucket: &[Entry; BUCKET], id: u32) -> Option<usize> {
        for (k, e) in bucket.iter().enumerate() {
            if e.id == 0 {
                return None;
            }
            if e.id == id {
                return Some(k);
            }
        }
        None
    }

    /// The bucket and slot of `id`: at most two buckets of 4 slots are examined.
    #[inline(always)]
    fn find(&self, id: u32) -> Option<(usize, usize)> {
        // An empty table points to EMPTY, whose first slot ends the scan.
        let first = self.bucket(id, 0);
        if let Some(k) = Self::scan(self.bucket_at(first), id) {
            return Some((first, k));
        }
        let second = self.bucket(id, 1);
        if second == first {
            return None;
        }
        Self::scan(self.bucket_at(second), id).map(|k| (second, k))
    }

    /// The states of transport `id`, if present.
    pub fn get(&self, id: u32) -> Option<TransportStates> {
        self.entry(id).map(Entry::states)
    }

    /// Transport `id`'s whole entry, to update in place.
    #[inline(always)]
    pub(crate) fn entry_mut(&mut self, id: u32) -> Option<&mut Entry> {
        let (b, k) = self.find(id)?;
        debug_assert!(self.owns_buckets() && b <= self.mask() && k < BUCKET);
        // SAFETY: `find` found `id` (not 0, so not in EMPTY) in slot `k` of bucket `b`, one of
        // the table's own `mask() + 1` buckets, borrowed mutably with the table.
        Some(unsafe { &mut (*self.buckets.as_ptr().add(b))[k] })
    }

    /// Transport `id`'s whole entry.
    pub(crate) fn entry(&self, id: u32) -> Option<&Entry> {
        let (b, k) = self.find(id)?;
        Some(&self.bucket_at(b)[k])
    }

    /// Replaces the states of transport `id`; returns the old states, or `None` if absent.
    #[cfg(test)]
    pub fn replace(&mut self, id: u32, s: TransportStates) -> Option<TransportStates> {
        let e = self.entry_mut(id)?;
        let old = e.states();
        e.set_states(s);
        Some(old)
    }

    /// Adds transport `id` (not present, not 0); `NoMemory`, with nothing changed, when the
    /// table must grow and cannot.
    #[cfg(test)]
    pub fn insert(&mut self, id: u32, s: TransportStates) -> Result<()> {
        self.insert_entry(id, s, Source::default())
    }

    /// `insert` with where its ICE state comes from.
    pub(crate) fn insert_entry(
        &mut self,
        id: u32,
        s: TransportStates,
        source: Source,
    ) -> Result<()> {
        debug_assert!(id != 0 && self.find(id).is_none());
        let e = Entry::new(id, s, source);
        if self.len == u16::MAX {
            return Err(ResultCode::Limit); // callers stop at rules::Count::MAX first
        }
        let cap = self.buckets().len() * BUCKET;
        let full = self.len as usize >= if cap <= BUCKET { cap } else { cap / 4 * 3 };
        if !full && self.place(e) {
            self.len += 1;
            return Ok(());
        }
        // No room, or no path to a free slot: rebuild with a fresh seed (and more buckets when
        // full), the old table untouched until the new one holds everything.
        let mut cap = if full { (cap * 2).max(BUCKET) } else { cap };
        for _ in 0..=DOUBLINGS {
            if let Some(t) = self.rebuilt(cap, Some(e))? {
                *self = t;
                return Ok(());
            }
            cap *= 2;
        }
        Err(ResultCode::NoMemory)
    }

    /// A table of `cap` slots with every entry of this one (and `extra`), or `None` when no seed
    /// tried places them all.
    fn rebuilt(&self, cap: usize, extra: Option<Entry>) -> Result<Option<TransportTable>> {
        let buckets = try_slice(cap / BUCKET, |_| [Entry::default(); BUCKET])
            .map_err(|_| ResultCode::NoMemory)?;
        let mut t = TransportTable::default();
        t.set_buckets(buckets);
        for _ in 0..SEEDS {
            // One bucket needs no hashing (and no random number).
            t.seed = if cap > BUCKET { random_seed() | 1 } else { 1 };
            let mut all = self
                .slots()
                .iter()
                .filter(|e| e.id != 0)
                .chain(extra.iter());
            if all.all(|e| t.place(*e)) {
                t.len = self.len + u16::from(extra.is_some());
                return Ok(Some(t));
            }
            t.buckets_mut().fill([Entry::default(); BUCKET]);
        }
        Ok(None)
    }

    /// The first free slot of `bucket`.
    #[inline]
    fn free_slot(&self, bucket: usize) -> Option<usize> {
        let base = bucket * BUCKET;
        (base..base + BUCKET).find(|&i| self.slots()[i].id == 0)
    }

    /// Puts `e` (not present) into one of its buckets, moving entries to their other bucket along
    /// the shortest path (breadth first, at most `PATH_SEARCH` buckets) to a free slot. Returns
    /// false, with nothing changed, when there is none.
    fn place(&mut self, e: Entry) -> bool {
        let mut nodes = [Node::default(); PATH_SEARCH];
        let mut n = 0;
        for which in [0, 1] {
            let b = self.bucket(e.id, which);
            if let Some(i) = self.free_slot(b) {
                self.slots_mut()[i] = e;
                return true;
            }
            if n == 0 || nodes[0].bucket as usize != b {
                nodes[n] = Node {
                    bucket: b as u32,
                    parent: u8::MAX,
                    slot: 0,
                };
                n += 1;
            }
        }
        let mut at = 0;
        while at < n {
            let b = nodes[at].bucket as usize;
            for slot in 0..BUCKET {
                let id = self.buckets()[b][slot].id;
                let (first, second) = (self.bucket(id, 0), self.bucket(id, 1));
                let other = if first == b { second } else { first };
                if other == b || nodes[..n].iter().any(|x| x.bucket as usize == other) {
                    continue;
                }
                if n == PATH_SEARCH {
                    return false;
                }
                nodes[n] = Node {
                    bucket: other as u32,
                    parent: at as u8,
                    slot: slot as u8,
                };
                n += 1;
                if let Some(free) = self.free_slot(other) {
                    self.shift_path(&nodes, n - 1, free, e);
                    return true;
                }
            }
            at += 1;
        }
        false
    }

    /// Moves each entry on the path ending at node `last` (whose bucket has `free` slot free) one
    /// step along it, then puts `e` into the slot freed in the first bucket.
    fn shift_path(&mut self, nodes: &[Node], mut last: usize, mut free: usize, e: Entry) {
        loop {
            let node = nodes[last];
            if node.parent == u8::MAX {
                self.slots_mut()[free] = e;
                return;
            }
            let from = nodes[node.parent as usize].bucket as usize * BUCKET + node.slot as usize;
            self.slots_mut()[free] = self.slots()[from];
            free = from;
            last = node.parent as usize;
        }
    }

    /// Removes transport `id`; returns its states, or `None` if absent.
    pub fn remove(&mut self, id: u32) -> Option<TransportStates> {
        let (b, k) = self.find(id)?;
        let bucket = &mut self.buckets_mut()[b];
        let removed = bucket[k].states();
        // Keep the bucket compact: its last entry fills the hole.
        let last = (0..BUCKET)
            .rev()
            .find(|&j| bucket[j].id != 0)
            .expect("slot k is occupied");
        bucket[k] = bucket[last];
        bucket[last] = Entry::default();
        self.len -= 1;
        let cap = self.buckets().len() * BUCKET;
        if self.len == 0 {
            drop(self.take_buckets());
        } else if cap > 8 && (self.len as usize) * 8 < cap {
            // Shrinking is an optimisation: without memory (or a seed that fits), keep this one.
            if let Ok(Some(t)) = self.rebuilt(cap / 2, None) {
                *self = t;
            }
        }
        Some(removed)
    }

    /// Applies `f` to every entry (order unspecified).
    pub(crate) fn update_all(&mut self, mut f: impl FnMut(&mut Entry)) {
        self.slots_mut()
            .iter_mut()
            .filter(|e| e.id != 0)
            .for_each(&mut f);
    }

    /// Every (id, states) pair, ordered by id (O(n log n): for listing, not the update path).
    pub fn to_sorted_vec(&self) -> Vec<(u32, TransportStates)> {
        let mut v: Vec<_> = self
            .slots()
            .iter()
            .filter(|e| e.id != 0)
            .map(|e| (e.id, e.states()))
            .collect();
        v.sort_unstable_by_key(|(id, _)| *id);
        v
    }
}

/// A random 32-bit seed: splitmix64 over a per-thread state that the OS seeds (through std's
/// `RandomState`) on the thread's first rebuild. Not cryptographic; what it must do is keep the
/// seeds unpredictable to anyone choosing which ids to keep, and cost nothing on the update path.
fn random_seed() -> u32 {
    use std::hash::BuildHasher;
    thread_local!(static STATE: std::cell::Cell<u64> = std::cell::Cell::new(
        std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
    ));
    STATE.with(|state| {
        let x = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(x);
        let z = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 32) as u32
    })
}

#[cfg(test)]
mod tests;
