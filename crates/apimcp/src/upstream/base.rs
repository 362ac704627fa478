//! Where calls go: the API's base URL from the document's `servers` (or Swagger 2.0's
//! `host`, `basePath` and `schemes`) and what the user gave.

/// Why no base URL could be chosen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BaseUrlError {
    /// Neither the user nor the document gives an absolute http(s) URL.
    #[error("no API to call: the document's servers give no absolute URL{}; give the upstream URL", .server.as_ref().map(|s| format!(" ({s:?})")).unwrap_or_default())]
    NoBase {
        /// The document's first server, if it has one.
        server: Option<String>,
    },
    /// The document's server URL is not a URL once resolved.
    #[error("the document's server URL {server:?} is not an http(s) URL")]
    InvalidServer {
        /// The URL as resolved.
        server: String,
    },
}

/// The API's base URL. `document` is [`server_url`](crate::OpenApiDocument::server_url);
/// `given` is what the user set. A given URL with a path (other than `/`) is used as it is;
/// one without a path replaces the document's origin and keeps the document's base path (so
/// `--upstream http://localhost:8080` against Petstore's `https://petstore.swagger.io/v2`
/// calls `http://localhost:8080/v2/pet/1`); with nothing given, the document's absolute URL.
///
/// ```
/// use apimcp::upstream::base_url;
///
/// let local = "http://localhost:8080".parse()?;
/// let base = base_url(Some("https://petstore.swagger.io/v2"), Some(&local))?;
/// assert_eq!(base.as_str(), "http://localhost:8080/v2");
/// let own = "http://localhost:8080/api".parse()?;
/// assert_eq!(base_url(Some("/v2"), Some(&own))?.as_str(), "http://localhost:8080/api");
/// assert_eq!(base_url(Some("https://api.example.com/v1/"), None)?.as_str(), "https://api.example.com/v1/");
/// assert!(base_url(Some("/v2"), None).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn base_url(document: Option<&str>, given: Option<&url::Url>) -> Result<url::Url, BaseUrlError> {
    match (given, document) {
        (Some(given), Some(server)) if given.path() == "/" => with_server_path(given, server),
        (Some(given), _) => Ok(given.clone()),
        (None, Some(server)) => match url::Url::parse(server) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
            _ => Err(BaseUrlError::NoBase {
                server: Some(server.to_owned()),
            }),
        },
        (None, None) => Err(BaseUrlError::NoBase { server: None }),
    }
}

/// `origin`'s scheme, host and port with `server`'s path (an absolute server URL's, or a
/// relative one as written).
pub(crate) fn with_server_path(origin: &url::Url, server: &str) -> Result<url::Url, BaseUrlError> {
    let path = match url::Url::parse(server) {
        Ok(absolute) => absolute.path().to_owned(),
        Err(_) => server.to_owned(),
    };
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    origin.join(&path).map_err(|_| BaseUrlError::InvalidServer {
        server: format!("{}{path}", origin.as_str().trim_end_matches('/')),
    })
}

/// An operation's own server: absolute as written, or a path on `base`'s origin.
pub(crate) fn operation_base(base: &url::Url, server: &str) -> Result<url::Url, BaseUrlError> {
    match url::Url::parse(server) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        Ok(_) => Err(BaseUrlError::InvalidServer {
            server: server.to_owned(),
        }),
        Err(_) => with_server_path(base, server),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_servers_are_absolute_or_on_the_api_origin() {
        let base = url::Url::parse("http://127.0.0.1:9/v1").expect("url");
        let own = operation_base(&base, "/uploads").expect("relative");
        assert_eq!(own.as_str(), "http://127.0.0.1:9/uploads");
        let other = operation_base(&base, "https://uploads.example.com/x").expect("absolute");
        assert_eq!(other.as_str(), "https://uploads.example.com/x");
        assert!(operation_base(&base, "ftp://x/").is_err());
    }
}
