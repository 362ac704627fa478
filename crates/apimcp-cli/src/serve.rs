//! `apimcp serve`, `apimcp demo` and `apimcp check`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use apimcp::server::HostGuard;
use apimcp::{McpServer, McpServerBuilder};

use crate::observe::Probes;
use crate::settings::{ApiSettings, ServerSettings, Settings};

/// `apimcp serve`: the API's MCP server over Streamable HTTP and legacy SSE.
pub(crate) async fn serve(settings: &Settings, api: &ApiSettings, probes: Option<&Probes>) -> anyhow::Result<ExitCode> {
    // Bound first: without public_url, the resource URL tokens must name comes from the
    // actual address.
    let listener = bind(&settings.server).await?;
    let bound = listener.local_addr()?;
    let proxies = settings.auth.as_ref().is_some_and(|a| a.sets_up_proxies());
    let server = settings.server.bound(bound, proxies)?;
    let mcp = remote_server(settings, &server, api, bound).await?;
    if let Some(probes) = probes {
        probes.serving(&mcp);
    }
    let app = mount(&mcp, axum::Router::new(), &server);
    run(listener, app, &server, &mcp).await
}

/// `apimcp serve --stdio`: the API's MCP server on stdin and stdout.
pub(crate) async fn stdio(settings: &Settings, api: &ApiSettings, probes: Option<&Probes>) -> anyhow::Result<ExitCode> {
    let mcp = remote_server(settings, &settings.server, api, settings.server.listen).await?;
    if let Some(probes) = probes {
        probes.serving(&mcp);
    }
    tracing::info!(tools = mcp.tool_count(), "serving MCP on stdio");
    mcp.serve_stdio().await?;
    Ok(ExitCode::SUCCESS)
}

/// The MCP server for `api`: its document fetched and converted, its calls sent upstream,
/// guarded by `[auth]` (for a server reached at `bound`) when that is set.
async fn remote_server(
    settings: &Settings,
    server: &ServerSettings,
    api: &ApiSettings,
    bound: SocketAddr,
) -> anyhow::Result<McpServer> {
    let mut builder = McpServer::builder();
    // Before the fetch, which may be slow: a bad resource URL fails at once.
    if let Some(auth) = &settings.auth {
        builder = auth.guard(builder, server, bound).await?;
    }
    let document = api.document.spec.load(settings.fetch_timeout).await?;
    let document_server = document
        .server_url_with(&api.document.convert.server_variables)
        .context("--server-variable, or [api.server_variables]")?;
    let base = apimcp::upstream::base_url(document_server.as_deref(), api.upstream.as_ref())
        .context("the API's base URL (--upstream, or [api] upstream)")?;
    tracing::info!(upstream = %base, "tool calls go to the API at this base URL");
    builder = configure(builder.openapi(document), server)
        .remote(base)
        .timeout(api.timeout)
        .upstream(api.upstream_config.clone())
        .catalog(api.catalog)
        .pin_tools(api.pin_tools.clone())
        .output_schemas(api.output_schemas)
        .convert_options(api.document.convert.clone());
    if let Some(names) = &api.forward_headers {
        builder = builder.forward_headers(names)?;
    }
    let mcp = builder.build()?;
    report(&mcp);
    give_back_conversion_memory();
    Ok(mcp)
}

/// Parsing and converting a big document frees several times what the server keeps.
/// mimalloc returns freed memory to the system once its purge delay (1 s) has passed, but only
/// when the process next frees a page, which a quiet server does not do: one large block freed
/// after the delay lets it (GitHub's document, with huge pages on: from 113 MB to about 72 MB,
/// a second after start-up). There is no safe call to ask mimalloc directly.
fn give_back_conversion_memory() {
    tokio::spawn(async {
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        std::hint::black_box(vec![1u8; 8 << 20]);
    });
}

fn report(mcp: &McpServer) {
    let report = mcp.report();
    tracing::info!(
        operations = report.operations,
        tools = mcp.tool_count(),
        search_mode = mcp.searches(),
        filtered_out = report.filtered_out,
        skipped = report.skipped.len(),
        "converted the OpenAPI document"
    );
    for skipped in &report.skipped {
        tracing::warn!("skipped {skipped}");
    }
    for warning in &report.warnings {
        tracing::warn!("{warning}");
    }
}

