//! Decodes the input into a sequence of API calls (valid and invalid) and runs it against the
//! library and the reference model of tests/model: every result code, aggregate, transport state,
//! queued and delivered event must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/model/mod.rs"]
mod model;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = model::run(&model::decode(data)) {
        panic!("library and model disagree: {e}");
    }
});
