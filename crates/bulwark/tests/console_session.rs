//! The console's session and setup rules that `console.rs` does not show, on a real node and a
//! real console over real TLS: `xpack.security.encryptionKey` generated when absent and refused
//! when shorter than 32 characters; a fresh session id at each login (logging in again ends the
//! session the browser held, and a cookie from before logout stays refused); setup (browser form
//! and `console setup`) refused on a home whose keystore already holds a service token or whose
//! settings already name hosts, and `console start` refusing a home with only one of the two; and
//! the API keys page, which does not offer to invalidate the session's own key.

use std::path::Path;
use std::time::Duration;

use bulwark_console::session::{SESSION_COOKIE, Sealer, Session};
use bulwark_keystore::Keystore;
use bulwark_testkit::{Started, TestHome, run, start_fresh};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

#[path = "console/kit.rs"]
#[allow(dead_code)]
mod kit;
use kit::{Browser, Console, console_cmd, node_get, token_of};

const ENCRYPTION_KEY: &str = "xpack.security.encryptionKey";
const SERVICE_TOKEN: &str = "elasticsearch.serviceAccountToken";

fn keystore_path(chome: &Path) -> std::path::PathBuf {
    chome.join("config/console.keystore")
}

/// The console keystore (unprotected, as the console makes it), or a new one.
fn keystore(chome: &Path) -> Keystore {
    let path = keystore_path(chome);
    if Keystore::exists(&path) {
        Keystore::load(&path, &SecretString::from("")).unwrap()
    } else {
        Keystore::new().unwrap()
    }
}

fn set_entry(chome: &Path, name: &str, value: &str) {
    std::fs::create_dir_all(chome.join("config")).unwrap();
    let mut ks = keystore(chome);
    ks.set(name, Zeroizing::new(value.as_bytes().to_vec())).unwrap();
    ks.save(&keystore_path(chome), &SecretString::from("")).unwrap();
}

/// The session a cookie holds, opened with the console's own key from its keystore.
fn session_of(chome: &Path, cookie: &str) -> Session {
    let key = keystore(chome).get_string(ENCRYPTION_KEY).expect("the console's encryption key");
    let day = Duration::from_secs(86_400);
    let now = bulwark_console::session::now();
    Sealer::new(&key).unwrap().open_session(cookie, day, day, now).unwrap_or_else(|_| panic!("a session"))
}

fn login(b: &mut Browser, user: &str, password: &str) -> String {
    let csrf = b.get("/login").csrf();
    let p = b.post("/login", &[("csrf", &csrf), ("username", user), ("password", password)]);
    assert_eq!((p.status, p.location()), (303, "/app/overview"), "{}", p.body);
    b.cookie(SESSION_COOKIE).expect("a session cookie")
}

/// The overview with exactly `cookie` as the session: its status and location.
fn with_cookie(b: &mut Browser, cookie: &str) -> (u16, String) {
    let saved = std::mem::take(&mut b.cookies);
    b.cookies.push((SESSION_COOKIE.into(), cookie.to_owned()));
    let p = b.get("/app/overview");
    b.cookies = saved;
    (p.status, p.location().to_owned())
}

#[test]
fn the_encryption_key_is_generated_and_a_short_one_refused() {
    let dir = TestHome::new();
    let chome = dir.path().with_file_name("console");
    // Absent: generated into the console keystore on the first start, long enough.
    let mut console = Console::start(&chome, &[]);
    console.addr();
    let key = keystore(&chome).get_string(ENCRYPTION_KEY).expect("a generated key");
    assert!(key.expose_secret().len() >= 32, "{} characters", key.expose_secret().len());
    drop(console);
    // 31 characters: the console does not start, and says which setting and why.
    let _ = std::fs::remove_file(chome.join("logs/console.ports"));
    set_entry(&chome, ENCRYPTION_KEY, &"k".repeat(31));
    let (rc, out, err) =
        run(console_cmd(&chome).args(["start", "-E", "server.port=0", "-E", "server.portsfile=true"]));
    assert_eq!(rc, 78, "{out}{err}");
    assert!(err.contains(ENCRYPTION_KEY) && err.contains("at least 32 characters"), "{err}");
    assert!(!chome.join("logs/console.ports").exists(), "it listened");
    // Exactly 32: accepted, and kept as given (not replaced by a generated one).
    set_entry(&chome, ENCRYPTION_KEY, &"k".repeat(32));
    let mut console = Console::start(&chome, &[]);
    console.addr();
    let key = keystore(&chome).get_string(ENCRYPTION_KEY).unwrap();
    assert_eq!(key.expose_secret(), "k".repeat(32));
}

