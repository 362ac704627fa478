//! Tool arguments → an HTTP request, by the binding. Pure: the request is data; dispatching it
//! is someone else's job.
//!
//! Every path parameter is percent-encoded as one segment (so `../admin` stays inside its
//! parameter), query parameters follow the document's style and explode, header values with
//! CR, LF or NUL are refused, and bodies are written as JSON, form, multipart, text or bytes.

use base64::Engine as _;
use bytes::Bytes;
use http::Request;
use http::header::{CONTENT_TYPE, COOKIE, HeaderName, HeaderValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::tool::{Binding, BodyBinding, BodyEncoding, BodyShape, FieldEncoding, Location, ParamBinding, Style};

/// Everything but RFC 3986 unreserved characters: for path segments and query components.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// What `allowReserved` leaves unencoded in a query value: the reserved set except the
/// characters that would end the value (`&`, `=`, `#`, `+`).
const QUERY_RESERVED_OK: &AsciiSet = &COMPONENT
    .remove(b':')
    .remove(b'/')
    .remove(b'?')
    .remove(b'[')
    .remove(b']')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b',')
    .remove(b';');

/// An argument that cannot be put into the request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ArgumentError {
    /// A value that the parameter's location cannot carry.
    #[error("argument `{arg}`: {reason}")]
    Invalid {
        /// The argument name.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A required argument is missing (the schema check normally catches this first).
    #[error("argument `{arg}` is required")]
    Missing {
        /// The argument name.
        arg: String,
    },
    /// The path template and the arguments make no valid URI (the template itself holds a
    /// character a URI cannot: arguments are percent-encoded).
    #[error("argument `request`: {source}")]
    Uri {
        /// What the request builder said.
        source: http::Error,
    },
}

fn invalid(arg: &str, reason: impl Into<String>) -> ArgumentError {
    ArgumentError::Invalid {
        arg: arg.into(),
        reason: reason.into(),
    }
}

/// Builds the request for one call. The URI is relative (`/items/1?q=x`): the dispatcher puts
/// it under its base.
pub(crate) fn build_request(binding: &Binding, args: &Map<String, Value>) -> Result<Request<Bytes>, ArgumentError> {
    let mut request = Request::builder()
        .method(binding.method.clone())
        .uri(relative_uri(binding, args)?);
    for (name, value) in parameter_headers(&binding.params, args)? {
        request = request.header(name, value);
    }
    let (content_type, body) = match &binding.body {
        Some(body) => encode_body(body, args)?,
        None => (None, Bytes::new()),
    };
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    request.body(body).map_err(|source| ArgumentError::Uri { source })
}

/// The path with its parameters in place, then the query string.
fn relative_uri(binding: &Binding, args: &Map<String, Value>) -> Result<String, ArgumentError> {
    let mut uri = expand_path(&binding.path, &binding.params, args)?;
    let query = query_string(&binding.params, args)?;
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&query);
    }
    Ok(uri)
}

/// The header parameters given, in document order, then the cookies as one `Cookie` header.
fn parameter_headers(
    params: &[ParamBinding],
    args: &Map<String, Value>,
) -> Result<Vec<(HeaderName, HeaderValue)>, ArgumentError> {
    let mut headers = Vec::new();
    let mut cookies = Vec::new();
    for p in params {
        let Some(value) = present(args, &p.arg, p.required)? else {
            continue;
        };
        match &p.location {
            Location::Header(name) => headers.push((name.clone(), header_value(p, value)?)),
            Location::Cookie => cookies.push(cookie(p, value)?),
            Location::Path | Location::Query => {}
        }
    }
    if !cookies.is_empty() {
        let value = HeaderValue::from_str(&cookies.join("; "))
            .map_err(|_| invalid("cookie", "cookie values must be visible ASCII"))?;
        headers.push((COOKIE, value));
    }
    Ok(headers)
}

/// The argument's value, `None` when absent or null and not required.
fn present<'a>(args: &'a Map<String, Value>, arg: &str, required: bool) -> Result<Option<&'a Value>, ArgumentError> {
    match args.get(arg) {
        Some(Value::Null) | None if required => Err(ArgumentError::Missing { arg: arg.into() }),
        Some(Value::Null) | None => Ok(None),
        Some(value) => Ok(Some(value)),
    }
}

