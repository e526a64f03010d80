//! Model-based property tests: random sequences of API calls, valid and invalid (bad and freed
//! handles, out-of-range states, unknown transports, calls after close), run against the library
//! and the reference model in `tests/model`; every result, aggregate, transport state, queued event
//! and delivered event must match. proptest shrinks a failure to a minimal sequence.

mod model;

use model::Op;
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    // Mostly peers and transports that exist, sometimes ones that do not.
    let peer = prop_oneof![6 => 0u8..3, 1 => any::<u8>()];
    let t = prop_oneof![6 => 1u32..4, 1 => 0u32..8];
    prop_oneof![
        1 => (0u32..4, 0u32..5).prop_map(|(profile, flags)| Op::New { profile, flags }),
        1 => peer.clone().prop_map(Op::Free),
        1 => peer.clone().prop_map(Op::Close),
        3 => peer.clone().prop_map(Op::Add),
        1 => (peer.clone(), t.clone()).prop_map(|(p, t)| Op::Remove(p, t)),
        4 => (peer.clone(), t.clone(), 0u32..8).prop_map(|(p, t, s)| Op::SetIce(p, t, s)),
        3 => (peer.clone(), t.clone(), 0u32..6).prop_map(|(p, t, s)| Op::SetDtls(p, t, s)),
        2 => (peer.clone(), t.clone(), 0u32..4).prop_map(|(p, t, s)| Op::SetGatherer(p, t, s)),
        1 => (peer.clone(), t).prop_map(|(p, t)| Op::GetStates(p, t)),
        1 => peer.clone().prop_map(Op::Snapshot),
        1 => peer.clone().prop_map(Op::Poll),
        1 => (peer, any::<bool>()).prop_map(|(p, on)| Op::Callback(p, on)),
    ]
}

fn program() -> impl Strategy<Value = Vec<Op>> {
    // Start with a few peers so that most calls reach one.
    (
        prop::collection::vec((0u32..3, 0u32..4), 1..4),
        prop::collection::vec(op(), 1..120),
    )
        .prop_map(|(peers, ops)| {
            let mut all: Vec<Op> = peers
                .into_iter()
                .map(|(profile, flags)| Op::New { profile, flags })
                .collect();
            all.extend(ops);
            all
        })
}

proptest! {
    // Under Miri (about a thousand times slower) a handful of cases still checks for UB.
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 6 } else { 4096 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn library_matches_the_model(ops in program()) {
        if let Err(e) = model::run(&ops) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// The decoder the fuzz target uses yields sequences the model accepts.
#[test]
fn fuzz_decoder_sequences_agree() {
    let mut x = 0x1234_5678u32;
    let (rounds, len) = if cfg!(miri) { (2, 120) } else { (200, 400) };
    for _ in 0..rounds {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        model::run(&model::decode(&data)).unwrap();
    }
}
