//! The console's session and setup rules that `console.rs` does not show, on a real node and a
//! real console over real TLS: `xpack.security.encryptionKey` generated when absent and refused
//! when shorter than 32 characters; a fresh session id at each login (logging in again ends the
//! session the browser held, and a cookie from before logout stays refused); setup (browser form
//! and `console setup`) refused on a home whose keystore already holds a service token or whose
//! settings already name hosts, and `console start` refusing a home with only one of the two; the
//! session's token pair refreshed once when the node refuses its access token (also by requests
//! racing each other) or before it expires.

use std::path::Path;
use std::time::Duration;

use bulwark_console::session::SESSION_COOKIE;
use bulwark_testkit::{Started, TestHome, run, start_fresh};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

#[path = "console/kit.rs"]
#[allow(dead_code)]
mod kit;
use kit::{
    Browser, Console, ENCRYPTION_KEY, as_session, console_cmd, keystore, keystore_path, node_get, session_of,
    token_of,
};

const SERVICE_TOKEN: &str = "elasticsearch.serviceAccountToken";

fn set_entry(chome: &Path, name: &str, value: &str) {
    std::fs::create_dir_all(chome.join("config")).unwrap();
    let mut ks = keystore(chome);
    ks.set(name, Zeroizing::new(value.as_bytes().to_vec())).unwrap();
    ks.save(&keystore_path(chome), &SecretString::from("")).unwrap();
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
fn a_fresh_session_at_each_login_with_its_own_tokens() {
    let home = TestHome::new();
    let started = start_fresh(&home, &[]);
    let (mut console, mut a) = kit::logged_in(&home, &started);
    let chome = console.home.clone();
    let first = a.cookie(SESSION_COOKIE).unwrap();
    let s1 = session_of(&chome, &first);
    assert_eq!(s1.user, "elastic");
    // Logging in from another browser, or again from one that still holds a session: a new id
    // each time, and a new token pair from the node.
    let mut other = console.browser();
    let second = login(&mut other, "elastic", &started.password);
    let s2 = session_of(&chome, &second);
    let third = login(&mut a, "elastic", &started.password);
    let s3 = session_of(&chome, &third);
    let access = |s: &bulwark_console::session::Session| s.tokens().access_token().expose_secret().to_owned();
    let refresh =
        |s: &bulwark_console::session::Session| s.tokens().refresh_token().expose_secret().to_owned();
    for (x, y) in [(&s1, &s2), (&s1, &s3), (&s2, &s3)] {
        assert_ne!(x.sid, y.sid, "a session id was reused");
        assert_ne!(access(x), access(y), "an access token was reused");
        assert_ne!(refresh(x), refresh(y), "a refresh token was reused");
        assert_ne!(x.csrf, y.csrf, "a form token was reused");
    }
    // Logging in again ended the session the browser held, here and on the node; the other
    // browser's session goes on.
    assert_eq!(with_cookie(&mut a, &first), (303, "/login?reason=invalid".into()));
    assert_eq!(as_session(&started, &s1, "/_security/_authenticate").0, 401);
    assert_eq!(as_session(&started, &s2, "/_security/_authenticate").0, 200);
    assert_eq!(with_cookie(&mut a, &second).0, 200);
    assert_eq!(with_cookie(&mut a, &third).0, 200);
    // Logging out ends that session only: the others have their own ids and tokens.
    let csrf = a.get("/app/overview").csrf();
    let p = a.post("/app/logout", &[("csrf", &csrf)]);
    assert_eq!(p.location(), "/login?reason=logout");
    assert_eq!(with_cookie(&mut a, &third), (303, "/login?reason=invalid".into()));
    assert_eq!(as_session(&started, &s3, "/_security/_authenticate").0, 401);
    assert_eq!(with_cookie(&mut a, &second).0, 200);
    // Logged in again: the new session works, the cookie from before logout stays refused.
    let fourth = login(&mut a, "elastic", &started.password);
    let s4 = session_of(&chome, &fourth);
    assert!(s4.sid != s3.sid && s4.sid != s1.sid && s4.sid != s2.sid);
    assert_eq!(with_cookie(&mut a, &fourth).0, 200);
    assert_eq!(with_cookie(&mut a, &third), (303, "/login?reason=invalid".into()));
}

/// The overview with exactly `cookie` as the session, from a thread of its own: status and the
/// session cookie the console sent back.
fn overview_with(b: &Browser, cookie: &str) -> (u16, String) {
    let r = b
        .client
        .get(format!("{}/app/overview", b.base))
        .header("cookie", format!("{SESSION_COOKIE}={cookie}"))
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let sent = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.strip_prefix(&format!("{SESSION_COOKIE}="))?.split(';').next())
        .map(str::to_owned)
        .next()
        .unwrap_or_default();
    (status, sent)
}

