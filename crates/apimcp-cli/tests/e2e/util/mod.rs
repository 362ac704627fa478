//! The harness: our real binary (or an example of the library) as a child process, a small
//! JSON-RPC client over HTTP, and the real peers (`peers.rs`, `issuer.rs`).

pub(crate) mod issuer;
pub(crate) mod peers;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) use apimcp::test_helpers::Reply;
use apimcp::test_helpers::{self as rpc};
pub(crate) use peers::peers;

/// The workspace root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port nothing listens on right now (the kernel's pick, released for a child to bind).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Serves `app` on a loopback port of its own, on a thread of its own, for the life of the
/// test process (the upstream APIs the tests call through apimcp); answers its address.
pub(crate) fn serve_app(app: axum::Router) -> SocketAddr {
    serve_on_thread(|listener| async move { axum::serve(listener, app).await.expect("serve") })
}

/// Runs `serve` on a loopback listener of its own, on a thread (and runtime) of its own, for the
/// life of the test process; answers the listener's address.
pub(crate) fn serve_on_thread<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            serve(listener).await;
        });
    });
    rx.recv().expect("the server's address")
}

/// `cmd` started with its stdout and stderr captured, for `run_bounded`.
pub(crate) fn spawned(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns")
}

/// Waits for a started child to finish within `limit` and collects what it wrote, or kills it
/// and fails the test.
pub(crate) fn run_bounded(child: Child, limit: Duration) -> Output {
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("process {id} did not finish within {limit:?}");
        }
    }
}

/// Waits until `check` holds or `limit` passes.
pub(crate) fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// An example program of the `apimcp` crate, built in release mode if it is not there yet.
fn example(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    let status = Command::new(env!("CARGO"))
        // The workspace's feature set, as `cargo test --workspace` builds the examples with:
        // then the test run's own build is found fresh and nothing is compiled again.
        .args(["build", "--release", "--workspace", "--example", name])
        .current_dir(workspace())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the {name} example failed");
    target.join("release/examples").join(name)
}

/// One of our servers, running; killed on drop.
pub(crate) struct Apimcp {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub(crate) base: String,
    log: Arc<Mutex<String>>,
}

/// A server to start: the program, its arguments, environment and directory.
pub(crate) struct Start {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: Option<PathBuf>,
}

impl Apimcp {
    /// `apimcp ARGS`.
    pub(crate) fn cmd<I: IntoIterator<Item = S>, S: AsRef<str>>(args: I) -> Start {
        Start::new(PathBuf::from(env!("CARGO_BIN_EXE_apimcp")), args)
    }

    /// The library's example `name` (built first, in release mode).
    pub(crate) fn example(name: &str) -> Start {
        Start::new(example(name), [""; 0])
    }

    /// `path` on this server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Kills the server at once (SIGKILL: nothing is flushed or closed) and waits for it.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's resident memory, in KiB (Linux).
    pub(crate) fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// What the server has written to stderr so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Start {
    fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(program: PathBuf, args: I) -> Self {
        Self {
            program,
            args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
            env: Vec::new(),
            dir: None,
        }
    }

