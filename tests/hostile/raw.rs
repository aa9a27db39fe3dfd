//! Raw HTTP/1.1 over `std::net::TcpStream`: requests no well-behaved client would send
//! (invalid bytes in the request line, absent `Host`, lying `Content-Length`, pipelined
//! garbage), and a reader for exactly one response that never waits longer than its deadline.

use std::{
    io::{ErrorKind, Read, Write},
    net::{Shutdown, TcpStream},
    time::{Duration, Instant},
};

use serde_json::Value;

/// The longest any one exchange may take before the case fails as a hang.
pub(crate) const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15);

/// What came back on one connection.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    /// The status of the first response, if one arrived.
    pub(crate) status: Option<u16>,
    /// Its header lines, lowercase names.
    pub(crate) headers: Vec<(String, String)>,
    /// Its body (de-chunked).
    pub(crate) body: Vec<u8>,
    /// Everything after the first response that was read (pipelined answers).
    pub(crate) rest: Vec<u8>,
    /// The connection was closed (or reset) by the node.
    pub(crate) closed: bool,
    /// The read deadline passed before a complete response or a close.
    pub(crate) timed_out: bool,
}

impl Reply {
    /// The body as JSON, if it is JSON.
    pub(crate) fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    /// A one-line description for failure messages.
    pub(crate) fn describe(&self) -> String {
        format!(
            "status {:?}, closed {}, timed out {}, body {:?}",
            self.status,
            self.closed,
            self.timed_out,
            String::from_utf8_lossy(&self.body[..self.body.len().min(600)])
        )
    }
}

/// Connects to `addr` (`127.0.0.1:PORT`) with read and write deadlines.
pub(crate) fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_millis(250)))
        .expect("read timeout");
    s.set_write_timeout(Some(EXCHANGE_TIMEOUT)).expect("write timeout");
    s
}

/// Sends `request` and reads one response (at most `deadline`). The request is written from
/// another thread so that a node that answers before reading everything (413, 431) cannot
/// deadlock the test on a full socket buffer.
pub(crate) fn exchange(addr: &str, request: &[u8], deadline: Duration) -> Reply {
    let mut s = connect(addr);
    let mut w = s.try_clone().expect("clone socket");
    let req = request.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&req);
        let _ = w.flush();
    });
    let reply = read_reply(&mut s, deadline);
    let _ = s.shutdown(Shutdown::Both);
    let _ = writer.join();
    reply
}

/// Reads one response from `s`, stopping at its end, at a close, or at `deadline`.
pub(crate) fn read_reply(s: &mut TcpStream, deadline: Duration) -> Reply {
    let end = Instant::now() + deadline;
    let mut buf = Vec::new();
    let mut reply = Reply::default();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(done) = parse(&buf, &mut reply) {
            reply.rest = buf[done..].to_vec();
            return reply;
        }
        if Instant::now() > end {
            reply.timed_out = true;
            return reply;
        }
        match s.read(&mut chunk) {
            Ok(0) => {
                reply.closed = true;
                // A body delimited by the close.
                if let Some(i) = find(&buf, b"\r\n\r\n") {
                    head(&buf[..i], &mut reply);
                    reply.body = buf[i + 4..].to_vec();
                }
                return reply;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => {
                // Reset: whatever was read before it still counts.
                reply.closed = true;
                if let Some(i) = find(&buf, b"\r\n\r\n") {
                    head(&buf[..i], &mut reply);
                    reply.body = buf[i + 4..].to_vec();
                }
                return reply;
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn head(bytes: &[u8], reply: &mut Reply) {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    reply.status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok());
    reply.headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
}

/// Parses one complete response at the start of `buf`; returns where it ends.
fn parse(buf: &[u8], reply: &mut Reply) -> Option<usize> {
    let i = find(buf, b"\r\n\r\n")?;
    head(&buf[..i], reply);
    let start = i + 4;
    if reply.status.is_some_and(|s| (100..200).contains(&s)) {
        // An interim response (100 Continue): the real one follows.
        let rest = &buf[start..];
        let mut next = Reply::default();
        let done = parse(rest, &mut next)?;
        *reply = next;
        return Some(start + done);
    }
    if let Some(len) = reply.header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if buf.len() >= start + len {
            reply.body = buf[start..start + len].to_vec();
            return Some(start + len);
        }
        return None;
    }
    if reply
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        let mut at = start;
        let mut body = Vec::new();
        loop {
            let nl = find(&buf[at..], b"\r\n")?;
            let size_text = String::from_utf8_lossy(&buf[at..at + nl]);
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).ok()?;
            at += nl + 2;
            if size == 0 {
                let end = find(&buf[at..], b"\r\n")?;
                reply.body = body;
                return Some(at + end + 2);
            }
            if buf.len() < at + size + 2 {
                return None;
            }
            body.extend_from_slice(&buf[at..at + size]);
            at += size + 2;
        }
    }
    // No length: 204/304, or a body delimited by the close (handled by the caller).
    if matches!(reply.status, Some(204 | 304)) {
        return Some(start);
    }
    None
}

/// A plain request: `METHOD TARGET HTTP/1.1`, `Host`, `Connection: close`, the given headers
/// and, when there is a body, its `Content-Length` (unless the headers set their own).
pub(crate) fn request(method: &str, target: &[u8], headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(method.as_bytes());
    r.push(b' ');
    r.extend_from_slice(target);
    r.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    let mut has_len = false;
    for (n, v) in headers {
        has_len |= n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding");
        r.extend_from_slice(n.as_bytes());
        r.extend_from_slice(b": ");
        r.extend_from_slice(v);
        r.extend_from_slice(b"\r\n");
    }
    if !has_len && (!body.is_empty() || method == "POST") {
        r.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r.extend_from_slice(body);
    r
}

/// `GET /v1/health` on a new connection: its status and JSON, within `deadline`.
pub(crate) fn health(addr: &str, deadline: Duration) -> (Option<u16>, Option<Value>, Duration) {
    let started = Instant::now();
    let r = exchange(addr, &request("GET", b"/v1/health", &[], b""), deadline);
    (r.status, r.json(), started.elapsed())
}

/// The node closed `s` (a read returns end-of-file or a reset) within `deadline`.
pub(crate) fn closed_within(mut s: &TcpStream, deadline: Duration) -> bool {
    let end = Instant::now() + deadline;
    let mut b = [0u8; 4096];
    while Instant::now() < end {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return true,
        }
    }
    false
}
