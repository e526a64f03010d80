//! Liveness, by the caller's clock: each watched transport's phase (alive, or disconnected or
//! failed by silence), when it was last heard from, and the peer's schedule of deadlines.
//!
//! Boxed in the peer and allocated only when liveness is on: a transport pays 2 bytes (its
//! record's slot) while it is off. Each transport then has a [`Record`]; a watched one has one
//! current check, a (deadline, slot, check) item in a min-heap. Rescheduling bumps the record's
//! `check` number, which makes older items stale (skipped when they surface, and dropped in bulk
//! once they outnumber the records). `note` only stores a time: the check that surfaces later
//! sees the newer time and reschedules itself, so a packet costs no heap operation. Room for the
//! records and the checks is reserved when a transport is added, so nothing allocates while
//! states change. The deadline rule is [`Thresholds::phase_at`]; times are compared only by
//! [`elapsed`] and [`later`].
//!
//! The caller's clock is read modulo 2^64: only differences between its times count (`elapsed`),
//! so deadlines run past `u64::MAX` by wrapping around, as the clock itself would, and never
//! saturate into "failed now" or "none". The heap orders looks by their distance from an origin
//! 2^62 ns before the first tick's time, which orders them correctly as long as a peer's times
//! stay within 146 years before and 438 years after its first tick.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::constants::{
    PCSTATE_LIVENESS_PRESET_CHROMIUM, PCSTATE_LIVENESS_PRESET_FIREFOX, PCSTATE_LIVENESS_PRESET_OFF,
};
use crate::error::{Result, ResultCode};
use crate::rules::IceTransportState;

/// Where a transport stands with liveness, in the order silence moves it along.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Not watched: liveness is off, or its reported ICE state is neither connected nor
    /// completed.
    #[default]
    Off,
    /// Watched; its alive clock starts at the next tick or note.
    Waiting,
    /// Heard from within `disconnected_after`: it reads its reported state.
    Alive,
    /// Silent for `disconnected_after`: it reads disconnected until something arrives.
    Stale,
    /// Silent for `failed_after`: it reads failed until its ICE state is reported anew.
    Dead,
}

impl Phase {
    /// The effective ICE state of a transport in this phase whose reported state is `reported`.
    #[inline]
    pub(crate) fn effective(self, reported: IceTransportState) -> IceTransportState {
        match self {
            Phase::Stale => IceTransportState::Disconnected,
            Phase::Dead => IceTransportState::Failed,
            Phase::Off | Phase::Waiting | Phase::Alive => reported,
        }
    }

    /// Whether liveness watches a transport whose reported ICE state is `reported`.
    #[inline]
    fn watches(reported: IceTransportState) -> bool {
        matches!(
            reported,
            IceTransportState::Connected | IceTransportState::Completed
        )
    }
}

/// The two durations, checked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Thresholds {
    /// Nothing noted alive for this long: disconnected.
    disconnected_after: u64,
    /// Nothing noted alive for this long: failed (0: never).
    failed_after: u64,
}

impl Thresholds {
    /// `disconnected_after` > 0, and `failed_after` 0 or greater than it; else `InvalidArgument`.
    pub(crate) const fn new(disconnected_after: u64, failed_after: u64) -> Result<Self> {
        if disconnected_after == 0 || (failed_after != 0 && failed_after <= disconnected_after) {
            return Err(ResultCode::InvalidArgument);
        }
        Ok(Thresholds {
            disconnected_after,
            failed_after,
        })
    }

    /// The deadline rule, the one place it is written: the phase of a watched transport last
    /// heard from at `alive`, at `now`.
    fn phase_at(&self, alive: u64, now: u64) -> Phase {
        let silent = elapsed(alive, now);
        if self.failed_after != 0 && silent >= self.failed_after {
            Phase::Dead
        } else if silent >= self.disconnected_after {
            Phase::Stale
        } else {
            Phase::Alive
        }
    }

    /// When the phase after `phase` can begin for a transport last heard from at `alive`;
    /// `None` when no later phase comes.
    fn next_look(&self, phase: Phase, alive: u64) -> Option<Look> {
        match phase {
            Phase::Off | Phase::Dead => None,
            Phase::Waiting => Some(Look::AtOnce),
            Phase::Alive => Some(Look::At(alive.wrapping_add(self.disconnected_after))),
            Phase::Stale if self.failed_after == 0 => None,
            Phase::Stale => Some(Look::At(alive.wrapping_add(self.failed_after))),
        }
    }
}

