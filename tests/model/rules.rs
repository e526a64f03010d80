//! A reference model of pcstate, written from `docs/states.md` with plain data
//! structures (lists, maps, any/all): the spec's rules, and a model of peers that predicts every
//! call's result code, the aggregates and the full event stream. Shared by the rules test, the
//! property tests and the fuzz target (which includes this file by path).
#![allow(dead_code)]

use pcstate::rules::{
    Aggregates, ConnectionState as C, DtlsTransportState as D, GathererState as G,
    IceConnectionState as Ics, IceGatheringState as Igs, IceTransportState as I, Profile,
    TransportStates,
};

/// The spec's rules, read literally.
pub fn reference(profile: Profile, ts: &[TransportStates], closed: bool) -> Aggregates {
    let any_i = |f: &dyn Fn(I) -> bool| ts.iter().any(|t| f(t.ice));
    let all_i = |f: &dyn Fn(I) -> bool| ts.iter().all(|t| f(t.ice));
    let any_d = |f: &dyn Fn(D) -> bool| ts.iter().any(|t| f(t.dtls));
    let all_d = |f: &dyn Fn(D) -> bool| ts.iter().all(|t| f(t.dtls));

    let gathering = if ts.iter().any(|t| t.gatherer == G::Gathering) {
        Igs::Gathering
    } else if !ts.is_empty() && ts.iter().all(|t| t.gatherer == G::Complete) {
        Igs::Complete
    } else {
        Igs::New
    };

    let w3c_ice = || {
        if any_i(&|i| i == I::Failed) {
            Ics::Failed
        } else if any_i(&|i| i == I::Disconnected) {
            Ics::Disconnected
        } else if all_i(&|i| matches!(i, I::New | I::Closed)) {
            Ics::New
        } else if any_i(&|i| matches!(i, I::New | I::Checking)) {
            Ics::Checking
        } else if all_i(&|i| matches!(i, I::Completed | I::Closed)) {
            Ics::Completed
        } else {
            Ics::Connected
        }
    };

    let (ice, conn) = if closed {
        (Ics::Closed, C::Closed)
    } else {
        match profile {
            Profile::W3c => {
                let conn = if any_i(&|i| i == I::Failed) || any_d(&|d| d == D::Failed) {
                    C::Failed
                } else if any_i(&|i| i == I::Disconnected) {
                    C::Disconnected
                } else if all_i(&|i| matches!(i, I::New | I::Closed))
                    && all_d(&|d| matches!(d, D::New | D::Closed))
                {
                    C::New
                } else if any_i(&|i| matches!(i, I::New | I::Checking))
                    || any_d(&|d| matches!(d, D::New | D::Connecting))
                {
                    C::Connecting
                } else {
                    C::Connected
                };
                (w3c_ice(), conn)
            }
            Profile::W3cLiteral => {
                let ics = w3c_ice();
                let conn = if ics == Ics::Closed {
                    C::Closed
                } else if ics == Ics::Failed || any_d(&|d| d == D::Failed) {
                    C::Failed
                } else if ics == Ics::Disconnected {
                    C::Disconnected
                } else if (ics == Ics::New && all_d(&|d| matches!(d, D::New | D::Closed)))
                    || ts.is_empty()
                {
                    C::New
                } else if ics == Ics::Connected && all_d(&|d| matches!(d, D::Connected | D::Closed))
                {
                    C::Connected
                } else {
                    C::Connecting
                };
                (ics, conn)
            }
            Profile::Legacy_2016 => {
                // P: the pooled multiset of ICE and DTLS state names.
                let p: Vec<&str> = ts
                    .iter()
                    .flat_map(|t| [t.ice.name(), t.dtls.name()])
                    .collect();
                let any = |names: &[&str]| p.iter().any(|x| names.contains(x));
                let conn = if any(&["failed"]) {
                    C::Failed
                } else if any(&["checking", "connecting"]) {
                    C::Connecting
                } else if any(&["disconnected"]) {
                    C::Disconnected
                } else if any(&["new"]) {
                    C::New
                } else if any(&["connected", "completed"]) {
                    C::Connected
                } else {
                    C::New
                };
                let ice = if any_i(&|i| i == I::Failed) {
                    Ics::Failed
                } else if any_i(&|i| i == I::Disconnected) {
                    Ics::Disconnected
                } else if any_i(&|i| i == I::Checking) {
                    Ics::Checking
                } else if any_i(&|i| i == I::New) {
                    Ics::New
                } else if any_i(&|i| i == I::Connected) {
                    Ics::Connected
                } else if any_i(&|i| i == I::Completed) {
                    Ics::Completed
                } else {
                    Ics::New
                };
                (ice, conn)
            }
        }
    };
    Aggregates {
        ice_connection: ice,
        connection: conn,
        ice_gathering: gathering,
    }
}