#[test]
fn an_expired_access_token_is_refreshed_once_even_by_concurrent_requests() {
    let home = TestHome::new();
    let started = start_fresh(&home, &[]);
    let (console, b) = kit::logged_in(&home, &started);
    let chome = console.home.clone();
    let c0 = b.cookie(SESSION_COOKIE).unwrap();
    let s0 = session_of(&chome, &c0);
    assert_eq!(s0.tokens().generation, 0);
    // The node refuses the session's access token from now on ("token expired", as for one past
    // its `expires_in`): four requests of the same browser at once, all with that cookie.
    kit::invalidate_token(&started, "token", &s0.tokens().access_token());
    assert_eq!(as_session(&started, &s0, "/_security/_authenticate").0, 401);
    let answers: Vec<(u16, String)> = std::thread::scope(|scope| {
        let running: Vec<_> = (0..4).map(|_| scope.spawn(|| overview_with(&b, &c0))).collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    // Each page was shown, and each came back with the same new pair: one refresh, since the
    // refresh token is single use and a second refresh would have been refused.
    let sessions: Vec<_> = answers
        .iter()
        .map(|(status, cookie)| {
            assert_eq!(*status, 200, "{answers:?}");
            session_of(&chome, cookie)
        })
        .collect();
    let newest = sessions[0].tokens().access_token().expose_secret().to_owned();
    for s in &sessions {
        assert_eq!((s.sid.as_str(), s.tokens().generation), (s0.sid.as_str(), 1));
        assert_eq!(s.tokens().access_token().expose_secret(), newest);
    }
    let (status, me) = as_session(&started, &sessions[0], "/_security/_authenticate");
    assert_eq!((status, me["username"].as_str()), (200, Some("elastic")), "{me}");
    // A browser that kept the old cookie (a slower response set it last) still gets the newest
    // pair, without spending a refresh token again.
    let (status, again) = overview_with(&b, &c0);
    assert_eq!(status, 200);
    let again = session_of(&chome, &again);
    assert_eq!(
        (again.tokens().generation, again.tokens().access_token().expose_secret()),
        (1, newest.as_str())
    );
    // Access and refresh token both refused by the node: the session is over, log in again.
    let s1 = &sessions[0];
    kit::invalidate_token(&started, "token", &s1.tokens().access_token());
    kit::invalidate_token(&started, "refresh_token", &s1.tokens().refresh_token());
    let (status, _) = overview_with(&b, &answers[0].1);
    assert_eq!(status, 303);
}

#[test]
fn an_access_token_near_its_expiry_is_refreshed_before_the_request() {
    // Access tokens of four seconds: the console refreshes one in the second half of its life,
    // before asking the node, so the node never sees the expired token.
    let home = TestHome::new();
    let started = start_fresh(&home, &["-E", "xpack.security.authc.token.timeout=4s"]);
    let (console, b) = kit::logged_in(&home, &started);
    let c0 = b.cookie(SESSION_COOKIE).unwrap();
    let s0 = session_of(&console.home, &c0);
    assert_eq!(s0.tokens().expires - s0.tokens().issued, 4000);
    // Waiting for time to pass (the token's own clock), not for a process.
    std::thread::sleep(Duration::from_millis(2100));
    let (status, c1) = overview_with(&b, &c0);
    assert_eq!(status, 200);
    let s1 = session_of(&console.home, &c1);
    // (One refresh, or more if the page took longer than two seconds on a busy machine.)
    assert!(s1.tokens().generation >= 1);
    // Refreshed before the old token expired: the node never refused a token of this session.
    let audit = std::fs::read_to_string(home.path().join("logs/audit.json")).unwrap();
    assert!(!audit.contains("authentication_failed"), "{audit}");
}

/// The console's pages, each opened once.
const PAGES: &[&str] = &[
    "/app/overview",
    "/app/search?index=logs-*",
    "/app/users",
    "/app/roles",
    "/app/role_mappings",
    "/app/api_keys",
    "/app/service_tokens",
    "/app/monitoring",
    "/app/monitoring/chart.svg?metric=memory",
    "/app/audit",
];

/// The node's audit log as JSON objects.
fn audit_events(home: &TestHome) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(home.path().join("logs/audit.json")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

fn field<'a>(e: &'a serde_json::Value, name: &str) -> &'a str {
    e[name].as_str().unwrap_or_default()
}

#[test]
fn own_api_keys_as_the_user_and_the_service_token_only_for_the_console() {
    let home = TestHome::new();
    let started = start_fresh(&home, &[]);
    let admin = ("elastic", started.password.as_str());
    // kim may manage her own API keys (not `manage_api_key`) and read logs-*.
    let role = serde_json::json!({"cluster": ["manage_own_api_key"], "indices": [{"names": ["logs-*"], "privileges": ["read"]}]});
    assert_eq!(started.client.call("PUT", "/_security/role/own_keys", admin, Some(&role)).unwrap().0, 200);
    let user = serde_json::json!({"password": "kim-password-1", "roles": ["own_keys"]});
    assert_eq!(started.client.call("PUT", "/_security/user/kim", admin, Some(&user)).unwrap().0, 200);
    let (status, theirs) = started
        .client
        .call("POST", "/_security/api_key", admin, Some(&serde_json::json!({"name": "elastic-key"})))
        .unwrap();
    assert_eq!(status, 200, "{theirs}");
    let their_id = theirs["id"].as_str().unwrap().to_owned();

    let chome = home.path().with_file_name("console");
    let (rc, out, err) = run(console_cmd(&chome).args(["setup", "--enrollment-token", &token_of(&home)]));
    assert_eq!(rc, 0, "{out}{err}");
    let mut console = Console::start(&chome, &[]);
    let mut b = console.browser();
    login(&mut b, "kim", "kim-password-1");
    // Every page, as kim: what the node lets her see, or the node's refusal; never the login page.
    for page in PAGES {
        let p = b.get(page);
        assert!(p.status == 200 || p.status == 403, "{page}: {} {}", p.status, p.body);
    }
    // Her API keys: listed (only hers), created without a password, invalidated.
    let list = b.get("/app/api_keys");
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(!list.body.contains("elastic-key") && !list.body.contains("type=\"password\""), "{}", list.body);
    let csrf = list.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "kim-key"),
        ("expiration", ""),
        ("indices", "logs-*"),
        ("privileges", "read"),
    ];
    let p = b.post("/app/api_keys", &form);
    assert_eq!(p.status, 200, "{} {}", p.location(), p.body);
    assert!(p.body.contains("id=\"new-api-key\"") && p.body.contains("kim-key"), "{}", p.body);
    let k = node_get(&started, "/_security/api_key?name=kim-key");
    let key = &k["api_keys"][0];
    assert_eq!((key["username"].as_str(), key["invalidated"].as_bool()), (Some("kim"), Some(false)), "{k}");
    let kim_id = key["id"].as_str().unwrap().to_owned();
    let p = b.post("/app/api_keys/invalidate", &[("csrf", &csrf), ("id", &kim_id)]);
    assert!(p.location().starts_with("/app/api_keys?ok="), "{}", p.location());
    assert_eq!(
        node_get(&started, &format!("/_security/api_key?id={kim_id}"))["api_keys"][0]["invalidated"],
        true
    );
    // Someone else's key, asked for by hand: nothing invalidated, and the page says so.
    let p = b.post("/app/api_keys/invalidate", &[("csrf", &csrf), ("id", &their_id)]);
    assert!(p.location().starts_with("/app/api_keys?error="), "{}", p.location());
    assert!(b.get(p.location()).body.contains("not one of your active keys"));
    assert_eq!(
        node_get(&started, &format!("/_security/api_key?id={their_id}"))["api_keys"][0]["invalidated"],
        false
    );
    let p = b.post("/app/logout", &[("csrf", &csrf)]);
    assert_eq!(p.location(), "/login?reason=logout");

    // The node's audit log: every decision on a request of kim's was made on her token; the
    // service account (`elastic/kibana`) appears only where the console acts for itself — tokens
    // made, refreshed and invalidated, and `_nodes/stats` sampled.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let events = loop {
        let events = audit_events(&home);
        let invalidations = events
            .iter()
            .filter(|e| field(e, "user.name") == "elastic/kibana" && field(e, "request.method") == "DELETE")
            .count();
        if invalidations >= 2 || std::time::Instant::now() > deadline {
            break events;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let decided =
        |e: &&serde_json::Value| matches!(field(e, "event.action"), "access_granted" | "access_denied");
    let kims: Vec<&serde_json::Value> =
        events.iter().filter(decided).filter(|e| field(e, "user.name") == "kim").collect();
    for e in &kims {
        assert_eq!(field(e, "authentication.type"), "TOKEN", "{e}");
    }
    for (method, path) in [
        ("POST", "/_security/user/_has_privileges"),
        ("GET", "/_cluster/health"),
        ("GET", "/_security/user"),
        ("GET", "/_security/role"),
        ("GET", "/_security/api_key"),
        ("POST", "/_security/api_key"),
        ("DELETE", "/_security/api_key"),
        ("GET", "/_bulwark/audit"),
        ("POST", "/logs-*/_search"),
    ] {
        assert!(
            kims.iter().any(|e| field(e, "request.method") == method && field(e, "url.path") == path),
            "no request of kim's for {method} {path}: {kims:#?}"
        );
    }
    let console_own = ["/_security/oauth2/token", "/_nodes/stats/process,indices"];
    let service: Vec<&serde_json::Value> =
        events.iter().filter(decided).filter(|e| field(e, "user.name") == "elastic/kibana").collect();
    for e in &service {
        assert!(console_own.contains(&field(e, "url.path")), "the service account was used for: {e}");
    }
    for method in ["POST", "DELETE"] {
        assert!(
            service
                .iter()
                .any(|e| field(e, "request.method") == method && field(e, "url.path") == console_own[0]),
            "no {method} {}: {service:#?}",
            console_own[0]
        );
    }
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
