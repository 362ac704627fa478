//! The request builder: arbitrary arguments for a path parameter (simple, label or matrix
//! style, exploded or not) and a header never make a path outside the template, a dot segment,
//! or a header value with CR, LF or NUL (as
//! `arbitrary_arguments_never_leave_the_template_nor_forge_a_header` asserts for its seeded
//! cases).
#![no_main]

use apimcp::tool::{Binding, Location, ParamBinding, Style};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

fn param(name: &str, location: Location, style: Style, explode: bool) -> ParamBinding {
    ParamBinding {
        arg: name.into(),
        name: name.into(),
        required: location == Location::Path,
        location,
        style,
        explode,
        allow_reserved: false,
        json: false,
    }
}

/// A JSON value from `bytes`: the first byte picks a string, a number, an array of strings or
/// an object of strings; the rest is the text (0xFE separates items).
fn value(bytes: &[u8]) -> Value {
    let Some((&kind, rest)) = bytes.split_first() else {
        return json!("");
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let items = || rest.split(|&b| b == 0xFE).map(text);
    match kind % 4 {
        0 => json!(text(rest)),
        1 => {
            let mut number = [0u8; 8];
            number.iter_mut().zip(rest).for_each(|(slot, byte)| *slot = *byte);
            json!(i64::from_le_bytes(number))
        }
        2 => Value::Array(items().map(Value::String).collect()),
        _ => {
            let mut all = items();
            let mut object = Map::new();
            while let Some(key) = all.next() {
                object.insert(key, json!(all.next().unwrap_or_default()));
            }
            Value::Object(object)
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let style = [Style::Simple, Style::Label, Style::Matrix][usize::from(shape % 3)];
    let explode = shape & 0x80 != 0;
    let binding = Binding {
        method: http::Method::POST,
        path: "/api/v1/items/{id}/tail".into(),
        params: vec![
            param("id", Location::Path, style, explode),
            param(
                "X-T",
                Location::Header(http::HeaderName::from_static("x-t")),
                Style::Simple,
                false,
            ),
        ],
        body: None,
        output_wrapped: false,
        server: None,
    };
    let mut parts = rest.splitn(2, |&b| b == 0xFF);
    let (id, header) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let args = json!({"id": value(id), "X-T": value(header)});
    let Value::Object(args) = args else { return };
    let Ok(request) = apimcp::test_helpers::build_request(&binding, &args) else {
        return; // refused with an error: fine
    };
    let path = request.uri().path();
    let segments: Vec<&str> = path.split('/').collect();
    assert_eq!(segments.len(), 6, "{args:?}: {path}");
    assert_eq!(&segments[..4], ["", "api", "v1", "items"], "{args:?}: {path}");
    assert_eq!(segments[5], "tail", "{args:?}: {path}");
    assert!(segments[4] != "." && segments[4] != "..", "{args:?}: {path}");
    for value in request.headers().values() {
        assert!(
            !value.as_bytes().iter().any(|b| matches!(b, b'\r' | b'\n' | 0)),
            "{args:?}"
        );
    }
});