    /// One more argument.
    pub(crate) fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// An environment variable for the server.
    pub(crate) fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The directory the server starts in (where it may find a `.env` file, say).
    pub(crate) fn dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_owned());
        self
    }

    /// Starts the server on a free port (`--listen 127.0.0.1:PORT`, which every one of our
    /// programs takes) and waits until that port accepts connections.
    pub(crate) fn start(self) -> Apimcp {
        self.start_on(free_port())
    }

    /// Starts the server on `port` (a restart on the port it had) and waits until the port
    /// accepts connections. Unless the test sets `XDG_STATE_HOME`, the server's default state
    /// directory is one of its own, so parallel tests never share one.
    pub(crate) fn start_on(self, port: u16) -> Apimcp {
        let state_home = std::env::temp_dir().join(format!("apimcp-e2e-state-{port}"));
        let here = std::env::current_dir().expect("the test's directory");
        let mut child = Command::new(&self.program)
            .current_dir(self.dir.as_deref().unwrap_or(&here))
            .env("XDG_STATE_HOME", &state_home)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(&self.args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", self.program.display()));
        let log = collect(&mut child);
        wait_for_port(&mut child, port, &log);
        Apimcp {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }
}

/// The child's stderr, collected as it comes.
fn collect(child: &mut Child) -> Arc<Mutex<String>> {
    let stderr = child.stderr.take().expect("stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

/// Polls `port` until it accepts a connection; fails the test if the child exits first or
/// 30 s pass.
fn wait_for_port(child: &mut Child, port: u16, log: &Mutex<String>) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    let said = || log.lock().map(|l| l.clone()).unwrap_or_default();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited ({status}) before listening on {addr}: {}", said());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not listen on {addr} within 30 s: {}", said());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Apimcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Minimal JSON-RPC over Streamable HTTP with curl-like control, for protocol checks.
pub(crate) struct Http {
    client: reqwest::blocking::Client,
}

impl Http {
    pub(crate) fn new() -> Self {
        Self {
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    /// POSTs `body` as JSON, accepting JSON or SSE, with `headers` added.
    pub(crate) fn post(&self, url: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> Reply {
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        reply(request.send().expect("request"))
    }

    pub(crate) fn get(&self, url: &str) -> Reply {
        reply(self.client.get(url).send().expect("request"))
    }

    /// initialize + initialized; the session id.
    pub(crate) fn session(&self, url: &str) -> String {
        self.session_with(url, &[])
    }

    /// initialize + initialized with `headers` on both (a bearer token, say); the session id.
    pub(crate) fn session_with(&self, url: &str, headers: &[(&str, &str)]) -> String {
        let init = self.post(url, headers, &rpc::initialize());
        assert_eq!(init.status, 200, "{}", init.body);
        let id = init.headers["mcp-session-id"].to_str().expect("ascii").to_owned();
        let mut with_session = headers.to_vec();
        with_session.push(("mcp-session-id", &id));
        let ack = self.post(url, &with_session, &rpc::initialized());
        assert_eq!(ack.status, 202);
        id
    }

    /// A tools/call in `session`; the JSON-RPC answer.
    pub(crate) fn call(
        &self,
        url: &str,
        session: Option<&str>,
        tool: &str,
        args: serde_json::Value,
    ) -> serde_json::Value {
        let headers: Vec<(&str, &str)> = session.map(|s| vec![("mcp-session-id", s)]).unwrap_or_default();
        let reply = self.post(url, &headers, &rpc::tools_call(7, tool, args));
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }
}

/// A `tools/call` of `tool` with `arguments`.
pub(crate) fn rpc_call(tool: &str, arguments: serde_json::Value) -> serde_json::Value {
    rpc::tools_call(7, tool, arguments)
}

fn reply(response: reqwest::blocking::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Reply {
        status,
        headers,
        body: response.text().unwrap_or_default(),
    }
}

/// Starts `cmd` as an MCP server on stdio, sends `initialize`, `initialized` and a `tools/call`
/// of each `(tool, arguments)` (ids 2, 3, ...), and returns the answers to the calls in order.
pub(crate) fn stdio_calls(mut cmd: Command, calls: &[(&str, serde_json::Value)]) -> Vec<serde_json::Value> {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{}", rpc::initialize()).expect("write");
    writeln!(stdin, "{}", rpc::initialized()).expect("write");
    let ids = 2..2 + calls.len() as u64;
    for (id, (tool, arguments)) in ids.clone().zip(calls) {
        writeln!(stdin, "{}", rpc::tools_call(id, tool, arguments.clone())).expect("write");
    }
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut answers = Vec::new();
    for line in stdout.lines().map_while(Result::ok) {
        let message: serde_json::Value = serde_json::from_str(&line).expect("JSON-RPC");
        if message["id"].as_u64().is_some_and(|id| ids.contains(&id)) {
            answers.push(message);
        }
        if answers.len() == calls.len() {
            break;
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    answers.sort_by_key(|m| m["id"].as_u64());
    assert_eq!(answers.len(), calls.len(), "{answers:?}");
    answers
}
