//! Query and form parameters, as OAuth reads them (RFC 6749 §3.1: a parameter given twice is
//! an error, and an empty one counts as absent).

/// The largest token request read.
pub(super) const MAX_FORM: usize = 64 * 1024;

/// Query or form parameters, in the order given.
pub(super) struct Params(Vec<(String, String)>);

/// A parameter given more than once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name} is given more than once")]
pub(super) struct RepeatedParam {
    /// The parameter's name.
    pub(super) name: String,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` text (a query or a form body).
    pub(super) fn parse(raw: &[u8]) -> Self {
        Self(form_urlencoded::parse(raw).into_owned().collect())
    }

    /// The parameter `name`, if it is given once and not empty.
    pub(super) fn one(&self, name: &str) -> Result<Option<&str>, RepeatedParam> {
        let mut found = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (found.next(), found.next()) {
            (first, None) => Ok(first.filter(|v| !v.is_empty())),
            _ => Err(RepeatedParam { name: name.to_owned() }),
        }
    }

    /// Every value of the parameter `name` (`resource` may be given several times).
    pub(super) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_given_twice_are_refused() {
        let params = Params::parse(b"a=1&b=2&b=3&c=");
        assert_eq!(params.one("a"), Ok(Some("1")));
        assert!(params.one("b").is_err());
        assert_eq!(params.one("c"), Ok(None));
        assert_eq!(params.one("d"), Ok(None));
        assert_eq!(
            params.one("b").map_err(|e| e.to_string()),
            Err("b is given more than once".to_owned())
        );
    }
}