/// A browser whose liveness timings a preset reproduces, for a path that goes silent during
/// media (`PCSTATE_LIVENESS_PRESET_*`). The numbers are below, with their sources; a browser
/// measures silence from its last check answered, pcstate from the last packet noted, which on
/// a path carrying media is the moment of the loss.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Preset {
    /// Liveness off.
    Off = PCSTATE_LIVENESS_PRESET_OFF,
    /// Chromium (libwebrtc).
    Chromium = PCSTATE_LIVENESS_PRESET_CHROMIUM,
    /// Firefox (nICEr).
    Firefox = PCSTATE_LIVENESS_PRESET_FIREFOX,
}

// The presets reproduce the project's own recordings (tests/browser/traces, docs/browser-parity.md:
// UDP dropped inside a network namespace during a live call, both peers in one page; the times
// after the loss began, over 12 loss recordings per browser); `make test-browser-replay` checks
// that pcstate's times fall within each browser's spread.

/// Chromium, disconnected: 6.5 s of silence. libwebrtc makes a connection unwritable once its
/// checks went unanswered for `ice_unwritable_timeout` (5 s, `CONNECTION_WRITE_CONNECT_TIMEOUT`)
/// and `ice_unwritable_min_checks` (5, `CONNECTION_WRITE_CONNECT_FAILURES`) of them were sent,
/// counted from the first unanswered check, which goes out up to one
/// `STRONG_AND_STABLE_WRITABLE_CONNECTION_PING_INTERVAL` (2.5 s) after the loss (p2p/base/
/// p2p_constants.h). Recorded (Chromium 156): disconnected 6.09-7.23 s after the loss.
pub(crate) const CHROMIUM_DISCONNECTED_AFTER_NS: u64 = 6_500_000_000;
/// Chromium, failed: 17.6 s of silence. libwebrtc times a connection out after
/// `ice_inactive_timeout` (15 s, `CONNECTION_WRITE_TIMEOUT`) without an answer, from the same first
/// unanswered check; with every connection timed out the transport fails. Recorded:
/// connectionState failed 17.52-17.76 s after the loss.
pub(crate) const CHROMIUM_FAILED_AFTER_NS: u64 = 17_600_000_000;
/// Firefox, disconnected: 7 s of silence. nICEr sends a consent check every 4-6 s
/// (`NR_ICE_CONSENT_TIMER_DEFAULT` 5 s, randomized by 20 %) with one transmission, and a check left
/// unanswered until the next one is due makes the component disconnected (ice_component.c,
/// `nr_ice_component_refresh_consent_cb`). Recorded (Firefox ESR 153): disconnected 5.38-8.28 s
/// after the loss.
pub(crate) const FIREFOX_DISCONNECTED_AFTER_NS: u64 = 7_000_000_000;
/// Firefox, failed: 27.5 s of silence. Consent expires 30 s after the last consent response
/// (`NR_ICE_CONSENT_TIMEOUT_DEFAULT`; RFC 7675's 30 s), which came up to one consent interval
/// before the loss. Recorded: failed 26.85-29.29 s after the loss.
pub(crate) const FIREFOX_FAILED_AFTER_NS: u64 = 27_500_000_000;

impl Preset {
    /// The preset with this C number, or `None`.
    pub(crate) const fn from_u32(v: u32) -> Option<Preset> {
        match v {
            PCSTATE_LIVENESS_PRESET_OFF => Some(Preset::Off),
            PCSTATE_LIVENESS_PRESET_CHROMIUM => Some(Preset::Chromium),
            PCSTATE_LIVENESS_PRESET_FIREFOX => Some(Preset::Firefox),
            _ => None,
        }
    }

    /// (disconnected after, failed after), in nanoseconds; (0, 0) for off.
    pub(crate) const fn durations(self) -> (u64, u64) {
        match self {
            Preset::Off => (0, 0),
            Preset::Chromium => (CHROMIUM_DISCONNECTED_AFTER_NS, CHROMIUM_FAILED_AFTER_NS),
            Preset::Firefox => (FIREFOX_DISCONNECTED_AFTER_NS, FIREFOX_FAILED_AFTER_NS),
        }
    }
}

// Every preset's durations are valid settings.
const _: () = {
    let presets = [Preset::Chromium, Preset::Firefox];
    let mut i = 0;
    while i < presets.len() {
        let (d, f) = presets[i].durations();
        assert!(Thresholds::new(d, f).is_ok());
        assert!(Preset::from_u32(presets[i] as u32).is_some());
        i += 1;
    }
};

