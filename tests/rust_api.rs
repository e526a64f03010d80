//! The safe Rust API: a program written against exactly the pinned names compiles and runs;
//! `PeerConnection` is `Send + Sync`; every C feature is reachable, with the C results. The
//! callback and event-queue guarantees are in rust_api_delivery.rs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pcstate::{
    Change, ConnectionState, DtlsTransportState, Error, Event, EventKind, FailureCause,
    GathererState, IceAgent, IceConnectionState, IceGatheringState, IceTransportState,
    LivenessPreset, PeerConnection, Profile, ResultCode, StateUpdate, TransportStates,
};

/// The program, written with exactly the pinned names (and nothing else of the crate).
#[test]
fn a_program_using_only_the_pinned_names_compiles_and_runs() {
    fn program() -> Result<Vec<u64>, pcstate::Error> {
        use pcstate::{DtlsTransportState, IceTransportState};
        let pc = pcstate::PeerConnection::new(pcstate::Profile::W3c)?;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        pc.on_event(move |e: &pcstate::Event| {
            let _ = format!("{e:?}");
            log.lock().unwrap().push(e.seq());
        })?;
        let t = pc.add_transport()?;
        t.set_ice_state(IceTransportState::Checking)?;
        t.set_dtls_state(DtlsTransportState::Connected)?;
        t.set_gatherer_state(pcstate::GathererState::Complete)?;
        t.set_ice_state(IceTransportState::Connected)?;
        assert_eq!(pc.connection_state(), pcstate::ConnectionState::Connected);
        assert_eq!(
            pc.ice_connection_state(),
            pcstate::IceConnectionState::Connected
        );
        assert_eq!(
            pc.ice_gathering_state(),
            pcstate::IceGatheringState::Complete
        );
        pc.close()?;
        assert!(t.set_ice_state(IceTransportState::Failed).is_err());
        assert_eq!(pc.connection_state(), pcstate::ConnectionState::Closed);
        let seqs = seen.lock().unwrap().clone();
        Ok(seqs)
    }
    assert_eq!(program().unwrap(), [1, 2, 3, 4, 5]);
}

#[test]
fn peer_connection_and_transport_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<PeerConnection>();
    send_sync::<pcstate::Transport<'static>>();
    send_sync::<Event>();
    send_sync::<Error>();
    let err: Box<dyn std::error::Error + Send + Sync> = Box::new(closed_error());
    assert_eq!(err.to_string(), "the peer is closed");
}

fn closed_error() -> Error {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    pc.close().unwrap();
    pc.add_transport().unwrap_err()
}

#[test]
fn errors_carry_the_c_code_and_the_c_message() {
    let e = closed_error();
    assert_eq!(e.code(), ResultCode::Closed);
    assert_eq!(ResultCode::from(e), ResultCode::Closed);
    let c = unsafe { std::ffi::CStr::from_ptr(pcstate::ffi::pcstate_result_message(6)) };
    assert_eq!(e.to_string(), c.to_str().unwrap());
    assert!(format!("{e:?}").contains("Closed"));
}

#[test]
fn root_enums_are_the_c_enums_with_the_c_values() {
    let _: pcstate::enums::Profile = Profile::Legacy_2016;
    assert_eq!(Profile::W3cLiteral as u32, 1);
    assert_eq!(IceTransportState::Closed as u32, 6);
    assert_eq!(DtlsTransportState::Failed as u32, 4);
    assert_eq!(GathererState::Complete as u32, 2);
    assert_eq!(ConnectionState::Closed as u32, 5);
    assert_eq!(IceConnectionState::Completed as u32, 3);
    assert_eq!(IceGatheringState::Gathering as u32, 1);
    assert_eq!(EventKind::Overflow as u32, 4);
    assert_eq!(FailureCause::Liveness as u32, 3);
    use pcstate::ffi::{
        PCSTATE_LIVENESS_PRESET_CHROMIUM, PCSTATE_LIVENESS_PRESET_FIREFOX,
        PCSTATE_LIVENESS_PRESET_OFF,
    };
    assert_eq!(LivenessPreset::Off as u32, PCSTATE_LIVENESS_PRESET_OFF);
    assert_eq!(
        LivenessPreset::Chromium as u32,
        PCSTATE_LIVENESS_PRESET_CHROMIUM
    );
    assert_eq!(
        LivenessPreset::Firefox as u32,
        PCSTATE_LIVENESS_PRESET_FIREFOX
    );
}

