//! A peer's transports: id -> an 8-byte entry (effective states, ICE source, liveness slot), O(1)
//! expected per lookup, insert and remove.
//!
//! Ids are handed out 1, 2, 3, ... and never reused, and which of them stay live is up to the
//! application (every 4096th, say). The table is open addressing with linear probing and
//! backward-shift deletion, placed by Fibonacci hashing (the id times 2^32/phi, top bits), which
//! spreads any arithmetic pattern of ids evenly, so a lookup stays O(1) whatever was added and
//! removed. Memory stays proportional to the live transports however many were ever added.

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

/// The transport table of one peer.
#[derive(Default)]
pub struct TransportTable {
    /// Power-of-two length (or empty). Tables of up to 4 slots may be full (probing is bounded by
    /// the length), which keeps a typical peer's table at 32 bytes; larger ones are at most 3/4
    /// full.
    slots: Box<[Entry]>,
    len: u32,
    /// 32 - log2(slots.len()): the home slot of `id` is the top bits of `id * FIBONACCI`.
    shift: u32,
}

/// 2^32 / phi, odd: multiplying by it spreads ids that share low bits over the top bits.
const FIBONACCI: u32 = 0x9E37_79B9;

impl TransportTable {
    /// How many transports are in the table.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the table holds no transport.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot where `id`'s probe run starts (the table is not empty).
    #[inline(always)]
    fn home(&self, id: u32) -> usize {
        (id.wrapping_mul(FIBONACCI) >> self.shift) as usize
    }

    #[inline(always)]
    fn find(&self, id: u32) -> Option<usize> {
        if id == 0 || self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = self.home(id);
        for _ in 0..self.slots.len() {
            match self.slots[i].id {
                0 => return None,
                x if x == id => return Some(i),
                _ => i = (i + 1) & mask,
            }
        }
        None
    }

    /// The states of transport `id`, if present.
    pub fn get(&self, id: u32) -> Option<TransportStates> {
        self.find(id).map(|i| self.slots[i].states())
    }

    /// Transport `id`'s whole entry, to update in place.
    #[inline(always)]
    pub(crate) fn entry_mut(&mut self, id: u32) -> Option<&mut Entry> {
        let i = self.find(id)?;
        Some(&mut self.slots[i])
    }

    /// Transport `id`'s whole entry.
    pub(crate) fn entry(&self, id: u32) -> Option<&Entry> {
        self.find(id).map(|i| &self.slots[i])
    }

    /// Replaces the states of transport `id`; returns the old states, or `None` if absent.
    #[cfg(test)]
    pub fn replace(&mut self, id: u32, s: TransportStates) -> Option<TransportStates> {
        let i = self.find(id)?;
        let old = self.slots[i].states();
        self.slots[i].set_states(s);
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
        let (need, cap) = (self.len as usize + 1, self.slots.len());
        if need > cap || (cap > 4 && need * 4 > cap * 3) {
            self.resize((cap * 2).max(4))?;
        }
        self.place(Entry::new(id, s, source));
        self.len += 1;
        Ok(())
    }

    fn place(&mut self, e: Entry) {
        let mask = self.mask();
        let mut i = self.home(e.id);
        while self.slots[i].id != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = e;
    }

    /// Moves every entry into a new table of `cap` slots (a power of two, at least 4).
    fn resize(&mut self, cap: usize) -> Result<()> {
        let slots = try_slice(cap, |_| Entry::default()).map_err(|_| ResultCode::NoMemory)?;
        let old = std::mem::replace(&mut self.slots, slots);
        self.shift = 32 - cap.trailing_zeros();
        for e in old.iter().filter(|e| e.id != 0) {
            self.place(*e);
        }
        Ok(())
    }

