//! What the console tests share: a console process on its own home, a browser stand-in that keeps
//! cookies by hand and follows no redirects, and a console enrolled with `elastic` logged in.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bulwark_console::session::{Sealer, Session};
use bulwark_keystore::Keystore;
use bulwark_testkit::{Started, TestHome, command, run};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// A console process on its own home; killed when dropped.
pub struct Console {
    pub child: Child,
    pub home: PathBuf,
    pub out: PathBuf,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn console_cmd(home: &Path) -> Command {
    let mut c = command(home);
    c.arg("console");
    c.env_remove("BULWARK_CONSOLE_HOME");
    c
}

impl Console {
    pub fn start(home: &Path, extra: &[&str]) -> Console {
        std::fs::create_dir_all(home).unwrap();
        let out = home.with_extension("stdout");
        let file = std::fs::File::create(&out).unwrap();
        let err = file.try_clone().unwrap();
        let child = console_cmd(home)
            .arg("start")
            .args(["-E", "server.port=0", "-E", "server.portsfile=true", "-E", "server.host=127.0.0.1"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap();
        Console { child, home: home.to_path_buf(), out }
    }

    /// The bound address, once the ports file exists.
    pub fn addr(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(t) = std::fs::read_to_string(self.home.join("logs/console.ports"))
                && !t.trim().is_empty()
            {
                return t.trim().to_owned();
            }
            if let Ok(Some(s)) = self.child.try_wait() {
                panic!("console exited with {s}: {}", self.output());
            }
            assert!(Instant::now() < deadline, "console did not start: {}", self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// A browser-like client trusting the console's generated certificate.
    pub fn browser(&mut self) -> Browser {
        let addr = self.addr();
        let pem = std::fs::read(self.home.join("data/tls/console.crt")).unwrap();
        let certs = reqwest::Certificate::from_pem_bundle(&pem).unwrap();
        let client = reqwest::blocking::Client::builder()
            .tls_certs_only(certs)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Browser { client, base: format!("https://{addr}"), cookies: Vec::new() }
    }
}

/// A response as a test sees it.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }

    /// The value of the hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}

pub const FORM: &str = "application/x-www-form-urlencoded";

/// An urlencoded form body.
pub fn encode(form: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// Cookies kept by hand (name, value), as a browser would.
pub struct Browser {
    pub client: reqwest::blocking::Client,
    pub base: String,
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn send(&mut self, r: reqwest::blocking::RequestBuilder) -> Page {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let r = if cookie.is_empty() { r } else { r.header("cookie", cookie) };
        let resp = r.send().unwrap();
        let page =
            Page { status: resp.status().as_u16(), headers: resp.headers().clone(), body: String::new() };
        let body = resp.text().unwrap_or_default();
        let page = Page { body, ..page };
        for c in page.set_cookies() {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.is_empty() && !c.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        page
    }

    pub fn get(&mut self, path: &str) -> Page {
        let r = self.client.get(format!("{}{path}", self.base));
        self.send(r)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let r =
            self.client.post(format!("{}{path}", self.base)).header("content-type", FORM).body(encode(form));
        self.send(r)
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

pub fn token_of(home: &TestHome) -> String {
    home.bootstrap_credentials().unwrap()["ENROLLMENT_TOKEN"].clone()
}

pub fn node_get(s: &Started, path: &str) -> Value {
    let (status, _, body) = s.client.get(path, Some(("elastic", &s.password))).unwrap();
    assert_eq!(status, 200, "{path}: {body:?}");
    body
}

/// A console enrolled from the shell, with `elastic` logged in.
pub fn logged_in(home: &TestHome, started: &Started) -> (Console, Browser) {
    let chome = home.path().with_file_name("console");
    let (rc, out, err) = run(console_cmd(&chome).args(["setup", "--enrollment-token", &token_of(home)]));
    assert_eq!(rc, 0, "{out}{err}");
    let mut console = Console::start(&chome, &[]);
    let mut b = console.browser();
    let csrf = b.get("/login").csrf();
    let p = b.post("/login", &[("csrf", &csrf), ("username", "elastic"), ("password", &started.password)]);
    assert_eq!(p.status, 303, "{}", p.body);
    (console, b)
}

pub const ENCRYPTION_KEY: &str = "xpack.security.encryptionKey";

pub fn keystore_path(chome: &Path) -> PathBuf {
    chome.join("config/console.keystore")
}

/// The console keystore (unprotected, as the console makes it), or a new one.
pub fn keystore(chome: &Path) -> Keystore {
    let path = keystore_path(chome);
    if Keystore::exists(&path) {
        Keystore::load(&path, &SecretString::from("")).unwrap()
    } else {
        Keystore::new().unwrap()
    }
}

/// The session a cookie holds, opened with the console's own key from its keystore.
pub fn session_of(chome: &Path, cookie: &str) -> Session {
    let key = keystore(chome).get_string(ENCRYPTION_KEY).expect("the console's encryption key");
    let day = Duration::from_secs(86_400);
    let now = bulwark_console::session::now();
    Sealer::new(&key).unwrap().open_session(cookie, day, day, now).unwrap_or_else(|_| panic!("a session"))
}

/// `GET path` on the node with `Authorization: Bearer <the session's access token>`: status and
/// body.
pub fn as_session(s: &Started, session: &Session, path: &str) -> (u16, Value) {
    let access = session.tokens().access_token();
    let auth = format!("Bearer {}", access.expose_secret());
    let (status, _, body) = s.client.call_with("GET", path, &auth, &[], None).unwrap();
    (status, body)
}

/// Invalidates one of a session's tokens on the node as `elastic` (`token` or `refresh_token`):
/// the node's answer.
pub fn invalidate_token(s: &Started, field: &str, token: &SecretString) -> Value {
    let body = serde_json::json!({ field: token.expose_secret() });
    let (status, body) =
        s.client.call("DELETE", "/_security/oauth2/token", ("elastic", &s.password), Some(&body)).unwrap();
    assert!(status == 200 || status == 404, "{status} {body}");
    body
}
