//! The Rust API in one call: a peer with two transports, fed as an ICE and DTLS stack would feed
//! it (one transport from another thread), watched through a callback and through the event
//! queue, then a liveness timeout, close, and the peer's numbers.
//!
//! Run with `cargo run --example rust_demo` (or `make demo`).

use std::sync::Arc;
use std::time::Duration;

use pcstate::{
    ConnectionState, DtlsTransportState, GathererState, IceTransportState, PeerConnection, Profile,
    StateUpdate,
};

fn main() -> Result<(), pcstate::Error> {
    let pc = Arc::new(
        PeerConnection::builder(Profile::W3c)
            .close_events(true)
            .event_queue(true)
            .build()?,
    );
    pc.on_event(|e| println!("  callback: {e}"))?;

    let audio = pc.add_transport()?.id();
    let video = pc.add_transport()?.id();
    println!(
        "two transports ({audio}, {video}): {:?}",
        pc.connection_state()
    );

    // The video transport's stack runs on its own thread: the peer is Send + Sync.
    let feeder = {
        let pc = Arc::clone(&pc);
        std::thread::spawn(move || -> Result<(), pcstate::Error> {
            let t = pc.transport(video)?;
            t.set_states(StateUpdate {
                ice: Some(IceTransportState::Checking),
                gatherer: Some(GathererState::Gathering),
                ..Default::default()
            })?;
            t.set_ice_state(IceTransportState::Connected)?;
            t.set_dtls_state(DtlsTransportState::Connecting)?;
            t.set_dtls_state(DtlsTransportState::Connected)?;
            t.set_gatherer_state(GathererState::Complete)
        })
    };
    let t = pc.transport(audio)?;
    t.set_ice_state(IceTransportState::Checking)?;
    t.set_gatherer_state(GathererState::Complete)?;
    t.set_ice_state(IceTransportState::Connected)?;
    t.set_dtls_state(DtlsTransportState::Connected)?;
    feeder.join().expect("the feeder thread")?;
    println!("both connected: {:?}", pc.connection_state());
    assert_eq!(pc.connection_state(), ConnectionState::Connected);

    // Liveness on the caller's clock: nothing arrives on audio for 5 s.
    let start = pcstate::now_ns();
    pc.set_liveness(Duration::from_secs(5), Some(Duration::from_secs(30)))?;
    pc.tick(start)?;
    pc.transport(video)?.note_alive(start + 6_000_000_000)?;
    let next = pc.tick(start + 6_000_000_000)?;
    println!(
        "6 s without packets on audio: {:?} (next deadline in {:?} s)",
        pc.connection_state(),
        next.map(|d| (d - start) / 1_000_000_000)
    );
    pc.transport(audio)?.note_alive(start + 7_000_000_000)?;
    println!("a packet on audio: {:?}", pc.connection_state());

    pc.close()?;
    println!("closed; the event queue held:");
    while let Some(e) = pc.poll_event()? {
        println!("  queue:    {e}");
    }
    let stats = pc.stats();
    println!(
        "stats: entered connected {} times, failure cause {:?}; {} live peer(s) in the process",
        stats.entered(ConnectionState::Connected),
        stats.failure_cause,
        pcstate::global_stats().live_peers
    );
    Ok(())
}