#[test]
fn a_fresh_session_at_each_login_and_the_session_key_kept_from_invalidate() {
    let home = TestHome::new();
    let started = start_fresh(&home, &[]);
    let (mut console, mut a) = kit::logged_in(&home, &started);
    let chome = console.home.clone();
    let first = a.cookie(SESSION_COOKIE).unwrap();
    let s1 = session_of(&chome, &first);
    assert_eq!(s1.user, "elastic");
    // Logging in from another browser, or again from one that still holds a session: a new id
    // each time, and a new key on the node.
    let mut other = console.browser();
    let second = login(&mut other, "elastic", &started.password);
    let s2 = session_of(&chome, &second);
    let third = login(&mut a, "elastic", &started.password);
    let s3 = session_of(&chome, &third);
    for (x, y) in [(&s1, &s2), (&s1, &s3), (&s2, &s3)] {
        assert_ne!(x.sid, y.sid, "a session id was reused");
        assert_ne!(x.key_id, y.key_id, "a session key was reused");
        assert_ne!(x.csrf, y.csrf, "a form token was reused");
    }
    // Logging in again ended the session the browser held, here and on the node; the other
    // browser's session goes on.
    assert_eq!(with_cookie(&mut a, &first), (303, "/login?reason=invalid".into()));
    let key = |id: &str| node_get(&started, &format!("/_security/api_key?id={id}"))["api_keys"][0].clone();
    assert_eq!(key(&s1.key_id)["invalidated"], true);
    assert_eq!(with_cookie(&mut a, &second).0, 200);
    assert_eq!(with_cookie(&mut a, &third).0, 200);
    // Logging out ends that session only: the others have their own ids.
    let csrf = a.get("/app/overview").csrf();
    let p = a.post("/app/logout", &[("csrf", &csrf)]);
    assert_eq!(p.location(), "/login?reason=logout");
    assert_eq!(with_cookie(&mut a, &third), (303, "/login?reason=invalid".into()));
    assert_eq!(with_cookie(&mut a, &second).0, 200);
    // Logged in again: the new session works, the cookie from before logout stays refused.
    let fourth = login(&mut a, "elastic", &started.password);
    let s4 = session_of(&chome, &fourth);
    assert!(s4.sid != s3.sid && s4.sid != s1.sid && s4.sid != s2.sid);
    assert_eq!(with_cookie(&mut a, &fourth).0, 200);
    assert_eq!(with_cookie(&mut a, &third), (303, "/login?reason=invalid".into()));

    // The API keys page: the session's own key is marked, with no "Invalidate"; the user's
    // other sessions' keys can be invalidated.
    let page = other.get("/app/api_keys");
    assert_eq!(page.status, 200, "{}", page.body);
    let row = |id: &str| {
        let at =
            page.body.find(&format!("<code>{id}</code>")).unwrap_or_else(|| panic!("{id}: {}", page.body));
        page.body[at..].split("</tr>").next().unwrap().to_owned()
    };
    let own = row(&s2.key_id);
    assert!(own.contains("This session's key") && !own.contains("Invalidate"), "{own}");
    let theirs = row(&s4.key_id);
    assert!(theirs.contains("Invalidate") && !theirs.contains("This session"), "{theirs}");
    // Asked anyway (a hand-made form): refused, nothing invalidated, the session goes on.
    let csrf = page.csrf();
    let p = other.post("/app/api_keys/invalidate", &[("csrf", &csrf), ("id", &s2.key_id)]);
    assert!(p.location().starts_with("/app/api_keys?error="), "{}", p.location());
    let shown = other.get(p.location());
    assert!(shown.body.contains("log out to end it"), "{}", shown.body);
    assert_eq!(key(&s2.key_id)["invalidated"], false);
    assert_eq!(other.get("/app/overview").status, 200);
    // Another session's key: invalidated, and that session ends.
    let p = other.post("/app/api_keys/invalidate", &[("csrf", &csrf), ("id", &s4.key_id)]);
    assert!(p.location().starts_with("/app/api_keys?ok="), "{}", p.location());
    assert_eq!(key(&s4.key_id)["invalidated"], true);
    assert_eq!(with_cookie(&mut a, &fourth), (303, "/login?reason=invalid".into()));
    assert_eq!(other.get("/app/overview").status, 200);
}

/// How many tokens the node's `elastic/kibana` service account has (enrollment makes one).
fn kibana_tokens(s: &Started) -> u64 {
    node_get(s, "/_security/service/elastic/kibana/credential")["count"].as_u64().unwrap()
}