fn expand_path(template: &str, params: &[ParamBinding], args: &Map<String, Value>) -> Result<String, ArgumentError> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        let param = params.iter().find(|p| p.location == Location::Path && p.name == name);
        match param {
            Some(p) => {
                let value = present(args, &p.arg, true)?.unwrap_or(&Value::Null);
                let encoded = path_value(p, value)?;
                let after = &rest[open + close + 1..];
                refuse_dot_segment(p, &out, &encoded, after)?;
                out.push_str(&encoded);
            }
            // A template variable with no parameter: leave it as written, so the API answers.
            None => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Refuses a value that, with the template's text around it, makes its segment `.` or `..`,
/// which a URL parser reads as navigation: whatever the style (a label-style `.` is `..`).
fn refuse_dot_segment(p: &ParamBinding, before: &str, encoded: &str, after: &str) -> Result<(), ArgumentError> {
    let head = before.rsplit('/').next().unwrap_or("");
    let tail = after.split(['/', '{', '?', '#']).next().unwrap_or("");
    match [head, encoded, tail].concat().as_str() {
        "." | ".." => Err(invalid(&p.arg, "this value would make its path segment `.` or `..`")),
        _ => Ok(()),
    }
}

/// One path parameter, encoded so it can never leave its segment: every character outside
/// the unreserved set is percent-encoded, and `.`, `..` and the empty string, which a URL
/// parser would treat as path navigation, are refused.
fn path_value(p: &ParamBinding, value: &Value) -> Result<String, ArgumentError> {
    let parts = scalar_parts(p, value)?;
    let bad = |s: &str| s.is_empty() || s == "." || s == "..";
    if parts.iter().all(|(_, v)| bad(v)) && p.style == Style::Simple {
        return Err(invalid(&p.arg, "a path parameter cannot be empty, `.` or `..`"));
    }
    let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
    let name = || enc(&p.name);
    let keyed = matches!(value, Value::Object(_));
    let joined = |sep: &str, pair_sep: &str| match parts.as_slice() {
        [(_, v)] if !keyed => enc(v),
        _ => parts
            .iter()
            .map(|(k, v)| match k {
                Some(k) if keyed => format!("{}{pair_sep}{}", enc(k), enc(v)),
                _ => enc(v),
            })
            .collect::<Vec<_>>()
            .join(sep),
    };
    Ok(match (p.style, p.explode, keyed) {
        (Style::Label, true, _) => format!(".{}", joined(".", "=")),
        (Style::Label, false, _) => format!(".{}", joined(",", ",")),
        (Style::Matrix, true, true) => format!(";{}", joined(";", "=")),
        (Style::Matrix, true, false) => parts.iter().map(|(_, v)| format!(";{}={}", name(), enc(v))).collect(),
        (Style::Matrix, false, _) => format!(";{}={}", name(), joined(",", ",")),
        (_, true, _) => joined(",", "="),
        (_, false, _) => joined(",", ","),
    })
}

/// A value as (key, text) pairs: a scalar is one pair, an array one per item, an object one
/// per property. Nested values are JSON text.
fn scalar_parts(p: &ParamBinding, value: &Value) -> Result<Vec<(Option<String>, String)>, ArgumentError> {
    if p.json {
        return Ok(vec![(None, value.to_string())]);
    }
    Ok(match value {
        Value::Array(items) => items.iter().map(|v| (None, scalar_text(v))).collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (Some(k.clone()), scalar_text(v))).collect(),
        other => vec![(None, scalar_text(other))],
    })
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn query_string(params: &[ParamBinding], args: &Map<String, Value>) -> Result<String, ArgumentError> {
    let mut pairs: Vec<String> = Vec::new();
    for p in params.iter().filter(|p| p.location == Location::Query) {
        if let Some(value) = present(args, &p.arg, p.required)? {
            query_pairs(p, value, &mut pairs)?;
        }
    }
    Ok(pairs.join("&"))
}

fn query_pairs(p: &ParamBinding, value: &Value, out: &mut Vec<String>) -> Result<(), ArgumentError> {
    let set = if p.allow_reserved { QUERY_RESERVED_OK } else { COMPONENT };
    let enc = |s: &str| utf8_percent_encode(s, set).to_string();
    let name = enc(&p.name);
    let parts = scalar_parts(p, value)?;
    let keyed = matches!(value, Value::Object(_)) && !p.json;
    let list = matches!(value, Value::Array(_)) && !p.json;
    match (p.style, p.explode) {
        (Style::DeepObject, _) if !p.json => {
            let mut pairs = Vec::new();
            deep_pairs(p.name.clone(), value, &mut pairs);
            out.extend(pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))));
        }
        (Style::Form, true) if keyed => {
            for (k, v) in &parts {
                out.push(format!("{}={}", enc(k.as_deref().unwrap_or("")), enc(v)));
            }
        }
        (Style::Form, true) if list => {
            for (_, v) in &parts {
                out.push(format!("{name}={}", enc(v)));
            }
        }
        (style, _) => {
            let sep = match style {
                Style::SpaceDelimited if list => "%20",
                Style::PipeDelimited if list => "%7C",
                _ => ",",
            };
            out.push(format!("{name}={}", joined(&parts, sep, enc)));
        }
    }
    Ok(())
}

