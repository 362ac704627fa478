//! The harness: our real binary as a child process, and the real peers (Node 22 and pinned npm
//! packages, installed by `scripts/install-peers.sh` on first use).
#![allow(dead_code, unreachable_pub)]

pub mod issuer;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The peers' environment (`.cache/peers/env.sh`).
pub struct Peers {
    vars: HashMap<String, String>,
}

pub fn peers() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(|| {
        let root = workspace();
        let status = Command::new("bash")
            .arg(root.join("scripts/install-peers.sh"))
            .status()
            .expect("bash");
        assert!(status.success(), "scripts/install-peers.sh failed");
        let out = Command::new("bash")
            .arg("-c")
            .arg(". .cache/peers/env.sh && env -0")
            .current_dir(&root)
            .output()
            .expect("env");
        let vars = String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        Peers { vars }
    })
}

impl Peers {
    pub fn var(&self, name: &str) -> &str {
        self.vars.get(name).unwrap_or_else(|| panic!("{name} not in env.sh"))
    }

    /// `node` (22) running `script` with the peers' PATH and a scratch HOME.
    pub fn node(&self, script_var: &str) -> Command {
        let mut cmd = Command::new(self.var("NODE22"));
        cmd.arg(self.var(script_var));
        cmd.env("PATH", self.var("PATH"));
        cmd.env("HOME", format!("{}/home", self.var("PEERS")));
        cmd.env("NO_COLOR", "1");
        cmd
    }

    /// The inspector's CLI mode against `url`.
    pub fn inspector(&self, url: &str, args: &[&str]) -> Output {
        let mut cmd = self.node("INSPECTOR_CLI");
        cmd.args(["--cli", url, "--transport", "http"]).args(args);
        run_bounded(cmd, Duration::from_secs(60))
    }

    /// A JS file of `tests/peers/` run next to the SDK (ES modules resolve packages from the
    /// script's own folder, so it is copied there).
    pub fn sdk_script(&self, name: &str, args: &[&str]) -> Output {
        self.script("SDK_DIR", name, args)
    }

    /// A JS file of `tests/peers/` run inside the peer folder `dir_var` names.
    pub fn script(&self, dir_var: &str, name: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(self.var("NODE22"));
        cmd.arg(self.place(dir_var, name))
            .args(args)
            .env("PATH", self.var("PATH"));
        run_bounded(cmd, Duration::from_secs(60))
    }

    /// Copies `tests/peers/NAME` into the peer folder `dir_var` names, under a name made of its
    /// content, renamed into place: tests that run it in parallel (in this process or another)
    /// never see a half-written file.
    pub fn place(&self, dir_var: &str, name: &str) -> PathBuf {
        use sha2::Digest as _;
        let source = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(name))
            .unwrap_or_else(|e| panic!("tests/peers/{name}: {e}"));
        let digest = sha2::Sha256::digest(&source);
        let stem = name.trim_end_matches(".mjs");
        let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let dir = Path::new(self.var(dir_var));
        let target = dir.join(format!("{stem}-{hash}.mjs"));
        if !target.exists() {
            let partial = dir.join(format!(
                ".{stem}-{}-{:?}.partial",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::write(&partial, &source).expect("write the script");
            std::fs::rename(&partial, &target).expect("place the script");
        }
        target
    }
}

/// Runs a command to completion within `limit`, or kills it and fails the test.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
    }
}

/// Our binary, running; killed on drop.
pub struct Apimcp {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl Apimcp {
    /// `apimcp ARGS --listen 127.0.0.1:0`, waiting for the line that says where MCP is.
    pub fn start(args: &[&str]) -> Self {
        Self::start_program(Path::new(env!("CARGO_BIN_EXE_apimcp")), args)
    }

    /// `apimcp ARGS` with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_program_env(Path::new(env!("CARGO_BIN_EXE_apimcp")), args, env)
    }

    /// Any of our programs (an example, say) that takes `--listen` and logs `... at http://ADDR/...`.
    pub fn start_program(program: &Path, args: &[&str]) -> Self {
        Self::start_program_env(program, args, &[])
    }

    pub fn start_program_env(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let here = std::env::current_dir().expect("the test's directory");
        Self::start_program_in(program, &here, args, env)
    }