#[test]
fn after_close_setters_fail_as_in_c_or_are_ignored_with_the_flag() {
    for ignore in [false, true] {
        let pc = PeerConnection::builder(Profile::W3c)
            .ignore_after_close(ignore)
            .build()
            .unwrap();
        let t = pc.add_transport().unwrap();
        pc.close().unwrap();
        pc.close().unwrap();
        let results = [
            t.set_ice_state(IceTransportState::Checking),
            t.set_dtls_state(DtlsTransportState::Connected),
            t.set_gatherer_state(GathererState::Gathering),
            t.set_states(StateUpdate::default()),
            t.set_ice_agent_state(IceAgent::Libnice, 4),
            t.set_remote_end_of_candidates(),
            t.note_remote_candidate(),
            t.restart_ice(),
            t.note_alive(1),
            pc.set_liveness_preset(LivenessPreset::Firefox),
            pc.set_liveness_preset(LivenessPreset::Off),
            pc.add_transport().map(|t| assert_eq!(t.id(), 0)),
            pc.remove_transport(t.id()),
        ];
        for r in results {
            match ignore {
                false => assert_eq!(r.unwrap_err().code(), ResultCode::Closed),
                true => r.unwrap(),
            }
        }
        // Reading works, and the transport reads closed.
        assert_eq!(pc.connection_state(), ConnectionState::Closed);
        assert_eq!(t.states().unwrap().ice, IceTransportState::Closed);
        assert_eq!(t.states().unwrap().dtls, DtlsTransportState::Closed);
    }
}

#[test]
fn transports_are_found_by_id_and_removed() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let a = pc.add_transport().unwrap();
    let b = pc.add_transport().unwrap();
    assert_eq!((a.id(), b.id()), (1, 2));
    assert!(std::ptr::eq(a.peer(), &pc));
    let found = pc.transport(2).unwrap();
    found.set_ice_state(IceTransportState::Checking).unwrap();
    assert_eq!(b.states().unwrap().ice, IceTransportState::Checking);
    b.remove().unwrap();
    assert_eq!(
        pc.transport(2).unwrap_err().code(),
        ResultCode::UnknownTransport
    );
    assert_eq!(
        found
            .set_ice_state(IceTransportState::New)
            .unwrap_err()
            .code(),
        ResultCode::UnknownTransport
    );
    assert_eq!(
        pc.transport(0).unwrap_err().code(),
        ResultCode::UnknownTransport
    );
    assert_eq!(
        pc.remove_transport(2).unwrap_err().code(),
        ResultCode::UnknownTransport
    );
    assert_eq!(pc.snapshot().transport_count, 1);
    assert_eq!(pc.add_transport().unwrap().id(), 3, "ids are never reused");
}

