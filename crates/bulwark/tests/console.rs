//! `bulwark console` end to end on a real node over real TLS: interactive setup (verification
//! code, enrollment token, CSRF), detached setup and its refusals (malformed token, wrong
//! fingerprint, already configured), login with a node user, the session cookie (flags,
//! tampering refused, idle timeout), the security headers, and logout ending the session on the
//! node too.

//! The fresh session id, the encryption key's length, setup refusals on a half-configured home,
//! token refreshes and the API keys page of a user with `manage_own_api_key`: `console_session.rs`.

use std::process::Command;
use std::time::{Duration, Instant};

use bulwark_security::enrollment::EnrollmentToken;
use bulwark_testkit::{TestHome, run, start_fresh};
use secrecy::SecretString;
use serde_json::Value;

#[path = "console/kit.rs"]
#[allow(dead_code)]
mod kit;
use kit::{Browser, Console, FORM, console_cmd, encode, logged_in, node_get, token_of};

#[test]
fn interactive_setup_login_session_and_logout() {
    let home = TestHome::new();
    let started = start_fresh(&home, &[]);
    let chome = home.path().with_file_name("console");
    let mut console = Console::start(&chome, &[]);
    let mut b = console.browser();
    // The code is printed once in a link, and `verification-code` prints it again.
    let out = console.output();
    let code = out.split("/setup?code=").nth(1).expect("a setup link").chars().take(6).collect::<String>();
    let (rc, again, err) = run(console_cmd(&chome).arg("verification-code"));
    assert_eq!(rc, 0, "{err}");
    assert_eq!(again.trim().replace(' ', "").rsplit(':').next().unwrap(), code, "{again}");
    // The home may come from $BULWARK_CONSOLE_HOME; without it, it is ./bulwark-console-home.
    let bare = || {
        let mut c = Command::new(bulwark_testkit::binary());
        c.args(["--allow-root", "console", "verification-code"]).env_remove("BULWARK_HOME");
        c.current_dir(home.path().parent().unwrap());
        c
    };
    let (rc, again, err) = run(bare().env("BULWARK_CONSOLE_HOME", &chome));
    assert_eq!(rc, 0, "{err}");
    assert!(again.replace(' ', "").contains(&code), "{again}");
    let (rc, _, err) = run(bare().env_remove("BULWARK_CONSOLE_HOME"));
    assert_ne!(rc, 0);
    assert!(err.contains("bulwark-console-home"), "{err}");
    // Its own HTTPS certificate, generated on the first start: ECDSA P-256.
    let (rc, text, err) = run(Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(chome.join("data/tls/console.crt")));
    assert_eq!(rc, 0, "{err}");
    assert!(text.contains("id-ecPublicKey") && text.contains("prime256v1"), "{text}");
    // Unconfigured: every page leads to setup, with the security headers.
    assert_eq!(b.get("/").location(), "/setup");
    let page = b.get(&format!("/setup?code={code}"));
    assert_eq!(page.status, 200);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert!(page.headers["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    // `same-origin`: `no-referrer` would make browsers send `Origin: null` with the forms.
    assert_eq!(page.headers["referrer-policy"], "same-origin");
    let csrf_cookie = page.set_cookies().into_iter().find(|c| c.starts_with("bulwark_csrf=")).unwrap();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(csrf_cookie.contains(flag), "{csrf_cookie}");
    }
    let csrf = page.csrf();
    let token = token_of(&home);
    // Without the form's token, or from another site: refused before anything is checked.
    let p = b.post("/setup", &[("code", &code), ("token", &token)]);
    assert_eq!(p.status, 403, "{}", p.body);
    let r = b
        .client
        .post(format!("{}/setup", b.base))
        .header("origin", "https://evil.example")
        .header("content-type", FORM)
        .body(encode(&[("csrf", csrf.as_str()), ("code", &code), ("token", &token)]));
    assert_eq!(b.send(r).status, 403);
    // A wrong code is refused and counted.
    let p = b.post("/setup", &[("csrf", &csrf), ("code", "99999x"), ("token", &token)]);
    assert_eq!(p.status, 403);
    assert!(p.body.contains("4 tries left"), "{}", p.body);
    // Each answer gives the form a fresh token, as a browser would use it.
    let csrf = p.csrf();
    // A token of another cluster (another fingerprint): the check names it, nothing is written.
    let t = EnrollmentToken::decode(&token).unwrap();
    let other = EnrollmentToken::new(
        t.ver.clone(),
        t.adr.clone(),
        bulwark_pki::Fingerprint::of_der(b"another CA"),
        t.api_key_id(),
        t.api_key_secret().clone(),
    )
    .unwrap();
    let other = secrecy::ExposeSecret::expose_secret(&other.encode()).to_owned();
    let p = b.post("/setup", &[("csrf", &csrf), ("code", &code), ("token", &other)]);
    assert_eq!(p.status, 502);
    assert!(p.body.contains("fingerprint"), "{}", p.body);
    assert!(!chome.join("data/node_http_ca.crt").exists());
    let csrf = p.csrf();
    // The right code and token: configured, on to login without a restart.
    let p = b.post("/setup", &[("csrf", &csrf), ("code", &code), ("token", &token)]);
    assert_eq!((p.status, p.location()), (303, "/login?enrolled=1"), "{}", p.body);
    let yml = std::fs::read_to_string(chome.join("config/console.yml")).unwrap();
    assert!(yml.contains("elasticsearch.hosts") && yml.contains("node_http_ca.crt"), "{yml}");
    assert_eq!(std::fs::read(chome.join("data/node_http_ca.crt")).unwrap(), started.ca);
    assert!(!yml.contains("AAEAA"), "the service token stays in the keystore: {yml}");
    assert!(!chome.join("data/verification_code").exists());
    assert_eq!(b.get("/setup").location(), "/login");

    // Login: the node decides.
    let page = b.get("/login");
    let csrf = page.csrf();
    let p = b.post("/login", &[("csrf", &csrf), ("username", "elastic"), ("password", "wrong-password")]);
    assert_eq!(p.status, 401);
    assert!(p.body.contains("not valid"), "{}", p.body);
    let csrf = p.csrf();
    let p = b.post("/login", &[("csrf", &csrf), ("username", "elastic"), ("password", &started.password)]);
    assert_eq!((p.status, p.location()), (303, "/app/overview"), "{}", p.body);
    let session_cookie = p.set_cookies().into_iter().find(|c| c.starts_with("bulwark_session=")).unwrap();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(session_cookie.contains(flag), "{session_cookie}");
    }
    assert!(!session_cookie.contains(&started.password));
    let overview = b.get("/app/overview");
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains("Cluster health") && overview.body.contains("elastic"));
    // The node's certificates with their expiry (fresh ones: days left, no warning).
    assert!(overview.body.contains("id=\"certificates\"") && overview.body.contains(" days left"));
    assert!(!overview.body.contains("class=\"warn\""), "{}", overview.body);
    // The session holds the node's token pair for the user, not the password.
    let session = kit::session_of(&chome, &b.cookie("bulwark_session").unwrap());
    let (status, me) = kit::as_session(&started, &session, "/_security/_authenticate");
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["username"].as_str(), me["authentication_type"].as_str()),
        (Some("elastic"), Some("token"))
    );

    // A state change without the session's token is refused.
    let p = b.post("/app/users", &[("username", "mallory"), ("password", "mallory-password")]);
    assert_eq!(p.status, 403);
    let (status, _, _) =
        started.client.get("/_security/user/mallory", Some(("elastic", &started.password))).unwrap();
    assert_eq!(status, 404);

    // A tampered cookie is refused.
    let good = b.cookie("bulwark_session").unwrap();
    let mut bad = good.clone().into_bytes();
    let i = bad.len() / 2;
    bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
    b.cookies.retain(|(k, _)| k != "bulwark_session");
    b.cookies.push(("bulwark_session".into(), String::from_utf8(bad).unwrap()));
    let p = b.get("/app/overview");
    assert_eq!((p.status, p.location()), (303, "/login?reason=invalid"));
    b.cookies.retain(|(k, _)| k != "bulwark_session");
    b.cookies.push(("bulwark_session".into(), good.clone()));

    // Logout ends the session here and on the node.
    let page = b.get("/app/overview");
    let csrf = page.csrf();
    let p = b.post("/app/logout", &[("csrf", &csrf)]);
    assert_eq!((p.status, p.location()), (303, "/login?reason=logout"));
    b.cookies.push(("bulwark_session".into(), good));
    assert_eq!(b.get("/app/overview").location(), "/login?reason=invalid");
    // Both tokens are invalidated on the node: the access token is refused, and the refresh
    // token was invalidated before (`previously_invalidated_tokens`).
    assert_eq!(kit::as_session(&started, &session, "/_security/_authenticate").0, 401);
    let r = kit::invalidate_token(&started, "refresh_token", &session.tokens().refresh_token());
    assert_eq!(
        (r["invalidated_tokens"].as_u64(), r["previously_invalidated_tokens"].as_u64()),
        (Some(0), Some(1)),
        "{r}"
    );
    // Parameters the console does not know are refused, naming them.
    let p = b.get("/login?reson=idle");
    assert_eq!(p.status, 400);
    assert!(p.body.contains("reson"), "{}", p.body);
    let out = console.output();
    assert!(!out.contains(&started.password) && !out.contains(&token), "a secret in the console's output");
    drop(console);
    assert!(!home.log().contains(&started.password));
}

