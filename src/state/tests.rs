//! One peer's state machine at unit level: events, numbering, close, liveness and stats as it
//! commits them.

use super::*;
use crate::rules::{ConnectionState, EventKind, IceConnectionState};

#[test]
fn events_of_a_call_in_order_and_numbered() {
    let mut p = PeerState::new(Profile::W3c, 0);
    let (t, b) = p.add_transport().unwrap();
    assert_eq!(t, 1);
    assert!(b.is_empty(), "a new transport leaves a new peer new");
    let b = p.set_gatherer(t, GathererState::Gathering).unwrap();
    let ev: Vec<_> = b.iter().collect();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].kind, EventKind::IceGatheringState);
    assert_eq!(ev[0].seq, 1);
    let b = p.set_ice(t, IceTransportState::Checking).unwrap();
    let kinds: Vec<_> = b.iter().map(|e| (e.kind, e.seq)).collect();
    assert_eq!(
        kinds,
        [
            (EventKind::IceConnectionState, 2),
            (EventKind::ConnectionState, 3)
        ]
    );
    assert!(
        p.set_ice(t, IceTransportState::Checking)
            .unwrap()
            .is_empty()
    );
    assert_eq!(p.snapshot().last_seq, 3);
    assert_eq!(p.aggregates().connection, ConnectionState::Connecting);
    assert_eq!(p.aggregates().ice_connection, IceConnectionState::Checking);
}

#[test]
fn close_without_and_with_events() {
    for flags in [0, FLAG_CLOSE_EVENTS] {
        let mut p = PeerState::new(Profile::W3c, flags);
        let (t, _) = p.add_transport().unwrap();
        p.set_gatherer(t, GathererState::Complete).unwrap();
        let before = p.snapshot();
        let b = p.close();
        assert_eq!(b.iter().count(), if flags == 0 { 0 } else { 2 });
        for (i, e) in b.iter().enumerate() {
            assert_eq!(e.transport, 0);
            assert_eq!(e.seq, before.last_seq + 1 + i as u64);
        }
        let s = p.snapshot();
        assert_eq!(s.aggregates.connection, ConnectionState::Closed);
        assert_eq!(s.aggregates.ice_connection, IceConnectionState::Closed);
        assert_eq!(s.aggregates.ice_gathering, before.aggregates.ice_gathering);
        let ts = p.transport(t).unwrap();
        assert_eq!(ts.ice, IceTransportState::Closed);
        assert_eq!(ts.dtls, DtlsTransportState::Closed);
        assert_eq!(ts.gatherer, GathererState::Complete);
        assert_eq!(
            p.set_ice(t, IceTransportState::New).unwrap_err(),
            ResultCode::Closed
        );
        assert_eq!(p.add_transport().unwrap_err(), ResultCode::Closed);
        assert_eq!(p.remove_transport(t).unwrap_err(), ResultCode::Closed);
        assert!(p.close().is_empty());
    }
}

#[test]
fn unknown_transports() {
    let mut p = PeerState::new(Profile::W3c, 0);
    let (t, _) = p.add_transport().unwrap();
    for id in [0, t + 1] {
        assert_eq!(
            p.set_ice(id, IceTransportState::New).unwrap_err(),
            ResultCode::UnknownTransport
        );
        assert_eq!(p.transport(id).unwrap_err(), ResultCode::UnknownTransport);
        assert_eq!(
            p.remove_transport(id).unwrap_err(),
            ResultCode::UnknownTransport
        );
    }
    p.remove_transport(t).unwrap();
    assert_eq!(
        p.remove_transport(t).unwrap_err(),
        ResultCode::UnknownTransport
    );
    assert_eq!(p.add_transport().unwrap().0, t + 1, "ids are never reused");
}
