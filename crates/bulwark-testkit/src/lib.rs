//! Test kit: start the real `bulwark` binary on a temporary home with ports chosen by the OS
//! (`http.port: 0` + `node.portsfile: true`), wait until an authenticated HTTPS request succeeds
//! (never a sleep), and talk to it with a client that trusts the node's own CA.

#![deny(missing_docs)]

mod log_scan;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bulwark_client::{Credentials, NodeClient, NodeError};
use secrecy::SecretString;
use tempfile::TempDir;

/// How long a node may take to come up before a test fails.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A temporary home, removed when dropped.
pub struct TestHome {
    dir: TempDir,
}

impl Default for TestHome {
    fn default() -> Self {
        Self::new()
    }
}

impl TestHome {
    /// A fresh temporary directory that holds the home (removed when dropped).
    pub fn new() -> TestHome {
        TestHome { dir: tempfile::Builder::new().prefix("bulwark-test-").tempdir().expect("temp dir") }
    }

    /// The home directory (`--home`).
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A file under the home's `config/`.
    pub fn config(&self, name: &str) -> PathBuf {
        self.path().join("config").join(name)
    }

    /// Writes `config/bulwark.yml` (creating `config/`).
    pub fn write_settings(&self, yaml: &str) {
        std::fs::create_dir_all(self.path().join("config")).expect("config dir");
        std::fs::write(self.config("bulwark.yml"), yaml).expect("write bulwark.yml");
    }

    /// Where a node's captured standard output goes.
    pub fn stdout_file(&self) -> PathBuf {
        self.dir.path().join("stdout.txt")
    }

    /// Every file under the home with its bytes (for "left untouched" assertions).
    pub fn snapshot(&self, sub: &str) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        fn walk(p: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        out.insert(path.clone(), Vec::new());
                        walk(&path, out);
                    } else {
                        out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
                    }
                }
            }
        }
        walk(&self.path().join(sub), &mut out);
        out
    }

    /// `key=value` lines of `config/bootstrap-credentials`.
    pub fn bootstrap_credentials(&self) -> Option<BTreeMap<String, String>> {
        let text = std::fs::read_to_string(self.config("bootstrap-credentials")).ok()?;
        Some(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// The node log (`logs/bulwark.json`) as text.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("logs").join("bulwark.json")).unwrap_or_default()
    }
}

/// The `bulwark` binary under test: `BULWARK_BIN`, else the one cargo built next to the tests.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BULWARK_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/test-xxxx -> target/<profile>/bulwark
    exe.parent().and_then(Path::parent).map(|d| d.join("bulwark")).expect("binary path")
}

/// A `bulwark` command on `home` with `--allow-root` and a quiet backtrace.
pub fn command(home: &Path) -> Command {
    let mut c = Command::new(binary());
    c.arg("--home").arg(home).arg("--allow-root").env("RUST_BACKTRACE", "0").env_remove("BULWARK_HOME");
    c.env_remove("ELASTIC_PASSWORD").env_remove("ELASTIC_PASSWORD_FILE").env_remove("KEYSTORE_PASSWORD");
    c.env_remove("CERTUTIL_PASSWORD").env_remove("CERTUTIL_CA_PASSWORD");
    c
}

/// A running node; killed when dropped, and then its logs are checked (see [`log_scan`]): the
/// test fails on an unexpected `ERROR` line or a secret in them.
pub struct Node {
    child: Child,
    home: PathBuf,
    out: PathBuf,
    watch: log_scan::Watch,
}

impl Node {
    /// Starts `bulwark start` on `home` with free ports, stdout to `stdout`; `extra` are more
    /// arguments (e.g. `-E key=value`), `env` more variables.
    pub fn spawn(home: &TestHome, extra: &[&str], env: &[(&str, &str)]) -> Node {
        Node::spawn_home(&home.path(), home.stdout_file(), extra, env)
    }