#[test]
fn detached_setup_refusals_and_idle_timeout() {
    let home = TestHome::new();
    let started = start_fresh(&home, &[]);
    let chome = home.path().with_file_name("console");
    let token = token_of(&home);
    // Malformed.
    let (rc, _, err) = run(console_cmd(&chome).args(["setup", "--enrollment-token", "not-a-token"]));
    assert_eq!(rc, 69, "{err}");
    assert!(err.contains("malformed"), "{err}");
    // Unreachable: the token's node is not there.
    let t = EnrollmentToken::decode(&token).unwrap();
    let dead = EnrollmentToken::new(
        t.ver.clone(),
        vec!["127.0.0.1:1".into()],
        t.fgr,
        t.api_key_id(),
        SecretString::from(secrecy::ExposeSecret::expose_secret(t.api_key_secret()).to_owned()),
    )
    .unwrap();
    let dead = secrecy::ExposeSecret::expose_secret(&dead.encode()).to_owned();
    let (rc, _, err) = run(console_cmd(&chome).args(["setup", "--enrollment-token", &dead]));
    assert_eq!(rc, 69);
    assert!(err.contains("unreachable") || err.contains("could not connect"), "{err}");
    assert!(!chome.join("config/console.yml").exists());
    // Good.
    let (rc, out, err) = run(console_cmd(&chome).args(["setup", "--enrollment-token", &token]));
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("connected"), "{out}");
    // Once configured, neither mode runs again.
    let (rc, _, err) = run(console_cmd(&chome).args(["setup", "--enrollment-token", &token]));
    assert_eq!(rc, 78, "{err}");
    assert!(err.contains("already configured"), "{err}");
    let keystore = std::fs::metadata(chome.join("config/console.keystore")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(keystore.permissions().mode() & 0o777, 0o600);

    // A configured console starts without a setup link; an idle session ends.
    let mut console = Console::start(&chome, &["-E", "xpack.security.session.idleTimeout=1s"]);
    let mut b = console.browser();
    assert!(!console.output().contains("setup?code="));
    let (rc, _, _) = run(console_cmd(&chome).arg("verification-code"));
    assert_eq!(rc, 69);
    assert_eq!(b.get("/setup").location(), "/login");
    let csrf = b.get("/login").csrf();
    let p = b.post("/login", &[("csrf", &csrf), ("username", "elastic"), ("password", &started.password)]);
    assert_eq!(p.status, 303, "{}", p.body);
    // Idle for longer than the timeout (bounded wait on the clock the cookie carries).
    let deadline = Instant::now() + Duration::from_secs(10);
    let seen = Instant::now();
    loop {
        let r = b
            .client
            .get(format!("{}/app/overview", b.base))
            .header("cookie", format!("bulwark_session={}", b.cookie("bulwark_session").unwrap()));
        let p = r.send().unwrap();
        if p.status() == 303 {
            assert_eq!(p.headers()["location"], "/login?reason=idle");
            assert!(seen.elapsed() >= Duration::from_secs(1));
            break;
        }
        assert!(Instant::now() < deadline, "the idle session was never refused");
        std::thread::sleep(Duration::from_millis(250));
    }
    // An unknown setting stops the console, naming it.
    let (rc, _, err) = run(console_cmd(&chome).args(["start", "-E", "server.prot=1"]));
    assert_eq!(rc, 78, "{err}");
    assert!(err.contains("server.prot") && err.contains("server.port"), "{err}");
}

