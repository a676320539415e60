//! The HTTP listener's limits (issue #14): header, body and idle timeouts, the connection cap
//! that sheds unauthenticated connections first, accept failures at the file-descriptor limit,
//! 413 for oversized bodies on every framing, HTTP/2 bodies to unknown paths, HTTP/1.0, and
//! plaintext sent to the HTTPS port.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bulwark_testkit::{Client, START_TIMEOUT, Started, TestHome, run, start_fresh};

type Tls = bulwark_testkit::RawTls;

/// A TLS connection to the node trusting its CA, offering `alpn`.
fn tls(port: u16, ca: &[u8], alpn: &[&[u8]]) -> Tls {
    bulwark_testkit::tls_connect(port, ca, alpn)
}

fn basic(password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("elastic:{password}"))
}

/// Sends `GET /` authenticated on a kept-alive connection and reads the response head + body
/// (the body length comes from `content-length`); returns the status.
fn get_root(s: &mut Tls, password: &str) -> u16 {
    let req =
        format!("GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {}\r\n\r\n", basic(password));
    s.write_all(req.as_bytes()).expect("write");
    read_response(s).0
}

/// Reads one HTTP/1 response with a `content-length`: (status, body).
fn read_response(s: &mut impl Read) -> (u16, String) {
    let (status, _, body) = read_response_head(s);
    (status, body)
}

/// Reads one HTTP/1 response with a `content-length`: (status, head, body).
fn read_response_head(s: &mut impl Read) -> (u16, String, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("read response head");
        assert!(n == 1, "connection closed in the response head: {}", String::from_utf8_lossy(&buf));
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().expect("len"))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("body");
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

