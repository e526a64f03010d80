//! Observability: each peer's connection history in numbers, and process-wide gauges kept in
//! per-thread shards so that threads working on different peers never write a shared line.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use crate::rules::ConnectionState;

/// Why a peer's connectionState became failed (`pcstate_failure_cause`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum FailureCause {
    /// It never failed.
    #[default]
    None = 0,
    /// An ICE transport failed (as reported, or derived from its ICE agent).
    Ice = 1,
    /// A DTLS transport failed.
    Dtls = 2,
    /// The liveness deadline of a transport expired (`pcstate_peer_set_liveness`).
    Liveness = 3,
}

crate::enums::state_enum_impl!(FailureCause {
    None => "none", Ice => "ice", Dtls => "dtls", Liveness => "liveness",
});

const STATES: usize = ConnectionState::COUNT;
/// The states a peer can leave: all but closed, which is final (a closed peer stays closed).
const LEFT: usize = STATES - 1;
const NS_PER_MS: u64 = 1_000_000;

/// One peer's numbers, in the smallest fields that hold them (72 bytes and the `Causes` byte, in
/// every peer):
/// - times of day are CLOCK_MONOTONIC nanoseconds, exact: creation, the start of the current
///   stay, the first connection;
/// - the time spent in each state before the current stay is kept in whole milliseconds (32
///   bits), rounded at each change of state as offsets from creation, so each figure is within
///   1 ms per stay of the exact sum and the six reported times still sum exactly to the peer's
///   age. One state's total saturates at 2^32 - 1 ms (49.7 days): it then reads that value (and
///   the six no longer sum to the age). The current stay is exact, however long;
/// - how often each state was entered is 32 bits, as the C struct reports it (saturating at
///   2^32 - 1; a binding that counts failures from it loses none to a flapping peer).
#[derive(Clone, Debug, Default)]
pub struct PeerStats {
    created_ns: u64,
    /// When the current connectionState was entered.
    since_ns: u64,
    /// 0 until connectionState first became connected.
    first_connected_ns: u64,
    /// Milliseconds spent in each state but closed before the current stay (saturating).
    past_ms: [u32; LEFT],
    /// How many times each state but closed was entered (saturating); closed: once, if closed.
    entered: [u32; LEFT],
    failure_transport: u32,
    /// The transport of the input that started the current run of failed inputs (ICE or DTLS
    /// states failed): what a failure of connectionState is blamed on.
    first_failed_transport: u32,
}

/// The `FailureCause` of the latest failure of connectionState (low 4 bits) and of the input
/// that started the current run of failed inputs (high 4 bits): a byte the peer keeps beside its
/// `PeerStats` (which is then 72 bytes without padding) and passes to it.
#[derive(Copy, Clone, Debug, Default)]
pub struct Causes(u8);

/// One peer's numbers as `pcstate_peer_stats` reports them; times are CLOCK_MONOTONIC
/// nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsReport {
    pub created_ns: u64,
    /// 0 until connectionState first became connected.
    pub first_connected_ns: u64,
    /// Time spent in each connectionState, the current stay up to the moment read included.
    pub time_in_state_ns: [u64; STATES],
    pub entered_state: [u32; STATES],
    pub failure_cause: FailureCause,
    pub failure_transport: u32,
}

impl PeerStats {
    /// A peer created at `now`, in connectionState new.
    pub fn new(now: u64) -> Self {
        let mut s = PeerStats {
            created_ns: now,
            since_ns: now,
            ..Default::default()
        };
        s.entered[ConnectionState::New as usize] = 1;
        s
    }

    fn cause(bits: u8) -> FailureCause {
        FailureCause::from_u32(u32::from(bits & 15)).unwrap_or_default()
    }

    /// Whether any ICE or DTLS input is failed changed to `failing`, by `cause` on `transport`.
    #[inline]
    pub fn note_failing(
        &mut self,
        causes: &mut Causes,
        failing: bool,
        cause: FailureCause,
        transport: u32,
    ) {
        let first = causes.0 >> 4;
        if failing && first == FailureCause::None as u8 {
            causes.0 = (causes.0 & 15) | (cause as u8) << 4;
            self.first_failed_transport = transport;
        } else if !failing && first != FailureCause::None as u8 {
            causes.0 &= 15;
            self.first_failed_transport = 0;
        }
    }

