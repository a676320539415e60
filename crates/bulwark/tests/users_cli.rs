//! `bulwark users` and `bulwark service-tokens` run as real processes, without a terminal,
//! against a temporary home.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use bulwark_security::authn::{PasswordHash, ServiceAccountToken};
use bulwark_testkit::TestHome;
use secrecy::{ExposeSecret, SecretString};

const GOOD: &str = "violet-tangent-orbit-42";
const OTHER: &str = "quiet-harbor-lantern-7";

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    #[track_caller]
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success; stderr: {}", self.stderr);
        self
    }

    #[track_caller]
    fn fails(&self, code: i32, message: &str) -> &Self {
        assert_eq!(self.code, code, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.stderr.contains(message), "stderr lacks {message:?}: {}", self.stderr);
        assert!(self.stderr.starts_with("ERROR: "), "{}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }
}

fn run(home: &TestHome, args: &[&str]) -> Output {
    let out =
        bulwark_testkit::command(&home.path()).args(args).stdin(Stdio::null()).output().expect("run bulwark");
    Output {
        code: out.status.code().expect("killed by a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn read(home: &TestHome, name: &str) -> String {
    std::fs::read_to_string(home.config(name)).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The hash stored for `user` in a `name:hash` file.
fn hash_of(text: &str, key: &str) -> PasswordHash {
    let line = text.lines().find(|l| l.starts_with(&format!("{key}:"))).unwrap_or_else(|| panic!("{text}"));
    PasswordHash::from_stored(line[key.len() + 1..].to_owned())
}

/// Only the realm files and settings are in `config/` (no temporary files left behind).
#[track_caller]
fn no_strays(home: &TestHome) {
    for e in std::fs::read_dir(home.path().join("config")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(["users", "users_roles", "service_tokens", "bulwark.yml"].contains(&name.as_str()), "{name}");
    }
}

#[test]
fn useradd_list_passwd_roles_userdel_round_trip() {
    let home = TestHome::new();
    run(&home, &["users", "list"]).ok();
    assert_eq!(run(&home, &["users", "list"]).stdout, "No users found\n");

    run(&home, &["users", "useradd", "alice", "-p", GOOD, "-r", "superuser,viewer"]).ok();
    run(&home, &["users", "useradd", "bob@example.com", "--password", OTHER]).ok();
    let users = read(&home, "users");
    assert_eq!(users.lines().count(), 2, "{users}");
    assert!(users.starts_with("alice:$2"), "bcrypt by default: {users}");
    assert!(users.lines().nth(1).unwrap().starts_with("bob@example.com:$2"), "{users}");
    assert!(!users.contains(GOOD) && !users.contains(OTHER));
    assert!(hash_of(&users, "alice").verify(&SecretString::from(GOOD)));
    assert!(hash_of(&users, "bob@example.com").verify(&SecretString::from(OTHER)));
    assert_eq!(read(&home, "users_roles"), "superuser:alice\nviewer:alice\n");
    assert_eq!(mode(&home.config("users")), 0o600);
    assert_eq!(mode(&home.config("users_roles")), 0o600);

    let list = run(&home, &["users", "list"]);
    list.ok();
    assert_eq!(list.stdout, "alice          : superuser,viewer\nbob@example.com: -\n");
    assert_eq!(run(&home, &["users", "list", "alice"]).stdout, "alice          : superuser,viewer\n");

    run(&home, &["users", "useradd", "alice", "-p", OTHER]).fails(65, "User [alice] already exists");

    run(&home, &["users", "passwd", "alice", "-p", OTHER]).ok();
    let users = read(&home, "users");
    assert!(hash_of(&users, "alice").verify(&SecretString::from(OTHER)));
    assert!(!hash_of(&users, "alice").verify(&SecretString::from(GOOD)));

    run(&home, &["users", "roles", "alice", "-a", "editor,kibana_admin", "-r", "viewer"]).ok();
    assert_eq!(read(&home, "users_roles"), "editor:alice\nkibana_admin:alice\nsuperuser:alice\n");
    run(&home, &["users", "roles", "bob@example.com", "--add", "viewer"]).ok();
    assert_eq!(
        read(&home, "users_roles"),
        "editor:alice\nkibana_admin:alice\nsuperuser:alice\nviewer:bob@example.com\n"
    );
    let roles = run(&home, &["users", "roles", "alice"]);
    roles.ok();
    assert_eq!(roles.stdout, "alice          : editor,kibana_admin,superuser\n");
    run(&home, &["users", "roles", "alice", "-r", "editor,kibana_admin,superuser"]).ok();
    assert_eq!(read(&home, "users_roles"), "viewer:bob@example.com\n");
    assert_eq!(run(&home, &["users", "list", "alice"]).stdout, "alice          : -\n");

    run(&home, &["users", "userdel", "bob@example.com"]).ok();
    assert_eq!(read(&home, "users_roles"), "");
    assert!(read(&home, "users").starts_with("alice:"));
    assert_eq!(read(&home, "users").lines().count(), 1);
    run(&home, &["users", "userdel", "alice"]).ok();
    assert_eq!(read(&home, "users"), "");
    assert_eq!(mode(&home.config("users")), 0o600);

    for args in [
        &["users", "userdel", "alice"][..],
        &["users", "passwd", "alice", "-p", GOOD],
        &["users", "roles", "alice", "-a", "viewer"],
        &["users", "list", "alice"],
    ] {
        run(&home, args).fails(67, "User [alice] doesn't exist");
    }
    no_strays(&home);
}

#[test]
fn the_password_policy_is_enforced_and_never_echoes_the_password() {
    let home = TestHome::new();
    let short = run(&home, &["users", "useradd", "carol", "-p", "tiny-pw9"]);
    short.fails(65, "passwords must be at least [12] characters long");
    assert!(!short.stderr.contains("tiny-pw9"));
    assert!(!home.config("users").exists(), "nothing written");

    for common in ["password1234", "QwertyUiop123", "iloveyou1234"] {
        let out = run(&home, &["users", "useradd", "carol", "-p", common]);
        out.fails(65, "the password is on the list of commonly used passwords; choose another");
        assert!(!out.stderr.to_lowercase().contains(&common.to_lowercase()));
    }

    // Settings move the limits (from bulwark.yml and -E alike) and pick the hash.
    home.write_settings(
        "xpack.security.authc.password_policy.min_length: 30\n\
         xpack.security.authc.password_hashing.algorithm: pbkdf2_stretch_1000\n",
    );
    run(&home, &["users", "useradd", "carol", "-p", GOOD]).fails(65, "at least [30] characters");
    run(
        &home,
        &[
            "users",
            "useradd",
            "carol",
            "-p",
            "password1234",
            "-E",
            "xpack.security.authc.password_policy.min_length=12",
            "-E",
            "xpack.security.authc.password_policy.reject_common=false",
        ],
    )
    .ok();
    let users = read(&home, "users");
    assert!(users.starts_with("carol:{PBKDF2_STRETCH}1000$"), "{users}");

    // The policy applies to passwd too, and a refused change keeps the old hash.
    run(&home, &["users", "passwd", "carol", "-p", "short"]).fails(65, "at least [30]");
    assert_eq!(read(&home, "users"), users);

    // Without -p there is no terminal to ask on.
    run(&home, &["users", "passwd", "carol"]).fails(64, "no terminal");
    run(&home, &["users", "useradd", "dave"]).fails(64, "-p");

    // A broken settings file is a configuration error.
    home.write_settings("xpack.security.authc.password_policy.min_length: 2\n");
    run(&home, &["users", "passwd", "carol", "-p", GOOD]).fails(78, "min_length");
    no_strays(&home);
}

#[test]
fn reserved_and_invalid_names_are_refused() {
    let home = TestHome::new();
    for name in ["elastic", "kibana_system", "kibana", "remote_monitoring_user", "_system"] {
        run(&home, &["users", "useradd", name, "-p", GOOD])
            .fails(65, &format!("Username [{name}] is reserved"));
    }
    for name in ["a:b", "a,b", " lead", "#hash", "caf\u{e9}"] {
        run(&home, &["users", "useradd", name, "-p", GOOD]).fails(65, "invalid user name");
    }
    run(&home, &["users", "useradd", "erin", "-p", GOOD, "-r", "a:b"]).fails(65, "invalid role name");
    assert!(!home.config("users").exists());
    run(&home, &["users", "userdel", "elastic"]).fails(65, "reserved");

    // A users file that does not parse stops every command, naming the file and line.
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(home.config("users"), "# users\nfrank:plaintext-password\n").unwrap();
    let out = run(&home, &["users", "list"]);
    out.fails(78, "line 2");
    assert!(out.stderr.contains("users]"), "{}", out.stderr);
    assert!(!out.stderr.contains("plaintext-password"), "{}", out.stderr);
}

/// Standard base64 without padding, decoded by hand (the test checks the wire layout itself).
fn base64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = A.iter().position(|&a| a == c).unwrap_or_else(|| panic!("not base64: {c}")) as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

#[test]
fn service_tokens_create_list_delete() {
    let home = TestHome::new();
    assert_eq!(run(&home, &["service-tokens", "list"]).stdout, "");

    let out = run(&home, &["service-tokens", "create", "elastic/kibana", "kibana-token_1"]);
    out.ok();
    let prefix = "SERVICE_TOKEN elastic/kibana/kibana-token_1 = ";
    assert!(out.stdout.starts_with(prefix) && out.stdout.ends_with('\n'), "{}", out.stdout);
    let bearer = out.stdout[prefix.len()..].trim_end().to_owned();
    assert!(!bearer.contains('='), "no padding: {bearer}");

    // Elasticsearch's layout: 00 01 00 01, `namespace/service/name`, ':', a 22-character secret.
    let raw = base64_decode(&bearer);
    assert_eq!(&raw[..4], &[0, 1, 0, 1]);
    let text = std::str::from_utf8(&raw[4..]).unwrap();
    let secret = text.strip_prefix("elastic/kibana/kibana-token_1:").expect(text);
    assert_eq!(secret.len(), 22);
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{secret}");
    let parsed = ServiceAccountToken::parse(&SecretString::from(bearer.as_str())).unwrap();
    assert_eq!(parsed.secret().expose_secret(), secret);

    let file = read(&home, "service_tokens");
    assert_eq!(file.lines().count(), 1);
    assert!(file.starts_with("elastic/kibana/kibana-token_1:{PBKDF2_STRETCH}10000$"), "{file}");
    assert!(!file.contains(secret));
    assert!(hash_of(&file, "elastic/kibana/kibana-token_1").verify(&SecretString::from(secret)));
    assert_eq!(mode(&home.config("service_tokens")), 0o600);

    run(&home, &["service-tokens", "create", "elastic/kibana", "kibana-token_1"])
        .fails(65, "Service token [elastic/kibana/kibana-token_1] already exists");
    assert_eq!(read(&home, "service_tokens"), file, "unchanged");
    run(&home, &["service-tokens", "create", "elastic/nope", "t"]).fails(
        64,
        "Unknown service account principal: [elastic/nope]. Must be one of \
         [elastic/enterprise-search-server,elastic/fleet-server,elastic/kibana]",
    );
    run(&home, &["service-tokens", "list", "elastic/nope"]).fails(64, "elastic/fleet-server");
    run(&home, &["service-tokens", "create", "elastic/kibana", "_hidden"])
        .fails(65, "invalid service token name");
    run(&home, &["service-tokens", "create", "elastic/kibana", "a/b"])
        .fails(65, "invalid service token name");

    let fleet = run(&home, &["service-tokens", "create", "elastic/fleet-server", "f1"]);
    fleet.ok();
    assert!(
        fleet
            .stdout
            .starts_with("SERVICE_TOKEN elastic/fleet-server/f1 = AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL2Yx")
    );
    assert_eq!(
        run(&home, &["service-tokens", "list"]).stdout,
        "elastic/fleet-server/f1\nelastic/kibana/kibana-token_1\n"
    );
    assert_eq!(
        run(&home, &["service-tokens", "list", "elastic/kibana"]).stdout,
        "elastic/kibana/kibana-token_1\n"
    );

    run(&home, &["service-tokens", "delete", "elastic/kibana", "kibana-token_1"]).ok();
    assert_eq!(run(&home, &["service-tokens", "list"]).stdout, "elastic/fleet-server/f1\n");
    assert!(read(&home, "service_tokens").starts_with("elastic/fleet-server/f1:{PBKDF2_STRETCH}"));
    run(&home, &["service-tokens", "delete", "elastic/kibana", "kibana-token_1"])
        .fails(65, "Service token [elastic/kibana/kibana-token_1] does not exist");
    assert_eq!(mode(&home.config("service_tokens")), 0o600);
    no_strays(&home);
}

#[test]
fn service_tokens_are_hashed_with_the_configured_algorithm() {
    let home = TestHome::new();
    home.write_settings("xpack.security.authc.service_token_hashing.algorithm: bcrypt4\n");
    run(&home, &["service-tokens", "create", "elastic/kibana", "t1"]).ok();
    let file = read(&home, "service_tokens");
    assert!(file.starts_with("elastic/kibana/t1:$2b$04$"), "{file}");

    // A value that is no hashing algorithm is a configuration error naming it; nothing is written.
    home.write_settings("xpack.security.authc.service_token_hashing.algorithm: md5\n");
    run(&home, &["service-tokens", "create", "elastic/kibana", "t2"]).fails(78, "[md5]");
    assert_eq!(read(&home, "service_tokens"), file, "unchanged");
    no_strays(&home);
}