/// Waits (up to `within`) for the server to close the connection; how long that took.
fn closed_within(s: &mut impl Read, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    while start.elapsed() < within {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

/// The server ends the connection with a TLS close_notify (rustls reads 0 bytes), not with a
/// bare TCP close (an unexpected EOF, which clients report as `EOF occurred in violation of
/// protocol`).
fn closes_cleanly(t: &mut Tls) -> Result<(), String> {
    let mut buf = [0u8; 256];
    match t.read(&mut buf) {
        Ok(0) => Ok(()),
        Ok(n) => Err(format!("{n} more bytes after the answer")),
        Err(e) => Err(format!("closed without close_notify: {e}")),
    }
}

fn short_reads(t: &TcpStream) {
    t.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
}

#[test]
fn slow_and_idle_clients_are_disconnected_while_a_normal_client_is_served() {
    let home = TestHome::new();
    let s = start_fresh(
        &home,
        &[
            "-E",
            "http.header_read_timeout=1s",
            "-E",
            "http.body_read_timeout=1s",
            "-E",
            "http.idle_timeout=2s",
        ],
    );
    // Slowloris: the request line and a header, then a byte now and then, never the blank line.
    let mut loris = tls(s.port, &s.ca, &[]);
    loris.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-A: ").expect("write");
    // Slow body: the headers and 10 of the 100 promised bytes.
    let mut slow_body = tls(s.port, &s.ca, &[]);
    let req = format!(
        "PUT /slow/_doc/1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"a\": \"123",
        basic(&s.password)
    );
    slow_body.write_all(req.as_bytes()).expect("write");
    // Idle keep-alive: one request answered, then nothing.
    let mut idle = tls(s.port, &s.ca, &[]);
    assert_eq!(get_root(&mut idle, &s.password), 200);
    for c in [&loris, &slow_body, &idle] {
        short_reads(&c.sock);
    }
    let start = Instant::now();
    let (mut loris_closed, mut body_closed, mut idle_closed) = (None, None, None);
    let normal = &s.client;
    while start.elapsed() < Duration::from_secs(8)
        && (loris_closed.is_none() || body_closed.is_none() || idle_closed.is_none())
    {
        // A normal client keeps being served all along.
        assert_eq!(normal.get("/", Some(("elastic", &s.password))).expect("normal client").0, 200);
        if loris_closed.is_none() {
            let _ = loris.write_all(b"x");
            loris_closed = closed_within(&mut loris, Duration::from_millis(100)).map(|_| start.elapsed());
        }
        if body_closed.is_none() {
            body_closed = closed_within(&mut slow_body, Duration::from_millis(100)).map(|_| start.elapsed());
        }
        if idle_closed.is_none() {
            idle_closed = closed_within(&mut idle, Duration::from_millis(100)).map(|_| start.elapsed());
        }
    }
    let loris_closed =
        loris_closed.expect("the slowloris connection stayed open past http.header_read_timeout");
    let body_closed = body_closed.expect("the slow body stayed open past http.body_read_timeout");
    let idle_closed = idle_closed.expect("the idle connection stayed open past http.idle_timeout");
    assert!(loris_closed < Duration::from_secs(3), "slowloris closed after {loris_closed:?}");
    assert!(body_closed < Duration::from_secs(3), "slow body closed after {body_closed:?}");
    assert!(idle_closed >= Duration::from_millis(1500), "idle closed too early: {idle_closed:?}");
    assert!(idle_closed < Duration::from_secs(5), "idle closed after {idle_closed:?}");
    assert_eq!(normal.get("/", Some(("elastic", &s.password))).expect("normal client").0, 200);
}

#[test]
fn a_full_listener_sheds_unauthenticated_connections_first_then_refuses() {
    let home = TestHome::new();
    let Started { node: _node, client, password, ca, port } =
        start_fresh(&home, &["-E", "http.max_open_connections=3"]);
    // The test kit's client holds a pooled connection: closed here, so only ours count.
    drop(client);
    let s = Ours { password, ca, port };
    let mut authed = tls(s.port, &s.ca, &[]);
    assert_eq!(get_root(&mut authed, &s.password), 200);
    // Five connections that never even start TLS: each new one pushes out the oldest of them.
    let mut strangers: Vec<TcpStream> = (0..5)
        .map(|_| {
            let t = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
            short_reads(&t);
            t
        })
        .collect();
    // The authenticated connection is still served.
    assert_eq!(get_root(&mut authed, &s.password), 200, "the authenticated connection was shed");
    let first = strangers.first_mut().expect("first");
    assert!(closed_within(first, Duration::from_secs(3)).is_some(), "the oldest stranger was not shed");
    // Three authenticated connections fill the listener: a fourth connection is refused.
    let mut second = tls(s.port, &s.ca, &[]);
    assert_eq!(get_root(&mut second, &s.password), 200);
    let mut third = tls(s.port, &s.ca, &[]);
    assert_eq!(get_root(&mut third, &s.password), 200);
    let mut refused = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    short_reads(&refused);
    assert!(
        closed_within(&mut refused, Duration::from_secs(3)).is_some(),
        "a connection past the cap was kept"
    );
    for c in [&mut authed, &mut second, &mut third] {
        assert_eq!(get_root(c, &s.password), 200, "an authenticated connection was shed");
    }
    assert!(home.log().contains("http.max_open_connections"), "the cap is not named in the log");
}

#[test]
fn accept_failures_at_the_descriptor_limit_write_a_bounded_number_of_log_lines() {
    let home = TestHome::new();
    // First start on a normal limit (certificates, keystore, password).
    let s = start_fresh(&home, &[]);
    let (password, ca) = (s.password.clone(), s.ca.clone());
    s.node.stop();
    // Again with 64 descriptors and no connection cap to speak of.
    let _ = std::fs::remove_file(home.path().join("logs").join("http.ports"));
    let out = std::fs::File::create(home.stdout_file()).expect("stdout");
    let mut cmd = bulwark_testkit::command(&home.path());
    cmd.arg("start")
        .args(["-E", "http.port=0", "-E", "node.portsfile=true", "-E", "http.max_open_connections=100000"])
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("clone"))
        .stderr(out);
    // The only unsafe code of the binary's crate: the child lowers its own file-descriptor limit
    // between fork and exec (setrlimit is async-signal-safe).
    #[allow(unsafe_code)]
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            let limit = rustix::process::Rlimit { current: Some(64), maximum: Some(64) };
            rustix::process::setrlimit(rustix::process::Resource::Nofile, limit).map_err(std::io::Error::from)
        });
    }
    let _node = Killed(cmd.spawn().expect("spawn"));
    let port = wait_port(&home);
    let client = Client::new(port, Some(&ca));
    let deadline = Instant::now() + START_TIMEOUT;
    while client.get("/", Some(("elastic", &password))).map(|r| r.0).ok() != Some(200) {
        assert!(Instant::now() < deadline, "the node did not come up with 64 descriptors");
        std::thread::sleep(Duration::from_millis(50));
    }
    // 150 connections: far more than the node has descriptors for.
    let conns: Vec<TcpStream> =
        (0..150).filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok()).collect();
    assert!(conns.len() > 100, "the test could not open its connections");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !home.log().contains("accept failed") {
        assert!(Instant::now() < deadline, "the descriptor limit was never reached");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));
    let lines = home.log().lines().filter(|l| l.contains("accept failed")).count();
    assert!(lines <= 2, "{lines} `accept failed` lines in 3 seconds");
    // Connections that never authenticated give their descriptors to a real client.
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get("/", Some(("elastic", &password))).map(|r| r.0).ok() != Some(200) {
        assert!(Instant::now() < deadline, "no real client got in at the descriptor limit");
    }
    drop(conns);
}