#[test]
fn set_states_and_add_with_states_commit_once() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let events = record(&pc);
    let t = pc
        .add_transport_with_states(TransportStates {
            ice: IceTransportState::Connected,
            dtls: DtlsTransportState::Connected,
            gatherer: GathererState::Complete,
        })
        .unwrap();
    assert_eq!(pc.connection_state(), ConnectionState::Connected);
    let e = events.lock().unwrap().clone();
    assert_eq!(
        e.len(),
        3,
        "one event per aggregate, no intermediate states: {e:?}"
    );
    assert!(e.iter().all(|e| e.transport() == Some(t.id())));
    // DTLS alone; ICE kept.
    t.set_states(StateUpdate {
        dtls: Some(DtlsTransportState::Failed),
        ..Default::default()
    })
    .unwrap();
    let s = t.states().unwrap();
    assert_eq!(
        (s.ice, s.dtls),
        (IceTransportState::Connected, DtlsTransportState::Failed)
    );
    assert_eq!(pc.connection_state(), ConnectionState::Failed);
    let all = StateUpdate::from(TransportStates::default());
    t.set_states(all).unwrap();
    assert_eq!(t.states().unwrap(), TransportStates::default());
}

#[test]
fn ice_agent_states_derive_the_ice_state() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let t = pc.add_transport().unwrap();
    // libnice READY (4): connected, completed once gathering and the remote's candidates are done.
    t.set_ice_agent_state(IceAgent::Libnice, 4).unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::Connected);
    t.set_gatherer_state(GathererState::Complete).unwrap();
    t.set_remote_end_of_candidates().unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::Completed);
    assert_eq!(
        t.reported_states().unwrap().ice,
        IceTransportState::Completed
    );
    let e = t.set_ice_agent_state(IceAgent::Libjuice, 6).unwrap_err();
    assert_eq!(e.code(), ResultCode::InvalidState);
    assert_eq!(
        t.states().unwrap().ice,
        IceTransportState::Completed,
        "nothing changed"
    );
}

/// A restart on a healthy call: `restart_ice`, then libnice's own restart (GATHERING,
/// CONNECTING, READY): the transport reads connected throughout and connectionState never leaves
/// connected; completed needs the new session's end-of-candidates.
#[test]
fn a_restart_holds_a_completed_transport_at_connected() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let t = pc
        .add_transport_with_states(TransportStates {
            dtls: DtlsTransportState::Connected,
            gatherer: GathererState::Complete,
            ..Default::default()
        })
        .unwrap();
    t.set_ice_agent_state(IceAgent::Libnice, 2).unwrap();
    t.set_remote_end_of_candidates().unwrap();
    t.set_ice_agent_state(IceAgent::Libnice, 4).unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::Completed);
    let events = record(&pc);
    t.restart_ice().unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::Connected);
    for gathering_then_connecting in [1, 2] {
        t.set_ice_agent_state(IceAgent::Libnice, gathering_then_connecting)
            .unwrap();
        assert_eq!(t.states().unwrap().ice, IceTransportState::Connected);
    }
    t.set_ice_agent_state(IceAgent::Libnice, 4).unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::Connected);
    t.set_remote_end_of_candidates().unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::Completed);
    let changes: Vec<Change> = events.lock().unwrap().iter().map(|e| e.change()).collect();
    assert_eq!(
        changes,
        [
            Change::IceConnectionState {
                old: IceConnectionState::Completed,
                new: IceConnectionState::Connected
            },
            Change::IceConnectionState {
                old: IceConnectionState::Connected,
                new: IceConnectionState::Completed
            },
        ],
        "connectionState stays connected"
    );
}

/// libjuice CONNECTING reads new until a remote candidate is noted, and again after a restart,
/// which ends the noted candidates (a transport that does not read connected is not held).
#[test]
fn libjuice_connecting_reads_checking_once_a_remote_candidate_is_noted() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let t = pc.add_transport().unwrap();
    t.set_ice_agent_state(IceAgent::Libjuice, 2).unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::New);
    t.note_remote_candidate().unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::Checking);
    t.note_remote_candidate().unwrap(); // idempotent
    assert_eq!(pc.ice_connection_state(), IceConnectionState::Checking);
    t.restart_ice().unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::New);
    t.note_remote_candidate().unwrap();
    assert_eq!(t.states().unwrap().ice, IceTransportState::Checking);
    // libnice CONNECTING means a pair exists: checking without a noted candidate.
    let n = pc.add_transport().unwrap();
    n.set_ice_agent_state(IceAgent::Libnice, 2).unwrap();
    assert_eq!(n.states().unwrap().ice, IceTransportState::Checking);
    // On a removed transport, as every setter.
    n.remove().unwrap();
    for r in [n.note_remote_candidate(), n.restart_ice()] {
        assert_eq!(r.unwrap_err().code(), ResultCode::UnknownTransport);
    }
}

