//! Browser liveness presets through the C ABI: each preset is the documented pair of thresholds
//! (Chromium 6.5 s / 17.6 s, Firefox 7 s / 27.5 s of silence: the recorded browsers' timings), off is off, and an unknown preset
//! is refused with nothing changed.

mod common;
use common::*;

use pcstate::ffi::*;
use pcstate::rules::IceTransportState as I;

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

fn connected_peer(flags: u32) -> (pcstate_peer, pcstate_transport) {
    let p = new_peer(0, flags);
    let up = pcstate_transport_states {
        ice_state: ICE_CONNECTED,
        dtls_state: DTLS_CONNECTED,
        gatherer_state: COMPLETE,
    };
    let mut t = 0;
    assert_eq!(pcstate_transport_add_with_states(p, &up, &mut t), OK);
    (p, t)
}

/// A transport silent from the last packet (at 100 s) reads disconnected and failed exactly at
/// the preset's thresholds.
#[test]
fn presets_are_the_documented_thresholds() {
    for (preset, disconnected, failed) in [
        (PCSTATE_LIVENESS_PRESET_CHROMIUM, 6_500 * MS, 17_600 * MS),
        (PCSTATE_LIVENESS_PRESET_FIREFOX, 7 * S, 27_500 * MS),
    ] {
        let (p, t) = connected_peer(0);
        assert_eq!(pcstate_peer_set_liveness_preset(p, preset), OK);
        tick(p, 99 * S);
        assert_eq!(pcstate_transport_note_alive(p, t, 100 * S), OK);
        assert_eq!(tick(p, 100 * S + disconnected - 1), 100 * S + disconnected);
        assert_eq!(ice(p, t), I::Connected as u32);
        assert_eq!(tick(p, 100 * S + disconnected), 100 * S + failed);
        assert_eq!(ice(p, t), I::Disconnected as u32, "preset {preset}");
        assert_eq!(tick(p, 100 * S + failed - 1), 100 * S + failed);
        assert_eq!(ice(p, t), I::Disconnected as u32);
        assert_eq!(tick(p, 100 * S + failed), u64::MAX);
        assert_eq!(ice(p, t), I::Failed as u32, "preset {preset}");
        // Off: liveness off, the reported state again.
        assert_eq!(
            pcstate_peer_set_liveness_preset(p, PCSTATE_LIVENESS_PRESET_OFF),
            OK
        );
        assert_eq!(ice(p, t), I::Connected as u32);
        assert_eq!(tick(p, 1000 * S), u64::MAX);
        assert_eq!(pcstate_peer_free(p), OK);
    }
}

/// The preset numbers are the C constants' documented ones, and presets equal
/// `pcstate_peer_set_liveness` with them.
#[test]
fn a_preset_is_set_liveness_with_its_numbers() {
    assert_eq!(
        (
            PCSTATE_LIVENESS_PRESET_OFF,
            PCSTATE_LIVENESS_PRESET_CHROMIUM,
            PCSTATE_LIVENESS_PRESET_FIREFOX
        ),
        (0, 1, 2)
    );
    let (a, ta) = connected_peer(0);
    let (b, tb) = connected_peer(0);
    assert_eq!(
        pcstate_peer_set_liveness_preset(a, PCSTATE_LIVENESS_PRESET_FIREFOX),
        OK
    );
    assert_eq!(pcstate_peer_set_liveness(b, 7 * S, 27_500 * MS), OK);
    for now in [0, S, 8 * S, 20 * S, 40 * S] {
        assert_eq!(tick(a, now), tick(b, now));
        assert_eq!(ice(a, ta), ice(b, tb));
    }
    assert_eq!(pcstate_peer_free(a), OK);
    assert_eq!(pcstate_peer_free(b), OK);
}

/// An unknown preset is INVALID_ARGUMENT and changes nothing, also after close with
/// IGNORE_AFTER_CLOSE; a bad handle is INVALID_HANDLE; a closed peer CLOSED.
#[test]
fn unknown_presets_are_refused() {
    let (p, t) = connected_peer(0);
    assert_eq!(
        pcstate_peer_set_liveness_preset(p, PCSTATE_LIVENESS_PRESET_CHROMIUM),
        OK
    );
    tick(p, 0);
    for bad in [3, 4, 255, u32::MAX] {
        assert_eq!(pcstate_peer_set_liveness_preset(p, bad), INVALID_ARGUMENT);
    }
    assert_eq!(tick(p, S), 6_500 * MS, "the Chromium preset still runs");
    assert_eq!(ice(p, t), I::Connected as u32);
    assert_eq!(pcstate_peer_set_liveness_preset(0, 1), INVALID_HANDLE);
    assert_eq!(pcstate_peer_close(p), OK);
    assert_eq!(pcstate_peer_set_liveness_preset(p, 2), CLOSED);
    assert_eq!(pcstate_peer_free(p), OK);

    let (p, _) = connected_peer(PCSTATE_FLAG_IGNORE_AFTER_CLOSE);
    assert_eq!(pcstate_peer_close(p), OK);
    assert_eq!(pcstate_peer_set_liveness_preset(p, 9), INVALID_ARGUMENT);
    assert_eq!(pcstate_peer_set_liveness_preset(p, 1), OK);
    assert_eq!(tick(p, S), u64::MAX);
    assert_eq!(pcstate_peer_free(p), OK);
}
