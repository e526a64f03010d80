//! The version lives in Cargo.toml; every other place that states it must agree.

use std::ffi::CStr;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn version_is_the_same_everywhere() {
    let c = unsafe { CStr::from_ptr(pcstate::ffi::pcstate_version()) };
    assert_eq!(c.to_str().unwrap(), VERSION, "pcstate_version()");

    let header = read("include/pcstate.h");
    let mut parts = VERSION.split('.');
    for name in ["MAJOR", "MINOR", "PATCH"] {
        let want = format!("#define PCSTATE_VERSION_{name} {}", parts.next().unwrap());
        assert!(header.contains(&want), "header lacks `{want}`");
    }

    let pyproject = read("bindings/python/pyproject.toml");
    assert!(
        pyproject.contains(&format!("\nversion = \"{VERSION}\"")),
        "pyproject.toml"
    );
    let pylib = read("bindings/python/pcstate/_lib.py");
    assert!(
        pylib.contains(&format!("EXPECTED_VERSION = \"{VERSION}\"")),
        "_lib.py"
    );

    // The .pc and CMake files take the version from Cargo.toml when installed.
    for t in [
        "packaging/pcstate.pc.in",
        "packaging/pcstateConfig.cmake.in",
        "packaging/pcstateConfigVersion.cmake.in",
    ] {
        let text = read(t);
        assert!(
            text.contains("@VERSION@"),
            "{t} takes its version from Cargo.toml"
        );
        assert!(!text.contains(VERSION), "{t} hard-codes a version");
    }
}
