//! Observability: each peer's connection history in numbers, and process-wide gauges kept in
//! per-thread shards so that threads working on different peers never write a shared line.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::Relaxed};

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

/// One peer's numbers; times are CLOCK_MONOTONIC nanoseconds.
#[derive(Clone, Debug, Default)]
pub struct PeerStats {
    pub created_ns: u64,
    /// 0 until connectionState first became connected.
    pub first_connected_ns: u64,
    /// Time spent in each connectionState before the current stay.
    pub time_in_state_ns: [u64; STATES],
    /// When the current connectionState was entered.
    pub since_ns: u64,
    pub entered_state: [u32; STATES],
    pub failure_cause: FailureCause,
    pub failure_transport: u32,
    /// The input that started the current run of failed inputs (ICE or DTLS states failed), and
    /// its transport: what a failure of connectionState is blamed on.
    first_failed: (FailureCause, u32),
}

impl PeerStats {
    /// A peer created at `now`, in connectionState new.
    pub fn new(now: u64) -> Self {
        let mut s = PeerStats {
            created_ns: now,
            since_ns: now,
            ..Default::default()
        };
        s.entered_state[ConnectionState::New as usize] = 1;
        s
    }

    /// Whether any ICE or DTLS input is failed changed to `failing`, by `cause` on `transport`.
    #[inline]
    pub fn note_failing(&mut self, failing: bool, cause: FailureCause, transport: u32) {
        match (failing, self.first_failed.0) {
            (true, FailureCause::None) => self.first_failed = (cause, transport),
            (false, _) => self.first_failed = (FailureCause::None, 0),
            _ => {}
        }
    }

    /// connectionState changed from `old` to `new` at `now`.
    pub fn connection_changed(&mut self, old: ConnectionState, new: ConnectionState, now: u64) {
        let now = now.max(self.since_ns);
        self.time_in_state_ns[old as usize] += now - self.since_ns;
        self.since_ns = now;
        self.entered_state[new as usize] = self.entered_state[new as usize].saturating_add(1);
        if new == ConnectionState::Connected && self.first_connected_ns == 0 {
            self.first_connected_ns = now;
        }
        if new == ConnectionState::Failed {
            (self.failure_cause, self.failure_transport) = self.first_failed;
        }
        global::connection_changed(old, new);
    }

    /// Time in each state up to `now`, the current stay (in `current`) included.
    pub fn time_in_state_until(&self, now: u64, current: ConnectionState) -> [u64; STATES] {
        let mut t = self.time_in_state_ns;
        t[current as usize] += now.saturating_sub(self.since_ns);
        t
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

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    /// This thread's shard: threads take shards in turn, so two threads share one only when more
    /// than 16 are busy.
    #[inline]
    fn mine() -> &'static Shard {
        thread_local!(static INDEX: usize = NEXT.fetch_add(1, Relaxed) % SHARDS);
        &SHARD[INDEX.with(|i| *i)]
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

    #[test]
    fn times_and_counts_add_up() {
        let mut s = PeerStats::new(100);
        s.connection_changed(C::New, C::Connecting, 150);
        s.connection_changed(C::Connecting, C::Connected, 400);
        s.note_failing(true, FailureCause::Dtls, 2);
        s.note_failing(true, FailureCause::Ice, 1); // later: not the first
        s.connection_changed(C::Connected, C::Failed, 1000);
        assert_eq!(s.first_connected_ns, 400);
        assert_eq!(
            (s.failure_cause, s.failure_transport),
            (FailureCause::Dtls, 2)
        );
        let t = s.time_in_state_until(1100, C::Failed);
        assert_eq!(t, [50, 250, 600, 0, 100, 0]);
        assert_eq!(t.iter().sum::<u64>(), 1100 - 100);
        assert_eq!(s.entered_state, [1, 1, 1, 0, 1, 0]);
        s.note_failing(false, FailureCause::None, 0);
        s.note_failing(true, FailureCause::Liveness, 3);
        s.connection_changed(C::Failed, C::Connected, 1200);
        s.connection_changed(C::Connected, C::Failed, 1300);
        assert_eq!(s.failure_cause, FailureCause::Liveness);
        assert_eq!(s.first_connected_ns, 400, "first, not latest");
        // Undo this test's effect on the process-wide gauges.
        global::connection_changed(C::Failed, C::New);
    }
}