#[test]
fn given_certificate_and_explicit_plain_http() {
    let dir = TestHome::new();
    let chome = dir.path().with_file_name("console");
    std::fs::create_dir_all(chome.join("config")).unwrap();
    let (rc, _, err) = run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .args(["-subj", "/CN=console.example", "-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(chome.join("config/console.key"))
        .arg("-out")
        .arg(chome.join("config/console.crt")));
    assert_eq!(rc, 0, "{err}");
    // server.ssl.certificate/key (relative to config/): served as given, nothing generated.
    let mut console = Console::start(
        &chome,
        &["-E", "server.ssl.certificate=console.crt", "-E", "server.ssl.key=console.key"],
    );
    let addr = console.addr();
    let (rc, out, err) = run(Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(chome.join("config/console.crt"))
        .arg(format!("https://{addr}/setup")));
    assert_eq!((rc, out.as_str()), (0, "200"), "{err}");
    assert!(!chome.join("data/tls/console.crt").exists());
    drop(console);
    // Only one of the pair: refused, naming both.
    let (rc, _, err) = run(console_cmd(&chome).args(["start", "-E", "server.ssl.certificate=console.crt"]));
    assert_eq!(rc, 78);
    assert!(err.contains("server.ssl.key"), "{err}");
    // Plain HTTP only when asked for: no HSTS, no `Secure` cookie.
    let _ = std::fs::remove_file(chome.join("logs/console.ports"));
    let mut console = Console::start(&chome, &["-E", "server.ssl.enabled=false"]);
    let addr = console.addr();
    let resp = reqwest::blocking::get(format!("http://{addr}/setup")).unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("strict-transport-security").is_none());
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && !cookie.contains("Secure"), "{cookie}");
    assert!(console.output().contains("plain HTTP"), "{}", console.output());
    // A few wrong verification codes lock the setup form, the right code included.
    let client =
        reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut b = Browser { client, base: format!("http://{addr}"), cookies: Vec::new() };
    let mut csrf = b.get("/setup").csrf();
    for left in (1..5).rev() {
        let p = b.post("/setup", &[("csrf", &csrf), ("code", "000000x"), ("token", "t")]);
        assert_eq!(p.status, 403);
        assert!(p.body.contains(&format!("({left} tries left)")), "{}", p.body);
        csrf = p.csrf();
    }
    // The fifth: locked, and the page has no form any more (the right code is refused too:
    // `code::tests::wrong_codes_lock_the_form`).
    let p = b.post("/setup", &[("csrf", &csrf), ("code", "000000x"), ("token", "t")]);
    assert_eq!(p.status, 403);
    assert!(p.body.contains("the form is locked") && !p.body.contains("<form"), "{}", p.body);
    let p = b.get("/setup");
    assert!(p.body.contains("The form is locked") && !p.body.contains("id=\"setup\""), "{}", p.body);
}