/// Each preset sets the measured browser thresholds (the numbers in docs/feeding.md, which
/// `durations` returns); `Off` turns liveness off.
#[test]
fn liveness_presets_set_the_browsers_thresholds() {
    let sec = 1_000_000_000u64;
    let ms = 1_000_000u64;
    for (preset, d, f) in [
        (LivenessPreset::Chromium, 6_500 * ms, 17_600 * ms),
        (LivenessPreset::Firefox, 7 * sec, 27_500 * ms),
    ] {
        assert_eq!(
            preset.durations(),
            Some((Duration::from_nanos(d), Duration::from_nanos(f)))
        );
        let pc = PeerConnection::new(Profile::W3c).unwrap();
        let t = pc
            .add_transport_with_states(TransportStates {
                ice: IceTransportState::Connected,
                dtls: DtlsTransportState::Connected,
                gatherer: GathererState::Complete,
            })
            .unwrap();
        pc.set_liveness_preset(preset).unwrap();
        assert_eq!(pc.tick(0).unwrap(), Some(d));
        assert_eq!(pc.tick(d - 1).unwrap(), Some(d), "{preset:?}");
        assert_eq!(pc.connection_state(), ConnectionState::Connected);
        assert_eq!(pc.tick(d).unwrap(), Some(f));
        assert_eq!(pc.connection_state(), ConnectionState::Disconnected);
        assert_eq!(pc.tick(f).unwrap(), None);
        assert_eq!(pc.connection_state(), ConnectionState::Failed);
        // The same as set_liveness with the durations.
        t.set_ice_state(IceTransportState::Connected).unwrap();
        let (dd, ff) = preset.durations().unwrap();
        pc.set_liveness(dd, Some(ff)).unwrap();
        assert_eq!(pc.tick(100 * sec).unwrap(), Some(100 * sec + d));
        pc.set_liveness_preset(LivenessPreset::Off).unwrap();
        assert_eq!(pc.tick(200 * sec).unwrap(), None);
        assert_eq!(pc.connection_state(), ConnectionState::Connected);
    }
    assert_eq!(LivenessPreset::Off.durations(), None);
}

#[test]
fn liveness_takes_durations_and_tick_returns_the_next_deadline() {
    let pc = PeerConnection::new(Profile::W3c).unwrap();
    let t = pc.add_transport().unwrap();
    t.set_ice_state(IceTransportState::Connected).unwrap();
    t.set_dtls_state(DtlsTransportState::Connected).unwrap();
    let (s5, s30) = (Duration::from_secs(5), Duration::from_secs(30));
    let bad = [
        pc.set_liveness(Duration::ZERO, None),
        pc.set_liveness(s5, Some(Duration::ZERO)),
        pc.set_liveness(s5, Some(s5)),
    ];
    for r in bad {
        assert_eq!(r.unwrap_err().code(), ResultCode::InvalidArgument);
    }
    assert_eq!(pc.tick(0).unwrap(), None, "liveness off: no deadline");
    pc.set_liveness(s5, Some(s30)).unwrap();
    let sec = 1_000_000_000u64;
    assert_eq!(pc.tick(100 * sec).unwrap(), Some(105 * sec));
    assert_eq!(pc.tick(106 * sec).unwrap(), Some(130 * sec));
    assert_eq!(t.states().unwrap().ice, IceTransportState::Disconnected);
    assert_eq!(
        t.reported_states().unwrap().ice,
        IceTransportState::Connected
    );
    t.note_alive(107 * sec).unwrap();
    assert_eq!(pc.connection_state(), ConnectionState::Connected);
    pc.tick(200 * sec).unwrap();
    assert_eq!(pc.connection_state(), ConnectionState::Failed);
    assert_eq!(pc.stats().failure_cause, FailureCause::Liveness);
    assert_eq!(pc.stats().failure_transport, Some(t.id()));
    pc.clear_liveness().unwrap();
    assert_eq!(pc.connection_state(), ConnectionState::Connected);
    assert_eq!(pc.tick(300 * sec).unwrap(), None);
}

