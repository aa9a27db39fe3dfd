//! Connection-level hostility: clients that send slowly, stall, hold idle connections, or
//! pipeline garbage behind a good request. Each test runs its own node (TestNode kills it on
//! drop) and bounds every wait.

use std::{
    io::{Read, Write},
    net::TcpStream,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use crate::{
    REQUEST_TIMEOUT, STALL, addr_of,
    raw::{self, closed_within, connect, read_reply},
    start_node,
    util::Env,
};

/// How long a request another client sends may take while the node deals with a hostile one.
const PROMPT: Duration = Duration::from_secs(2);

/// `GET /v1/health` answers 200 within [`PROMPT`].
#[track_caller]
fn assert_prompt_health(addr: &str, when: &str) {
    let (st, body, took) = raw::health(addr, Duration::from_secs(10));
    assert_eq!(st, Some(200), "{when}: GET /v1/health answered {st:?} {body:?}");
    assert!(took < PROMPT, "{when}: GET /v1/health took {took:?}");
}

/// Sends `bytes` one at a time, `every` apart, until `stop` is set or a write fails.
fn trickle(mut s: TcpStream, bytes: Vec<u8>, every: Duration, stop: Arc<AtomicBool>) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut sent = 0;
        for b in bytes {
            if stop.load(Ordering::Relaxed) || s.write_all(&[b]).is_err() {
                break;
            }
            sent += 1;
            thread::sleep(every);
        }
        sent
    })
}

const SLOW_POST: &[u8] =
    b"POST /v1/entries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";

/// Headers announcing 1000 bytes, 10 sent, then nothing: the node gives up within its
/// deadlines (an error answer or a close), serving others meanwhile.
pub(crate) fn stalled_body() {
    let env = Env::new();
    let node = start_node(&env);
    let addr = addr_of(&node);
    let mut s = connect(&addr);
    s.write_all(SLOW_POST).unwrap();
    s.write_all(b"{\"payload\"").unwrap();
    let started = Instant::now();
    assert_prompt_health(&addr, "while a body is stalled");
    let r = read_reply(&mut s, STALL + REQUEST_TIMEOUT + Duration::from_secs(6));
    let took = started.elapsed();
    assert!(!r.timed_out, "the stalled request was still open after {took:?}");
    if let Some(st) = r.status {
        assert!((400..500).contains(&st), "stalled body answered {}", r.describe());
        let v = r.json().unwrap_or_default();
        assert!(
            v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            r.describe()
        );
    }
    eprintln!("stalled body: {} after {took:?}", r.describe());
    assert_prompt_health(&addr, "after a stalled body");
    assert_eq!(node.log_size(), 0);
}

/// A body sent one byte every half second (each byte within the stall deadline): the
/// request deadline ends it with 408, and others are served meanwhile.
pub(crate) fn trickled_body() {
    let env = Env::new();
    let node = start_node(&env);
    let addr = addr_of(&node);
    let mut s = connect(&addr);
    s.write_all(SLOW_POST).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let writer = trickle(
        s.try_clone().unwrap(),
        vec![b' '; 1000],
        Duration::from_millis(500),
        stop.clone(),
    );
    thread::sleep(Duration::from_secs(1));
    assert_prompt_health(&addr, "while a body trickles");
    let r = read_reply(&mut s, REQUEST_TIMEOUT + Duration::from_secs(8));
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let sent = writer.join().unwrap();
    eprintln!("trickled body: {} after {took:?}, {sent} bytes sent", r.describe());
    assert!(!r.timed_out, "the trickled request was still open after {took:?}");
    assert_eq!(r.status, Some(408), "{}", r.describe());
    assert_eq!(
        r.json().unwrap_or_default()["error"]["code"],
        "timeout",
        "{}",
        r.describe()
    );
    assert_prompt_health(&addr, "after a trickled body");
    assert_eq!(node.log_size(), 0);
}

