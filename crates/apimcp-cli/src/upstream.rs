//! `[api.headers]`, `[api.credentials.*]`, `--header` and `--credential` → the library's
//! upstream settings, with every `env:NAME` read. Flags override the file, name by name.

use anyhow::{Context, bail};
use apimcp::upstream::{ClientAuthMethod, ClientCredentials, Credential, Secret, UpstreamConfig};

use crate::args::ServeArgs;
use crate::config::{ApiSection, CredentialSection, env_value};

/// The headers and credentials the file and the flags give.
pub(crate) fn upstream_config(args: &ServeArgs, a: &ApiSection) -> anyhow::Result<UpstreamConfig> {
    let mut config = UpstreamConfig::default();
    for (name, value) in a.headers.iter().flatten() {
        let value = value.resolve().with_context(|| format!("[api.headers] {name}"))?;
        config = config.header(name, value.expose());
    }
    for entry in &args.headers {
        let (name, value) = split(entry, "--header", "NAME=VALUE")?;
        config = config.header(name, resolve(value).with_context(|| format!("--header {name}"))?);
    }
    for (scheme, section) in a.credentials.iter().flatten() {
        let credential = credential(section).with_context(|| format!("[api.credentials.{scheme}]"))?;
        config = config.credential(scheme, credential);
    }
    for entry in &args.credentials {
        let (scheme, value) = split(entry, "--credential", "SCHEME=VALUE")?;
        let value = resolve(value).with_context(|| format!("--credential {scheme}"))?;
        config = config.credential(scheme, Credential::Value(value));
    }
    Ok(config)
}

/// `NAME=VALUE`, split at the first `=` (a value may hold more).
fn split<'a>(entry: &'a str, flag: &str, shape: &str) -> anyhow::Result<(&'a str, &'a str)> {
    match entry.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim(), value)),
        // The entry is not shown: it may be a secret typed without its name.
        _ => bail!("{flag}: expected {shape}"),
    }
}

fn resolve(value: &str) -> anyhow::Result<Secret> {
    env_value(value).map(Secret::from)
}

/// The one kind of credential the section's keys describe.
fn credential(s: &CredentialSection) -> anyhow::Result<Credential> {
    let read = |secret: &Option<crate::config::Secret>| -> anyhow::Result<Option<Secret>> {
        secret
            .as_ref()
            .map(|s| s.resolve().map(|s| Secret::new(s.expose())))
            .transpose()
    };
    let value = read(&s.value)?;
    let token = read(&s.token)?;
    let password = read(&s.password)?;
    let client_secret = read(&s.client_secret)?;
    let username = s.username.as_deref().map(env_value).transpose()?;
    let client_id = s.client_id.as_deref().map(env_value).transpose()?;
    let oauth_only = s.scopes.is_some() || s.token_url.is_some() || s.auth_method.is_some();
    match (value.or(token), username, password, client_id, client_secret) {
        (None, None, None, Some(id), Some(secret)) => client_credentials(s, id, secret),
        _ if oauth_only => bail!("scopes, token_url and auth_method go with client_id and client_secret"),
        (Some(single), None, None, None, None) => Ok(Credential::Value(single)),
        (None, Some(username), Some(password), None, None) => Ok(Credential::Basic { username, password }),
        _ => bail!(
            "give exactly one of: value (an API key), token (a bearer token), username and password (basic), or client_id and client_secret (OAuth client credentials)"
        ),
    }
}

fn client_credentials(s: &CredentialSection, id: String, secret: Secret) -> anyhow::Result<Credential> {
    let mut cc = ClientCredentials::new(id, secret).scopes(s.scopes.clone().unwrap_or_default());
    if let Some(method) = &s.auth_method {
        cc = cc.auth_method(method.parse::<ClientAuthMethod>()?);
    }
    if let Some(url) = &s.token_url {
        let url = env_value(url)?;
        cc = cc.token_url(reqwest::Url::parse(&url).with_context(|| format!("token_url: {url:?} is not a URL"))?);
    }
    Ok(Credential::ClientCredentials(cc))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::args::{Cli, Command};

    fn serve_args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec!["apimcp", "serve"];
        argv.extend_from_slice(extra);
        match Cli::parse_from(argv).command {
            Command::Serve(args) => args,
            _ => unreachable!("serve"),
        }
    }

    #[test]
    fn sections_and_flags_become_one_config() {
        let file: crate::config::ConfigFile = toml::from_str(
            r#"
            [api.headers]
            X-Tenant = "acme"
            [api.credentials.key]
            value = "k1"
            [api.credentials.basic]
            username = "u"
            password = "p"
            [api.credentials.oauth]
            client_id = "id"
            client_secret = "s"
            scopes = ["read"]
            auth_method = "client_secret_post"
            "#,
        )
        .expect("parses");
        let args = serve_args(&["--header", "X-Trace=a=b", "--credential", "key=k2"]);
        let config = upstream_config(&args, &file.api).expect("valid");
        let oauth = credential(&file.api.credentials.as_ref().expect("credentials")["oauth"]).expect("valid");
        assert!(
            matches!(oauth, Credential::ClientCredentials(cc) if cc.auth_method == ClientAuthMethod::ClientSecretPost),
            "auth_method is read"
        );
        let schemes: Vec<&str> = config.schemes().collect();
        assert_eq!(schemes, ["basic", "key", "oauth"]);
        let shown = format!("{config:?}");
        assert!(!shown.contains("k2") && !shown.contains("a=b"), "{shown}");
    }

    #[test]
    fn a_section_must_say_one_kind() {
        let mixed: CredentialSection = toml::from_str("token = \"x\"\nusername = \"u\"").expect("toml");
        assert!(credential(&mixed).is_err());
        assert!(credential(&CredentialSection::default()).is_err());
        let stray: CredentialSection =
            toml::from_str("token = \"x\"\nauth_method = \"client_secret_post\"").expect("toml");
        let err = credential(&stray).expect_err("auth_method without client credentials");
        assert!(err.to_string().contains("auth_method"), "{err}");
        let unknown: CredentialSection =
            toml::from_str("client_id = \"id\"\nclient_secret = \"s\"\nauth_method = \"private_key_jwt\"")
                .expect("toml");
        let err = credential(&unknown).expect_err("unknown method");
        assert!(err.to_string().contains("client_secret_post"), "{err}");
        let bad = serve_args(&["--credential", "novalue"]);
        let err = upstream_config(&bad, &ApiSection::default()).expect_err("refused");
        assert!(
            err.to_string().contains("SCHEME=VALUE") && !err.to_string().contains("novalue"),
            "{err}"
        );
    }
}
