//! The document's security schemes and each operation's requirements, read from the document
//! (Swagger 2.0 has been turned into 3.x shape by then). Pure.

use std::collections::BTreeMap;

use serde_json::Value;

/// Where an `apiKey` goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyLocation {
    Header,
    Query,
    Cookie,
}

/// One security scheme, as far as sending a credential for it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SchemeKind {
    ApiKey {
        location: KeyLocation,
        name: String,
    },
    /// An HTTP scheme, its name lower case (`bearer`, `basic`, ...).
    Http {
        scheme: String,
    },
    /// OAuth 2, with its clientCredentials token URL when it has that flow.
    OAuth2 {
        token_url: Option<String>,
    },
    OpenIdConnect,
    /// Anything else (`mutualTLS`, an unknown type, a malformed scheme).
    Other {
        scheme_type: String,
    },
}

impl SchemeKind {
    /// How the type reads in messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::ApiKey { .. } => "apiKey".into(),
            Self::Http { scheme } => format!("http {scheme}"),
            Self::OAuth2 { .. } => "oauth2".into(),
            Self::OpenIdConnect => "openIdConnect".into(),
            Self::Other { scheme_type } => scheme_type.clone(),
        }
    }
}

/// Every scheme of `components.securitySchemes`, by name (a `$ref` followed).
pub(crate) fn document_schemes(doc: &Value) -> BTreeMap<String, SchemeKind> {
    let schemes = doc.pointer("/components/securitySchemes").and_then(Value::as_object);
    schemes
        .into_iter()
        .flatten()
        .map(|(name, scheme)| (name.clone(), scheme_kind(follow(doc, scheme))))
        .collect()
}

/// A local `$ref` followed once (schemes are rarely referenced, never in chains).
fn follow<'d>(doc: &'d Value, value: &'d Value) -> &'d Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| doc.pointer(pointer))
        .unwrap_or(value)
}

fn scheme_kind(scheme: &Value) -> SchemeKind {
    let text = |key: &str| scheme.get(key).and_then(Value::as_str);
    match text("type").unwrap_or("") {
        "apiKey" => api_key(text("in"), text("name")),
        "http" => SchemeKind::Http {
            scheme: text("scheme").unwrap_or("bearer").to_ascii_lowercase(),
        },
        "oauth2" => SchemeKind::OAuth2 {
            token_url: scheme
                .pointer("/flows/clientCredentials/tokenUrl")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        "openIdConnect" => SchemeKind::OpenIdConnect,
        other => SchemeKind::Other {
            scheme_type: other.to_owned(),
        },
    }
}

fn api_key(location: Option<&str>, name: Option<&str>) -> SchemeKind {
    let location = match location {
        Some("header") => KeyLocation::Header,
        Some("query") => KeyLocation::Query,
        Some("cookie") => KeyLocation::Cookie,
        other => {
            return SchemeKind::Other {
                scheme_type: format!("apiKey in {}", other.unwrap_or("(nowhere)")),
            };
        }
    };
    match name {
        Some(name) if !name.is_empty() => SchemeKind::ApiKey {
            location,
            name: name.to_owned(),
        },
        _ => SchemeKind::Other {
            scheme_type: "apiKey without a name".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schemes_are_read_by_type() {
        let doc = json!({"components": {"securitySchemes": {
            "key": {"type": "apiKey", "in": "query", "name": "api_key"},
            "bearer": {"type": "http", "scheme": "Bearer"},
            "cc": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/token", "scopes": {}}}},
            "code": {"type": "oauth2", "flows": {"authorizationCode": {"tokenUrl": "/t", "authorizationUrl": "/a", "scopes": {}}}},
            "ref": {"$ref": "#/components/securitySchemes/key"},
            "tls": {"type": "mutualTLS"},
            "nowhere": {"type": "apiKey", "name": "k"}
        }}});
        let schemes = document_schemes(&doc);
        let key = SchemeKind::ApiKey {
            location: KeyLocation::Query,
            name: "api_key".into(),
        };
        assert_eq!(schemes["key"], key);
        assert_eq!(schemes["ref"], key);
        assert_eq!(
            schemes["bearer"],
            SchemeKind::Http {
                scheme: "bearer".into()
            }
        );
        assert_eq!(
            schemes["cc"],
            SchemeKind::OAuth2 {
                token_url: Some("/token".into())
            }
        );
        assert_eq!(schemes["code"], SchemeKind::OAuth2 { token_url: None });
        assert!(matches!(schemes["tls"], SchemeKind::Other { .. }));
        assert!(matches!(schemes["nowhere"], SchemeKind::Other { .. }));
    }
}
