//! The tool model: what an MCP client sees (`Tool`) and how a call becomes an HTTP request
//! (`Binding`). Plain data, no I/O; the conversion produces it and the server consumes it.

use std::fmt;

use http::{HeaderName, Method};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// A JSON object, as MCP schemas are.
pub type JsonObject = Map<String, Value>;

/// A tool name that MCP clients accept: `^[A-Za-z0-9_.-]{1,64}$`.
///
/// 64 is the tightest limit among today's clients (Claude Desktop; Cursor truncates at 60 but
/// accepts 64 from servers) and the limit the official conformance suite checks.
///
/// ```
/// use apimcp::ToolName;
///
/// let name = ToolName::new("repos_get")?;
/// assert_eq!(name.as_str(), "repos_get");
/// assert!(ToolName::new("repos/get").is_err());
/// assert!(ToolName::new("x".repeat(65)).is_err());
/// # Ok::<(), apimcp::tool::InvalidToolName>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ToolName(String);

impl<'de> Deserialize<'de> for ToolName {
    /// A name read back is checked as a new one is.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// The longest tool name apimcp produces or accepts.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// A string that is not a valid [`ToolName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tool name {name:?}: a tool name is 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'")]
pub struct InvalidToolName {
    /// The rejected name.
    pub name: String,
}

impl ToolName {
    /// Checks `name` against the tool-name rule.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidToolName> {
        let name = name.into();
        if is_valid_tool_name(&name) {
            Ok(Self(name))
        } else {
            Err(InvalidToolName { name })
        }
    }

    /// A name the name generator built; valid by construction.
    pub(crate) fn generated(name: String) -> Self {
        debug_assert!(is_valid_tool_name(&name), "generated tool name {name:?}");
        Self(name)
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `c` may appear in a tool name (and in an argument name).
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn is_valid_tool_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_TOOL_NAME_LEN && name.chars().all(is_name_char)
}

/// An MCP tool definition, serialised exactly as `tools/list` sends it.
///
/// The conversion makes one per operation; a custom tool is built the same way.
///
/// ```
/// use apimcp::tool::{Tool, ToolAnnotations, ToolName};
/// use serde_json::json;
///
/// let tool = Tool {
///     name: ToolName::new("get_item")?,
///     title: Some("Get Item".into()),
///     description: "Fetch one item.".into(),
///     input_schema: json!({"type": "object"}).as_object().cloned().unwrap_or_default(),
///     output_schema: None,
///     annotations: ToolAnnotations {
///         read_only_hint: Some(true),
///         ..ToolAnnotations::default()
///     },
/// };
/// assert_eq!(
///     serde_json::to_value(&tool)?,
///     json!({"name": "get_item", "title": "Get Item", "description": "Fetch one item.",
///            "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": true}})
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// The unique tool name.
    pub name: ToolName,
    /// A human-readable title (the operation's summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON Schema 2020-12 of the arguments; always `type: object`.
    pub input_schema: JsonObject,
    /// JSON Schema 2020-12 of `structuredContent`, when the operation returns JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<JsonObject>,
    /// Behaviour hints derived from the HTTP method.
    pub annotations: ToolAnnotations,
}

/// MCP tool annotations (hints; clients treat them as untrusted).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    /// Display title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The tool does not change its environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may destroy or overwrite data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Calling the tool twice with the same arguments has no further effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool talks to an open world of entities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

/// How a tool call becomes an HTTP request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Binding {
    /// The HTTP method (`GET`, `POST`, ... or a 3.2 custom method, upper case), checked when
    /// the document was converted; serialised as its name.
    #[serde(serialize_with = "method_name")]
    pub method: Method,
    /// The path template as written in the document, e.g. `/items/{item_id}`.
    pub path: String,
    /// Path, query, header and cookie parameters, in document order.
    pub params: Vec<ParamBinding>,
    /// The request body, when the operation has one.
    pub body: Option<BodyBinding>,
    /// Whether `structuredContent` is the response wrapped as `{"result": ...}`.
    pub output_wrapped: bool,
    /// The operation's own base URL (its `servers`, or its path item's), when it has one:
    /// absolute, or a path relative to the API's origin. Remote calls go there.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server: Option<String>,
}

fn method_name<S: Serializer>(method: &Method, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(method.as_str())
}

/// Where a parameter goes in the request.
///
/// A header's name is checked when the document is converted, so a call never meets a name
/// HTTP cannot carry. Serialised as the name OpenAPI uses in `in` (`"header"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A `{name}` segment of the path template.
    Path,
    /// The query string.
    Query,
    /// This request header (lower case, as HTTP/2 sends it; [`ParamBinding::name`] keeps the
    /// document's spelling).
    Header(HeaderName),
    /// A cookie in the `Cookie` header.
    Cookie,
}

