//! What the program runs with, built once per run from what the user typed (`args.rs`), the
//! configuration file (`config.rs`) and the environment: flags and `APIMCP_*` variables override
//! the file, the file overrides the defaults. Everything here is checked; the commands only read.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use apimcp::openapi::{ConvertOptions, OperationFilter};
use apimcp::server::Catalog;
use apimcp::source::SpecSource;

use crate::args::{
    CheckArgs, Cli, Command, ConvertArgs, DEFAULT_FETCH_TIMEOUT_SECS, DemoArgs, ServeArgs, ServerArgs, ToolsArgs,
};
use crate::auth::AuthSettings;
use crate::config::{ApiSection, ConfigFile, ServerSection};

/// One run's validated settings.
#[derive(Debug)]
pub(crate) struct Settings {
    /// What to do, with what only that command needs.
    pub(crate) mode: Mode,
    /// How the MCP endpoint is served (`tools` serves nothing and keeps the defaults).
    pub(crate) server: ServerSettings,
    /// `[auth]`, when it configures a way to check tokens and the MCP endpoint is served over
    /// HTTP (stdio has no bearer tokens).
    pub(crate) auth: Option<AuthSettings>,
    /// How long a document given as a URL may take to arrive.
    pub(crate) fetch_timeout: Duration,
}

/// The command, with the settings only it has.
#[derive(Debug)]
pub(crate) enum Mode {
    /// `apimcp tools`: print what `document` converts to, as JSON or as a table.
    Tools { document: DocumentSettings, json: bool },
    /// `apimcp serve` over HTTP.
    Serve { api: ApiSettings },
    /// `apimcp serve --stdio`.
    Stdio { api: ApiSettings },
    /// `apimcp demo`: the bundled items API.
    Demo,
    /// `apimcp check`: build what `apimcp serve --config FILE` would, then report.
    Check { config: String, api: ApiSettings },
}

/// How the MCP endpoint is served.
#[derive(Clone, Debug)]
pub(crate) struct ServerSettings {
    pub(crate) listen: SocketAddr,
    pub(crate) path: String,
    pub(crate) sse_path: String,
    pub(crate) stateless: bool,
    pub(crate) public_url: Option<reqwest::Url>,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) instructions: Option<String>,
    pub(crate) session_idle: Duration,
    pub(crate) fast_path: bool,
    pub(crate) connections: apimcp::ConnectionLimits,
    /// Where the OAuth proxy keeps its keys and store: `state_dir`, else the XDG default
    /// (none when neither `XDG_STATE_HOME` nor `HOME` is set).
    pub(crate) state_dir: Option<PathBuf>,
    /// Live sessions at most, and per client address.
    pub(crate) max_sessions: (usize, usize),
    /// Where /metrics, /healthz and /readyz are served (none: not served).
    pub(crate) metrics_listen: Option<SocketAddr>,
}

/// Which OpenAPI document is read and how its operations become tools.
#[derive(Debug)]
pub(crate) struct DocumentSettings {
    pub(crate) spec: SpecSource,
    pub(crate) convert: ConvertOptions,
}

/// The API that is served: its document, and where and how tool calls go.
#[derive(Debug)]
pub(crate) struct ApiSettings {
    pub(crate) document: DocumentSettings,
    /// What the user gave; `None`: the document's `servers` decide.
    pub(crate) upstream: Option<reqwest::Url>,
    pub(crate) timeout: Duration,
    /// `None`: the library's default (authorization, unless auth is on and the API remote).
    pub(crate) forward_headers: Option<Vec<String>>,
    /// Fixed headers and credentials for the API.
    pub(crate) upstream_config: apimcp::upstream::UpstreamConfig,
    /// Every tool in tools/list, or search mode.
    pub(crate) catalog: Catalog,
    /// Tools listed beside the three in search mode (the flag's list replaces the file's).
    pub(crate) pin_tools: Vec<String>,
    /// What the outputSchemas promise.
    pub(crate) output_schemas: apimcp::server::OutputSchemas,
}

const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8000));
const DEFAULT_PATH: &str = "/mcp";
const DEFAULT_SSE_PATH: &str = "/sse";

impl Settings {
    /// The settings for the command line `cli`, with its file and the environment.
    pub(crate) fn new(cli: Cli) -> anyhow::Result<Self> {
        match cli.command {
            Command::Tools(args) => Self::tools(&args),
            Command::Serve(args) => Self::serve(&args),
            Command::Demo(args) => Self::demo(&args),
            Command::Check(args) => Self::check(&args),
        }
    }

