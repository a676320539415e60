//! `bulwark keystore` run as a real process, without a terminal (stdin is a pipe), against a
//! temporary home.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SEED: &str = "keystore.seed";
const BOOTSTRAP: &str = "bootstrap.password";
const HTTP_KS: &str = "xpack.security.http.ssl.keystore.secure_password";
const TRANSPORT_KS: &str = "xpack.security.transport.ssl.keystore.secure_password";

struct Home {
    dir: tempfile::TempDir,
}

struct Output {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Output {
    fn stdout(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    #[track_caller]
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success; stderr: {}", self.stderr);
        self
    }

    #[track_caller]
    fn fails(&self, code: i32, message: &str) -> &Self {
        assert_eq!(self.code, code, "stdout: {}\nstderr: {}", self.stdout(), self.stderr);
        assert!(self.stderr.contains(message), "stderr lacks {message:?}: {}", self.stderr);
        assert!(self.stderr.starts_with("ERROR: "), "{}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }
}

impl Home {
    fn new() -> Home {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    fn keystore(&self) -> PathBuf {
        self.dir.path().join("config").join("bulwark.keystore")
    }

    fn keystore_bytes(&self) -> Vec<u8> {
        std::fs::read(self.keystore()).unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, b"", &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run_with(args, b"", env)
    }

    fn run_with(&self, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bulwark"));
        cmd.arg("--allow-root")
            .arg("--home")
            .arg(self.dir.path())
            .arg("keystore")
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .env_remove("KEYSTORE_PASSWORD")
            .env_remove("KEYSTORE_NEW_PASSWORD")
            .env_remove("BULWARK_HOME")
            .env_remove("BULWARK_PATH_CONF")
            .envs(env.iter().copied())
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut pipe = child.stdin.take().unwrap();
        // The tool may exit without reading (a usage error); a broken pipe is fine then.
        let _ = pipe.write_all(stdin);
        drop(pipe);
        let out = child.wait_with_output().unwrap();
        Output {
            code: out.status.code().expect("killed by a signal"),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn create(&self) {
        let out = self.run(&["create"]);
        out.ok();
        assert_eq!(out.stdout(), format!("Created keystore at {}\n", self.keystore().display()));
    }

    fn list(&self, env: &[(&str, &str)]) -> Vec<String> {
        let out = self.run_env(&["list"], env);
        out.ok();
        out.stdout().lines().map(str::to_owned).collect()
    }

    fn show(&self, name: &str, env: &[(&str, &str)]) -> Vec<u8> {
        let out = self.run_env(&["show", name], env);
        out.ok();
        out.stdout
    }

    /// Files in the config directory other than the keystore (temp files left behind).
    fn strays(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("config"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "bulwark.keystore")
            .collect()
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn create_add_list_show_remove_round_trip() {
    let home = Home::new();
    home.create();
    assert_eq!(home.list(&[]), [SEED]);
    assert_eq!(home.show(SEED, &[]).len(), 20);

    home.run_with(&["add", "--stdin", TRANSPORT_KS, BOOTSTRAP], b"transport pw\nboot pw\n", &[]).ok();
    assert_eq!(home.list(&[]), [BOOTSTRAP, SEED, TRANSPORT_KS], "sorted");
    // No terminal: the value exactly, without an added newline.
    assert_eq!(home.show(TRANSPORT_KS, &[]), b"transport pw");
    assert_eq!(home.show(BOOTSTRAP, &[]), b"boot pw");

    home.run(&["remove", TRANSPORT_KS]).ok();
    assert_eq!(home.list(&[]), [BOOTSTRAP, SEED]);
    home.run(&["show", TRANSPORT_KS]).fails(78, &format!("setting [{TRANSPORT_KS}] is not in keystore"));
    assert_eq!(mode(&home.keystore()), 0o600);
    assert!(home.strays().is_empty(), "{:?}", home.strays());
}

#[test]
fn add_from_stdin_strips_only_the_line_ending() {
    let home = Home::new();
    home.create();
    home.run_with(&["add", "-x", BOOTSTRAP, HTTP_KS, TRANSPORT_KS], b"  spaced  \r\n\nno newline", &[]).ok();
    assert_eq!(home.show(BOOTSTRAP, &[]), b"  spaced  ");
    assert_eq!(home.show(HTTP_KS, &[]), b"");
    assert_eq!(home.show(TRANSPORT_KS, &[]), b"no newline");
}

#[test]
fn add_refuses_bad_input_and_changes_nothing() {
    let home = Home::new();
    home.create();
    home.run_with(&["add", "-x", BOOTSTRAP], b"first\n", &[]).ok();
    let before = home.keystore_bytes();

    // Without --stdin there is no way to get the value.
    home.run_with(&["add", HTTP_KS], b"value\n", &[]).fails(64, "--stdin");
    // One line per name.
    home.run_with(&["add", "-x", HTTP_KS, TRANSPORT_KS], b"only one\n", &[])
        .fails(64, "standard input has 1 line(s) but 2 setting name(s)");
    home.run_with(&["add", "-x", HTTP_KS], b"one\ntwo\n", &[]).fails(64, "has 2 line(s)");
    // Strings must be UTF-8.
    home.run_with(&["add", "-x", HTTP_KS], b"\xff\xfe\n", &[]).fails(65, "add-file");
    // An existing setting is not overwritten without -f.
    home.run_with(&["add", "-x", BOOTSTRAP], b"second\n", &[])
        .fails(64, &format!("setting [{BOOTSTRAP}] already exists"));
    // The same name twice.
    home.run_with(&["add", "-x", HTTP_KS, HTTP_KS], b"a\nb\n", &[]).fails(64, "more than once");
    assert_eq!(home.keystore_bytes(), before);

    home.run_with(&["add", "-x", "-f", BOOTSTRAP], b"second\n", &[]).ok();
    assert_eq!(home.show(BOOTSTRAP, &[]), b"second");
}

#[test]
fn add_to_a_missing_keystore_needs_force() {
    let home = Home::new();
    home.run_with(&["add", "-x", BOOTSTRAP], b"v\n", &[])
        .fails(78, "run `bulwark keystore create` first, or pass -f/--force");
    assert!(!home.keystore().exists());

    home.run_with(&["add", "-x", "--force", BOOTSTRAP], b"v\n", &[]).ok();
    assert_eq!(home.list(&[]), [BOOTSTRAP, SEED]);
    assert_eq!(mode(&home.keystore()), 0o600);
    home.run(&["has-passwd"]).fails(1, "is not password-protected");
}

#[test]
fn unknown_setting_names_are_refused() {
    let home = Home::new();
    home.create();
    let before = home.keystore_bytes();
    let typo = "xpack.security.http.ssl.keystore.secure_pasword";
    home.run_with(&["add", "-x", typo], b"v\n", &[])
        .fails(78, &format!("unknown secure setting [{typo}]"))
        .fails(78, &format!("did you mean [{HTTP_KS}]?"));
    home.run_with(&["add", "-x", "s3.client.default.secret_key"], b"v\n", &[])
        .fails(78, "the secure settings bulwark knows are: ")
        .fails(78, BOOTSTRAP);
    // A known name does not excuse an unknown one beside it.
    home.run_with(&["add", "-x", BOOTSTRAP, "made.up"], b"a\nb\n", &[]).fails(78, "[made.up]");
    let file = home.dir.path().join("value.txt");
    std::fs::write(&file, b"v").unwrap();
    home.run(&["add-file", "made.up", file.to_str().unwrap()]).fails(78, "unknown secure setting [made.up]");
    assert_eq!(home.keystore_bytes(), before);
    assert_eq!(home.list(&[]), [SEED]);
}

#[test]
fn add_file_stores_raw_bytes_and_show_writes_them_back() {
    let home = Home::new();
    home.create();
    let binary: Vec<u8> = (0..=255u8).rev().collect();
    let a = home.dir.path().join("a.bin");
    let b = home.dir.path().join("b.txt");
    std::fs::write(&a, &binary).unwrap();
    std::fs::write(&b, b"line one\nline two\n").unwrap();
    home.run(&["add-file", HTTP_KS, a.to_str().unwrap(), TRANSPORT_KS, b.to_str().unwrap()]).ok();
    assert_eq!(home.list(&[]), [SEED, HTTP_KS, TRANSPORT_KS]);
    // Redirected stdout gets binary values as they are; file values keep their newlines.
    assert_eq!(home.show(HTTP_KS, &[]), binary);
    assert_eq!(home.show(TRANSPORT_KS, &[]), b"line one\nline two\n");

    let out = home.dir.path().join("out.bin");
    let o = home.run(&["show", "-o", out.to_str().unwrap(), HTTP_KS]);
    o.ok();
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), binary);
    assert_eq!(mode(&out), 0o600);
    // An existing output file is never overwritten.
    home.run(&["show", "--output", out.to_str().unwrap(), TRANSPORT_KS]).fails(64, "already exists");
    assert_eq!(std::fs::read(&out).unwrap(), binary);

    let before = home.keystore_bytes();
    // clap rejects a name without a file before the tool runs.
    let out = home.run(&["add-file", BOOTSTRAP]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("<NAME> <FILE>"), "{}", out.stderr);
    home.run(&["add-file", BOOTSTRAP, a.to_str().unwrap(), HTTP_KS]).fails(64, "pairs");
    let missing = home.dir.path().join("missing.bin");
    home.run(&["add-file", BOOTSTRAP, missing.to_str().unwrap()])
        .fails(64, &format!("cannot read file [{}] for setting [{BOOTSTRAP}]", missing.display()));
    home.run(&["add-file", HTTP_KS, b.to_str().unwrap()]).fails(64, "already exists");
    assert_eq!(home.keystore_bytes(), before);
    home.run(&["add-file", "-f", HTTP_KS, b.to_str().unwrap()]).ok();
    assert_eq!(home.show(HTTP_KS, &[]), b"line one\nline two\n");
}

#[test]
fn removing_a_missing_setting_fails_with_78_and_removes_nothing() {
    let home = Home::new();
    home.create();
    home.run_with(&["add", "-x", BOOTSTRAP], b"v\n", &[]).ok();
    let before = home.keystore_bytes();
    home.run(&["remove", BOOTSTRAP, HTTP_KS])
        .fails(78, &format!("setting [{HTTP_KS}] is not in keystore [{}]", home.keystore().display()));
    assert_eq!(home.keystore_bytes(), before);
    assert_eq!(home.list(&[]), [BOOTSTRAP, SEED]);
}

#[test]
fn commands_on_a_missing_keystore_say_to_create_it() {
    let home = Home::new();
    let expected = format!(
        "ERROR: keystore not found at [{}]; run `bulwark keystore create` first\n",
        home.keystore().display()
    );
    for args in [&["list"][..], &["show", SEED], &["remove", SEED], &["upgrade"], &["passwd"]] {
        let out = home.run_env(args, &[("KEYSTORE_NEW_PASSWORD", "x")]);
        out.fails(78, "keystore not found");
        assert_eq!(out.stderr, expected, "{args:?}");
    }
    assert!(!home.keystore().exists());
    assert!(!home.dir.path().join("config").exists(), "a failing command creates nothing");
}

#[test]
fn create_refuses_to_overwrite_without_force() {
    let home = Home::new();
    home.create();
    home.run_with(&["add", "-x", BOOTSTRAP], b"v\n", &[]).ok();
    let before = home.keystore_bytes();
    home.run(&["create"]).fails(64, "pass -f/--force to replace it");
    assert_eq!(home.keystore_bytes(), before);

    home.run(&["create", "-f"]).ok();
    assert_ne!(home.keystore_bytes(), before);
    assert_eq!(home.list(&[]), [SEED]);
}

#[test]
fn upgrade_rewrites_the_file_and_restores_the_seed() {
    let home = Home::new();
    home.create();
    home.run(&["remove", SEED]).ok();
    assert!(home.list(&[]).is_empty());
    let before = home.keystore_bytes();
    let out = home.run(&["upgrade"]);
    out.ok();
    assert!(out.stdout().contains("added keystore.seed"), "{}", out.stdout());
    assert_eq!(home.list(&[]), [SEED]);
    let seed = home.show(SEED, &[]);
    let middle = home.keystore_bytes();
    assert_ne!(middle, before);

    let out = home.run(&["upgrade"]);
    out.ok();
    assert!(!out.stdout().contains("added"), "{}", out.stdout());
    assert_ne!(home.keystore_bytes(), middle, "re-encrypted with a new salt and nonce");
    assert_eq!(home.show(SEED, &[]), seed, "an existing seed is kept");
    assert_eq!(mode(&home.keystore()), 0o600);
}

#[test]
fn password_protected_keystore_needs_the_right_password() {
    let home = Home::new();
    let right = [("KEYSTORE_PASSWORD", "right horse")];
    let wrong = [("KEYSTORE_PASSWORD", "wrong horse")];
    home.run(&["create", "-p"]).fails(64, "KEYSTORE_PASSWORD");
    home.run_env(&["create", "-p"], &[("KEYSTORE_PASSWORD", "")]).fails(64, "non-empty password");
    assert!(!home.keystore().exists());

    home.run_env(&["create", "--password"], &right).ok();
    assert_eq!(mode(&home.keystore()), 0o600);
    home.run_with(&["add", "-x", BOOTSTRAP], b"boot\n", &right).ok();
    let before = home.keystore_bytes();

    let wrong_msg = format!("the password for keystore [{}] is wrong", home.keystore().display());
    home.run_env(&["list"], &wrong).fails(65, &wrong_msg);
    home.run_env(&["show", BOOTSTRAP], &wrong).fails(65, &wrong_msg);
    home.run_with(&["add", "-x", "-f", HTTP_KS], b"x\n", &wrong).fails(65, &wrong_msg);
    home.run_env(&["remove", BOOTSTRAP], &wrong).fails(65, &wrong_msg);
    home.run_env(&["upgrade"], &wrong).fails(65, &wrong_msg);
    home.run_env(&["passwd"], &[wrong[0], ("KEYSTORE_NEW_PASSWORD", "n")]).fails(65, &wrong_msg);
    // No password and no terminal to ask on.
    home.run(&["list"]).fails(64, "set KEYSTORE_PASSWORD");
    assert_eq!(home.keystore_bytes(), before, "failed commands leave the file alone");

    assert_eq!(home.list(&right), [BOOTSTRAP, SEED]);
    assert_eq!(home.show(BOOTSTRAP, &right), b"boot");
}

#[test]
fn passwd_changes_and_removes_the_password() {
    let home = Home::new();
    home.create();
    home.run_with(&["add", "-x", BOOTSTRAP], b"boot\n", &[]).ok();
    let before = home.keystore_bytes();
    home.run(&["passwd"]).fails(64, "KEYSTORE_NEW_PASSWORD");
    assert_eq!(home.keystore_bytes(), before);

    let out = home.run_env(&["passwd"], &[("KEYSTORE_NEW_PASSWORD", "first")]);
    out.ok();
    assert_eq!(out.stdout(), "Keystore password changed successfully.\n");
    home.run(&["has-passwd"]).ok();
    home.run(&["list"]).fails(64, "KEYSTORE_PASSWORD");
    assert_eq!(home.show(BOOTSTRAP, &[("KEYSTORE_PASSWORD", "first")]), b"boot");

    home.run_env(&["passwd"], &[("KEYSTORE_PASSWORD", "first"), ("KEYSTORE_NEW_PASSWORD", "second")]).ok();
    home.run_env(&["list"], &[("KEYSTORE_PASSWORD", "first")]).fails(65, "is wrong");
    assert_eq!(home.show(BOOTSTRAP, &[("KEYSTORE_PASSWORD", "second")]), b"boot");

    let out = home.run_env(&["passwd"], &[("KEYSTORE_PASSWORD", "second"), ("KEYSTORE_NEW_PASSWORD", "")]);
    out.ok();
    assert!(out.stdout().starts_with("Keystore password removed"), "{}", out.stdout());
    home.run(&["has-passwd"]).fails(1, "not password-protected");
    assert_eq!(home.show(BOOTSTRAP, &[]), b"boot");
    assert_eq!(mode(&home.keystore()), 0o600);
    assert!(home.strays().is_empty(), "{:?}", home.strays());
}

#[test]
fn has_passwd_exit_codes() {
    let home = Home::new();
    home.run(&["has-passwd"]).fails(1, "keystore not found");
    home.create();
    let out = home.run(&["has-passwd"]);
    out.fails(1, &format!("Keystore [{}] is not password-protected", home.keystore().display()));
    assert!(out.stdout.is_empty());

    home.run_env(&["passwd"], &[("KEYSTORE_NEW_PASSWORD", "pw")]).ok();
    let out = home.run(&["has-passwd"]);
    out.ok();
    assert_eq!(out.stdout(), "Keystore is password-protected\n");
    let out = home.run(&["has-passwd", "--silent"]);
    out.ok();
    assert!(out.stdout.is_empty());
}

#[test]
fn a_flipped_byte_is_reported_as_tampering_and_nothing_changes() {
    let home = Home::new();
    home.create();
    home.run_with(&["add", "-x", BOOTSTRAP], b"boot\n", &[]).ok();
    let mut bytes = home.keystore_bytes();
    // A byte inside the encrypted data (after the 58-byte header, before the 32-byte checksum).
    let offset = 70;
    assert!(offset < bytes.len() - 32);
    bytes[offset] ^= 0x20;
    std::fs::write(home.keystore(), &bytes).unwrap();

    let expected = format!(
        "keystore [{}] is corrupted or has been tampered with: checksum mismatch; restore it from a \
         backup or recreate it with `bulwark keystore create`",
        home.keystore().display()
    );
    home.run(&["list"]).fails(65, &expected);
    home.run(&["show", BOOTSTRAP]).fails(65, &expected);
    home.run_with(&["add", "-x", "-f", HTTP_KS], b"x\n", &[]).fails(65, &expected);
    home.run(&["remove", BOOTSTRAP]).fails(65, &expected);
    home.run(&["upgrade"]).fails(65, &expected);
    home.run_env(&["passwd"], &[("KEYSTORE_NEW_PASSWORD", "n")]).fails(65, &expected);
    assert_eq!(home.keystore_bytes(), bytes, "the damaged file is left for inspection");

    // Something that is not a keystore at all.
    std::fs::write(home.keystore(), b"not a keystore, just text\n").unwrap();
    home.run(&["list"]).fails(65, "corrupted or has been tampered with");
    assert_eq!(home.keystore_bytes(), b"not a keystore, just text\n");
}

#[test]
fn keystore_file_is_0600_after_every_write() {
    let home = Home::new();
    home.create();
    assert_eq!(mode(&home.keystore()), 0o600);
    std::fs::set_permissions(home.keystore(), std::fs::Permissions::from_mode(0o644)).unwrap();
    home.run_with(&["add", "-x", BOOTSTRAP], b"v\n", &[]).ok();
    assert_eq!(mode(&home.keystore()), 0o600, "a widened mode is narrowed again on save");
    std::fs::set_permissions(home.keystore(), std::fs::Permissions::from_mode(0o640)).unwrap();
    home.run(&["remove", BOOTSTRAP]).ok();
    assert_eq!(mode(&home.keystore()), 0o600);
    assert!(home.strays().is_empty(), "{:?}", home.strays());
}

#[test]
fn every_subcommand_has_help() {
    let home = Home::new();
    let cases = [
        ("create", "--password"),
        ("list", "sorted"),
        ("add", "--stdin"),
        ("add-file", "<NAME> <FILE>"),
        ("remove", "<NAME>..."),
        ("show", "--output"),
        ("upgrade", "current format"),
        ("passwd", "KEYSTORE_NEW_PASSWORD"),
        ("has-passwd", "--silent"),
    ];
    for (command, needle) in cases {
        let out = home.run(&[command, "--help"]);
        out.ok();
        assert!(out.stdout().contains(needle), "{command} --help lacks {needle:?}:\n{}", out.stdout());
    }
    let out = home.run(&["--help"]);
    out.ok();
    assert!(out.stdout().contains("KEYSTORE_PASSWORD"), "{}", out.stdout());
    assert!(!home.dir.path().join("config").exists());
}
