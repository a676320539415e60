//! Brute-force protection and the audit log, against the real node.

use std::process::Command;

use bulwark_testkit::{TestHome, command, run, start_fresh};

/// `curl` as `elastic` with `password`, from source address `from`: the HTTP status.
fn status(home: &TestHome, port: u16, from: &str, password: &str) -> (String, String) {
    let ca = home.config("certs/http_ca.crt");
    let (_, out, _) = run(Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--interface", from, "--cacert"])
        .arg(&ca)
        .args(["-u", &format!("elastic:{password}"), &format!("https://localhost:{port}/")]));
    let (body, code) = out.rsplit_once('\n').unwrap_or(("", ""));
    (code.to_owned(), body.to_owned())
}

#[test]
fn twenty_failures_lock_the_user_from_that_address_only_and_are_audited() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    assert_eq!(status(&home, s.port, "127.0.0.1", &s.password).0, "200");
    for i in 0..20 {
        let (code, _) = status(&home, s.port, "127.0.0.1", &format!("wrong-password-{i}"));
        assert_eq!(code, "401", "attempt {i}");
    }
    let (code, body) = status(&home, s.port, "127.0.0.1", &s.password);
    assert_eq!(code, "401", "the right password is refused while locked");
    assert!(body.contains("too many failed authentication attempts"), "{body}");
    assert_eq!(status(&home, s.port, "127.0.0.2", &s.password).0, "200", "another address still works");

    s.node.stop();
    let audit = std::fs::read_to_string(home.path().join("logs/audit.json")).unwrap();
    let lines: Vec<serde_json::Value> = audit.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let count = |action: &str| lines.iter().filter(|l| l["event.action"] == action).count();
    assert!(count("authentication_failed") >= 21, "{audit}");
    assert!(count("authentication_success") >= 2);
    assert!(count("access_granted") >= 2);
    let lockout: Vec<_> = lines.iter().filter(|l| l["event.action"] == "lockout").collect();
    assert_eq!(lockout.len(), 1, "{audit}");
    assert_eq!(lockout[0]["user.name"], "elastic");
    assert_eq!(lockout[0]["origin.address"], "127.0.0.1");
    assert!(!audit.contains(&s.password), "a password in the audit log");
    assert!(!audit.contains("wrong-password"), "a tried password in the audit log");

    // The chain verifies; editing one line breaks it, and doctor says where.
    let doctor = |home: &TestHome| {
        let (_, out, err) = run(command(&home.path()).args(["doctor", "--json"]));
        let v: serde_json::Value = serde_json::from_str(&out).expect(&err);
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "audit")
            .cloned()
            .expect("audit finding")
    };
    assert_eq!(doctor(&home)["severity"], "ok");
    let edited = audit.replacen("\"user.name\":\"elastic\"", "\"user.name\":\"someone-else\"", 1);
    assert_ne!(edited, audit);
    std::fs::write(home.path().join("logs/audit.json"), edited).unwrap();
    let f = doctor(&home);
    assert_eq!(f["severity"], "critical", "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("audit.json] line") && message.contains("its MAC does not match"), "{f}");
}
