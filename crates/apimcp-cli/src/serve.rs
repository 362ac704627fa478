//! `apimcp serve`, `apimcp demo` and `apimcp check`.

use std::process::ExitCode;

use anyhow::Context;
use apimcp::server::HostGuard;
use apimcp::{McpServer, McpServerBuilder};

use crate::args::{CheckArgs, DemoArgs, ServeArgs};
use crate::config::{ApiSettings, ConfigFile, ServerSettings, api_settings, server_settings};

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let file = ConfigFile::load(args.server.config.as_deref())?;
    let mut server = server_settings(&args.server, &file)?;
    let api = api_settings(&args, &file)?;
    if args.stdio {
        let mcp = remote_server(&server, &api, None).await?;
        tracing::info!(tools = mcp.tool_count(), "serving MCP on stdio");
        mcp.serve_stdio().await?;
        return Ok(ExitCode::SUCCESS);
    }
    // Bound first: without public_url, the resource URL tokens must name comes from the
    // actual address.
    let listener = bind(&server).await?;
    if file.auth.setup_proxies == Some(true) && server.public_url.is_none() {
        // The proxy's issuer and callback URL need a base; without public_url it is the bound
        // address, which is what a local client reaches.
        server.public_url = Some(format!("http://{}", listener.local_addr()?).parse()?);
    }
    let auth = crate::auth::auth_config(&file.auth, &server, listener.local_addr()?)?;
    let trust = file.auth.trust_forwarded_headers.unwrap_or(false);
    let mcp = remote_server(&server, &api, auth.map(|a| (a, trust))).await?;
    let app = mount(&mcp, axum::Router::new(), &server);
    run(listener, app, &server, &mcp).await
}

async fn remote_server(
    server: &ServerSettings,
    api: &ApiSettings,
    auth: Option<(apimcp::auth::AuthConfig, bool)>,
) -> anyhow::Result<McpServer> {
    let document = api
        .spec
        .load(api.timeout.max(std::time::Duration::from_secs(30)))
        .await?;
    let mcp = configure(McpServer::builder().openapi(document), server)
        .remote(api.upstream.clone())
        .timeout(api.timeout)
        .convert_options(api.convert.clone());
    let mcp = match &api.forward_headers {
        Some(names) => mcp.forward_headers(names)?,
        None => mcp,
    };
    let mcp = match auth {
        Some((auth, trust)) => mcp.auth(auth).trust_forwarded_headers(trust),
        None => mcp,
    }
    .build()?;
    report(&mcp);
    Ok(mcp)
}

fn report(mcp: &McpServer) {
    let report = mcp.report();
    tracing::info!(
        operations = report.operations,
        tools = mcp.tool_count(),
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
    apimcp::serve(listener, app).await?;
    mcp.shutdown();
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let file = ConfigFile::load(args.server.config.as_deref())?;
    let server = server_settings(&args.server, &file)?;
    let (api, document) = apimcp::demo::app();
    let mcp = configure(McpServer::builder().utoipa(&document), &server)
        .in_process(api.clone())
        .build()?;
    report(&mcp);
    let app = api.route(
        "/openapi.json",
        axum::routing::get(move || async move { axum::Json(document) }),
    );
    let app = mount(&mcp, app, &server);
    let listener = bind(&server).await?;
    print_client_configs(&server, listener.local_addr()?);
    run(listener, app, &server, &mcp).await
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

pub(crate) async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let file = ConfigFile::load(Some(&args.config))?;
    let serve_args = ServeArgs::from_config(&args.config);
    let server = server_settings(&serve_args.server, &file)?;
    let api = api_settings(&serve_args, &file)?;
    let auth = crate::auth::auth_config(&file.auth, &server, server.listen)?;
    let mcp = remote_server(&server, &api, auth.map(|a| (a, false))).await?;
    let report = mcp.report();
    println!(
        "{}: OK: {} tools from {} operations ({} filtered out, {} skipped), MCP at http://{}{}",
        args.config,
        mcp.tool_count(),
        report.operations,
        report.filtered_out,
        report.skipped.len(),
        server.listen,
        server.path
    );
    Ok(ExitCode::SUCCESS)
}