    fn tools(args: &ToolsArgs) -> anyhow::Result<Self> {
        let spec = SpecSource::parse(&args.spec)?;
        let document = DocumentSettings {
            spec,
            convert: convert_options(&args.convert)?,
        };
        Ok(Self {
            mode: Mode::Tools {
                document,
                json: args.json,
            },
            server: ServerSettings::default(),
            auth: None,
            fetch_timeout: Duration::from_secs(args.convert.fetch_timeout_secs),
        })
    }

    fn serve(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = ConfigFile::load(args.server.config.as_deref())?;
        let server = ServerSettings::new(&args.server, &file.server)?;
        let api = ApiSettings::new(args, &file.api)?;
        let (mode, auth) = if args.stdio {
            (Mode::Stdio { api }, None)
        } else {
            (Mode::Serve { api }, AuthSettings::new(&file.auth)?)
        };
        Ok(Self {
            mode,
            server,
            auth,
            fetch_timeout: Duration::from_secs(args.convert.fetch_timeout_secs),
        })
    }

    fn demo(args: &DemoArgs) -> anyhow::Result<Self> {
        let file = ConfigFile::load(args.server.config.as_deref())?;
        Ok(Self {
            mode: Mode::Demo,
            server: ServerSettings::new(&args.server, &file.server)?,
            auth: None,
            fetch_timeout: Duration::from_secs(DEFAULT_FETCH_TIMEOUT_SECS),
        })
    }

    /// The file named, and the environment as `serve` reads it (check takes no other flags).
    fn check(args: &CheckArgs) -> anyhow::Result<Self> {
        let file = ConfigFile::load(Some(&args.config))?;
        let environment = ServeArgs::from_environment();
        let server = ServerSettings::new(&environment.server, &file.server)?;
        let api = ApiSettings::new(&environment, &file.api)?;
        Ok(Self {
            mode: Mode::Check {
                config: args.config.clone(),
                api,
            },
            server,
            auth: AuthSettings::new(&file.auth)?,
            fetch_timeout: Duration::from_secs(environment.convert.fetch_timeout_secs),
        })
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            path: DEFAULT_PATH.to_owned(),
            sse_path: DEFAULT_SSE_PATH.to_owned(),
            stateless: false,
            public_url: None,
            allowed_hosts: Vec::new(),
            name: None,
            instructions: None,
            session_idle: apimcp::server::DEFAULT_SESSION_IDLE,
            fast_path: true,
            connections: apimcp::ConnectionLimits::default(),
            state_dir: None,
            max_sessions: default_max_sessions(),
            metrics_listen: None,
        }
    }
}

impl ServerSettings {
    fn new(args: &ServerArgs, s: &ServerSection) -> anyhow::Result<Self> {
        let listen = match pick(&args.listen, &s.listen) {
            Some(listen) => listen
                .parse()
                .with_context(|| format!("listen: {listen:?} is not an address like 127.0.0.1:8000"))?,
            None => DEFAULT_LISTEN,
        };
        let public_url = match pick(&args.public_url, &s.public_url) {
            Some(url) => Some(reqwest::Url::parse(&url).with_context(|| format!("public_url: {url:?} is not a URL"))?),
            None => None,
        };
        let path = pick(&args.path, &s.path).unwrap_or_else(|| DEFAULT_PATH.into());
        let sse_path = pick(&args.sse_path, &s.sse_path).unwrap_or_else(|| DEFAULT_SSE_PATH.into());
        let idle_secs = pick(&args.session_idle_secs, &s.session_idle_secs);
        let metrics_listen = match pick(&args.metrics_listen, &s.metrics_listen) {
            Some(addr) => Some(
                addr.parse()
                    .with_context(|| format!("metrics_listen: {addr:?} is not an address like 127.0.0.1:9464"))?,
            ),
            None => None,
        };
        Ok(Self {
            metrics_listen,
            listen,
            path: endpoint_path("path", path)?,
            sse_path: endpoint_path("sse_path", sse_path)?,
            stateless: args.stateless || s.stateless.unwrap_or(false),
            public_url,
            allowed_hosts: pick(&args.allowed_hosts, &s.allowed_hosts).unwrap_or_default(),
            name: pick(&args.name, &s.name),
            instructions: pick(&args.instructions, &s.instructions),
            fast_path: !args.no_fast_path,
            session_idle: idle_secs.map_or(apimcp::server::DEFAULT_SESSION_IDLE, Duration::from_secs),
            connections: connection_limits(args, s)?,
            state_dir: s.state_dir.as_ref().map(PathBuf::from).or_else(default_state_dir),
            max_sessions: max_sessions(args, s),
        })
    }