    /// Starts `bulwark start` on any home directory, stdout and stderr to `out`.
    pub fn spawn_home(home: &Path, out: PathBuf, extra: &[&str], env: &[(&str, &str)]) -> Node {
        // A ports file left by an earlier run would point at a dead port.
        let _ = std::fs::remove_file(home.join("logs").join("http.ports"));
        let file = std::fs::File::create(&out).expect("stdout file");
        let err = file.try_clone().expect("clone");
        let mut c = command(home);
        c.arg("start").args(["-E", "http.port=0", "-E", "node.portsfile=true"]).args(extra);
        for (k, v) in env {
            c.env(k, v);
        }
        let child = c.stdin(Stdio::null()).stdout(file).stderr(err).spawn().expect("spawn bulwark");
        Node { child, home: home.to_path_buf(), out, watch: log_scan::Watch::default() }
    }

    /// Says that the node will log an `ERROR` line containing `needle` (the test provokes it).
    pub fn expect_error(&mut self, needle: &str) -> &mut Node {
        self.watch.expected_errors.push(needle.to_owned());
        self
    }

    /// A secret the test knows (a password it chose, a token it got) that no log may contain.
    pub fn secret(&mut self, secret: &str) -> &mut Node {
        self.watch.secrets.push(secret.to_owned());
        self
    }

    /// The bound HTTP port, once the ports file exists (waits for it).
    pub fn port(&mut self) -> u16 {
        let path = self.home.join("logs").join("http.ports");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Some(port) = text.trim().rsplit(':').next().and_then(|p| p.parse().ok())
            {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("node exited with {status} before binding");
            }
            assert!(Instant::now() < deadline, "node did not write its ports file in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `GET /` as `user`/`password` answers 200 over HTTPS, trusting `ca_pem`.
    pub fn wait_ready(&mut self, ca_pem: &[u8], user: &str, password: &str) -> Client {
        let port = self.port();
        let client = Client::new(port, Some(ca_pem));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(r) = client.get("/", Some((user, password)))
                && r.0 == 200
            {
                return client;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("node exited with {status} before it was ready");
            }
            assert!(Instant::now() < deadline, "node was not ready in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Polls until `needle` appears in the node log, or the process exits; true if it appeared.
    pub fn wait_for_log(&mut self, needle: &str) -> bool {
        let path = self.home.join("logs").join("bulwark.json");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if std::fs::read_to_string(&path).is_ok_and(|t| t.contains(needle)) {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return std::fs::read_to_string(&path).is_ok_and(|t| t.contains(needle));
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the node with SIGKILL (a crash) and waits for it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the node with SIGTERM and waits for it.
    pub fn stop(mut self) -> ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        self.wait_exit(Duration::from_secs(30)).unwrap_or_else(|| {
            let _ = self.child.kill();
            self.child.wait().expect("wait")
        })
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let problems = self.watch.problems(&self.home, &self.out);
            assert!(problems.is_empty(), "the node's logs:\n{}", problems.join("\n"));
        }
    }
}

/// A blocking client for one node: bulwark-client's [`NodeClient`] (the tools' and the console's
/// client), driven by a runtime of its own.
pub struct Client {
    inner: NodeClient,
    runtime: tokio::runtime::Runtime,
}

/// The headers of an answer.
pub type HeaderMap = reqwest::header::HeaderMap;

impl Client {
    /// A client for `https://localhost:port` trusting `ca_pem` (or plain HTTP with `None`).
    pub fn new(port: u16, ca_pem: Option<&[u8]>) -> Client {
        let scheme = if ca_pem.is_some() { "https" } else { "http" };
        Client::at(&format!("{scheme}://localhost:{port}"), ca_pem)
    }

    /// A client for the node at `base` (`https://host:port` trusting `ca_pem`, or `http://…`
    /// with `None`).
    pub fn at(base: &str, ca_pem: Option<&[u8]>) -> Client {
        let inner = match ca_pem {
            Some(pem) => {
                let cas = bulwark_pki::certs_from_pem(pem).expect("CA PEM");
                NodeClient::new(&[base.to_owned()], &cas)
            }
            None => NodeClient::plain_http(&[base.to_owned()]),
        }
        .expect("client");
        // Several threads of one test may share a client: a worker thread drives every call.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        Client { inner, runtime }
    }

    /// `GET path`, optionally with basic auth: (status, headers, JSON body; `Null` when it is
    /// not JSON).
    pub fn get(
        &self,
        path: &str,
        auth: Option<(&str, &str)>,
    ) -> Result<(u16, HeaderMap, serde_json::Value), NodeError> {
        let (status, headers, body) = self.send("GET", path, auth, None, Vec::new())?;
        Ok((status, headers, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)))
    }

    /// `method path` with basic auth and an optional JSON body, on this client's keep-alive
    /// connection: (status, JSON body; `Null` when it is not JSON).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        auth: (&str, &str),
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), NodeError> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let content_type = body.map(|_| "application/json");
        let (status, _, body) = self.send(method, path, Some(auth), content_type, bytes)?;
        Ok((status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)))
    }