/// A kill-on-drop child process.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the shedding test keeps of a started node.
struct Ours {
    password: String,
    ca: Vec<u8>,
    port: u16,
}

/// The HTTP port from the ports file, once written.
fn wait_port(home: &TestHome) -> u16 {
    let path = home.path().join("logs").join("http.ports");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(t) = std::fs::read_to_string(&path)
            && let Some(p) = t.trim().rsplit(':').next().and_then(|p| p.parse().ok())
        {
            return p;
        }
        assert!(Instant::now() < deadline, "no ports file");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `curl` against `path` with `args`: (status, JSON body, stderr).
fn curl(port: u16, ca: &str, password: &str, path: &str, args: &[&str]) -> (u16, serde_json::Value, String) {
    let (code, out, err) = run(Command::new("curl")
        .args(["-sS", "--cacert", ca, "-u", &format!("elastic:{password}"), "-w", "\n%{http_code}"])
        .args(args)
        .arg(format!("https://localhost:{port}{path}")));
    assert_eq!(code, 0, "curl {args:?}: {err}");
    let (body, status) = out.rsplit_once('\n').expect("status line");
    (
        status.trim().parse().expect("status"),
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        err,
    )
}

#[test]
fn oversized_bodies_http2_unknown_paths_http1_0_and_plaintext() {
    let home = TestHome::new();
    let s: Started = start_fresh(&home, &["-E", "http.max_content_length=64kb"]);
    let ca = home.config("certs/http_ca.crt");
    let ca = ca.to_str().expect("path");
    let big = home.path().join("big.json");
    std::fs::write(&big, format!("{{\"a\": \"{}\"}}", "x".repeat(200 << 10))).expect("write");
    let data = format!("@{}", big.display());
    let json = ["-H", "Content-Type: application/json"];
    let cases: [(&str, Vec<&str>); 4] = [
        ("HTTP/1.1 with Content-Length", vec!["--http1.1", "-H", "Expect:"]),
        ("HTTP/1.1 with Expect: 100-continue", vec!["--http1.1", "-H", "Expect: 100-continue"]),
        ("HTTP/1.1 chunked", vec!["--http1.1", "-H", "Transfer-Encoding: chunked"]),
        ("HTTP/2", vec!["--http2"]),
    ];
    for (what, args) in cases {
        let mut all = args.clone();
        all.extend(json);
        all.extend(["-X", "PUT", "--data-binary", &data]);
        let (status, body, _) = curl(s.port, ca, &s.password, "/big/_doc/1", &all);
        assert_eq!(status, 413, "{what}: {body}");
        assert_eq!(body["status"], 413, "{what}: {body}");
        assert!(
            body["error"]["reason"].as_str().is_some_and(|r| r.contains("http.max_content_length")),
            "{what}: {body}"
        );
        assert!(body["error"]["root_cause"].is_array(), "{what}: {body}");
    }
    // HTTP/2 with a body to a path nothing serves: the JSON 400, several times (no stream reset).
    let small = home.path().join("small.json");
    std::fs::write(&small, format!("{{\"a\": \"{}\"}}", "x".repeat(60 << 10))).expect("write");
    let small = format!("@{}", small.display());
    for _ in 0..3 {
        let mut all = vec!["--http2"];
        all.extend(json);
        all.extend(["--data-binary", &small]);
        let (status, body, _) = curl(s.port, ca, &s.password, "/_no/such/path", &all);
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().is_some_and(|e| e.contains("no handler found")), "{body}");
    }
    // HTTP/1.0, with curl and with a client whose ALPN offers only `http/1.0`.
    let (status, body, _) = curl(s.port, ca, &s.password, "/", &["--http1.0"]);
    assert_eq!((status, body["tagline"].as_str()), (200, Some("You Know, for Search")));
    let mut old = tls(s.port, &s.ca, &[b"http/1.0"]);
    assert_eq!(old.conn.alpn_protocol(), Some(&b"http/1.0"[..]));
    write!(old, "GET / HTTP/1.0\r\nAuthorization: Basic {}\r\n\r\n", basic(&s.password)).expect("write");
    assert_eq!(read_response(&mut old).0, 200);
    // Plaintext HTTP to the HTTPS port: closed unanswered, logged once for this address.
    for _ in 0..3 {
        let mut t = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
        t.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("write");
        short_reads(&t);
        let mut buf = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut chunk = [0u8; 256];
            match t.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    assert!(Instant::now() < deadline, "a plaintext connection was kept open");
                }
                Err(_) => break,
            }
        }
        assert!(buf.is_empty(), "plaintext was answered: {}", String::from_utf8_lossy(&buf));
    }
    let warnings = home
        .log()
        .lines()
        .filter(|l| l.contains("received plaintext http traffic on an https channel"))
        .count();
    assert_eq!(warnings, 1, "plaintext warnings: {warnings}");
}