/// How long before `now` `alive` was, on the wrapping clock: 0 when `alive` is not before `now`
/// (a time up to 2^63 ns after `now` is taken as later, not as long ago).
#[inline]
fn elapsed(alive: u64, now: u64) -> u64 {
    let d = now.wrapping_sub(alive);
    if (d as i64) < 0 { 0 } else { d }
}

/// Whether `t` is later than `than` on the wrapping clock.
#[inline]
fn later(t: u64, than: u64) -> bool {
    (t.wrapping_sub(than) as i64) > 0
}

/// When to look at a transport next.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Look {
    /// At the next tick, whatever its time (the alive clock has not started).
    AtOnce,
    /// At this time of the caller's clock.
    At(u64),
}

/// A scheduled look at the record in `slot`, valid while the record's check number is `check`:
/// 12 bytes, `[key >> 32, key as u32, slot << 16 | check]`, so that the derived order is the
/// key's. `key` is the look's time's distance from the schedule's origin (0: at once).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Due([u32; 3]);

impl Due {
    fn new(key: u64, slot: Slot, check: u16) -> Due {
        Due([
            (key >> 32) as u32,
            key as u32,
            u32::from(slot) << 16 | u32::from(check),
        ])
    }

    fn key(self) -> u64 {
        u64::from(self.0[0]) << 32 | u64::from(self.0[1])
    }

    fn slot(self) -> Slot {
        (self.0[2] >> 16) as Slot
    }

    fn check(self) -> u16 {
        self.0[2] as u16
    }
}

const _: () = assert!(std::mem::size_of::<Due>() == 12 && std::mem::size_of::<Record>() == 16);

/// How far before the first tick's time the schedule's origin lies (146 years): notes a little
/// older than the first tick still sort before it.
const ORIGIN_BEFORE_FIRST_TICK: u64 = 1 << 62;

/// One transport's liveness (16 bytes); a free record has id 0 and `alive` holds the next free
/// slot.
#[derive(Copy, Clone, Debug, Default)]
struct Record {
    /// When it was last noted alive (caller's clock); meaningful from `Alive` on.
    alive: u64,
    /// The transport's id.
    id: u32,
    /// Names the record's current look (older scheduled looks are stale).
    check: u16,
    phase: Phase,
}

/// How many looks the schedule may hold for `n` records before stale ones are dropped: after a
/// drop at most `n` are left (one current look per record), so drops cost O(1) per look scheduled.
const fn most_looks(n: usize) -> usize {
    n + n / 2 + 4
}

/// The liveness settings, records and schedule of a peer (boxed: most peers never turn it on).
#[derive(Debug)]
pub(crate) struct Liveness {
    thresholds: Thresholds,
    records: Vec<Record>,
    /// The first free record's slot (0: none).
    free: u16,
    /// Records in use.
    attached: usize,
    heap: BinaryHeap<Reverse<Due>>,
    /// The time keys count from (set at the first tick).
    origin: u64,
    /// The latest tick's time.
    last_tick: u64,
    /// Whether a tick happened (`origin` and `last_tick` hold times).
    ticked: bool,
}

/// A record's place: `Entry::live` holds it (index + 1; 0 while liveness is off).
pub(crate) type Slot = u16;

impl Liveness {
    pub(crate) fn new(thresholds: Thresholds) -> Self {
        Liveness {
            thresholds,
            records: Vec::new(),
            free: 0,
            attached: 0,
            heap: BinaryHeap::new(),
            origin: 0,
            last_tick: 0,
            ticked: false,
        }
    }

    /// Room for `n` transports: their records, and as many looks as the schedule may hold for
    /// them, so that nothing allocates while states change.
    pub(crate) fn reserve(&mut self, n: usize) -> Result<()> {
        let looks = most_looks(n);
        self.records
            .try_reserve(n.saturating_sub(self.records.len()))
            .and_then(|()| self.heap.try_reserve(looks.saturating_sub(self.heap.len())))
            .map_err(|_| ResultCode::NoMemory)
    }

    /// Gives transport `id` a record, not watched (room reserved).
    pub(crate) fn attach(&mut self, id: u32) -> Slot {
        self.attached += 1;
        let record = |check| Record {
            id,
            check,
            ..Record::default()
        };
        if self.free != 0 {
            let slot = self.free;
            let r = &mut self.records[usize::from(slot) - 1];
            self.free = r.alive as Slot;
            *r = record(r.check);
            return slot;
        }
        debug_assert!(self.records.len() < self.records.capacity());
        self.records.push(record(0));
        Slot::try_from(self.records.len()).expect("at most 65,535 transports")
    }