#[test]
fn setup_refuses_a_home_with_a_service_token_or_hosts() {
    let home = TestHome::new();
    let started = start_fresh(&home, &[]);
    let token = token_of(&home);
    let tokens = kibana_tokens(&started);

    // The keystore already holds a service token (no hosts yet).
    let chome = home.path().with_file_name("console");
    set_entry(&chome, SERVICE_TOKEN, "a-token-put-there-by-hand");
    let (rc, out, err) = run(console_cmd(&chome).args(["setup", "--enrollment-token", &token]));
    assert_eq!(rc, 78, "{out}{err}");
    assert!(err.contains("already configured") && err.contains(SERVICE_TOKEN), "{err}");
    // Credentials without a node: the console does not start, so it offers no setup form.
    let (rc, out, err) = run(console_cmd(&chome).args(["start", "-E", "server.port=0"]));
    assert_eq!(rc, 78, "{out}{err}");
    assert!(err.contains(SERVICE_TOKEN) && err.contains("[elasticsearch.hosts] is not set"), "{err}");
    assert!(err.contains("remove the console keystore"), "{err}");
    assert!(!out.contains("setup?code="), "{out}");
    assert!(!chome.join("config/console.yml").exists());
    assert!(!chome.join("data/node_http_ca.crt").exists());
    let kept = keystore(&chome).get_string(SERVICE_TOKEN).unwrap();
    assert_eq!(kept.expose_secret(), "a-token-put-there-by-hand");
    assert_eq!(kibana_tokens(&started), tokens, "the node was asked for a service token");

    // Hosts already set (in console.yml, or with -E), no service token: `setup` refuses, and the
    // console does not start (so there is no form), naming what is missing.
    let chome = home.path().with_file_name("console2");
    std::fs::create_dir_all(chome.join("config")).unwrap();
    let host = format!("https://127.0.0.1:{}", started.port);
    std::fs::write(chome.join("config/console.yml"), format!("elasticsearch.hosts: ['{host}']\n")).unwrap();
    let (rc, out, err) = run(console_cmd(&chome).args(["setup", "--enrollment-token", &token]));
    assert_eq!(rc, 78, "{out}{err}");
    assert!(err.contains("already configured") && err.contains("[elasticsearch.hosts] is set"), "{err}");
    let (rc, out, err) = run(console_cmd(&chome).args(["start", "-E", "server.port=0"]));
    assert_eq!(rc, 78, "{out}{err}");
    assert!(err.contains("[elasticsearch.hosts] is set") && err.contains(SERVICE_TOKEN), "{err}");
    assert!(!out.contains("setup?code="), "{out}");
    let chome = home.path().with_file_name("console3");
    let (rc, out, err) = run(console_cmd(&chome).args([
        "setup",
        "-E",
        &format!("elasticsearch.hosts={host}"),
        "--enrollment-token",
        &token,
    ]));
    assert_eq!(rc, 78, "{out}{err}");
    assert!(err.contains("[elasticsearch.hosts] is set"), "{err}");
    assert!(!keystore_path(&chome).exists() || keystore(&chome).get_string(SERVICE_TOKEN).is_none());
    assert_eq!(kibana_tokens(&started), tokens, "the node was asked for a service token");

    // A console waiting with its setup form while `console setup` configures its home: the form,
    // with the right code and token, is refused before anything is sent. The refusals above spent
    // nothing: the same token enrolls.
    let chome = home.path().with_file_name("console4");
    let mut console = Console::start(&chome, &[]);
    let mut b = console.browser();
    let out = console.output();
    let code = out.split("/setup?code=").nth(1).expect("a setup link").chars().take(6).collect::<String>();
    let csrf = b.get(&format!("/setup?code={code}")).csrf();
    let (rc, out, err) = run(console_cmd(&chome).args(["setup", "--enrollment-token", &token]));
    assert_eq!(rc, 0, "{out}{err}");
    assert_eq!(kibana_tokens(&started), tokens + 1);
    let enrolled = keystore(&chome).get_string(SERVICE_TOKEN).unwrap();
    let p = b.post("/setup", &[("csrf", &csrf), ("code", &code), ("token", &token)]);
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("already configured") && p.body.contains(SERVICE_TOKEN), "{}", p.body);
    assert_eq!(kibana_tokens(&started), tokens + 1, "the form asked the node for another token");
    let kept = keystore(&chome).get_string(SERVICE_TOKEN).unwrap();
    assert_eq!(kept.expose_secret(), enrolled.expose_secret());
}