#[test]
fn writes_past_the_indexing_pressure_limit_get_429_and_reservations_are_given_back() {
    let home = TestHome::new();
    let s: Started = start_fresh(&home, &["-E", "indexing_pressure.memory.limit=16kb"]);
    let elastic = ("elastic", s.password.as_str());
    let big = serde_json::json!({ "a": "x".repeat(20 << 10) });
    let small = serde_json::json!({ "a": "x" });
    for _ in 0..3 {
        let (status, body) = s.client.call("PUT", "/p/_doc/big", elastic, Some(&big)).expect("request");
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error"]["type"], "es_rejected_execution_exception", "{body}");
        let reason = body["error"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("max_coordinating_and_primary_bytes=16384"), "{body}");
        let (status, body) = s
            .client
            .call("POST", "/p/_update/big", elastic, Some(&serde_json::json!({"doc": big})))
            .expect("request");
        assert_eq!(status, 429, "{body}");
        // Each refused or finished write gives its bytes back: small writes keep going through.
        let (status, body) = s.client.call("PUT", "/p/_doc/small", elastic, Some(&small)).expect("request");
        assert!(status == 201 || status == 200, "{status} {body}");
    }
    let bulk = format!("{{\"index\":{{\"_index\":\"p\"}}}}\n{}\n", big);
    let (status, _, body) = bulwark_testkit::raw_https(
        s.port,
        &std::fs::read(home.config("certs/http_ca.crt")).expect("ca"),
        format!(
            "POST /_bulk HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{bulk}",
            basic(&s.password),
            bulk.len()
        )
        .as_bytes(),
    )
    .expect("bulk");
    assert_eq!(status, 429, "{}", String::from_utf8_lossy(&body));
}

/// An answer given without reading the request's body (a request refused for lack of
/// credentials) says `Connection: close` and the connection ends with a TLS close_notify, so a
/// client never sends its next request into a connection the server drops; an answer to a
/// request whose body was read (a 400) keeps the connection for the next request.
#[test]
fn a_connection_is_either_kept_for_the_next_request_or_closed_saying_so() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let post = |auth: &str, body: &str| {
        format!(
            "POST /x/_doc HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let wrong = format!("Authorization: Basic {}\r\n", basic("not-the-password"));
    let right = format!("Authorization: Basic {}\r\n", basic(&s.password));
    // Headers only: the answer comes without waiting for the body; then a clean close.
    let headers_only = post("", "{}");
    let mut t = tls(s.port, &s.ca, &[b"http/1.1"]);
    t.write_all(headers_only.trim_end_matches("{}").as_bytes()).expect("write");
    let (status, head, _) = read_response_head(&mut t);
    assert_eq!(status, 401, "{head}");
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");
    closes_cleanly(&mut t).expect("a clean close after the answer");
    // Wrong credentials with the whole body sent, again and again: never an EOF in place of an
    // answer.
    for round in 0..5 {
        let mut t = tls(s.port, &s.ca, &[b"http/1.1"]);
        t.write_all(post(&wrong, r#"{"a":1}"#).as_bytes()).expect("write");
        let (status, head, _) = read_response_head(&mut t);
        assert_eq!(status, 401, "round {round}: {head}");
        if head.to_ascii_lowercase().contains("connection: close") {
            closes_cleanly(&mut t).unwrap_or_else(|e| panic!("round {round}: {e}"));
        } else {
            assert_eq!(
                get_root(&mut t, &s.password),
                200,
                "round {round}: the next request on the connection"
            );
        }
    }
    // A body that was read and refused (not JSON): the connection carries the next request.
    let mut t = tls(s.port, &s.ca, &[b"http/1.1"]);
    t.write_all(post(&right, "{not json").as_bytes()).expect("write");
    let (status, head, body) = read_response_head(&mut t);
    assert_eq!(status, 400, "{head}\n{body}");
    assert!(!head.to_ascii_lowercase().contains("connection: close"), "{head}");
    assert_eq!(get_root(&mut t, &s.password), 200);
}
