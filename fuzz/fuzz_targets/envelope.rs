//! The JSON-RPC envelope parser: arbitrary bytes never panic it (as
//! `arbitrary_bytes_never_panic_the_envelope_parser` asserts for its seeded mutants); what it
//! accepts is a UTF-8 JSON object whose id, if any, is a string or a number, and what it
//! refuses is refused as a parse error or an invalid request.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match apimcp::test_helpers::read_envelope(data) {
        Ok((id, _tool, _method)) => {
            let text = std::str::from_utf8(data).expect("accepted bodies are UTF-8");
            assert!(
                text.trim_start().starts_with('{'),
                "accepted a body that is not an object"
            );
            if let Some(id) = id {
                assert!(
                    id.starts_with(|c: char| c == '"' || c == '-' || c.is_ascii_digit()),
                    "accepted the id {id}"
                );
            }
        }
        Err(message) => assert!(
            message.starts_with("Parse error: ") || message.starts_with("Invalid Request: "),
            "{message}"
        ),
    }
});
