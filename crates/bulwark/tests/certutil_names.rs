//! `certutil` refuses a `--dn` that is not a distinguished name, and names longer than X.509
//! (RFC 5280) or DNS (RFC 1035) allow, with a message naming the argument and the limit and the
//! usage exit code (64). (Kept apart from `certutil.rs`, which is long enough.)

use std::process::Stdio;

/// `bulwark certutil ARGS` in `dir` without a terminal: (exit code, stderr).
fn certutil(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let mut cmd = bulwark_testkit::command(&dir.join("home"));
    cmd.arg("certutil").args(args).current_dir(dir).stdin(Stdio::null());
    let (code, _, stderr) = bulwark_testkit::run(&mut cmd);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (code, stderr)
}

#[test]
fn ca_dn_must_be_a_distinguished_name_within_x509_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(String, &str)> = vec![
        ("foo".into(), "not a distinguished name"),
        ("CN=".into(), "empty value"),
        ("=x".into(), "no attribute name"),
        ("CN=a,FOO=b".into(), "unknown attribute"),
        ("CN=a,,O=b".into(), "not of the form KEY=value"),
        ("C=DEU".into(), "two-letter country code"),
        (format!("CN={}", long(65)), "at most 64"),
        (format!("CN=a,O={}", long(65)), "at most 64"),
        (format!("CN=a,OU={}", long(65)), "at most 64"),
        (format!("CN=a,L={}", long(129)), "at most 128"),
        (format!("CN=a,ST={}", long(129)), "at most 128"),
        (format!("CN=a,emailAddress={}@x", long(254)), "at most 255"),
    ];
    let mut failures = Vec::new();
    for (i, (dn, message)) in cases.iter().enumerate() {
        let out = format!("bad{i}.zip");
        let (code, stderr) = certutil(dir.path(), &["ca", "--pem", "--ec", "--dn", dn, "--out", &out]);
        if code != 64 || !stderr.contains(message) || !stderr.contains("--dn") {
            failures.push(format!("--dn {dn:?}: exit {code}, stderr {stderr}"));
        }
        assert!(!dir.path().join(&out).exists(), "nothing is written for {dn:?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let good = format!(
        "CN={},O=Example,OU=Ops,L={},ST=Bavaria,C=de,DC=example,UID=ops,emailAddress=ops@example.com",
        long(64),
        long(128)
    );
    let (code, stderr) = certutil(dir.path(), &["ca", "--pem", "--ec", "--dn", &good, "--out", "good.zip"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn over_long_names_and_dns_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let label = |n: usize| "a".repeat(n);
    let long_name = format!("{}.example", vec![label(60); 5].join("."));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--name".into(), label(65)], "at most 64"),
        (vec!["--name".into(), "n".into(), "--dns".into(), format!("{}.example", label(64))], "at most 63"),
        (vec!["--name".into(), "n".into(), "--dns".into(), long_name], "at most 253"),
        (vec!["--name".into(), "n".into(), "--dns".into(), "a..b".into()], "empty label"),
    ];
    let mut failures = Vec::new();
    for (i, (args, message)) in cases.iter().enumerate() {
        let out = format!("bad{i}.p12");
        let mut all = vec!["cert", "--self-signed", "--ec", "--pass", "pw", "--out", &out];
        all.extend(args.iter().map(String::as_str));
        let (code, stderr) = certutil(dir.path(), &all);
        if code != 64 || !stderr.contains(message) || !stderr.contains(args[args.len() - 2].as_str()) {
            failures.push(format!("{args:?}: exit {code}, stderr {stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let ok = format!("{}.example", label(63));
    let (code, stderr) = certutil(
        dir.path(),
        &[
            "cert",
            "--self-signed",
            "--ec",
            "--pass",
            "pw",
            "--out",
            "ok.p12",
            "--name",
            &label(64),
            "--dns",
            &ok,
        ],
    );
    assert_eq!(code, 0, "{stderr}");
}
