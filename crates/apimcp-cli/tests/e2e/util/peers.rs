//! The real peers: Node 22 and pinned npm packages, installed by `scripts/install-peers.sh`
//! into the workspace's `.cache/peers` on first use.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use apimcp::test_helpers as rpc;
use serde_json::Value;

use super::{run_bounded, spawned, workspace};

/// The peers' environment (`.cache/peers/env.sh`).
pub(crate) struct Peers {
    vars: HashMap<String, String>,
}

/// The peers, installed on first use.
pub(crate) fn peers() -> &'static Peers {
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
    /// A variable of `env.sh`.
    pub(crate) fn var(&self, name: &str) -> &str {
        self.vars.get(name).unwrap_or_else(|| panic!("{name} not in env.sh"))
    }

    /// `node` (22) running `script` with the peers' PATH and a scratch HOME.
    pub(crate) fn node(&self, script_var: &str) -> Command {
        let mut cmd = Command::new(self.var("NODE22"));
        cmd.arg(self.var(script_var));
        cmd.env("PATH", self.var("PATH"));
        cmd.env("HOME", format!("{}/home", self.var("PEERS")));
        cmd.env("NO_COLOR", "1");
        cmd
    }

    /// The inspector's CLI mode against `url`.
    pub(crate) fn inspector(&self, url: &str, args: &[&str]) -> Output {
        let mut cmd = self.node("INSPECTOR_CLI");
        cmd.args(["--cli", url, "--transport", "http"]).args(args);
        run_bounded(spawned(&mut cmd), Duration::from_secs(60))
    }

    /// The official Python SDK (mcp 2.x, `tests/peers/py-client.py`) against `url` in `mode`
    /// (`auto`: 2026-07-28, `legacy`: a 2025-11-25 session), running `steps` (`list`,
    /// `call:NAME:JSON`): whether it exited 0, and the JSON line it printed per step.
    pub(crate) fn python_client(&self, url: &str, mode: &str, steps: &[&str]) -> (bool, Vec<Value>) {
        self.python_script("py-client.py", url, mode, steps)
    }

    /// [`python_client`](Self::python_client) with another script of `tests/peers/` that takes
    /// the same arguments (`fastmcp-client.py`: FastMCP 4's client).
    pub(crate) fn python_script(&self, name: &str, url: &str, mode: &str, steps: &[&str]) -> (bool, Vec<Value>) {
        let args: Vec<&str> = [url, mode].into_iter().chain(steps.iter().copied()).collect();
        self.python(name, &args)
    }

    /// A Python script of `tests/peers/` run with the Python SDK's venv: whether it exited 0,
    /// and the JSON lines it printed.
    pub(crate) fn python(&self, script: &str, args: &[&str]) -> (bool, Vec<Value>) {
        let out = run_bounded(spawned(&mut self.python_command(script, args)), Duration::from_secs(60));
        let lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        (out.status.success(), lines)
    }

    /// The command that runs a Python script of `tests/peers/` with the Python SDK's venv.
    pub(crate) fn python_command(&self, script: &str, args: &[&str]) -> Command {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(script);
        let mut cmd = Command::new(self.var("PYTHON_PEERS"));
        cmd.arg(script).args(args);
        cmd
    }

    /// A JS file of `tests/peers/` run next to the SDK (ES modules resolve packages from the
    /// script's own folder, so it is copied there).
    pub(crate) fn sdk_script(&self, name: &str, args: &[&str]) -> Output {
        self.script("SDK_DIR", name, args)
    }

    /// A JS file of `tests/peers/` run inside the peer folder `dir_var` names.
    pub(crate) fn script(&self, dir_var: &str, name: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(self.var("NODE22"));
        cmd.arg(self.place(dir_var, name))
            .args(args)
            .env("PATH", self.var("PATH"));
        run_bounded(spawned(&mut cmd), Duration::from_secs(60))
    }

    /// Copies `tests/peers/NAME` into the peer folder `dir_var` names, under a name made of its
    /// content, renamed into place: tests that run it in parallel (in this process or another)
    /// never see a half-written file.
    pub(crate) fn place(&self, dir_var: &str, name: &str) -> PathBuf {
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

/// Runs mcp-remote (already configured in `cmd`) as a stdio bridge: initialize, then one
/// tools/call; the answer.
pub(crate) fn mcp_remote_call(mut cmd: Command, tool: &str, arguments: Value) -> Value {
    let bridge = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mcp-remote starts");
    mcp_remote_converse(bridge, tool, arguments).1
}

/// Talks to a running mcp-remote over its stdin and stdout: initialize, then one tools/call;
/// the answers to both. The bridge is stopped after.
pub(crate) fn mcp_remote_converse(mut bridge: Child, tool: &str, arguments: Value) -> (Value, Value) {
    let mut stdin = bridge.stdin.take().expect("stdin");
    let stdout = bridge.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
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
    writeln!(stdin, "{}", rpc::initialize()).expect("write");
    let init = wait(1);
    writeln!(stdin, "{}", rpc::initialized()).expect("write");
    writeln!(stdin, "{}", rpc::tools_call(2, tool, arguments)).expect("write");
    let answer = wait(2);
    drop(stdin);
    let _ = bridge.kill();
    let _ = bridge.wait();
    (init, answer)
}
