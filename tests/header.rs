//! The committed C header and ABI manifest are exactly what the sources generate today:
//! `include/pcstate.h` is what cbindgen (pinned in Cargo.toml) makes of src/ with cbindgen.toml,
//! and `include/pcstate.abi.json` is what tests/manifest makes of that header.
//!
//! After changing the C surface (a function, struct, enum or constant), regenerate both and commit
//! them:
//!
//! ```sh
//! PCSTATE_BLESS=1 cargo test --test header
//! ```
//!
//! tests/abi_manifest.rs then checks the manifest against the built library and a C compiler.

mod manifest;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The header cbindgen generates from src/ (once per test run).
fn generated_header() -> &'static str {
    static HEADER: OnceLock<String> = OnceLock::new();
    HEADER.get_or_init(generate_header)
}

/// The header cbindgen generates from src/: the configuration of cbindgen.toml, with the file
/// comment, the threads-and-callbacks contract (src/contract.h) and the version numbers on top.
fn generate_header() -> String {
    let dir = crate_dir();
    let (major, minor, patch) = (
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    );
    let mut config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    config.header = Some(format!(
        "/* pcstate {major}.{minor}.{patch}: the RTCPeerConnection state machine behind a C ABI.\n \
         * Generated with cbindgen from src/ by tests/header.rs: do not edit. */"
    ));
    let contract = std::fs::read_to_string(dir.join("src/contract.h"))
        .expect("src/contract.h (the header's threads-and-callbacks section)");
    config.after_includes = Some(format!(
        "{contract}\n#define PCSTATE_VERSION_MAJOR {major}\n#define PCSTATE_VERSION_MINOR {minor}\n\
         #define PCSTATE_VERSION_PATCH {patch}\n"
    ));
    let mut header = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut header);
    String::from_utf8(header).expect("the header is UTF-8")
}

/// Compares `path` with `generated`, or rewrites it when `PCSTATE_BLESS=1`.
fn check_or_bless(path: &Path, generated: &str) {
    if std::env::var_os("PCSTATE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(path, generated).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} differs from what the sources generate (first at line {}); run \
             `PCSTATE_BLESS=1 cargo test --test header` and commit the result",
            path.display(),
            line + 1
        );
    }
}

#[test]
fn committed_header_is_what_cbindgen_generates() {
    check_or_bless(&crate_dir().join("include/pcstate.h"), generated_header());
}

#[test]
fn committed_manifest_is_what_the_generated_header_declares() {
    let json = manifest::from_header(generated_header(), env!("CARGO_PKG_VERSION"));
    check_or_bless(&crate_dir().join("include/pcstate.abi.json"), &json);
}

/// The names and numbers pinned by the C API contract.
#[test]
fn published_names_and_numbers_are_in_the_header() {
    let header = generated_header();
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
        "typedef uint32_t pcstate_result;",
        "typedef struct pcstate_event pcstate_event;",
        "typedef struct pcstate_transport_states pcstate_transport_states;",
        "typedef struct pcstate_snapshot pcstate_snapshot;",
        "pcstate_result pcstate_peer_stats(pcstate_peer peer, struct pcstate_peer_stats *out);",
        "pcstate_result pcstate_global_stats(struct pcstate_global_stats *out);",
    ];
    for p in pinned {
        assert!(header.contains(p), "header lacks `{p}`");
    }
    // Tags only: a typedef would clash with the function of the same name.
    for tag_only in ["pcstate_peer_stats", "pcstate_global_stats"] {
        assert!(
            !header.contains(&format!(" {tag_only};")),
            "{tag_only} is typedef'd"
        );
    }
    assert_eq!(std::mem::size_of::<pcstate::ffi::pcstate_event>(), 40);
}
