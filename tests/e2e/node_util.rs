//! A real `greenledger-node` process on a temporary data dir and a free loopback port.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use serde_json::Value;

/// How long a node may take to start (RocksDB open, bind).
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn node_binary() -> PathBuf {
    match std::env::var_os("GREENLEDGER_NODE_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_greenledger-node-e2e")),
    }
}

/// Runs `greenledger-node ARGS` to completion: (exit code, stdout, stderr).
pub(crate) fn node_cmd(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(node_binary())
        .args(args)
        .output()
        .expect("run greenledger-node");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running node. Killed (SIGKILL) when dropped.
pub(crate) struct TestNode {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// The data dir.
    pub(crate) data_dir: PathBuf,
    log: Arc<Mutex<String>>,
    agent: ureq::Agent,
}

impl TestNode {
    /// `init` (if needed) then `run` on port 0; waits until the node reports its address.
    pub(crate) fn start(data_dir: &Path, genesis: &Path) -> TestNode {
        Self::start_with(data_dir, genesis, &[])
    }

    /// Like [`TestNode::start`] with extra `run` arguments.
    pub(crate) fn start_with(data_dir: &Path, genesis: &Path, extra: &[&str]) -> TestNode {
        Self::start_with_env(data_dir, genesis, extra, &[])
    }

    /// Like [`TestNode::start_with`], with extra environment variables.
    pub(crate) fn start_with_env(data_dir: &Path, genesis: &Path, extra: &[&str], vars: &[(&str, &str)]) -> TestNode {
        if !data_dir.join("node.key").exists() {
            let (code, _, err) = node_cmd(&["init", "--data-dir", &data_dir.display().to_string()]);
            assert_eq!(code, 0, "greenledger-node init failed: {err}");
        }
        let mut cmd = Command::new(node_binary());
        cmd.args([
            "run",
            "--data-dir",
            &data_dir.display().to_string(),
            "--genesis",
            &genesis.display().to_string(),
            "--http",
            "127.0.0.1:0",
        ])
        .args(extra)
        .args(if extra.contains(&"--listen") {
            &[][..]
        } else {
            &["--listen", "/ip4/127.0.0.1/tcp/0"][..]
        })
        .env(
            "RUST_LOG",
            std::env::var("GL_TEST_NODE_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn greenledger-node");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::sync_channel(1);
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("greenledger-node: HTTP API on ") {
                    let _ = tx.try_send(url.trim().to_string());
                }
                if let Ok(mut l) = log2.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
        let url = match rx.recv_timeout(START_TIMEOUT) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "greenledger-node did not start within {START_TIMEOUT:?}; its log:\n{}",
                    log.lock().map(|l| l.clone()).unwrap_or_default()
                );
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        TestNode {
            child: Some(child),
            url,
            data_dir: data_dir.to_path_buf(),
            log,
            agent,
        }
    }

    /// What the node logged so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits (at most `within`) until the log holds `text`; whether it does.
    pub(crate) fn log_shows(&self, text: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while !self.log().contains(text) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// The process id (0 once stopped).
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// `kill -9`.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits (at most 30 s) for a clean exit; returns the exit code.
    pub(crate) fn stop(&mut self) -> i32 {
        if self.child.is_none() {
            return -1;
        }
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(30))
            .unwrap_or_else(|| panic!("greenledger-node did not stop within 30 s of SIGTERM"))
    }

    /// Sends a signal (`TERM`, `USR1`, …) to the process.
    pub(crate) fn signal(&self, name: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args([&format!("-{name}"), &c.id().to_string()])
                .status();
        }
    }

    /// Waits for the process to exit on its own: its exit code (-1 for a signal), or None
    /// (and it is killed) if it is still running after `within`.
    pub(crate) fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let mut c = self.child.take()?;
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// GET: (status, JSON body or Null).
    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        let mut r = self.agent.get(&format!("{}{path}", self.url)).call().expect("GET");
        let status = r.status().as_u16();
        let body = r
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap_or_default();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// GET, raw body.
    pub(crate) fn get_raw(&self, path: &str) -> (u16, Vec<u8>) {
        let mut r = self.agent.get(&format!("{}{path}", self.url)).call().expect("GET");
        let status = r.status().as_u16();
        (
            status,
            r.body_mut()
                .with_config()
                .limit(1 << 30)
                .read_to_vec()
                .unwrap_or_default(),
        )
    }

    /// POST with a content type: (status, JSON body or Null).
    pub(crate) fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        let mut r = self
            .agent
            .post(&format!("{}{path}", self.url))
            .header("Content-Type", content_type)
            .send(body)
            .expect("POST");
        let status = r.status().as_u16();
        let body = r.body_mut().read_to_vec().unwrap_or_default();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// POST /v1/entries announcing `len` bytes of body but sending none: the node must answer
    /// from the headers alone. (Sending the body would race the node closing the connection.)
    pub(crate) fn announce_huge_body(&self, len: usize) -> (u16, Value) {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let req = format!(
            "POST /v1/entries HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).expect("write");
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        // The body may be chunked; take the JSON object in it.
        let json = body
            .find('{')
            .and_then(|i| body.rfind('}').map(|j| &body[i..=j]))
            .unwrap_or("null");
        (status, serde_json::from_str(json).unwrap_or(Value::Null))
    }

    /// POST /v1/entries with JSON.
    pub(crate) fn submit(&self, envelope: &[u8]) -> (u16, Value) {
        self.post("/v1/entries", "application/json", envelope)
    }

    /// The log size from /v1/health.
    pub(crate) fn log_size(&self) -> u64 {
        self.get("/v1/health").1["log_size"].as_u64().expect("log_size")
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill9();
    }
}
