//! The rules' compile-time tables against the rule functions evaluated one by one, and the
//! named inputs and aggregates.

use super::*;

fn t(ice: I, dtls: D) -> TransportStates {
    TransportStates {
        ice,
        dtls,
        gatherer: GathererState::New,
    }
}

/// The examples table of the spec, where the profiles differ.
#[test]
fn spec_examples_table() {
    use ConnectionState::*;
    let rows: &[(&[TransportStates], [ConnectionState; 3])] = &[
        (&[t(I::Connected, D::New)], [Connecting, Connecting, New]),
        (
            &[t(I::Completed, D::Connected)],
            [Connected, Connecting, Connected],
        ),
        (
            &[t(I::New, D::New), t(I::Connected, D::Connected)],
            [Connecting, Connecting, New],
        ),
        (
            &[t(I::Disconnected, D::Connected), t(I::Checking, D::New)],
            [Disconnected, Disconnected, Connecting],
        ),
    ];
    for (transports, expected) in rows {
        let c = Counts::of(transports.iter().copied());
        for (p, want) in Profile::ALL.iter().zip(expected) {
            assert_eq!(
                aggregate(*p, &c, false).connection,
                *want,
                "{p:?} {transports:?}"
            );
        }
    }
}

#[test]
fn zero_transports_and_closed() {
    for p in Profile::ALL {
        let a = aggregate(*p, &Counts::new(), false);
        assert_eq!(a, Aggregates::default());
        let a = aggregate(*p, &Counts::new(), true);
        assert_eq!(a.connection, ConnectionState::Closed);
        assert_eq!(a.ice_connection, IceConnectionState::Closed);
        assert_eq!(a.ice_gathering, IceGatheringState::New);
    }
}

#[test]
fn enum_numbers_and_names() {
    assert_eq!(ConnectionState::from_u32(5), Some(ConnectionState::Closed));
    assert_eq!(ConnectionState::from_u32(6), None);
    assert_eq!(DtlsTransportState::Failed as u32, 4);
    assert_eq!(DtlsTransportState::name_of(3), Some("closed"));
    assert_eq!(IceTransportState::name_of(7), None);
    assert_eq!(Profile::from_u32(3), None);
    assert_eq!(
        EventKind::ConnectionState.dom_name(),
        "connectionstatechange"
    );
}

/// The tables agree with the rules evaluated one by one, on counts far from the minimal ones
/// the tables were generated from.
#[test]
fn tables_match_the_rules() {
    let mut x = 0x9e37_79b9u32;
    for _ in 0..if cfg!(miri) { 500 } else { 200_000 } {
        let n = 1 + (x % 9);
        let mut c = Counts::new();
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            c.add(TransportStates {
                ice: IceTransportState::ALL[(x % 7) as usize],
                dtls: DtlsTransportState::ALL[((x >> 8) % 5) as usize],
                gatherer: GathererState::ALL[((x >> 16) % 3) as usize],
            });
        }
        for &p in Profile::ALL {
            for closed in [false, true] {
                assert_eq!(
                    aggregate(p, &c, closed),
                    aggregate_by_rules(p, &c, closed),
                    "{c:?}"
                );
            }
        }
    }
    for &p in Profile::ALL {
        assert_eq!(
            aggregate(p, &Counts::new(), false),
            aggregate_by_rules(p, &Counts::new(), false)
        );
    }
}

#[test]
fn counts_move_and_remove() {
    let mut c = Counts::of([t(I::New, D::New), t(I::Checking, D::New)]);
    c.move_ice(I::New, I::Connected);
    c.move_dtls(D::New, D::Connected);
    assert_eq!(c.ice(I::Connected), 1);
    assert_eq!(c.ice(I::New), 0);
    assert_eq!(c.dtls(D::Connected), 1);
    c.remove(t(I::Checking, D::New));
    assert_eq!(c.total(), 1);
    assert_eq!(c, Counts::of([t(I::Connected, D::Connected)]));
}

/// The changed aggregates of every pair of packed values (each byte from a few values,
/// including 0 and 255): exactly those whose bytes differ, in commit order, and `len` agrees.
#[test]
fn changed_aggregates_in_commit_order() {
    let bytes = [0u32, 1, 2, 7, 128, 255];
    let words: Vec<u32> = (0..bytes.len().pow(3))
        .map(|k| {
            (0..3).fold(0, |w, a| {
                w | bytes[k / bytes.len().pow(a as u32) % bytes.len()] << (8 * a)
            })
        })
        .collect();
    for &x in &words {
        for &y in &words {
            let (old, new) = (Packed(x), Packed(y));
            let expected: Vec<Aggregate> = Aggregate::ALL
                .iter()
                .copied()
                .filter(|&a| old.get(a) != new.get(a))
                .collect();
            let changed = old.changed(new);
            assert_eq!(changed.len(), expected.len(), "{x:#x} {y:#x}");
            assert_eq!(changed.collect::<Vec<_>>(), expected, "{x:#x} {y:#x}");
            assert_eq!(
                old.connection_changed(new),
                expected.contains(&Aggregate::Connection)
            );
        }
    }
}
