#!/usr/bin/env bash
# A Rust program outside this crate, written against exactly the pinned names of the safe API,
# depends on the crate by path, compiles and runs; and its build compiles only the runtime
# dependencies (`cargo tree -e normal,build` has no cbindgen: the header generator is test-only).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/target/rust-consumer
rm -rf "$dir/src" && mkdir -p "$dir/src"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "pcstate-consumer"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
pcstate = { path = "$root" }

[workspace]
TOML
cat > "$dir/src/main.rs" <<'RS'
use pcstate::{
    ConnectionState, DtlsTransportState, Error, Event, IceTransportState, PeerConnection, Profile,
};
use std::sync::{Arc, Mutex};

fn main() -> Result<(), Error> {
    let pc: PeerConnection = PeerConnection::new(Profile::W3c)?;
    let seqs = Arc::new(Mutex::new(Vec::new()));
    let log = seqs.clone();
    pc.on_event(move |e: &Event| {
        println!("{e:?}");
        log.lock().unwrap().push(e.seq());
    })?;
    let t = pc.add_transport()?;
    t.set_ice_state(IceTransportState::Checking)?;
    t.set_dtls_state(DtlsTransportState::Connected)?;
    t.set_ice_state(IceTransportState::Connected)?;
    assert_eq!(pc.connection_state(), ConnectionState::Connected);
    let _ = (pc.ice_connection_state(), pc.ice_gathering_state());
    pc.close()?;
    assert!(t.set_ice_state(IceTransportState::Failed).is_err());
    assert!(!seqs.lock().unwrap().is_empty());
    println!("rust consumer: ok");
    Ok(())
}
RS
cd "$dir"
CARGO_TARGET_DIR=$dir/target ${CARGO:-cargo} run -q --release
tree=$(${CARGO:-cargo} tree -e normal,build)
echo "$tree"
if grep -q cbindgen <<<"$tree"; then
  echo "rust consumer: cbindgen is in a consumer's build" >&2
  exit 1
fi
echo "rust consumer: its build compiles $(grep -c . <<<"$tree") crates, no cbindgen"