    /// These settings once the server listens on `bound`: where `public_url` is not set and the
    /// OAuth proxy needs a base for its issuer and callback URL, the bound address, which is
    /// what a local client reaches.
    pub(crate) fn bound(&self, bound: SocketAddr, proxies: bool) -> anyhow::Result<Self> {
        let mut settings = self.clone();
        if proxies && settings.public_url.is_none() {
            settings.public_url = Some(format!("http://{bound}").parse()?);
        }
        Ok(settings)
    }
}

fn default_max_sessions() -> (usize, usize) {
    let max = apimcp::server::DEFAULT_MAX_SESSIONS;
    (max, max / 2)
}

/// `max_sessions` and `max_sessions_per_address` (half of the first by default).
fn max_sessions(args: &ServerArgs, s: &ServerSection) -> (usize, usize) {
    let max = pick(&args.max_sessions, &s.max_sessions).unwrap_or(apimcp::server::DEFAULT_MAX_SESSIONS);
    let per_address = pick(&args.max_sessions_per_address, &s.max_sessions_per_address);
    (max, per_address.unwrap_or(max / 2))
}

/// `header_timeout_secs`, `max_connections` and `max_connections_per_address`.
fn connection_limits(args: &ServerArgs, s: &ServerSection) -> anyhow::Result<apimcp::ConnectionLimits> {
    let mut limits = apimcp::ConnectionLimits::default();
    if let Some(secs) = pick(&args.header_timeout_secs, &s.header_timeout_secs) {
        if secs == 0 {
            bail!("header_timeout_secs: must be at least 1");
        }
        limits = limits.header_timeout(Duration::from_secs(secs));
    }
    if let Some(max) = pick(&args.max_connections, &s.max_connections) {
        limits = limits.max_connections(max);
    }
    if let Some(max) = pick(&args.max_connections_per_address, &s.max_connections_per_address) {
        limits = limits.max_per_address(max);
    }
    Ok(limits)
}

