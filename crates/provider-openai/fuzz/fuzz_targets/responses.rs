//! Arbitrary bytes as the answer of an OpenAI-compatible server: a chat
//! completion, an images response and a server-sent event stream. Each
//! parser returns a value or a typed error; a panic is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    promptkit_provider_openai::__fuzz_parse_all(data);
});