    /// `method path` with an `Authorization` header as given (`Basic …`, `ApiKey …`, `Bearer …`),
    /// more `headers` and an optional JSON body: (status, headers, JSON body; `Null` when it is
    /// not JSON).
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        authorization: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, HeaderMap, serde_json::Value), NodeError> {
        let mut all = vec![("Authorization", authorization)];
        all.extend_from_slice(headers);
        if body.is_some() {
            all.push(("Content-Type", "application/json"));
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let (status, headers, body) = self.request(method, path, Credentials::None, &all, bytes)?;
        Ok((status, headers, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)))
    }

    /// Any request: `method path` with optional basic auth, `Content-Type` and body, giving
    /// (status, headers, raw body). For bytes an HTTP client cannot send, see [`raw_https`].
    pub fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<(&str, &str)>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, HeaderMap, Vec<u8>), NodeError> {
        let password = auth.map(|(_, p)| SecretString::from(p.to_owned()));
        let who = match (auth, &password) {
            (Some((user, _)), Some(p)) => Credentials::Basic(user, p),
            _ => Credentials::None,
        };
        let headers: Vec<(&str, &str)> = content_type.map(|ct| ("Content-Type", ct)).into_iter().collect();
        self.request(method, path, who, &headers, body)
    }

    /// Any request with any headers (an `Authorization` of its own among them): (status,
    /// headers, raw body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        who: Credentials<'_>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, HeaderMap, Vec<u8>), NodeError> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let body = (!body.is_empty()).then_some(body);
        let reply = self.runtime.block_on(self.inner.exchange(method, path, who, headers, body))?;
        Ok((reply.status, reply.headers, reply.body))
    }
}

/// A loopback TCP port that was free a moment ago, for tests that need a fixed `http.port`
/// (certificates that name it). Prefer `http.port: 0` everywhere else.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// Runs a command to completion: (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run command");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A node started on a fresh home without a terminal, ready for requests.
pub struct Started {
    /// The running node.
    pub node: Node,
    /// A client trusting its HTTP CA.
    pub client: Client,
    /// The generated `elastic` password (from `bootstrap-credentials`).
    pub password: String,
    /// The HTTP CA certificate (PEM).
    pub ca: Vec<u8>,
    /// Its HTTP port.
    pub port: u16,
}

/// Starts a node on a fresh `home` (with `extra` arguments) and waits until `elastic` can use it.
pub fn start_fresh(home: &TestHome, extra: &[&str]) -> Started {
    let mut node = Node::spawn(home, extra, &[]);
    let port = node.port();
    let deadline = Instant::now() + START_TIMEOUT;
    let creds = loop {
        if let Some(c) = home.bootstrap_credentials().filter(|c| c.contains_key("HTTP_CA_FINGERPRINT")) {
            break c;
        }
        assert!(Instant::now() < deadline, "no bootstrap-credentials file");
        std::thread::sleep(Duration::from_millis(20));
    };
    let password = creds["ELASTIC_PASSWORD"].clone();
    node.secret(&password);
    let ca = std::fs::read(home.config("certs/http_ca.crt")).expect("http_ca.crt");
    let client = node.wait_ready(&ca, "elastic", &password);
    Started { node, client, password, ca, port }
}

/// Runs a command on a pseudo-terminal (Python's `pty`), answering prompts like a person: each
/// answer is typed only once its prompt is the last thing on the screen (and, after the first,
/// once the previous answer's line has ended, and for password prompts once echo is off). The
/// transcript has escape sequences removed and ends with `__EXIT=<code>__`. Exit status 3 means
/// a prompt never came.
pub const PTY_DRIVER: &str = r#"
import fcntl, json, os, pty, re, select, signal, struct, sys, termios, time
steps = json.loads(sys.argv[1])
argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    os.environ["TERM"] = "xterm"
    os.environ["RUST_BACKTRACE"] = "0"
    os.execvp(argv[0], argv)
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
buf = b""
done = False
def pump(timeout):
    global buf, done
    if done:
        time.sleep(timeout)
        return
    ready, _, _ = select.select([fd], [], [], timeout)
    if ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data:
            buf += data
        else:
            done = True