fn configure(builder: McpServerBuilder, server: &ServerSettings) -> McpServerBuilder {
    let mut hosts = server.allowed_hosts.clone();
    if let Some(host) = server.public_url.as_ref().and_then(|u| u.host_str()) {
        hosts.push(host.to_owned());
    }
    let mut builder = builder
        .stateless(server.stateless)
        .fast_path(server.fast_path)
        .session_idle(server.session_idle)
        .max_sessions(server.max_sessions.0, server.max_sessions.1)
        .host_guard(HostGuard::allow(hosts));
    if let Some(name) = &server.name {
        builder = builder.name(name.clone());
    }
    if let Some(instructions) = &server.instructions {
        builder = builder.instructions(instructions.clone());
    }
    if let Some(url) = &server.public_url {
        builder = builder.public_url(url.as_str());
    }
    builder
}

fn mount(mcp: &McpServer, app: axum::Router, server: &ServerSettings) -> axum::Router {
    let app = mcp.mount_http(app, &server.path);
    mcp.mount_sse(app, &server.sse_path)
}

async fn bind(server: &ServerSettings) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", server.listen))
}

async fn run(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    server: &ServerSettings,
    mcp: &McpServer,
) -> anyhow::Result<ExitCode> {
    let addr = listener.local_addr()?;
    let mode = if server.stateless { "stateless" } else { "stateful" };
    tracing::info!(
        "MCP ({mode}) at http://{addr}{}, legacy SSE at http://{addr}{}",
        server.path,
        server.sse_path
    );
    apimcp::serve_with(listener, app, server.connections.clone()).await?;
    mcp.shutdown();
    Ok(ExitCode::SUCCESS)
}

/// `apimcp demo`: the bundled items API, its REST endpoints and MCP on one listener.
pub(crate) async fn demo(settings: &Settings, probes: Option<&Probes>) -> anyhow::Result<ExitCode> {
    let server = &settings.server;
    let (api, document) = apimcp::demo::app();
    let mcp = configure(McpServer::builder().utoipa(&document), server)
        .in_process(api.clone())
        .build()?;
    if let Some(probes) = probes {
        probes.serving(&mcp);
    }
    report(&mcp);
    let app = api.route(
        "/openapi.json",
        axum::routing::get(move || async move { axum::Json(document) }),
    );
    let app = mount(&mcp, app, server);
    let listener = bind(server).await?;
    print_client_configs(server, listener.local_addr()?);
    run(listener, app, server, &mcp).await
}

fn print_client_configs(server: &ServerSettings, addr: std::net::SocketAddr) {
    let base = server.public_url.as_ref().map_or_else(
        || format!("http://{addr}"),
        |u| u.as_str().trim_end_matches('/').to_owned(),
    );
    let url = format!("{base}{}", server.path);
    let claude = serde_json::json!({"mcpServers": {"items": {"command": "npx", "args": ["mcp-remote", url]}}});
    let cursor = serde_json::json!({"mcpServers": {"items": {"url": url}}});
    let vscode = serde_json::json!({"servers": {"items": {"type": "http", "url": url}}});
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    eprintln!(
        "\napimcp demo: the items API as MCP\n  MCP (Streamable HTTP): {url}\n  legacy SSE:            {base}{}\n  REST API:              {base}/items/1\n  OpenAPI document:      {base}/openapi.json\n\nmcp-remote:\n  npx mcp-remote {url}\n\nClaude Desktop (claude_desktop_config.json):\n{}\n\nCursor (.cursor/mcp.json):\n{}\n\nVS Code (.vscode/mcp.json):\n{}\n",
        server.sse_path,
        pretty(&claude),
        pretty(&cursor),
        pretty(&vscode)
    );
}

/// `apimcp check`: builds what `apimcp serve --config FILE` would, without listening, and
/// says what it found.
pub(crate) async fn check(settings: &Settings, config: &str, api: &ApiSettings) -> anyhow::Result<ExitCode> {
    // A running server holds its state directory: the check keeps its own state in memory.
    let server = &ServerSettings {
        state_dir: None,
        ..settings.server.clone()
    };
    let mcp = remote_server(settings, server, api, server.listen).await?;
    let report = mcp.report();
    println!(
        "{}: OK: {} tools from {} operations ({} filtered out, {} skipped), MCP at http://{}{}",
        config,
        mcp.tool_count(),
        report.operations,
        report.filtered_out,
        report.skipped.len(),
        server.listen,
        server.path
    );
    Ok(ExitCode::SUCCESS)
}