/// `deepObject`, the way the big APIs read it (Stripe, and Rails and PHP, whose conventions
/// they follow): an object's keys in brackets, recursively (`address[city]=x`), an array of
/// plain values as repeated `name[]` (`expand[]=a&expand[]=b`), and an array that holds
/// objects or arrays by index (`items[0][price]=x`), since `[]` could not tell its items'
/// keys apart. OpenAPI defines `deepObject` for flat objects only and leaves the rest open.
/// `null` is sent as an empty value, which Stripe reads as "unset".
fn deep_pairs(prefix: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                deep_pairs(format!("{prefix}[{k}]"), v, out);
            }
        }
        Value::Array(items) if items.iter().any(|v| v.is_object() || v.is_array()) => {
            for (i, v) in items.iter().enumerate() {
                deep_pairs(format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                out.push((format!("{prefix}[]"), scalar_text(v)));
            }
        }
        other => out.push((prefix, scalar_text(other))),
    }
}

/// Keys and values, encoded, in one delimited list: `a,1,b,2`.
fn joined(parts: &[(Option<String>, String)], sep: &str, enc: impl Fn(&str) -> String) -> String {
    parts
        .iter()
        .flat_map(|(k, v)| k.iter().map(|k| enc(k)).chain([enc(v)]))
        .collect::<Vec<_>>()
        .join(sep)
}

fn header_value(p: &ParamBinding, value: &Value) -> Result<HeaderValue, ArgumentError> {
    let text = scalar_parts(p, value)?
        .into_iter()
        .map(|(k, v)| match k {
            Some(k) if p.explode => format!("{k}={v}"),
            Some(k) => format!("{k},{v}"),
            None => v,
        })
        .collect::<Vec<_>>()
        .join(",");
    if text.contains(['\r', '\n', '\0']) {
        return Err(invalid(&p.arg, "header values cannot contain CR, LF or NUL"));
    }
    HeaderValue::from_str(&text).map_err(|_| invalid(&p.arg, "header values must be visible ASCII (or tab and space)"))
}

fn cookie(p: &ParamBinding, value: &Value) -> Result<String, ArgumentError> {
    let text = scalar_parts(p, value)?
        .into_iter()
        .flat_map(|(k, v)| k.into_iter().chain([v]))
        .collect::<Vec<_>>()
        .join(",");
    if text.contains(['\r', '\n', '\0']) {
        return Err(invalid(&p.arg, "cookie values cannot contain CR, LF or NUL"));
    }
    let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
    Ok(format!("{}={}", enc(&p.name), enc(&text)))
}

type Encoded = (Option<HeaderValue>, Bytes);

fn encode_body(body: &BodyBinding, args: &Map<String, Value>) -> Result<Encoded, ArgumentError> {
    let Some(fields) = body_fields(body, args)? else {
        return Ok((None, Bytes::new()));
    };
    let media = |m: &str| HeaderValue::from_str(m).map_err(|_| invalid("body", format!("bad media type {m}")));
    match &body.encoding {
        BodyEncoding::Json => Ok((Some(media(&body.media_type)?), Bytes::from(fields.to_string()))),
        BodyEncoding::Form => Ok((Some(media(&body.media_type)?), form(&fields, &body.encodings))),
        BodyEncoding::Multipart { files } => {
            let (boundary, bytes) = multipart(&fields, files, &body.encodings)?;
            let content_type = format!("multipart/form-data; boundary={boundary}");
            Ok((Some(media(&content_type)?), bytes))
        }
        BodyEncoding::Text => {
            let text = scalar_text(&fields);
            Ok((Some(media(&body.media_type)?), Bytes::from(text)))
        }
        BodyEncoding::Binary => {
            let Value::String(b64) = &fields else {
                return Err(invalid(whole_arg(body), "expected a base64 string"));
            };
            let bytes = decode_base64(whole_arg(body), b64)?;
            Ok((Some(media(&body.media_type)?), Bytes::from(bytes)))
        }
    }
}

fn whole_arg(body: &BodyBinding) -> &str {
    match &body.shape {
        BodyShape::Whole { arg } => arg,
        BodyShape::Flattened { .. } => "body",
    }
}