impl Location {
    /// The name OpenAPI uses in `in`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Query => "query",
            Self::Header(_) => "header",
            Self::Cookie => "cookie",
        }
    }

    /// Path, query, header, cookie: the order arguments are named in.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Self::Path => 0,
            Self::Query => 1,
            Self::Header(_) => 2,
            Self::Cookie => 3,
        }
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// OpenAPI parameter serialisation styles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Style {
    /// `1,2,3` (path and header default).
    Simple,
    /// `.1.2.3`.
    Label,
    /// `;id=1,2,3`.
    Matrix,
    /// `id=1&id=2` or `id=1,2` (query and cookie default).
    Form,
    /// `id=1%202`.
    SpaceDelimited,
    /// `id=1|2`.
    PipeDelimited,
    /// `obj[key]=value`.
    DeepObject,
}

/// One parameter: which argument feeds it and how it is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParamBinding {
    /// The argument name in the tool's inputSchema.
    pub arg: String,
    /// The parameter name on the wire.
    pub name: String,
    /// Where it goes.
    pub location: Location,
    /// Serialisation style.
    pub style: Style,
    /// Whether arrays and objects are exploded.
    pub explode: bool,
    /// Whether reserved characters may stay unencoded (query only).
    pub allow_reserved: bool,
    /// The value is serialised as JSON text (a parameter declared with `content`).
    pub json: bool,
    /// Whether the argument is required.
    pub required: bool,
}

/// The request body: its media type, encoding and which arguments make it up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BodyBinding {
    /// The media type to send, e.g. `application/json`.
    pub media_type: String,
    /// How the body is encoded.
    pub encoding: BodyEncoding,
    /// Which arguments become the body.
    pub shape: BodyShape,
    /// Whether the document marks the body as required.
    pub required: bool,
    /// The media type's `encoding` entries, for form and multipart bodies.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub encodings: Vec<FieldEncoding>,
}

/// How one field of a form or multipart body is written (an OpenAPI Encoding Object).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldEncoding {
    /// The field name in the body object.
    pub field: String,
    /// The style of a form field (`None`: not given, so objects go as JSON text).
    pub style: Option<Style>,
    /// Whether arrays and objects are exploded.
    pub explode: bool,
    /// Whether reserved characters may stay unencoded.
    pub allow_reserved: bool,
    /// The part's `Content-Type` (multipart), or the field's when it is not a plain value.
    pub content_type: Option<String>,
}

/// How a body is written on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum BodyEncoding {
    /// JSON text.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`; the named fields carry files as base64 strings.
    Multipart {
        /// Wire names of the fields whose values are base64-encoded file contents.
        files: Vec<String>,
    },
    /// The `body` argument is sent as text.
    Text,
    /// The `body` argument is base64 and sent as raw bytes.
    Binary,
}

/// Which arguments make up the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum BodyShape {
    /// The body object's fields are top-level arguments.
    Flattened {
        /// Pairs of (argument name, field name on the wire).
        fields: Vec<FieldBinding>,
    },
    /// One argument holds the whole body.
    Whole {
        /// The argument name (usually `body`).
        arg: String,
    },
}

/// One flattened body field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldBinding {
    /// The argument name in the inputSchema.
    pub arg: String,
    /// The field name in the body object.
    pub field: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_follow_the_client_rule() {
        assert!(ToolName::new("repos_get").is_ok());
        assert!(ToolName::new("a.b-c_D9").is_ok());
        assert!(ToolName::new("repos/get").is_err());
        assert!(ToolName::new("").is_err());
        assert!(ToolName::new("has space").is_err());
        assert!(ToolName::new("x".repeat(64)).is_ok());
        assert!(ToolName::new("x".repeat(65)).is_err());
    }

    #[test]
    fn tool_serialises_in_mcp_shape() {
        let tool = Tool {
            name: ToolName::new("get_item").expect("valid"),
            title: Some("Get Item".into()),
            description: "d".into(),
            input_schema: Map::new(),
            output_schema: None,
            annotations: ToolAnnotations {
                read_only_hint: Some(true),
                ..ToolAnnotations::default()
            },
        };
        let json = serde_json::to_value(&tool).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"name":"get_item","title":"Get Item","description":"d",
                "inputSchema":{},"annotations":{"readOnlyHint":true}})
        );
    }
}