    /// Removes transport `id`; returns its states, or `None` if absent.
    pub fn remove(&mut self, id: u32) -> Option<TransportStates> {
        let mut hole = self.find(id)?;
        let removed = self.slots[hole].states();
        let mask = self.mask();
        // Backward-shift deletion: pull later members of the probe run into the hole.
        let mut j = hole;
        for _ in 1..self.slots.len() {
            j = (j + 1) & mask;
            let e = self.slots[j];
            if e.id == 0 {
                break;
            }
            let home = self.home(e.id);
            // Move e into the hole unless its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.slots[hole] = e;
                hole = j;
            }
        }
        self.slots[hole] = Entry::default();
        self.len -= 1;
        if self.len == 0 {
            self.slots = Box::default();
        } else if self.slots.len() > 8 && (self.len as usize) * 8 < self.slots.len() {
            // Shrinking is an optimisation: without memory for the smaller table, keep this one.
            let _ = self.resize(self.slots.len() / 2);
        }
        Some(removed)
    }

    /// Applies `f` to every entry (order unspecified).
    pub(crate) fn update_all(&mut self, mut f: impl FnMut(&mut Entry)) {
        self.slots.iter_mut().filter(|e| e.id != 0).for_each(&mut f);
    }

    /// Every (id, states) pair, ordered by id (O(n log n): for listing, not the update path).
    pub fn to_sorted_vec(&self) -> Vec<(u32, TransportStates)> {
        let mut v: Vec<_> = self
            .slots
            .iter()
            .filter(|e| e.id != 0)
            .map(|e| (e.id, e.states()))
            .collect();
        v.sort_unstable_by_key(|(id, _)| *id);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn st(k: u32) -> TransportStates {
        TransportStates {
            ice: IceTransportState::ALL[(k % 7) as usize],
            dtls: DtlsTransportState::ALL[(k % 5) as usize],
            gatherer: GathererState::ALL[(k % 3) as usize],
        }
    }

    /// Every combination of the three states survives the packed byte, each input set alone.
    #[test]
    fn packed_states_round_trip() {
        for k in 0..(7 * 5 * 3) {
            let s = TransportStates {
                ice: IceTransportState::ALL[k % 7],
                dtls: DtlsTransportState::ALL[k / 7 % 5],
                gatherer: GathererState::ALL[k / 35],
            };
            let mut e = Entry::new(1, s, Source::default());
            assert_eq!(e.states(), s);
            for &which in Input::ALL {
                let v = (s.get(which) + 1) % 2;
                e.set(which, v);
                assert_eq!(e.get(which), v);
                e.set(which, s.get(which));
                assert_eq!(e.states(), s, "{which:?} left the others alone");
            }
        }
    }

    /// Random inserts, removes and replaces checked against a BTreeMap, including wrap-around
    /// probe runs (ids far apart that share home slots).
    #[test]
    fn matches_a_map() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut table = TransportTable::default();
        let mut model = BTreeMap::new();
        let mut next = 1u32;
        let steps = if cfg!(miri) { 3_000 } else { 200_000u32 };
        for step in 0..steps {
            let r = rnd();
            match r % 4 {
                0 | 1 if model.len() < 300 => {
                    // Some ids jump ahead so that homes collide after wrapping.
                    next += if r % 16 == 0 { 61 } else { 1 };
                    table.insert(next, st(step)).unwrap();
                    model.insert(next, st(step));
                }
                2 if !model.is_empty() => {
                    let keys: Vec<u32> = model.keys().copied().collect();
                    let id = keys[(r >> 8) as usize % keys.len()];
                    assert_eq!(table.remove(id), model.remove(&id));
                }
                _ => {
                    let id = (r >> 8) as u32 % (next + 2);
                    assert_eq!(table.replace(id, st(step)), model.get(&id).copied());
                    if let Some(v) = model.get_mut(&id) {
                        *v = st(step);
                    }
                }
            }
            assert_eq!(table.len() as usize, model.len());
            if step % 1000 == 0 {
                let all: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
                assert_eq!(table.to_sorted_vec(), all);
                assert_eq!(table.get(0), None);
            }
        }
    }

    /// Tables of up to 4 slots run full: lookups of absent ids, inserts and removals must still
    /// terminate and agree with a map, with ids whose home slots collide.
    #[test]
    fn small_full_tables_match_a_map() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let steps = if cfg!(miri) { 2_000 } else { 100_000 };
        let mut table = TransportTable::default();
        let mut model = BTreeMap::new();
        let mut next = 1u32;
        for step in 0..steps {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let r = seed;
            if r % 3 == 0 && model.len() < 4 {
                next += 1 + (r >> 8) as u32 % 8;
                table.insert(next, st(step)).unwrap();
                model.insert(next, st(step));
            } else if r % 3 == 1 && !model.is_empty() {
                let keys: Vec<u32> = model.keys().copied().collect();
                let id = keys[(r >> 8) as usize % keys.len()];
                assert_eq!(table.remove(id), model.remove(&id));
            } else {
                let id = next.saturating_sub((r >> 8) as u32 % 20);
                assert_eq!(table.get(id), model.get(&id).copied());
            }
            if model.len() <= 4 {
                assert!(table.slots.len() <= 4, "4 transports fit in 4 slots");
            }
        }
    }

    #[test]
    fn memory_follows_live_transports() {
        let mut t = TransportTable::default();
        t.insert(1, st(0)).unwrap();
        let n = if cfg!(miri) { 2_000 } else { 100_000 };
        for id in 2..n {
            t.insert(id, st(id)).unwrap();
            t.remove(id);
        }
        assert_eq!(t.len(), 1);
        assert!(t.slots.len() <= 4, "{}", t.slots.len());
        assert_eq!(t.remove(1), Some(st(0)));
        assert!(t.is_empty());
        assert_eq!(t.slots.len(), 0);
    }

    /// How many slots a lookup of `id` visits.
    fn probes(t: &TransportTable, id: u32) -> usize {
        let i = t.find(id).expect("present");
        (i.wrapping_sub(t.home(id)) & t.mask()) + 1
    }

    /// Issue 9.7: ids that share their low bits (every 4096th kept, every 2^k-th, arithmetic
    /// runs) must not pile up in one probe run: lookups stay short whatever the pattern.
    #[test]
    fn strided_ids_stay_o1() {
        for stride in [1u32, 2, 64, 1000, 4096, 65_536, 1 << 20] {
            let mut t = TransportTable::default();
            let n = 3000u32.min(u32::MAX / stride);
            let ids: Vec<u32> = (1..=n).map(|k| k * stride).collect();
            for &id in &ids {
                t.insert(id, st(id)).unwrap();
            }
            let total: usize = ids.iter().map(|&id| probes(&t, id)).sum();
            let worst = ids.iter().map(|&id| probes(&t, id)).max().unwrap();
            let mean = total as f64 / ids.len() as f64;
            assert!(mean < 3.0, "stride {stride}: mean probe run {mean}");
            assert!(worst < 64, "stride {stride}: longest probe run {worst}");
            for &id in &ids {
                assert_eq!(t.remove(id), Some(st(id)));
            }
            assert!(t.is_empty());
        }
    }
}