#[test]
fn audit_page_and_editing_users_roles_and_mappings() {
    let home = TestHome::new();
    let started = start_fresh(&home, &[]);
    let (_console, mut b) = logged_in(&home, &started);
    let admin = ("elastic", started.password.as_str());

    // The audit log, newest first, with filters; the node's refusal for others. Its link is in the
    // navigation of a user the node lets read it.
    let p = b.get("/app/overview");
    assert!(p.body.contains("href=\"/app/audit\""), "{}", p.body);
    let p = b.get("/app/audit");
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("id=\"audit-events\"") && p.body.contains("access_granted"), "{}", p.body);
    let p = b.get("/app/audit?event=authentication_success&user=elastic");
    assert_eq!(p.status, 200, "{}", p.body);
    let rows = p.body.matches("<td class=\"event\">").count();
    assert!(
        rows > 0 && rows == p.body.matches("<td class=\"event\">authentication_success</td>").count(),
        "{}",
        p.body
    );
    assert!(!p.body.contains("<td class=\"event\">access_granted"), "{}", p.body);
    let p = b.get("/app/audit?evnt=x");
    assert_eq!(p.status, 400);

    // Edit a user: the node keeps what the form says.
    started
        .client
        .call(
            "PUT",
            "/_security/user/carol",
            admin,
            Some(&serde_json::json!({"password": "carol-password", "roles": ["viewer"]})),
        )
        .unwrap();
    let page = b.get("/app/users");
    assert!(page.body.contains("/app/users/edit?name=carol"), "{}", page.body);
    assert!(!page.body.contains("/app/users/edit?name=elastic"), "reserved users have no edit link");
    let page = b.get("/app/users/edit?name=carol");
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "carol"),
        ("full_name", "Carol <b>C</b>"),
        ("email", ""),
        ("roles", "monitoring_user"),
        ("password", ""),
    ];
    let p = b.post("/app/users/edit", &form);
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(p.location().starts_with("/app/users?ok="), "{}", p.location());
    let u = node_get(&started, "/_security/user/carol");
    assert_eq!(u["carol"]["full_name"], "Carol <b>C</b>");
    assert_eq!(u["carol"]["roles"], serde_json::json!(["monitoring_user"]));
    assert_eq!(u["carol"]["enabled"], false, "the unticked box disables");
    assert!(b.get("/app/users").body.contains("Carol &lt;b&gt;C&lt;/b&gt;"));
    // The node's refusal is shown.
    let p = b.post(
        "/app/users/edit",
        &[("csrf", &csrf), ("name", "carol"), ("roles", ""), ("enabled", "true"), ("password", "x")],
    );
    assert_eq!(p.status, 303);
    let shown = b.get(p.location());
    assert!(shown.body.contains("notice error") && shown.body.contains("password"), "{}", shown.body);

    // Edit a role as JSON: bad JSON and the node's refusal are shown with the text kept.
    b.post(
        "/app/roles",
        &[("csrf", &csrf), ("name", "logs_reader"), ("indices", "logs-*"), ("privileges", "read")],
    );
    let page = b.get("/app/roles/edit?name=logs_reader");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("logs-*"), "{}", page.body);
    let p =
        b.post("/app/roles/edit", &[("csrf", &csrf), ("name", "logs_reader"), ("role", "{\"cluster\": [")]);
    assert_eq!(p.status, 400);
    assert!(p.body.contains("not valid JSON"), "{}", p.body);
    let p =
        b.post("/app/roles/edit", &[("csrf", &csrf), ("name", "logs_reader"), ("role", "{\"clustr\": []}")]);
    assert_eq!(p.status, 400);
    assert!(p.body.contains("clustr") && p.body.contains("the node answered 400"), "{}", p.body);
    let role = r#"{"cluster": ["monitor"], "indices": [{"names": ["logs-*"], "privileges": ["read"], "field_security": {"grant": ["message"]}}]}"#;
    let p = b.post("/app/roles/edit", &[("csrf", &csrf), ("name", "logs_reader"), ("role", role)]);
    assert_eq!(p.status, 303, "{}", p.body);
    let r = node_get(&started, "/_security/role/logs_reader");
    assert_eq!(r["logs_reader"]["cluster"], serde_json::json!(["monitor"]));
    assert_eq!(r["logs_reader"]["indices"][0]["field_security"]["grant"], serde_json::json!(["message"]));

    // Delete: a confirmation page first, then a CSRF-protected POST.
    let page = b.get("/app/roles/delete?name=logs_reader");
    assert!(page.body.contains("cannot be undone"), "{}", page.body);
    let p = b.post("/app/roles/delete", &[("name", "logs_reader")]);
    assert_eq!(p.status, 403);
    let p = b.post("/app/roles/delete", &[("csrf", &page.csrf()), ("name", "logs_reader")]);
    assert_eq!(p.status, 303);
    assert!(p.location().starts_with("/app/roles?ok="), "{}", p.location());
    let (status, _, _) = started.client.get("/_security/role/logs_reader", Some(admin)).unwrap();
    assert_eq!(status, 404);
    let p = b.post("/app/users/delete", &[("csrf", &csrf), ("name", "nobody")]);
    assert!(p.location().starts_with("/app/users?error="), "{}", p.location());
    let p = b.post("/app/users/delete", &[("csrf", &csrf), ("name", "carol")]);
    assert!(p.location().starts_with("/app/users?ok="), "{}", p.location());
    let (status, _, _) = started.client.get("/_security/user/carol", Some(admin)).unwrap();
    assert_eq!(status, 404);

    // Role mappings: nested JSON rules, the simple form, and refusals.
    let rules = r#"{"all": [{"field": {"realm.name": "pki1"}}, {"any": [{"field": {"groups": ["ops", "dev"]}}, {"field": {"dn": "*,ou=ops"}}]}, {"except": {"field": {"username": "guest*"}}}]}"#;
    let mapping = |name: &'static str, value: &'static str, rules: &'static str| {
        vec![
            ("name", name),
            ("roles", "viewer"),
            ("enabled", "true"),
            ("field", "username"),
            ("value", value),
            ("rules", rules),
        ]
    };
    let with_csrf = |mut f: Vec<(&'static str, &'static str)>, c: &str| {
        let c: &'static str = Box::leak(c.to_owned().into_boxed_str());
        f.push(("csrf", c));
        f
    };
    let p = b.post("/app/role_mappings", &with_csrf(mapping("nested", "", rules), &csrf));
    assert_eq!(p.status, 303, "{}", p.body);
    let m = node_get(&started, "/_security/role_mapping/nested");
    assert_eq!(m["nested"]["rules"], serde_json::from_str::<Value>(rules).unwrap());
    let p = b.post("/app/role_mappings", &with_csrf(mapping("simple", "alice", ""), &csrf));
    assert_eq!(p.status, 303, "{}", p.body);
    let m = node_get(&started, "/_security/role_mapping/simple");
    assert_eq!(m["simple"]["rules"], serde_json::json!({"field": {"username": "alice"}}));
    let page = b.get("/app/role_mappings");
    for text in ["all of", "any of", "not", "groups is one of \"ops\", \"dev\"", "username = \"guest*\""] {
        assert!(
            page.body.contains(&text.replace('"', "&quot;")) || page.body.contains(text),
            "{text}: {}",
            page.body
        );
    }
    let p = b.post("/app/role_mappings", &with_csrf(mapping("both", "alice", rules), &csrf));
    assert_eq!(p.status, 400);
    assert!(p.body.contains("not both"), "{}", p.body);
    let p = b.post("/app/role_mappings", &with_csrf(mapping("bad", "", r#"{"every": []}"#), &csrf));
    assert_eq!(p.status, 400);
    assert!(p.body.contains("every") && p.body.contains("the node answered"), "{}", p.body);
    let page = b.get("/app/role_mappings?name=nested");
    assert!(page.body.contains("Edit role mapping nested") && page.body.contains("pki1"), "{}", page.body);
    // Role templates instead of roles: written as JSON, checked by the node, shown as their source.
    let templates = r#"[{"template": {"source": "team_{{metadata.team}}"}, "format": "string"}]"#;
    let form = |roles: &'static str, templates: &'static str| {
        vec![
            ("name", "by_team"),
            ("roles", roles),
            ("role_templates", templates),
            ("enabled", "true"),
            ("field", "username"),
            ("value", "*"),
        ]
    };
    let p = b.post("/app/role_mappings", &with_csrf(form("", templates), &csrf));
    assert_eq!(p.status, 303, "{}", p.body);
    let m = node_get(&started, "/_security/role_mapping/by_team");
    assert_eq!(m["by_team"]["role_templates"][0]["template"]["source"], "team_{{metadata.team}}", "{m}");
    assert!(m["by_team"]["roles"].as_array().is_none_or(Vec::is_empty), "{m}");
    let page = b.get("/app/role_mappings");
    assert!(page.body.contains("<code class=\"template\">team_{{metadata.team}}</code>"), "{}", page.body);
    let page = b.get("/app/role_mappings?name=by_team");
    assert!(page.body.contains("team_{{metadata.team}}") && page.body.contains("id=\"role_templates\""));
    let p = b.post("/app/role_mappings", &with_csrf(form("viewer", templates), &csrf));
    assert_eq!(p.status, 400);
    assert!(p.body.contains("cannot have both roles and role-templates"), "{}", p.body);
    assert!(p.body.contains("team_{{metadata.team}}"), "the text is kept: {}", p.body);
    let p = b.post("/app/role_mappings", &with_csrf(form("", "[{\"template\": "), &csrf));
    assert_eq!(p.status, 400);
    assert!(p.body.contains("role templates are not valid JSON"), "{}", p.body);
    let p = b.post("/app/role_mappings", &with_csrf(form("", r#"[{"templat": {}}]"#), &csrf));
    assert_eq!(p.status, 400);
    assert!(p.body.contains("templat") && p.body.contains("the node answered 400"), "{}", p.body);
    let p = b.post("/app/role_mappings", &with_csrf(form("", ""), &csrf));
    assert_eq!(p.status, 400);
    assert!(p.body.contains("roles or role-templates are missing"), "{}", p.body);
    let p = b.post("/app/role_mappings/delete", &[("csrf", &csrf), ("name", "simple")]);
    assert!(p.location().starts_with("/app/role_mappings?ok="), "{}", p.location());
    let (status, _, _) = started.client.get("/_security/role_mapping/simple", Some(admin)).unwrap();
    assert_eq!(status, 404);

    // API keys: created as the user with a limited role descriptor and an expiration (no
    // password asked: the form has no such field, and one sent anyway is refused), shown once,
    // listed without it, invalidated.
    let form = vec![("name", "ci-key"), ("expiration", "1d"), ("indices", "logs-*"), ("privileges", "read")];
    let list = b.get("/app/api_keys");
    assert!(
        list.body.contains("id=\"create-api-key\"") && !list.body.contains("type=\"password\""),
        "{}",
        list.body
    );
    let mut with_password = form.clone();
    with_password.push(("password", "x"));
    let p = b.post("/app/api_keys", &with_csrf(with_password, &csrf));
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("unknown field `password`"), "{}", p.body);
    let p = b.post("/app/api_keys", &with_csrf(form, &csrf));
    assert_eq!(p.status, 200, "{} {}", p.location(), p.body);
    let pre = "<pre id=\"new-api-key\">";
    let at = p.body.find(pre).expect("the new key") + pre.len();
    let encoded = p.body[at..].split('<').next().unwrap().to_owned();
    let k = node_get(&started, "/_security/api_key?name=ci-key");
    let key = &k["api_keys"][0];
    assert_eq!(key["username"], "elastic", "{k}");
    assert_eq!(
        key["role_descriptors"]["console-limited"]["indices"][0]["names"],
        serde_json::json!(["logs-*"])
    );
    assert!(key["expiration"].as_i64().is_some(), "{k}");
    // The key works, and only within its descriptor.
    let auth = format!("ApiKey {encoded}");
    let curl = |path: &str| {
        let (_, out, _) = run(Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(home.config("certs/http_ca.crt"))
            .args(["-H", &format!("Authorization: {auth}")])
            .arg(format!("https://127.0.0.1:{}{path}", started.port)));
        out
    };
    assert_eq!(curl("/_security/_authenticate"), "200", "{encoded}");
    assert_eq!(curl("/_security/user"), "403");
    let list = b.get("/app/api_keys");
    assert!(list.body.contains("ci-key") && !list.body.contains(&encoded), "shown once: {}", list.body);
    let id = key["id"].as_str().unwrap().to_owned();
    let p = b.post("/app/api_keys/invalidate", &[("csrf", &csrf), ("id", &id)]);
    assert!(p.location().starts_with("/app/api_keys?ok="), "{}", p.location());
    let k = node_get(&started, &format!("/_security/api_key?id={id}"));
    assert_eq!(k["api_keys"][0]["invalidated"], true, "{k}");

    // A user without manage_security gets the node's refusal on the audit page.
    started
        .client
        .call(
            "PUT",
            "/_security/user/dave",
            admin,
            Some(&serde_json::json!({"password": "dave-password", "roles": ["viewer"]})),
        )
        .unwrap();
    let csrf = b.get("/app/overview").csrf();
    b.post("/app/logout", &[("csrf", &csrf)]);
    let csrf = b.get("/login").csrf();
    let p = b.post("/login", &[("csrf", &csrf), ("username", "dave"), ("password", "dave-password")]);
    assert_eq!(p.status, 303, "{}", p.body);
    let p = b.get("/app/overview");
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("href=\"/app/users\"") && !p.body.contains("/app/audit"), "{}", p.body);
    let p = b.get("/app/audit");
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("manage_security") && !p.body.contains("audit-events"), "{}", p.body);
}
