//! Where an OpenAPI document comes from: a file or an http(s) URL.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::openapi::{DocumentError, OpenApiDocument};

/// A document location as a user writes it: a path, or a URL starting with `http://` or
/// `https://`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecSource {
    /// A local file.
    File(PathBuf),
    /// A remote document.
    Url(url::Url),
}

/// Why a document could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    // These two leave their source out of the message: it is the next link of the chain, so
    // a reporter that prints the chain (`anyhow`'s `{:#}`) shows it once.
    /// The URL is not a valid http(s) URL.
    #[error("invalid URL {url:?}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why it is invalid.
        source: url::ParseError,
    },
    /// The request failed (connection, timeout, TLS).
    #[error("cannot fetch {url}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong (boxed, so that the HTTP client stays out of the public API).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server answered with an error status.
    #[error("cannot fetch {url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The text is not a readable OpenAPI document.
    #[error(transparent)]
    Document(#[from] DocumentError),
}

impl SpecSource {
    /// Reads `http://` and `https://` as URLs and anything else as a path.
    pub fn parse(text: &str) -> Result<Self, LoadError> {
        if text.starts_with("http://") || text.starts_with("https://") {
            url::Url::parse(text)
                .map(Self::Url)
                .map_err(|source| LoadError::BadUrl {
                    url: text.into(),
                    source,
                })
        } else {
            Ok(Self::File(PathBuf::from(text)))
        }
    }

    /// Reads and parses the document; `timeout` bounds a URL fetch.
    pub async fn load(&self, timeout: Duration) -> Result<OpenApiDocument, LoadError> {
        let text = match self {
            Self::File(path) => std::fs::read_to_string(path).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?,
            Self::Url(url) => fetch(url, timeout).await?,
        };
        Ok(OpenApiDocument::parse(&text, &self.to_string())?)
    }
}

impl fmt::Display for SpecSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Url(url) => write!(f, "{url}"),
        }
    }
}

async fn fetch(url: &url::Url, timeout: Duration) -> Result<String, LoadError> {
    let failed = |e: reqwest::Error| LoadError::Fetch {
        url: url.to_string(),
        source: e.into(),
    };
    let client = reqwest::Client::builder().timeout(timeout).build().map_err(failed)?;
    let response = client
        .get(url.clone())
        .header("accept", "application/json, application/yaml, */*")
        .send()
        .await
        .map_err(failed)?;
    if !response.status().is_success() {
        return Err(LoadError::Status {
            url: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    response.text().await.map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart() {
        assert!(matches!(
            SpecSource::parse("https://x.test/a.json"),
            Ok(SpecSource::Url(_))
        ));
        assert_eq!(
            SpecSource::parse("specs/a.yaml").ok(),
            Some(SpecSource::File("specs/a.yaml".into()))
        );
        assert!(matches!(SpecSource::parse("http://"), Err(LoadError::BadUrl { .. })));
    }
}
