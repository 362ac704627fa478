//! What wrk cannot measure for `bench/run.sh`:
//!
//! - `apimcp-bench startup URL -- CMD ARGS...`: starts CMD and prints the milliseconds until
//!   its MCP endpoint answers an `initialize`.
//! - `apimcp-bench sse URL CONNECTIONS SECONDS`: legacy HTTP+SSE load: each connection opens
//!   the event stream, initializes, then sends `tools/call get_item` and waits for its answer
//!   on the stream, one at a time; prints requests per second and latency percentiles.
//! - `apimcp-bench memory SPEC -- CMD ARGS...`: see [`memory`].
//! - `apimcp-bench symbol-order OBJECT DUMP...`: see [`order`].

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::{Value, json};

mod memory;
mod order;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("startup") => startup(&args[1..]),
        Some("sse") => runtime.block_on(sse(&args[1..])),
        Some("memory") => memory::run(&args[1..]),
        Some("symbol-order") => order::run(&args[1..]),
        _ => bail!(
            "usage: apimcp-bench startup URL -- CMD ARGS... | apimcp-bench sse URL CONNECTIONS SECONDS | apimcp-bench memory SPEC -- CMD ARGS... | apimcp-bench symbol-order OBJECT DUMP..."
        ),
    }
}

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "apimcp-bench", "version": "1"}}})
}

/// Milliseconds from spawning the command to the first successful `initialize`.
fn startup(args: &[String]) -> anyhow::Result<()> {
    let url = args.first().context("URL")?;
    let command: Vec<&String> = args.iter().skip_while(|a| *a != "--").skip(1).collect();
    let (program, rest) = command.split_first().context("a command after --")?;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(rest)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let result = loop {
        if started.elapsed() > Duration::from_secs(30) {
            break Err(anyhow::anyhow!("no answer within 30 s"));
        }
        let reply = client
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(initialize_body().to_string())
            .send();
        if reply.is_ok_and(|r| r.status().is_success()) {
            break Ok(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = child.kill();
    let _ = child.wait();
    println!("{:.1}", result?.as_secs_f64() * 1e3);
    Ok(())
}

async fn sse(args: &[String]) -> anyhow::Result<()> {
    let url = args.first().context("URL")?.clone();
    let connections: usize = args.get(1).context("CONNECTIONS")?.parse()?;
    let seconds: u64 = args.get(2).context("SECONDS")?.parse()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(sse_connection(url.clone(), deadline)))
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "requests={} rps={:.0} p50_ms={:.2} p99_ms={:.2}",
        latencies.len(),
        latencies.len() as f64 / seconds as f64,
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}

/// One SSE session: the answers to our POSTs arrive on the event stream.
async fn sse_connection(url: String, deadline: Instant) -> anyhow::Result<Vec<Duration>> {
    let client = reqwest::Client::new();
    let stream = client.get(&url).header("accept", "text/event-stream").send().await?;
    let origin = reqwest::Url::parse(&url)?;
    let mut events = Events {
        stream: Box::pin(stream.bytes_stream()),
        buffer: String::new(),
    };
    let endpoint = origin.join(&events.next_data().await?)?;
    let post = |body: Value| {
        client
            .post(endpoint.clone())
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    post(initialize_body()).await?;
    events.next_data().await?;
    post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await?;
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_item", "arguments": {"item_id": 1}}});
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let started = Instant::now();
        post(call.clone()).await?;
        let answer = events.next_data().await?;
        if !answer.contains("Hammer") {
            bail!("unexpected answer: {answer}");
        }
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

type ByteStream = std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// The `data:` of each event of an SSE stream.
struct Events {
    stream: ByteStream,
    buffer: String,
}

impl Events {
    async fn next_data(&mut self) -> anyhow::Result<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                    return Ok(data.trim().to_owned());
                }
                continue;
            }
            let chunk = self.stream.next().await.context("the event stream ended")??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