#[test]
fn stats_history_and_global_stats_read_the_peer() {
    let before = pcstate::now_ns();
    let pc = PeerConnection::builder(Profile::W3c)
        .history(true)
        .build()
        .unwrap();
    let t = pc.add_transport().unwrap();
    t.set_ice_state(IceTransportState::Connected).unwrap();
    t.set_dtls_state(DtlsTransportState::Connected).unwrap();
    let s = pc.stats();
    assert!(s.created_ns >= before && s.first_connected_ns >= Some(s.created_ns));
    assert_eq!(s.entered(ConnectionState::New), 1);
    assert_eq!(s.entered(ConnectionState::Connected), 1);
    assert_eq!(
        (s.failure_cause, s.failure_transport),
        (FailureCause::None, None)
    );
    let h = pc.history().unwrap();
    assert_eq!(h.iter().map(Event::seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(h[2].connection_state(), Some(ConnectionState::Connected));
    assert!(pcstate::global_stats().live_peers >= 1);
    let none = PeerConnection::new(Profile::W3c).unwrap();
    assert_eq!(
        none.history().unwrap_err().code(),
        ResultCode::InvalidArgument
    );
    // A last reading as the peer is freed: as it was (connected, never closed). (That the handle
    // is gone afterwards is checked through the C ABI, tests/observability.rs: other tests of
    // this binary create and free peers meanwhile, so the global count cannot show it here.)
    let last = pc.into_stats();
    assert_eq!(last.entered(ConnectionState::Connected), 1);
    assert_eq!(last.entered(ConnectionState::Closed), 0);
    assert!(last.time_in(ConnectionState::Connected) > std::time::Duration::ZERO);
}

/// Records the events of `pc`'s callback.
fn record(pc: &PeerConnection) -> Arc<Mutex<Vec<Event>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    pc.on_event(move |e| l.lock().unwrap().push(*e)).unwrap();
    log
}

#[test]
fn events_are_typed_and_print_with_the_w3c_names() {
    let pc = PeerConnection::builder(Profile::W3c)
        .close_events(true)
        .build()
        .unwrap();
    let events = record(&pc);
    let t = pc.add_transport().unwrap();
    t.set_ice_state(IceTransportState::Checking).unwrap();
    pc.close().unwrap();
    let e = events.lock().unwrap().clone();
    assert_eq!(
        e.iter().map(Event::change).collect::<Vec<_>>(),
        [
            Change::IceConnectionState {
                old: IceConnectionState::New,
                new: IceConnectionState::Checking
            },
            Change::ConnectionState {
                old: ConnectionState::New,
                new: ConnectionState::Connecting
            },
            Change::IceConnectionState {
                old: IceConnectionState::Checking,
                new: IceConnectionState::Closed
            },
            Change::ConnectionState {
                old: ConnectionState::Connecting,
                new: ConnectionState::Closed
            },
        ]
    );
    assert_eq!(
        e[1].to_string(),
        "#2 connectionstatechange new -> connecting"
    );
    assert_eq!(
        (e[1].transport(), e[3].transport()),
        (Some(1), None),
        "close has no transport"
    );
    assert_eq!(e[1].kind(), EventKind::ConnectionState);
    assert!(e[0].time_ns() > 0 && format!("{:?}", e[0]).contains("Checking"));
}