impl ApiSettings {
    fn new(args: &ServeArgs, a: &ApiSection) -> anyhow::Result<Self> {
        let Some(spec) = pick(&args.spec, &a.spec) else {
            bail!("no OpenAPI document: give --spec FILE|URL (or [api] spec in the configuration)");
        };
        let upstream = pick(&args.upstream, &a.upstream)
            .map(|u| upstream_url(&u))
            .transpose()?;
        let mut convert = convert_options(&args.convert)?;
        merge_convert(&mut convert, &args.convert, a)?;
        convert.server_variables = server_variables(&args.server_variables, a)?;
        let timeout_secs = pick(&args.timeout_secs, &a.timeout_secs);
        Ok(Self {
            document: DocumentSettings {
                spec: SpecSource::parse(&spec)?,
                convert,
            },
            upstream,
            timeout: timeout_secs.map_or(apimcp::server::DEFAULT_TIMEOUT, Duration::from_secs),
            forward_headers: pick(&args.forward_headers, &a.forward_headers),
            upstream_config: crate::upstream::upstream_config(args, a)?,
            catalog: catalog(args, a)?,
            pin_tools: pick(&args.pin_tools, &a.pin_tools).unwrap_or_default(),
            output_schemas: pick(&args.output_schema, &a.output_schema)
                .map(|text| text.parse::<apimcp::server::OutputSchemas>())
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// `catalog`, with the threshold of `auto` when one is given.
fn catalog(args: &ServeArgs, a: &ApiSection) -> anyhow::Result<Catalog> {
    let catalog = match pick(&args.catalog, &a.catalog) {
        Some(text) => text.parse::<Catalog>()?,
        None => Catalog::Full,
    };
    match (catalog, pick(&args.catalog_auto_above, &a.catalog_auto_above)) {
        (Catalog::Auto { .. }, Some(above)) => Ok(Catalog::Auto { above }),
        (_, Some(_)) => bail!("catalog_auto_above only applies to catalog = \"auto\""),
        (catalog, None) => Ok(catalog),
    }
}

/// `--upstream` checked: an http(s) URL.
fn upstream_url(upstream: &str) -> anyhow::Result<reqwest::Url> {
    let url = reqwest::Url::parse(upstream).with_context(|| format!("upstream: {upstream:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("upstream: {url} is not an http(s) URL");
    }
    Ok(url)
}

/// Validated conversion settings from the flags.
fn convert_options(args: &ConvertArgs) -> anyhow::Result<ConvertOptions> {
    let filter = OperationFilter {
        include_operations: args.include_operations.clone(),
        exclude_operations: args.exclude_operations.clone(),
        include_tags: args.include_tags.clone(),
        exclude_tags: args.exclude_tags.clone(),
    };
    filter.validate()?;
    let mut tool_names = std::collections::BTreeMap::new();
    for entry in &args.tool_names {
        let Some((operation, name)) = entry.rsplit_once('=') else {
            bail!("--tool-name {entry:?}: expected OPERATION=NAME");
        };
        tool_names.insert(operation.trim().to_owned(), name.trim().to_owned());
    }
    let mut options = ConvertOptions::default()
        .describe_all_responses(args.describe_all_responses)
        .describe_full_response_schema(args.describe_full_response_schema)
        .omit_responses(args.omit_responses)
        .max_description_len(args.max_description_len)
        .filter(filter)
        .strict(args.strict)
        .max_schema_defs_bytes(match args.max_schema_defs_bytes {
            0 => None,
            n => Some(n),
        });
    options.tool_names = tool_names;
    Ok(options)
}

/// The file's conversion keys, where no flag gave one.
fn merge_convert(options: &mut ConvertOptions, args: &ConvertArgs, a: &ApiSection) -> anyhow::Result<()> {
    let filter = &mut options.filter;
    filter.include_operations = pick(&args.include_operations, &a.include_operations);
    filter.exclude_operations = pick(&args.exclude_operations, &a.exclude_operations);
    filter.include_tags = pick(&args.include_tags, &a.include_tags);
    filter.exclude_tags = pick(&args.exclude_tags, &a.exclude_tags);
    filter.validate()?;
    options.describe_all_responses |= a.describe_all_responses.unwrap_or(false);
    options.describe_full_response_schema |= a.describe_full_response_schema.unwrap_or(false);
    Ok(())
}

/// `[api.server_variables]`, then `--server-variable NAME=VALUE` (a flag replaces the
/// file's value of that name). The document checks the names and values once it is read.
fn server_variables(flags: &[String], a: &ApiSection) -> anyhow::Result<BTreeMap<String, String>> {
    let mut values = a.server_variables.clone().unwrap_or_default();
    for entry in flags {
        match entry.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                values.insert(name.trim().to_owned(), value.to_owned());
            }
            _ => bail!("--server-variable {entry:?}: expected NAME=VALUE"),
        }
    }
    Ok(values)
}

/// `$XDG_STATE_HOME/apimcp`, else `$HOME/.local/state/apimcp`.
fn default_state_dir() -> Option<PathBuf> {
    let set = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    set("XDG_STATE_HOME")
        .or_else(|| set("HOME").map(|home| home.join(".local/state")))
        .map(|base| base.join("apimcp"))
}

/// The flag (or variable) if given, else the file's value.
fn pick<T: Clone>(flag: &Option<T>, file: &Option<T>) -> Option<T> {
    flag.clone().or_else(|| file.clone())
}

fn endpoint_path(key: &str, path: String) -> anyhow::Result<String> {
    if !path.starts_with('/') || path.contains(['?', '#', ' ']) {
        bail!("{key}: {path:?} must be a path starting with '/'");
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn serve_takes_its_fetch_timeout_and_tools_the_same_default() {
        let serve = Cli::parse_from([
            "apimcp",
            "serve",
            "--spec",
            "spec.json",
            "--upstream",
            "http://127.0.0.1:9",
            "--timeout-secs",
            "90",
            "--fetch-timeout-secs",
            "2",
        ]);
        let settings = Settings::new(serve).expect("valid");
        assert_eq!(settings.fetch_timeout, Duration::from_secs(2));
        let tools = Settings::new(Cli::parse_from(["apimcp", "tools", "--spec", "spec.json"])).expect("valid");
        assert_eq!(tools.fetch_timeout, Duration::from_secs(DEFAULT_FETCH_TIMEOUT_SECS));
    }

    #[test]
    fn server_variable_flags_replace_the_files_values_by_name() {
        let file: ApiSection = toml::from_str("[server_variables]\nregion = \"us\"\nversion = \"v1\"").expect("toml");
        let flags = ["region=eu".to_owned(), " tier = a=b".to_owned()];
        let values = server_variables(&flags, &file).expect("valid");
        let expected = [("region", "eu"), ("tier", " a=b"), ("version", "v1")];
        let expected: BTreeMap<String, String> = expected.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        assert_eq!(values, expected);
        let err = server_variables(&["=x".to_owned()], &file).expect_err("no name");
        assert!(err.to_string().contains("NAME=VALUE"), "{err}");
    }
}