    /// A program started in `dir` (where it may find a `.env` file, say).
    pub fn start_program_in(program: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(program)
            .current_dir(dir)
            .envs(env.iter().copied())
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("apimcp starts");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(" at http://").nth(1) {
                    let addr = rest.split('/').next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
                let mut log = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "apimcp did not start: {}",
                log.lock().map(|l| l.clone()).unwrap_or_default()
            )
        });
        Self {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Apimcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Minimal JSON-RPC over Streamable HTTP with curl-like control, for protocol checks.
pub struct Http {
    client: reqwest::blocking::Client,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The JSON-RPC message in a JSON or SSE body (the last `data:` line that parses).
    pub fn json(&self) -> serde_json::Value {
        if let Ok(v) = serde_json::from_str(&self.body) {
            return v;
        }
        self.body
            .lines()
            .rev()
            .filter_map(|l| l.strip_prefix("data:"))
            .find_map(|d| serde_json::from_str(d.trim()).ok())
            .unwrap_or_else(|| panic!("no JSON in {}", self.body))
    }
}

impl Http {
    pub fn new() -> Self {
        Self {
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    pub fn post(&self, url: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> Reply {
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        Reply {
            status,
            headers,
            body: response.text().unwrap_or_default(),
        }
    }

    pub fn get(&self, url: &str) -> Reply {
        let response = self.client.get(url).send().expect("request");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().unwrap_or_default(),
        }
    }

    /// initialize + initialized; the session id.
    pub fn session(&self, url: &str) -> String {
        self.session_with(url, &[])
    }

    /// initialize + initialized with `headers` on both (a bearer token, say); the session id.
    pub fn session_with(&self, url: &str, headers: &[(&str, &str)]) -> String {
        let init = self.post(
            url,
            headers,
            &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}),
        );
        assert_eq!(init.status, 200, "{}", init.body);
        let id = init.headers["mcp-session-id"].to_str().expect("ascii").to_owned();
        let mut with_session = headers.to_vec();
        with_session.push(("mcp-session-id", &id));
        let ack = self.post(
            url,
            &with_session,
            &serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        );
        assert_eq!(ack.status, 202);
        id
    }

    pub fn call(&self, url: &str, session: Option<&str>, tool: &str, args: serde_json::Value) -> serde_json::Value {
        let headers: Vec<(&str, &str)> = session.map(|s| vec![("mcp-session-id", s)]).unwrap_or_default();
        let reply = self.post(
            url,
            &headers,
            &serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": args}}),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }
}

/// Waits until `check` holds or `limit` passes.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Waits for a started child within `limit`, or kills it and fails.
pub fn run_bounded_child(child: Child, limit: Duration) -> Output {
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("the child did not finish within {limit:?}");
        }
    }
}

/// An example program of the `apimcp` crate, built in release mode if it is not there yet.
pub fn example(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "apimcp", "--example", name])
        .current_dir(workspace())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the {name} example failed");
    target.join("release/examples").join(name)
}

/// Runs mcp-remote (already configured in `cmd`) as a stdio bridge: initialize, then one
/// tools/call; the answer.
pub fn mcp_remote_call(mut cmd: Command, tool: &str, arguments: serde_json::Value) -> serde_json::Value {
    let bridge = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mcp-remote starts");
    mcp_remote_converse(bridge, tool, arguments)
}

/// Talks to a running mcp-remote over its stdin and stdout: initialize, then one tools/call;
/// the answer. The bridge is stopped after.
pub fn mcp_remote_converse(mut bridge: Child, tool: &str, arguments: serde_json::Value) -> serde_json::Value {
    use std::io::Write;
    let mut stdin = bridge.stdin.take().expect("stdin");
    let stdout = bridge.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let wait = |id: i64| loop {
        let message = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("mcp-remote answers within 30 s");
        if message["id"] == id {
            return message;
        }
    };
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    writeln!(stdin, "{init}").expect("write");
    wait(1);
    writeln!(
        stdin,
        "{}",
        serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    )
    .expect("write");
    let call = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}});
    writeln!(stdin, "{call}").expect("write");
    let answer = wait(2);
    drop(stdin);
    let _ = bridge.kill();
    let _ = bridge.wait();
    answer
}