    /// Frees the record in `slot`.
    pub(crate) fn detach(&mut self, slot: Slot) {
        self.attached -= 1;
        let next_free = u64::from(self.free);
        let r = self.record(slot);
        *r = Record {
            alive: next_free,
            id: 0,
            check: r.check.wrapping_add(1),
            phase: Phase::Off,
        };
        self.free = slot;
    }

    #[inline(always)]
    fn record(&mut self, slot: Slot) -> &mut Record {
        &mut self.records[usize::from(slot) - 1]
    }

    /// Starts or stops watching after a transport's reported ICE state may have changed to
    /// `reported`; `renewed` when that state was reported anew (not a fact it depends on), which
    /// ends a failed reading. Returns the phase.
    pub(crate) fn refresh(
        &mut self,
        slot: Slot,
        reported: IceTransportState,
        renewed: bool,
    ) -> Phase {
        let r = self.record(slot);
        let phase = match (Phase::watches(reported), r.phase) {
            (false, _) => Phase::Off,
            (true, Phase::Off) => Phase::Waiting,
            (true, Phase::Dead) if renewed => Phase::Waiting,
            (true, kept) => kept,
        };
        if phase != r.phase {
            r.phase = phase;
            r.check = r.check.wrapping_add(1);
            self.schedule(slot);
        }
        phase
    }

    /// Something arrived on the transport at `now`; returns whether that brings it back from
    /// disconnected (it then reads its reported state again). A note older than the last one
    /// changes nothing; so does one that the last tick would already have read disconnected.
    #[inline(always)]
    pub(crate) fn note(&mut self, slot: Slot, now: u64) -> bool {
        let r = self.record(slot);
        if r.phase == Phase::Alive {
            // The per-packet path: one compare, one store.
            if later(now, r.alive) {
                r.alive = now;
            }
            return false;
        }
        self.note_other(slot, now)
    }

    /// `note` on a transport not in phase `Alive` (out of line: the per-packet path is `Alive`).
    #[cold]
    #[inline(never)]
    fn note_other(&mut self, slot: Slot, now: u64) -> bool {
        let r = self.record(slot);
        match r.phase {
            Phase::Off | Phase::Dead | Phase::Alive => false,
            Phase::Waiting => {
                (r.alive, r.phase) = (now, Phase::Alive); // the alive clock starts
                false
            }
            Phase::Stale if !later(now, r.alive) => false,
            Phase::Stale => self.note_stale(slot, now),
        }
    }

    /// A newer note on a transport read disconnected: back when the last tick would have read
    /// it alive; its next look moves either way.
    #[cold]
    #[inline(never)]
    fn note_stale(&mut self, slot: Slot, now: u64) -> bool {
        debug_assert!(self.ticked, "stale only after a tick");
        let (last_tick, thresholds) = (self.last_tick, self.thresholds);
        let r = self.record(slot);
        r.alive = now;
        let back = thresholds.phase_at(now, last_tick) == Phase::Alive;
        if back {
            r.phase = Phase::Alive;
        }
        r.check = r.check.wrapping_add(1);
        self.schedule(slot);
        back
    }

    /// Schedules the next look at the record in `slot`, if its phase has one. Stale looks are
    /// dropped first once they outnumber the records, so the schedule stays within what
    /// `reserve` made room for however often states flap between ticks.
    fn schedule(&mut self, slot: Slot) {
        let r = self.records[usize::from(slot) - 1];
        let key = match self.thresholds.next_look(r.phase, r.alive) {
            None => return,
            Some(Look::AtOnce) => 0,
            Some(Look::At(t)) => {
                debug_assert!(self.ticked, "timed looks only after a tick");
                t.wrapping_sub(self.origin)
            }
        };
        if self.heap.len() >= most_looks(self.attached) {
            let records = &self.records;
            self.heap
                .retain(|&Reverse(d)| current(&records[usize::from(d.slot()) - 1], d));
        }
        debug_assert!(self.heap.len() < self.heap.capacity());
        self.heap.push(Reverse(Due::new(key, slot, r.check)));
    }

