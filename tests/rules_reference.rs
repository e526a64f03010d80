//! The O(1) counter rules checked against a second, straightforward implementation written here
//! from `docs/states.md` (lists, any/all, first match wins), on every combination of up to
//! three transports (ICE x DTLS x gatherer) in all three profiles; and the incremental peer state
//! machine checked against the same reference after every add, remove and set of random walks.

mod model;

use model::rules::reference;
use pcstate::rules::{
    self, Aggregates, ConnectionState as C, Counts, DtlsTransportState as D, EventKind,
    GathererState as G, IceTransportState as I, Profile, TransportStates,
};
use pcstate::testing::{Event, PeerState};

fn every_transport_state() -> Vec<TransportStates> {
    let mut v = Vec::new();
    for &ice in I::ALL {
        for &dtls in D::ALL {
            for &gatherer in G::ALL {
                v.push(TransportStates {
                    ice,
                    dtls,
                    gatherer,
                });
            }
        }
    }
    v
}

#[test]
fn every_combination_of_up_to_three_transports() {
    let all = every_transport_state();
    assert_eq!(all.len(), 7 * 5 * 3);
    let mut checked = 0u64;
    let mut check = |ts: &[TransportStates]| {
        let counts = Counts::of(ts.iter().copied());
        for &profile in Profile::ALL {
            for closed in [false, true] {
                let got = rules::aggregate(profile, &counts, closed);
                let want = reference(profile, ts, closed);
                assert_eq!(got, want, "{profile:?} closed={closed} {ts:?}");
                checked += 1;
            }
        }
    };
    check(&[]);
    for a in &all {
        check(&[*a]);
        for b in &all {
            check(&[*a, *b]);
            for c in &all {
                check(&[*a, *b, *c]);
            }
        }
    }
    let combos = 1 + 105 + 105 * 105 + 105 * 105 * 105;
    assert_eq!(checked, combos * 3 * 2);
}

/// The spec's examples table, through the reference too (a check on the reference itself).
#[test]
fn reference_agrees_with_the_spec_examples() {
    let t = |ice, dtls| TransportStates {
        ice,
        dtls,
        gatherer: G::New,
    };
    let rows = [
        (
            vec![t(I::Connected, D::New)],
            [C::Connecting, C::Connecting, C::New],
        ),
        (
            vec![t(I::Completed, D::Connected)],
            [C::Connected, C::Connecting, C::Connected],
        ),
        (
            vec![t(I::New, D::New), t(I::Connected, D::Connected)],
            [C::Connecting, C::Connecting, C::New],
        ),
        (
            vec![t(I::Disconnected, D::Connected), t(I::Checking, D::New)],
            [C::Disconnected, C::Disconnected, C::Connecting],
        ),
    ];
    for (ts, want) in rows {
        for (p, w) in Profile::ALL.iter().zip(want) {
            assert_eq!(reference(*p, &ts, false).connection, w, "{p:?} {ts:?}");
        }
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Checks one call's events against the aggregates before and after it: one event per changed
/// aggregate, in the order ICE connection, connection, gathering, numbered on from `seq`.
fn check_events(before: Aggregates, after: Aggregates, events: &[Event], seq: &mut u64, id: u32) {
    let mut want = Vec::new();
    if before.ice_connection != after.ice_connection {
        want.push((
            EventKind::IceConnectionState,
            before.ice_connection as u32,
            after.ice_connection as u32,
        ));
    }
    if before.connection != after.connection {
        want.push((
            EventKind::ConnectionState,
            before.connection as u32,
            after.connection as u32,
        ));
    }
    if before.ice_gathering != after.ice_gathering {
        want.push((
            EventKind::IceGatheringState,
            before.ice_gathering as u32,
            after.ice_gathering as u32,
        ));
    }
    let got: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.old_state, e.new_state))
        .collect();
    assert_eq!(got, want);
    for e in events {
        *seq += 1;
        assert_eq!(e.seq, *seq);
        assert_eq!(e.transport, id);
    }
}

/// Random walks of add/remove/set on a `PeerState`: after every step the aggregates equal the
/// reference applied to the current transports, and the events are exactly the changes.
#[test]
fn incremental_updates_match_the_reference() {
    let mut rng = Rng(0x2545f4914f6cdd1d);
    for &profile in Profile::ALL {
        for walk in 0..200 {
            let mut p = PeerState::new(profile, 0);
            let mut ids: Vec<u32> = Vec::new();
            let mut seq = 0u64;
            for _ in 0..200 {
                let before = p.aggregates();
                let (id, batch) = match rng.below(10) {
                    0 | 1 if ids.len() < 6 => {
                        let (id, b) = p.add_transport().unwrap();
                        ids.push(id);
                        (id, b)
                    }
                    2 if !ids.is_empty() => {
                        let id = ids.swap_remove(rng.below(ids.len()));
                        (id, p.remove_transport(id).unwrap())
                    }
                    _ if !ids.is_empty() => {
                        let id = ids[rng.below(ids.len())];
                        let b = match rng.below(3) {
                            0 => p.set_ice(id, I::ALL[rng.below(7)]),
                            1 => p.set_dtls(id, D::ALL[rng.below(5)]),
                            _ => p.set_gatherer(id, G::ALL[rng.below(3)]),
                        };
                        (id, b.unwrap())
                    }
                    _ => continue,
                };
                let ts: Vec<_> = p.transports().into_iter().map(|(_, s)| s).collect();
                assert_eq!(
                    p.aggregates(),
                    reference(profile, &ts, false),
                    "walk {walk}"
                );
                let events: Vec<_> = batch.iter().collect();
                check_events(before, p.aggregates(), &events, &mut seq, id);
                assert_eq!(p.snapshot().last_seq, seq);
            }
            // A DTLS change never changes iceConnectionState (all profiles).
            if let Some(&id) = ids.first() {
                let before = p.aggregates().ice_connection;
                for &d in D::ALL {
                    p.set_dtls(id, d).unwrap();
                    assert_eq!(p.aggregates().ice_connection, before);
                }
            }
            let before = p.aggregates();
            p.close();
            let ts: Vec<_> = p.transports().into_iter().map(|(_, s)| s).collect();
            assert!(ts.iter().all(|t| t.ice == I::Closed && t.dtls == D::Closed));
            assert_eq!(p.aggregates(), reference(profile, &ts, true));
            assert_eq!(p.aggregates().ice_gathering, before.ice_gathering);
        }
    }
}