    /// Milliseconds from creation to `t` (`t` not before creation).
    fn offset_ms(&self, t: u64) -> u64 {
        (t - self.created_ns) / NS_PER_MS
    }

    /// connectionState changed from `old` to `new` at `now`.
    pub fn connection_changed(
        &mut self,
        causes: &mut Causes,
        old: ConnectionState,
        new: ConnectionState,
        now: u64,
    ) {
        let now = now.max(self.since_ns);
        let stay_ms = self.offset_ms(now) - self.offset_ms(self.since_ns);
        // Closed is final: no stay in it ever ends.
        debug_assert!(old != ConnectionState::Closed, "closed is final");
        if let Some(past) = self.past_ms.get_mut(old as usize) {
            *past = past.saturating_add(u32::try_from(stay_ms).unwrap_or(u32::MAX));
        }
        self.since_ns = now;
        if let Some(entered) = self.entered.get_mut(new as usize) {
            *entered = entered.saturating_add(1);
        }
        if new == ConnectionState::Connected && self.first_connected_ns == 0 {
            self.first_connected_ns = now;
        }
        if new == ConnectionState::Failed {
            causes.0 = (causes.0 & !15) | causes.0 >> 4;
            self.failure_transport = self.first_failed_transport;
        }
        global::connection_changed(old, new);
    }

    /// The numbers read at `now`, the peer being in `current` (its current stay runs up to
    /// `now`).
    pub fn report(&self, causes: Causes, now: u64, current: ConnectionState) -> StatsReport {
        let mut time_in_state_ns = [0; STATES];
        for (t, past) in time_in_state_ns.iter_mut().zip(self.past_ms) {
            *t = u64::from(past) * NS_PER_MS;
        }
        // The current stay, plus the part of a millisecond its start was rounded down by, so
        // that the six sum to `now - created_ns` exactly.
        let now = now.max(self.since_ns);
        time_in_state_ns[current as usize] +=
            (now - self.created_ns) - self.offset_ms(self.since_ns) * NS_PER_MS;
        let mut entered_state = [0; STATES];
        for (e, n) in entered_state.iter_mut().zip(self.entered) {
            *e = n;
        }
        entered_state[ConnectionState::Closed as usize] =
            u32::from(current == ConnectionState::Closed);
        StatsReport {
            created_ns: self.created_ns,
            first_connected_ns: self.first_connected_ns,
            time_in_state_ns,
            entered_state,
            failure_cause: Self::cause(causes.0),
            failure_transport: self.failure_transport,
        }
    }
}

/// Process-wide gauges and counters, summed over shards when read.
pub mod global {
    use super::*;

    const SHARDS: usize = 16;

    /// One shard: written by the threads mapped to it, on a cache line pair of its own.
    #[repr(align(128))]
    struct Shard {
        live: AtomicI64,
        in_state: [AtomicI64; STATES],
        events: AtomicI64,
        failures: AtomicI64,
    }

    static SHARD: [Shard; SHARDS] = [const {
        Shard {
            live: AtomicI64::new(0),
            in_state: [const { AtomicI64::new(0) }; STATES],
            events: AtomicI64::new(0),
            failures: AtomicI64::new(0),
        }
    }; SHARDS];

