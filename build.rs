//! Gives the shared library its SONAME by the ABI policy. (The header is not generated here:
//! tests/header.rs regenerates it with cbindgen and checks the committed include/pcstate.h.)

use std::env;

fn main() {
    // The ABI policy (docs/packaging.md, "Versions and ABI"): while 0.x every minor release may break the ABI,
    // so the SONAME is libpcstate.so.0.MINOR (as cargo-c names it); from 1.0 it is
    // libpcstate.so.MAJOR. The Makefile, install.sh and the CMake version file follow the same rule.
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpcstate.so.{abi}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
