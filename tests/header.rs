//! `include/pcstate.h` must be exactly what build.rs generates. `PCSTATE_BLESS=1 cargo test`
//! rewrites it.

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/pcstate.h"));

#[test]
fn committed_header_matches_generated() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/pcstate.h");
    if std::env::var_os("PCSTATE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(path, GENERATED).expect("write include/pcstate.h");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == GENERATED,
        "include/pcstate.h differs from the header build.rs generates; \
         run `PCSTATE_BLESS=1 cargo test --test header` and commit it"
    );
}

/// The names and numbers pinned by the C API contract.
#[test]
fn contract_constants_are_in_the_header() {
    let pinned = [
        "PCSTATE_RESULT_OK = 0",
        "PCSTATE_RESULT_NULL_ARGUMENT = 1",
        "PCSTATE_RESULT_INVALID_HANDLE = 2",
        "PCSTATE_RESULT_UNKNOWN_TRANSPORT = 3",
        "PCSTATE_RESULT_INVALID_STATE = 4",
        "PCSTATE_RESULT_INVALID_ARGUMENT = 5",
        "PCSTATE_RESULT_CLOSED = 6",
        "PCSTATE_RESULT_EMPTY = 7",
        "PCSTATE_RESULT_PANIC = 8",
        "PCSTATE_PROFILE_W3C = 0",
        "PCSTATE_PROFILE_W3C_LITERAL = 1",
        "PCSTATE_PROFILE_LEGACY_2016 = 2",
        "#define PCSTATE_FLAG_CLOSE_EVENTS 1",
        "#define PCSTATE_FLAG_EVENT_QUEUE 2",
        "PCSTATE_CONNECTION_STATE_CLOSED = 5",
        "PCSTATE_ICE_CONNECTION_STATE_CLOSED = 6",
        "PCSTATE_ICE_TRANSPORT_STATE_COMPLETED = 3",
        "PCSTATE_DTLS_TRANSPORT_STATE_FAILED = 4",
        "PCSTATE_ICE_GATHERING_STATE_COMPLETE = 2",
        "PCSTATE_ICE_GATHERER_STATE_COMPLETE = 2",
        "PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE = 1",
        "PCSTATE_EVENT_KIND_CONNECTION_STATE = 2",
        "PCSTATE_EVENT_KIND_ICE_GATHERING_STATE = 3",
        "typedef uint64_t pcstate_peer;",
        "typedef uint32_t pcstate_transport;",
    ];
    for p in pinned {
        assert!(GENERATED.contains(p), "header lacks `{p}`");
    }
    assert_eq!(std::mem::size_of::<pcstate::ffi::pcstate_event>(), 40);
}