    /// This thread's shard, by the page number of its thread control block (`thread_token`, one
    /// instruction where a thread-local would cost a `__tls_get_addr` call in a shared library).
    /// Threads' control blocks sit at the tops of their stacks, which the C library maps one
    /// below the other: with stacks of 2^k pages and a guard page (the defaults), neighbouring
    /// threads' page numbers differ by one, so threads take the 16 shards in turn. (Any mapping
    /// stays correct; a shared shard only costs speed.)
    #[inline(always)]
    fn mine() -> &'static Shard {
        &SHARD[(crate::sync::thread_token() >> 12) % SHARDS]
    }

    /// A peer was created (in state new).
    pub fn peer_created() {
        let s = mine();
        s.live.fetch_add(1, Relaxed);
        s.in_state[ConnectionState::New as usize].fetch_add(1, Relaxed);
    }

    /// A peer in `state` was freed.
    pub fn peer_freed(state: ConnectionState) {
        let s = mine();
        s.live.fetch_sub(1, Relaxed);
        s.in_state[state as usize].fetch_sub(1, Relaxed);
    }

    pub(super) fn connection_changed(old: ConnectionState, new: ConnectionState) {
        let s = mine();
        s.in_state[old as usize].fetch_sub(1, Relaxed);
        s.in_state[new as usize].fetch_add(1, Relaxed);
        if new == ConnectionState::Failed {
            s.failures.fetch_add(1, Relaxed);
        }
    }

    /// `n` events were committed.
    pub fn events_committed(n: u64) {
        mine().events.fetch_add(n as i64, Relaxed);
    }

    /// The sums: (live peers, peers per connectionState, events committed, failures).
    pub fn read() -> (u64, [u64; STATES], u64, u64) {
        let sum =
            |f: &dyn Fn(&Shard) -> i64| -> u64 { SHARD.iter().map(f).sum::<i64>().max(0) as u64 };
        let mut in_state = [0u64; STATES];
        for (k, v) in in_state.iter_mut().enumerate() {
            *v = sum(&|s| s.in_state[k].load(Relaxed));
        }
        (
            sum(&|s| s.live.load(Relaxed)),
            in_state,
            sum(&|s| s.events.load(Relaxed)),
            sum(&|s| s.failures.load(Relaxed)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionState as C;

    const MS: u64 = NS_PER_MS;

    #[test]
    fn times_and_counts_add_up() {
        let t0 = 5 * MS + 100;
        let mut s = PeerStats::new(t0);
        let mut c = Causes::default();
        s.connection_changed(&mut c, C::New, C::Connecting, t0 + 150 * MS);
        s.connection_changed(&mut c, C::Connecting, C::Connected, t0 + 400 * MS);
        s.note_failing(&mut c, true, FailureCause::Dtls, 2);
        s.note_failing(&mut c, true, FailureCause::Ice, 1); // later: not the first
        s.connection_changed(&mut c, C::Connected, C::Failed, t0 + 1000 * MS);
        let r = s.report(c, t0 + 1100 * MS, C::Failed);
        assert_eq!(r.first_connected_ns, t0 + 400 * MS);
        assert_eq!(
            (r.failure_cause, r.failure_transport),
            (FailureCause::Dtls, 2)
        );
        let ms = r.time_in_state_ns.map(|t| t / MS);
        assert_eq!(ms, [150, 250, 600, 0, 100, 0]);
        assert_eq!(r.time_in_state_ns.iter().sum::<u64>(), 1100 * MS);
        assert_eq!(r.entered_state, [1, 1, 1, 0, 1, 0]);
        s.note_failing(&mut c, false, FailureCause::None, 0);
        s.note_failing(&mut c, true, FailureCause::Liveness, 3);
        s.connection_changed(&mut c, C::Failed, C::Connected, t0 + 1200 * MS);
        s.connection_changed(&mut c, C::Connected, C::Failed, t0 + 1300 * MS);
        let r = s.report(c, t0 + 1300 * MS, C::Failed);
        assert_eq!(
            (r.failure_cause, r.failure_transport),
            (FailureCause::Liveness, 3)
        );
        assert_eq!(r.first_connected_ns, t0 + 400 * MS, "first, not latest");
        s.connection_changed(&mut c, C::Failed, C::Closed, t0 + 1400 * MS);
        let r = s.report(c, t0 + 1500 * MS, C::Closed);
        assert_eq!(r.entered_state, [1, 1, 2, 0, 2, 1]);
        assert_eq!(r.time_in_state_ns[C::Closed as usize], 100 * MS);
        // Undo this test's effect on the process-wide gauges.
        global::connection_changed(C::Closed, C::New);
    }

    /// Stays shorter than a millisecond: each past stay is rounded at its ends (offsets from
    /// creation rounded down), within 1 ms of exact; the current stay carries the remainder, so
    /// the six times sum exactly to the age.
    #[test]
    fn sub_millisecond_stays_round_and_sum_exactly() {
        let t0 = 1_000_000_123;
        let mut s = PeerStats::new(t0);
        let mut c = Causes::default();
        let mut t = t0;
        let mut exact = [0u64; STATES];
        let mut state = C::New;
        for (k, next) in [C::Connecting, C::Connected, C::Disconnected, C::Connected]
            .into_iter()
            .enumerate()
        {
            let dt = 300_001 * (k as u64 + 1) + 777;
            t += dt;
            exact[state as usize] += dt;
            s.connection_changed(&mut c, state, next, t);
            state = next;
        }
        let now = t + 2_500_000;
        exact[state as usize] += 2_500_000;
        let r = s.report(c, now, state);
        assert_eq!(r.time_in_state_ns.iter().sum::<u64>(), now - t0);
        for (k, (&got, &want)) in r.time_in_state_ns.iter().zip(&exact).enumerate() {
            let stays = r.entered_state[k].max(1) as u64;
            assert!(
                got.abs_diff(want) <= stays * MS,
                "state {k}: {got} vs {want}"
            );
        }
        global::connection_changed(state, C::New);
    }

    /// Counts do not stop at 16 bits (70,000 entries are 70,000); a past time saturates at
    /// 2^32 - 1 ms; the current stay stays exact however long.
    #[test]
    fn counters_and_times_saturate() {
        let t0 = 0;
        let mut s = PeerStats::new(t0);
        let mut c = Causes::default();
        let mut t = t0;
        for _ in 0..70_000 {
            t += 1;
            s.connection_changed(&mut c, C::New, C::Connecting, t);
            s.connection_changed(&mut c, C::Connecting, C::New, t);
        }
        let day = 86_400_000 * MS;
        s.connection_changed(&mut c, C::New, C::Connected, t);
        s.connection_changed(&mut c, C::Connected, C::Disconnected, t + 60 * day);
        let r = s.report(c, t + 160 * day, C::Disconnected);
        assert_eq!(r.entered_state[C::Connecting as usize], 70_000);
        assert_eq!(r.entered_state[C::New as usize], 70_001);
        assert_eq!(
            r.time_in_state_ns[C::Connected as usize],
            u64::from(u32::MAX) * MS
        );
        // The current stay, plus the part of a millisecond its start was rounded down by.
        assert_eq!(
            r.time_in_state_ns[C::Disconnected as usize],
            100 * day + t % MS
        );
        global::connection_changed(C::Disconnected, C::New);
    }

    #[test]
    fn a_peer_pays_73_bytes_for_its_numbers() {
        assert!(size_of::<PeerStats>() <= 72, "{}", size_of::<PeerStats>());
        assert_eq!(size_of::<Causes>(), 1);
    }

    /// Closed is final, so its past time needs no field: no open peer's aggregates are closed,
    /// whatever its transports' states, in every profile.
    #[test]
    fn closed_is_final() {
        use crate::rules::{
            Counts, DtlsTransportState as D, GathererState, IceTransportState as I, Profile,
            TransportStates, aggregate_by_rules,
        };
        for profile in [Profile::W3c, Profile::W3cLiteral, Profile::Legacy_2016] {
            for ice in 0..1u32 << I::COUNT {
                for dtls in 0..1u32 << D::COUNT {
                    let ices: Vec<_> = (0..I::COUNT).filter(|k| ice >> k & 1 != 0).collect();
                    let dtlss: Vec<_> = (0..D::COUNT).filter(|k| dtls >> k & 1 != 0).collect();
                    let mut c = Counts::new();
                    for k in 0..ices.len().max(dtlss.len()) {
                        c.add(TransportStates {
                            ice: ices.get(k).map_or(I::New, |&i| I::ALL[i]),
                            dtls: dtlss.get(k).map_or(D::New, |&d| D::ALL[d]),
                            gatherer: GathererState::New,
                        });
                    }
                    let a = aggregate_by_rules(profile, &c, false);
                    assert_ne!(a.connection, C::Closed, "{profile:?} {ice:b} {dtls:b}");
                }
            }
        }
    }
}