/// The body value: the whole-body argument, or an object of the flattened fields given.
/// `None` when nothing was given and the body is optional.
fn body_fields(body: &BodyBinding, args: &Map<String, Value>) -> Result<Option<Value>, ArgumentError> {
    match &body.shape {
        BodyShape::Whole { arg } => Ok(present(args, arg, body.required)?.cloned()),
        BodyShape::Flattened { fields } => {
            let object: Map<String, Value> = fields
                .iter()
                .filter_map(|f| Some((f.field.clone(), args.get(&f.arg)?.clone())))
                .collect();
            Ok((body.required || !object.is_empty()).then_some(Value::Object(object)))
        }
    }
}

/// A form body: each field by its `encoding` entry, if it has one.
fn form(fields: &Value, encodings: &[FieldEncoding]) -> Bytes {
    let mut pairs: Vec<(String, String, bool)> = Vec::new();
    for (key, value) in fields.as_object().into_iter().flatten() {
        let encoding = encodings.iter().find(|e| e.field == *key);
        let reserved = encoding.is_some_and(|e| e.allow_reserved);
        for (k, v) in form_field(key, value, encoding) {
            pairs.push((k, v, reserved));
        }
    }
    let text: Vec<String> = pairs
        .iter()
        .map(|(k, v, reserved)| format!("{}={}", form_encode(k, false), form_encode(v, *reserved)))
        .collect();
    Bytes::from(text.join("&"))
}

/// `application/x-www-form-urlencoded` text (space as `+`); with `allowReserved`, RFC 3986
/// reserved characters but `&`, `=`, `+` and `#` stay as they are.
fn form_encode(text: &str, allow_reserved: bool) -> String {
    if allow_reserved {
        return utf8_percent_encode(text, QUERY_RESERVED_OK).to_string();
    }
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// One form field as name/value pairs. Without an `encoding` entry an array repeats its
/// name and an object goes as JSON text (OpenAPI's default `contentType` for objects).
fn form_field(key: &str, value: &Value, encoding: Option<&FieldEncoding>) -> Vec<(String, String)> {
    let style = encoding.and_then(|e| e.style);
    let explode = encoding.is_none_or(|e| e.explode);
    let one = |v: String| vec![(key.to_owned(), v)];
    match (value, style) {
        (Value::Null, _) => Vec::new(),
        (_, Some(Style::DeepObject)) => {
            let mut pairs = Vec::new();
            deep_pairs(key.to_owned(), value, &mut pairs);
            pairs
        }
        (Value::Array(items), None | Some(Style::Form)) if explode => {
            items.iter().map(|v| (key.to_owned(), scalar_text(v))).collect()
        }
        (Value::Object(map), Some(Style::Form)) if explode => {
            map.iter().map(|(k, v)| (k.clone(), scalar_text(v))).collect()
        }
        (Value::Array(_) | Value::Object(_), Some(style)) => one(delimited(value, style)),
        (Value::Object(_), None) => one(value.to_string()),
        (other, _) => one(scalar_text(other)),
    }
}

/// An array or object as one delimited value (`a,b`, `a b`, `a|b`; an object's keys and
/// values alternate).
fn delimited(value: &Value, style: Style) -> String {
    let sep = match style {
        Style::SpaceDelimited => " ",
        Style::PipeDelimited => "|",
        _ => ",",
    };
    let items: Vec<String> = match value {
        Value::Array(items) => items.iter().map(scalar_text).collect(),
        Value::Object(map) => map.iter().flat_map(|(k, v)| [k.clone(), scalar_text(v)]).collect(),
        other => vec![scalar_text(other)],
    };
    items.join(sep)
}

fn decode_base64(arg: &str, text: &str) -> Result<Vec<u8>, ArgumentError> {
    let text = text.trim();
    // Accept data URIs, which clients often send for files.
    let payload = match text.strip_prefix("data:") {
        Some(uri) => uri.split_once(',').map_or(uri, |(_, data)| data),
        None => text,
    };
    base64::engine::general_purpose::STANDARD
        .decode(payload)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(payload))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(payload))
        .map_err(|e| invalid(arg, format!("not valid base64: {e}")))
}

/// The type of a part that carries a plain value.
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// One multipart part: the field name, the bytes and their media type.
struct Part {
    name: String,
    file: bool,
    content_type: String,
    bytes: Vec<u8>,
}

