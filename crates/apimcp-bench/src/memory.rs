//! `apimcp-bench memory SPEC -- CMD ARGS...`: the resident memory of `apimcp serve` with a big
//! document, idle once it answers (after the allocator's purge delay), after a client has read
//! the whole paginated `tools/list`, and in use (one more request after the purge delay), over
//! Streamable HTTP and over stdio. CMD is the `apimcp` binary; SPEC is passed to it as `--spec`. Prints one
//! Markdown table row: document, tools, then idle, listed and in-use MB for HTTP and for
//! stdio, and the list's size.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// What one transport measured.
struct Measured {
    tools: usize,
    list_bytes: usize,
    idle_mb: f64,
    listed_mb: f64,
    in_use_mb: f64,
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let spec = args.first().context("SPEC")?;
    let command: Vec<&String> = args.iter().skip_while(|a| *a != "--").skip(1).collect();
    let (program, rest) = command.split_first().context("a command after --")?;
    let http = over_http(program, rest, spec)?;
    let stdio = over_stdio(program, rest, spec)?;
    let name = std::path::Path::new(spec)
        .file_name()
        .map_or_else(|| spec.clone(), |n| n.to_string_lossy().into_owned());
    println!(
        "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        http.tools,
        http.idle_mb,
        http.listed_mb,
        http.in_use_mb,
        stdio.idle_mb,
        stdio.listed_mb,
        stdio.in_use_mb,
        http.list_bytes as f64 / 1e6
    );
    if stdio.tools != http.tools {
        bail!("stdio listed {} tools, HTTP {}", stdio.tools, http.tools);
    }
    Ok(())
}

/// A child that is killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    fn rss_mb(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id()))?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .context("VmRSS")?;
        Ok(kb / 1024.0)
    }
}

/// Memory settles a moment after the last answer (freed pages, allocator trimming).
fn settled(server: &Server) -> anyhow::Result<f64> {
    std::thread::sleep(Duration::from_millis(300));
    server.rss_mb()
}

/// mimalloc returns freed memory to the system a purge delay (1 s) after it was freed, and
/// only when the process next frees a page: apimcp nudges it once after start-up, and a
/// server in use does it with its requests. Idle memory is read once the delay has passed,
/// and what a server in use holds after one more request once it has passed again.
const PURGE_DELAY: Duration = Duration::from_millis(1_200);

fn ping(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "ping"})
}

fn over_http(program: &str, rest: &[&String], spec: &str) -> anyhow::Result<Measured> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let listen = format!("127.0.0.1:{port}");
    let server = Server(
        Command::new(program)
            .args(rest)
            .args([
                "serve",
                "--stateless",
                "--spec",
                spec,
                "--upstream",
                "http://127.0.0.1:9",
                "--listen",
                &listen,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let url = format!("http://{listen}/mcp");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let post = |body: Value| -> anyhow::Result<Value> {
        let reply = client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .body(body.to_string())
            .send()?
            .error_for_status()?
            .text()?;
        // A JSON answer, or one SSE event carrying it.
        let data = reply.lines().find_map(|l| l.strip_prefix("data:")).unwrap_or(&reply);
        Ok(serde_json::from_str(data.trim())?)
    };
    let started = Instant::now();
    while post(crate::initialize_body()).is_err() {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("{program} serve did not answer within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    measure(&server, post)
}

fn over_stdio(program: &str, rest: &[&String], spec: &str) -> anyhow::Result<Measured> {
    let mut child = Command::new(program)
        .args(rest)
        .args(["serve", "--stdio", "--spec", spec, "--upstream", "http://127.0.0.1:9"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut input = child.stdin.take().context("stdin")?;
    let mut output = BufReader::new(child.stdout.take().context("stdout")?);
    let server = Server(child);
    exchange(&mut input, &mut output, crate::initialize_body())?;
    writeln!(
        input,
        "{}",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    )?;
    measure(&server, |request| exchange(&mut input, &mut output, request))
}

/// Idle, listed and in-use memory of a server that has answered `initialize`, talking to it
/// through `send`.
fn measure(server: &Server, mut send: impl FnMut(Value) -> anyhow::Result<Value>) -> anyhow::Result<Measured> {
    std::thread::sleep(PURGE_DELAY);
    let idle_mb = settled(server)?;
    let (tools, list_bytes) = list_all(|id, cursor| send(list_request(id, cursor)))?;
    let listed_mb = settled(server)?;
    std::thread::sleep(PURGE_DELAY);
    send(ping(2))?;
    let in_use_mb = settled(server)?;
    Ok(Measured {
        tools,
        list_bytes,
        idle_mb,
        listed_mb,
        in_use_mb,
    })
}

/// Sends one request as a line and reads lines until its answer.
fn exchange(input: &mut ChildStdin, output: &mut BufReader<ChildStdout>, request: Value) -> anyhow::Result<Value> {
    writeln!(input, "{request}")?;
    input.flush()?;
    let mut line = String::new();
    loop {
        line.clear();
        if output.read_line(&mut line)? == 0 {
            bail!("the server closed stdout");
        }
        let message: Value = serde_json::from_str(&line)?;
        if message.get("id") == request.get("id") {
            return Ok(message);
        }
    }
}

fn list_request(id: u64, cursor: Option<&str>) -> Value {
    match cursor {
        Some(cursor) => json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {"cursor": cursor}}),
        None => json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}),
    }
}

/// Reads every page: the number of tools and the bytes of their definitions.
fn list_all(mut send: impl FnMut(u64, Option<&str>) -> anyhow::Result<Value>) -> anyhow::Result<(usize, usize)> {
    let (mut tools, mut bytes, mut cursor) = (0, 0, None::<String>);
    for id in 10.. {
        let answer = send(id, cursor.as_deref())?;
        let result = answer
            .get("result")
            .with_context(|| format!("tools/list failed: {answer}"))?;
        let page = result["tools"].as_array().context("tools")?;
        tools += page.len();
        bytes += page.iter().map(|t| t.to_string().len()).sum::<usize>();
        match result.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    Ok((tools, bytes))
}