    /// Applies the deadlines that passed by `now`: `changed(id, phase)` for each transport whose
    /// phase changed, in deadline order.
    pub(crate) fn tick(&mut self, now: u64, mut changed: impl FnMut(u32, Phase)) {
        if !self.ticked {
            self.origin = now.wrapping_sub(ORIGIN_BEFORE_FIRST_TICK);
            self.ticked = true;
        }
        self.last_tick = now;
        let key_now = now.wrapping_sub(self.origin);
        // Each look at most once: a clock far outside the range above cannot make this loop on.
        let mut budget = self.heap.len();
        while let Some(Reverse(due)) = self.heap.peek().copied() {
            if due.key() > key_now || budget == 0 {
                break;
            }
            budget -= 1;
            self.heap.pop();
            let thresholds = self.thresholds;
            let r = self.record(due.slot());
            if !current(r, due) {
                continue;
            }
            let before = r.phase;
            r.phase = match before {
                Phase::Waiting => {
                    r.alive = now; // the alive clock starts
                    Phase::Alive
                }
                // Silence only moves a transport along; a packet brings it back (`note`).
                phase => phase.max(thresholds.phase_at(r.alive, now)),
            };
            let (id, phase) = (r.id, r.phase);
            self.schedule(due.slot()); // into the room the look just taken made
            if phase != before {
                changed(id, phase);
            }
        }
        // Stale looks at the top would only make the next deadline early.
        while let Some(&Reverse(due)) = self.heap.peek() {
            if current(&self.records[usize::from(due.slot()) - 1], due) {
                break;
            }
            self.heap.pop();
        }
    }

    /// The earliest deadline scheduled, on the caller's clock (a look made stale since the last
    /// tick included: a tick then finds nothing to do); `u64::MAX` when none. A deadline that falls on `u64::MAX` itself is
    /// given 1 ns early (a tick then finds it not yet due and gives it again).
    pub(crate) fn next_deadline(&self) -> u64 {
        let Some(Reverse(due)) = self.heap.peek().filter(|_| self.ticked) else {
            return u64::MAX;
        };
        match self.origin.wrapping_add(due.key()) {
            u64::MAX => u64::MAX - 1,
            t => t,
        }
    }
}

/// Whether `due` is the current look of record `r`.
#[inline]
fn current(r: &Record, due: Due) -> bool {
    r.check == due.check() && matches!(r.phase, Phase::Waiting | Phase::Alive | Phase::Stale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use IceTransportState as I;

    #[test]
    fn settings_are_checked() {
        assert!(Thresholds::new(0, 0).is_err());
        assert!(Thresholds::new(0, 5).is_err());
        assert!(Thresholds::new(5, 5).is_err());
        assert!(Thresholds::new(5, 4).is_err());
        assert!(Thresholds::new(5, 0).is_ok());
        assert!(Thresholds::new(5, 6).is_ok());
    }

    fn live(d: u64, f: u64, n: usize) -> Liveness {
        let mut l = Liveness::new(Thresholds::new(d, f).unwrap());
        l.reserve(n).unwrap();
        l
    }

    /// The phases a silent transport goes through, one tick at a time and in one late tick.
    #[test]
    fn silence_moves_a_transport_along() {
        let mut l = live(10, 30, 1);
        let s = l.attach(7);
        assert_eq!(l.refresh(s, I::Checking, false), Phase::Off);
        assert_eq!(l.next_deadline(), u64::MAX);
        assert_eq!(l.refresh(s, I::Connected, false), Phase::Waiting);
        let mut seen = Vec::new();
        l.tick(100, |id, p| seen.push((id, p)));
        assert_eq!(seen, [(7, Phase::Alive)]);
        assert_eq!(l.next_deadline(), 110);
        l.tick(109, |id, p| seen.push((id, p)));
        assert!(!l.note(s, 105));
        l.tick(110, |id, p| seen.push((id, p)));
        assert_eq!(seen.len(), 1, "the note moved the deadline");
        assert_eq!(l.next_deadline(), 115);
        l.tick(200, |id, p| seen.push((id, p)));
        assert_eq!(seen[1..], [(7, Phase::Dead)]);
        assert_eq!(l.next_deadline(), u64::MAX);
        assert!(!l.note(s, 201), "failed sticks");
        assert_eq!(l.refresh(s, I::Connected, true), Phase::Waiting);
    }

    /// Looks of records watched afresh or freed are skipped, and dropped in bulk.
    #[test]
    fn stale_looks_stay_bounded() {
        let mut l = live(10, 0, 4);
        let slots: Vec<_> = (1..=4).map(|id| l.attach(id)).collect();
        for _ in 0..1000 {
            for &s in &slots {
                l.refresh(s, I::Checking, false);
                l.refresh(s, I::Connected, false);
            }
        }
        assert!(l.heap.len() <= most_looks(4));
        l.detach(slots[0]);
        let mut seen = Vec::new();
        l.tick(50, |id, p| seen.push((id, p)));
        seen.sort();
        assert_eq!(
            seen,
            [(2, Phase::Alive), (3, Phase::Alive), (4, Phase::Alive)]
        );
        assert_eq!(l.attach(9), slots[0], "a freed record is reused");
    }
}