fn multipart(fields: &Value, files: &[String], encodings: &[FieldEncoding]) -> Result<(String, Bytes), ArgumentError> {
    let parts = multipart_parts(fields, files, encodings)?;
    // A boundary that occurs in no part; deterministic, so requests are reproducible.
    let boundary = (0u32..)
        .map(|n| format!("apimcp-boundary-{n:08x}"))
        .find(|b| parts.iter().all(|p| !contains(&p.bytes, b.as_bytes())))
        .unwrap_or_default();
    let mut out = Vec::new();
    for part in &parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        part.write(&mut out);
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((boundary, Bytes::from(out)))
}

/// One part per field given, one per file of a field that carries several, and one per item
/// of an array (see [`field_parts`]); a field's `encoding.contentType` names its part's type.
fn multipart_parts(fields: &Value, files: &[String], encodings: &[FieldEncoding]) -> Result<Vec<Part>, ArgumentError> {
    let mut parts = Vec::new();
    for (name, value) in fields.as_object().into_iter().flatten() {
        let encoding = encodings.iter().find(|e| e.field == *name);
        parts.extend(field_parts(name, value, files.contains(name), encoding)?);
    }
    Ok(parts)
}

/// The parts of one field.
///
/// - An array repeats its field name, one part per item: RFC 7578 section 4.3 says so for
///   several values of one field, OpenAPI 3.1.1 handles array properties this way ("applying
///   the same name to multiple parts") and makes an array's default `contentType` its items'
///   type, and form parsers (Rails, PHP, Django, multer, Starlette) and the big APIs read
///   repeated parts as a list. So `tags: ["a", "b"]` is two `text/plain` parts named `tags`,
///   and an array of objects one `application/json` part per object. Only a declared JSON
///   `contentType` keeps the array whole, as one JSON part: the document says the field is
///   JSON.
/// - A field whose `encoding` gives a `style` (or `explode`, which implies `form`) is written
///   as a form field is, one text part per pair: OpenAPI ignores `contentType` then. This is
///   how Stripe's multipart bodies (`expand[]`, `file_link_data[create]`) are read.
/// - Anything else is one part: text for a plain value, JSON for an object.
fn field_parts(
    name: &str,
    value: &Value,
    file: bool,
    encoding: Option<&FieldEncoding>,
) -> Result<Vec<Part>, ArgumentError> {
    let declared = encoding
        .and_then(|e| e.content_type.as_deref())
        // A list (`image/png, image/jpeg`) or a wildcard names no one type to send.
        .filter(|t| !t.contains([',', '*', '\r', '\n']))
        .map(str::trim);
    let styled = encoding.filter(|e| e.style.is_some() && !file);
    let items: Vec<&Value> = match value {
        Value::Null => return Ok(Vec::new()),
        _ if styled.is_some() => {
            let pairs = form_field(name, value, styled);
            return Ok(pairs.into_iter().map(|(k, v)| Part::text(k, v)).collect());
        }
        Value::Array(_) if !file && declared.is_some_and(is_json) => vec![value],
        Value::Array(items) => items.iter().filter(|v| !v.is_null()).collect(),
        other => vec![other],
    };
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        let mut part = multipart_part(name, item, file)?;
        if let Some(declared) = declared {
            declared.clone_into(&mut part.content_type);
        }
        parts.push(part);
    }
    Ok(parts)
}

/// Whether a media type is JSON (`application/json`, or a `+json` type).
fn is_json(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

impl Part {
    /// A plain text part.
    fn text(name: String, text: String) -> Self {
        Self {
            name,
            file: false,
            content_type: TEXT_PLAIN.to_owned(),
            bytes: text.into_bytes(),
        }
    }

    /// The part's headers and bytes, after its boundary line.
    fn write(&self, out: &mut Vec<u8>) {
        let name = self.name.replace(['"', '\r', '\n'], "_");
        let disposition = if self.file {
            format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n")
        } else {
            format!("Content-Disposition: form-data; name=\"{name}\"\r\n")
        };
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(format!("Content-Type: {}\r\n\r\n", self.content_type).as_bytes());
        out.extend_from_slice(&self.bytes);
        out.extend_from_slice(b"\r\n");
    }
}

fn multipart_part(name: &str, value: &Value, file: bool) -> Result<Part, ArgumentError> {
    let (content_type, bytes) = match value {
        Value::String(s) if file => ("application/octet-stream", decode_base64(name, s)?),
        Value::String(s) => (TEXT_PLAIN, s.clone().into_bytes()),
        Value::Object(_) | Value::Array(_) => ("application/json", value.to_string().into_bytes()),
        other => (TEXT_PLAIN, other.to_string().into_bytes()),
    };
    Ok(Part {
        name: name.to_owned(),
        file,
        content_type: content_type.to_owned(),
        bytes,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests;