/// Header lines sent one byte every half second, never finished: the node must cut the
/// connection off in bounded time even though each byte arrives within the stall deadline.
pub(crate) fn trickled_headers() {
    let env = Env::new();
    let node = start_node(&env);
    let addr = addr_of(&node);
    let mut s = connect(&addr);
    s.write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    let endless: Vec<u8> = (0..1000)
        .flat_map(|i| format!("X-Slow-{i}: y\r\n").into_bytes())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let writer = trickle(
        s.try_clone().unwrap(),
        endless,
        Duration::from_millis(500),
        stop.clone(),
    );
    thread::sleep(Duration::from_secs(1));
    assert_prompt_health(&addr, "while headers trickle");
    let bound = REQUEST_TIMEOUT + STALL + Duration::from_secs(4);
    let closed = closed_within(&s, bound);
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let sent = writer.join().unwrap();
    eprintln!("trickled headers: closed {closed} after {took:?}, {sent} bytes sent");
    assert!(closed, "a connection trickling headers was still open after {took:?}");
    assert_prompt_health(&addr, "after trickled headers");
}

/// 400 connections opened at once and left idle (half of them with a partial request line):
/// a normal request is still answered promptly, and the idle ones are dropped after the
/// stall deadline.
pub(crate) fn idle_connections() {
    let env = Env::new();
    let node = start_node(&env);
    let addr = addr_of(&node);
    let started = Instant::now();
    let idle: Vec<TcpStream> = (0..400)
        .map(|i| {
            let mut s = connect(&addr);
            if i % 2 == 1 {
                s.write_all(b"GET /v1/hea").unwrap();
            }
            s
        })
        .collect();
    eprintln!("opened {} idle connections in {:?}", idle.len(), started.elapsed());
    assert_prompt_health(&addr, "with 400 idle connections open");
    let (st, body) = node.get("/v1/log/head");
    assert_eq!(st, 200, "{body}");
    thread::sleep(STALL + Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(8);
    let still_open = idle
        .iter()
        .filter(|s| {
            !closed_within(
                s,
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(300)),
            )
        })
        .count();
    eprintln!(
        "idle connections still open after {:?}: {still_open}",
        started.elapsed()
    );
    assert_eq!(still_open, 0, "idle connections were not dropped");
    drop(idle);
    assert_prompt_health(&addr, "after the idle connections were dropped");
}

/// Reads whatever arrives on `s` until it closes (at most `deadline`); returns it and whether
/// the close came.
fn read_until_close(s: &mut TcpStream, deadline: Duration) -> (String, bool) {
    let end = Instant::now() + deadline;
    let mut all = Vec::new();
    let mut b = [0u8; 16 * 1024];
    while Instant::now() < end {
        match s.read(&mut b) {
            Ok(0) => return (String::from_utf8_lossy(&all).into_owned(), true),
            Ok(n) => all.extend_from_slice(&b[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return (String::from_utf8_lossy(&all).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&all).into_owned(), false)
}

/// Two good requests then garbage on one connection: both answered 200, the garbage 400 (or
/// a close), and the connection closed. A good request then a bad body: 200 then a JSON 400.
pub(crate) fn pipelined_garbage() {
    let env = Env::new();
    let node = start_node(&env);
    let addr = addr_of(&node);

    let mut s = connect(&addr);
    s.write_all(
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/log/head HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01\x00\xa5garbage\xff\r\n\r\n",
    )
    .unwrap();
    let (text, closed) = read_until_close(&mut s, Duration::from_secs(10));
    assert!(closed, "the connection stayed open after garbage:\n{text}");
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    assert!(!text.contains("HTTP/1.1 5"), "{text}");
    let after_ok: Vec<&str> = text.split("HTTP/1.1 ").skip(1).collect();
    if after_ok.len() > 2 {
        assert!(after_ok[2].starts_with("400"), "the garbage was answered {text}");
    }

    let mut s = connect(&addr);
    s.write_all(
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nPOST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"a\":[}",
    )
    .unwrap();
    let (text, closed) = read_until_close(&mut s, Duration::from_secs(10));
    assert!(closed, "Connection: close was not honoured:\n{text}");
    let answers: Vec<&str> = text.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 2, "{text}");
    assert!(answers[0].starts_with("200"), "{text}");
    assert!(answers[1].starts_with("400"), "{text}");
    assert!(answers[1].contains("\"code\":\"malformed_json\""), "{text}");
    assert_prompt_health(&addr, "after pipelined garbage");
    assert_eq!(node.log_size(), 0);
}