def text():
    return ANSI.sub("", buf.decode("utf-8", "replace"))
def give_up(message, status):
    os.kill(pid, signal.SIGKILL)
    sys.stdout.write(text() + "\n" + message + "\n")
    sys.exit(status)
mark = None
for prompt, answer in steps:
    deadline = time.time() + 60
    while not ((mark is None or b"\n" in buf[mark:]) and re.split(r"[\r\n]", text())[-1].rstrip().endswith(prompt.rstrip())):
        if done or time.time() > deadline:
            give_up("__NO_PROMPT__ " + prompt, 3)
        pump(0.05)
    # A secret prompt (every one says "password") turns echo off with TCSAFLUSH, which drops
    # input typed before: wait for it.
    while "password" in prompt.lower() and termios.tcgetattr(fd)[3] & termios.ECHO:
        if done or time.time() > deadline:
            give_up("__ECHO_STAYED_ON__ " + prompt, 3)
        pump(0.01)
    mark = len(buf)
    os.write(fd, answer.encode() + b"\r")
deadline = time.time() + 120
while not done:
    if time.time() > deadline:
        give_up("__TIMEOUT__", 4)
    pump(0.1)
_, status = os.waitpid(pid, 0)
sys.stdout.write(text() + "\n__EXIT=%d__\n" % os.waitstatus_to_exitcode(status))
"#;

/// A small seeded random number generator (xorshift64*) for tests that pick random points:
/// the seed comes from `env` when set, else from the clock, and is printed so that a failure can
/// be replayed with `env=<seed>`.
pub struct SeededRng(u64);

impl SeededRng {
    /// Seeded from the variable `env` when set, else from the clock (printed, to replay a run).
    pub fn from_env(env: &str) -> SeededRng {
        let seed = std::env::var(env).ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
        println!("random seed: {env}={seed}");
        eprintln!("random seed: {env}={seed}");
        SeededRng(seed.max(1))
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
    }
}

impl Node {
    /// The process id (for tests that signal the node themselves).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A TLS stream to a node (rustls, blocking), for bytes reqwest cannot send.
pub type RawTls = rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>;

/// A TLS connection to `localhost:port` trusting `ca_pem`, offering `alpn`, with a 15 s read
/// timeout; the handshake is done.
pub fn tls_connect(port: u16, ca_pem: &[u8], alpn: &[&[u8]]) -> RawTls {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(c.expect("CA PEM")).expect("CA");
    }
    let mut cfg = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(cfg), name).expect("client");
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
    let mut s = rustls::StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).expect("TLS handshake");
    }
    s
}

/// One raw HTTP/1.1 exchange over TLS: sends `request` as is (it should say `Connection: close`)
/// and reads until the server closes (at most 1 MiB, 15 s per read). Gives (status, head, body)
/// with a chunked body decoded, or `Err` describing a connection closed without an answer.
pub fn raw_https(port: u16, ca_pem: &[u8], request: &[u8]) -> Result<(u16, String, Vec<u8>), String> {
    use std::io::{Read, Write};
    let mut s = tls_connect(port, ca_pem, &[b"http/1.1"]);
    s.write_all(request).map_err(|e| format!("write: {e}"))?;
    let mut all = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while all.len() < (1 << 20) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            // A close without close_notify still ends the answer.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(format!("read after {} bytes: {e}", all.len())),
        }
    }
    let end = all.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| {
        format!("no response head in {} bytes: {:?}", all.len(), String::from_utf8_lossy(&all))
    })?;
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("no status")?;
    let mut body = all[end + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size_text = String::from_utf8_lossy(&rest[..eol]);
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| "bad chunk size")?;
            rest = &rest[eol + 2..];
            if size == 0 || rest.len() < size {
                break;
            }
            decoded.extend_from_slice(&rest[..size]);
            rest = rest.get(size + 2..).unwrap_or_default();
        }
        body = decoded;
    }
    Ok((status, head, body))
}
