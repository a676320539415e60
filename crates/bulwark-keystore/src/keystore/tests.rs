use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use aws_lc_rs::digest::{SHA256, digest};

use super::*;
use crate::format::offsets;
use crate::{FORMAT_VERSION, parse_untrusted};

fn pw(s: &str) -> SecretString {
    SecretString::from(s)
}

fn value(s: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(s.to_vec())
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulwark.keystore");
    (dir, path)
}

/// A small keystore saved to a file: seed + one string + one binary value.
fn saved(password: &str) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let (dir, path) = temp();
    let mut ks = Keystore::new().unwrap();
    ks.set("bootstrap.password", value(b"s3cret-value")).unwrap();
    ks.set("a.binary", value(&[0, 159, 146, 150, 255])).unwrap();
    ks.save(&path, &pw(password)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (dir, path, bytes)
}

/// Rewrites the SHA-256 trailer so a change gets past the checksum (a deliberate forgery).
fn reseal(bytes: &mut [u8]) {
    let body = bytes.len() - offsets::TRAILER;
    let sum = digest(&SHA256, &bytes[..body]);
    bytes[body..].copy_from_slice(sum.as_ref());
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn new_keystore_holds_only_a_seed() {
    let ks = Keystore::new().unwrap();
    assert_eq!(ks.names().collect::<Vec<_>>(), ["keystore.seed"]);
    let seed = ks.get("keystore.seed").unwrap();
    assert_eq!(seed.len(), 20);
    assert_ne!(ks.get("keystore.seed"), Keystore::new().unwrap().get("keystore.seed"));
    assert!(!ks.has_password());
}

#[test]
fn round_trip_without_password() {
    let (_dir, path, _) = saved("");
    assert!(Keystore::exists(&path));
    assert!(!Keystore::is_password_protected(&path).unwrap());
    let ks = Keystore::load(&path, &pw("")).unwrap();
    assert!(!ks.has_password());
    assert_eq!(ks.names().collect::<Vec<_>>(), ["a.binary", "bootstrap.password", "keystore.seed"]);
    assert_eq!(ks.get("bootstrap.password"), Some(&b"s3cret-value"[..]));
    assert_eq!(ks.get("a.binary"), Some(&[0, 159, 146, 150, 255][..]));
    use secrecy::ExposeSecret;
    assert_eq!(ks.get_string("bootstrap.password").unwrap().expose_secret(), "s3cret-value");
    assert!(ks.get_string("a.binary").is_none(), "not UTF-8");
    assert!(ks.get_string("missing").is_none());
    assert!(ks.get("missing").is_none());
}

#[test]
fn round_trip_with_password_and_password_change() {
    let (_dir, path, _) = saved("correct horse ✓");
    assert!(Keystore::is_password_protected(&path).unwrap());
    let mut ks = Keystore::load(&path, &pw("correct horse ✓")).unwrap();
    assert!(ks.has_password());
    assert_eq!(ks.get("bootstrap.password"), Some(&b"s3cret-value"[..]));

    assert!(ks.remove("a.binary"));
    assert!(!ks.remove("a.binary"));
    ks.save(&path, &pw("new")).unwrap();
    assert!(matches!(
        Keystore::load(&path, &pw("correct horse ✓")),
        Err(KeystoreError::WrongPassword { .. })
    ));
    let ks = Keystore::load(&path, &pw("new")).unwrap();
    assert!(!ks.contains("a.binary"));

    ks.save(&path, &pw("")).unwrap();
    assert!(!Keystore::is_password_protected(&path).unwrap());
    assert!(!Keystore::load(&path, &pw("")).unwrap().has_password());
}

#[test]
fn wrong_password_is_wrong_password_and_names_the_file() {
    let (_dir, path, _) = saved("right");
    for wrong in ["", "Right", "right ", "wrong"] {
        match Keystore::load(&path, &pw(wrong)) {
            Err(e @ KeystoreError::WrongPassword { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(&path.display().to_string()), "{msg}");
                assert!(msg.contains("KEYSTORE_PASSWORD"), "{msg}");
            }
            other => panic!("{wrong:?}: {other:?}"),
        }
    }
    // A keystore without a password opens only with the empty password.
    let (_dir, path, _) = saved("");
    assert!(matches!(Keystore::load(&path, &pw("x")), Err(KeystoreError::WrongPassword { .. })));
}

#[test]
fn every_flipped_byte_is_an_error() {
    let (_dir, _path, good) = saved("pw");
    assert!(good.len() > 100);
    for offset in 0..good.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[offset] ^= mask;
            match parse_untrusted(&bad, &pw("pw")) {
                Ok(ks) => panic!("byte {offset} ^ {mask:#x} was accepted: {ks:?}"),
                Err(KeystoreError::UnsupportedVersion { found, .. }) => {
                    assert_eq!(offset, offsets::VERSION);
                    assert_eq!(found, FORMAT_VERSION ^ mask);
                }
                Err(KeystoreError::Corrupted { reason, .. }) => {
                    if offset >= 4 {
                        assert_eq!(reason, "checksum mismatch", "byte {offset}");
                    }
                }
                Err(other) => panic!("byte {offset} ^ {mask:#x}: unexpected {other:?}"),
            }
        }
    }
}

#[test]
fn forged_changes_with_a_fixed_checksum_are_refused() {
    let (_dir, _path, good) = saved("pw");
    let header = offsets::HEADER;
    let trailer_start = good.len() - offsets::TRAILER;
    // One byte in each header field, the first and last ciphertext bytes and the tag.
    let targets = [offsets::FLAG, 10, 41, 42, 53, header, trailer_start - 17, trailer_start - 1];
    for offset in targets {
        let mut bad = good.clone();
        bad[offset] ^= 0x01;
        reseal(&mut bad);
        assert!(parse_untrusted(&bad, &pw("pw")).is_err(), "forged byte {offset} was accepted");
    }
    // The password flag is authenticated: clearing it does not open the file without a password.
    let mut bad = good.clone();
    bad[offsets::FLAG] = 0;
    reseal(&mut bad);
    assert!(matches!(parse_untrusted(&bad, &pw("")), Err(KeystoreError::WrongPassword { .. })));
    assert!(matches!(parse_untrusted(&bad, &pw("pw")), Err(KeystoreError::WrongPassword { .. })));
}

#[test]
fn header_fields_out_of_range_are_corrupted() {
    let (_dir, _path, good) = saved("pw");
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Damage)> = vec![
        ("flag 2", Box::new(|b| b[offsets::FLAG] = 2)),
        (
            "too few iterations",
            Box::new(|b| b[offsets::ITERATIONS..][..4].copy_from_slice(&209_999u32.to_be_bytes())),
        ),
        ("zero iterations", Box::new(|b| b[offsets::ITERATIONS..][..4].copy_from_slice(&0u32.to_be_bytes()))),
        (
            "too many iterations",
            Box::new(|b| b[offsets::ITERATIONS..][..4].copy_from_slice(&u32::MAX.to_be_bytes())),
        ),
        (
            "length too big",
            Box::new(|b| b[offsets::CIPHERTEXT_LEN..][..4].copy_from_slice(&u32::MAX.to_be_bytes())),
        ),
        (
            "length too small",
            Box::new(|b| b[offsets::CIPHERTEXT_LEN..][..4].copy_from_slice(&1u32.to_be_bytes())),
        ),
        ("trailing byte", Box::new(|b| b.insert(b.len() - offsets::TRAILER, 0))),
    ];
    for (what, damage) in cases {
        let mut bad = good.clone();
        damage(&mut bad);
        reseal(&mut bad);
        match parse_untrusted(&bad, &pw("pw")) {
            Err(KeystoreError::Corrupted { reason, .. }) => assert_ne!(reason, "checksum mismatch", "{what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let (_dir, path, good) = saved("");
    for len in 0..good.len() {
        assert!(parse_untrusted(&good[..len], &pw("")).is_err(), "accepted {len} of {} bytes", good.len());
        std::fs::write(&path, &good[..len]).unwrap();
        match Keystore::load(&path, &pw("")) {
            Err(KeystoreError::Corrupted { path: p, .. }) => assert_eq!(p, path),
            other => panic!("truncated to {len}: {other:?}"),
        }
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(parse_untrusted(&longer, &pw("")).is_err());
}

#[test]
fn garbage_and_other_files_are_refused_without_panic() {
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"BWKS".to_vec(),
        b"PK\x03\x04 a zip file".to_vec(),
        vec![0x3f, 0xd7, 0x6c, 0x17, 22], // Elasticsearch's (Lucene's) magic
        vec![0; 500],
        vec![0xff; 500],
    ];
    for bytes in inputs {
        assert!(parse_untrusted(&bytes, &pw("")).is_err());
    }
    assert!(matches!(
        parse_untrusted(&vec![0; crate::MAX_FILE_LEN + 1], &pw("")),
        Err(KeystoreError::Corrupted { .. })
    ));
}

#[test]
fn unsupported_version_names_both_versions() {
    let (_dir, path, mut bytes) = saved("");
    bytes[offsets::VERSION] = 7;
    std::fs::write(&path, &bytes).unwrap();
    let e = Keystore::load(&path, &pw("")).unwrap_err();
    assert!(matches!(e, KeystoreError::UnsupportedVersion { found: 7, supported: 1, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("version 7") && msg.contains("version 1"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(matches!(Keystore::is_password_protected(&path), Err(KeystoreError::UnsupportedVersion { .. })));
}

#[test]
fn corrupted_message_names_the_file_and_the_fix() {
    let (_dir, path, mut bytes) = saved("");
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let msg = Keystore::load(&path, &pw("")).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "keystore [{}] is corrupted or has been tampered with: checksum mismatch; restore it from a \
             backup or recreate it with `bulwark keystore create`",
            path.display()
        )
    );
}

#[test]
fn missing_file_is_not_found() {
    let (_dir, path) = temp();
    assert!(!Keystore::exists(&path));
    for e in
        [Keystore::load(&path, &pw("")).unwrap_err(), Keystore::is_password_protected(&path).unwrap_err()]
    {
        assert!(matches!(e, KeystoreError::NotFound { .. }), "{e:?}");
        assert!(e.to_string().contains("bulwark keystore create"));
    }
}

#[test]
fn is_password_protected_needs_only_the_header() {
    let (_dir, path, bytes) = saved("pw");
    std::fs::write(&path, &bytes[..6]).unwrap();
    assert!(Keystore::is_password_protected(&path).unwrap());
    std::fs::write(&path, &bytes[..5]).unwrap();
    assert!(matches!(Keystore::is_password_protected(&path), Err(KeystoreError::Corrupted { .. })));
    std::fs::write(&path, b"NOPE!\x01").unwrap();
    assert!(matches!(Keystore::is_password_protected(&path), Err(KeystoreError::Corrupted { .. })));
}

#[test]
fn saved_file_has_mode_0600_even_over_a_wider_file() {
    let (_dir, path) = temp();
    std::fs::write(&path, b"old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    Keystore::new().unwrap().save(&path, &pw("")).unwrap();
    assert_eq!(mode(&path), 0o600);
    let (_dir, path, _) = saved("x");
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn save_is_atomic_and_leaves_no_temp_file() {
    let (dir, path, first) = saved("");
    let ks = Keystore::load(&path, &pw("")).unwrap();
    ks.save(&path, &pw("")).unwrap();
    let second = std::fs::read(&path).unwrap();
    assert_ne!(first, second, "a new salt and nonce on every save");
    assert_eq!(first[..10], second[..10], "same magic, version, flag, iterations");
    assert_ne!(first[10..54], second[10..54]);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["bulwark.keystore"]);

    // A save that cannot complete (a directory is in the way) leaves neither a temp file nor
    // a changed directory.
    let blocked = dir.path().join("blocked");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), b"").unwrap();
    let e = ks.save(&blocked, &pw("")).unwrap_err();
    assert!(matches!(e, KeystoreError::Io { .. }), "{e:?}");
    assert!(atomic::leftovers(&blocked).is_empty());
    assert!(atomic::leftovers(&path).is_empty());
    assert!(blocked.join("keep").exists());

    // A missing directory is an I/O error naming the path.
    let nowhere = dir.path().join("missing").join("bulwark.keystore");
    let e = ks.save(&nowhere, &pw("")).unwrap_err();
    assert!(e.to_string().contains(&nowhere.display().to_string()));
}

#[test]
fn invalid_names_are_rejected() {
    let mut ks = Keystore::new().unwrap();
    for bad in ["", "has space", "slash/name", "key=value", "ünï", "new\nline"] {
        match ks.set(bad, value(b"v")) {
            Err(KeystoreError::InvalidName { name }) => assert_eq!(name, bad),
            other => panic!("{bad:?}: {other:?}"),
        }
        assert!(!ks.contains(bad));
    }
    ks.set("Good-name_1.x", value(b"v")).unwrap();
    assert!(ks.contains("Good-name_1.x"));
}

#[test]
fn debug_and_errors_never_show_values() {
    let (_dir, path, _) = saved("pw-in-debug");
    let ks = Keystore::load(&path, &pw("pw-in-debug")).unwrap();
    let debug = format!("{ks:?}");
    assert!(debug.contains("bootstrap.password"), "{debug}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(!debug.contains("pw-in-debug"), "{debug}");
    let seed = String::from_utf8(ks.get("keystore.seed").unwrap().to_vec()).unwrap();
    assert!(!debug.contains(&seed), "{debug}");
    let e = Keystore::load(&path, &pw("pw-in-error")).unwrap_err();
    assert!(!format!("{e} {e:?}").contains("pw-in-error"));
}

#[test]
fn a_failing_random_generator_makes_no_keystore_and_saves_nothing() {
    let (_dir, path) = temp();
    let e = bulwark_random::testing::failing(Keystore::new).unwrap_err();
    assert!(matches!(e, KeystoreError::Random(_)), "{e:?}");
    assert_eq!(e.to_string(), "cannot make keystore secrets: the system random number generator failed");
    let ks = Keystore::new().unwrap();
    let e = bulwark_random::testing::failing(|| ks.save(&path, &pw("x"))).unwrap_err();
    let cause = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
    assert_eq!(cause, "the system random number generator failed", "{e:?}");
    assert!(!path.exists());
}

#[test]
fn seed_is_added_only_when_missing() {
    let mut ks = Keystore::new().unwrap();
    let seed = ks.get("keystore.seed").unwrap().to_vec();
    assert!(!ks.add_seed_if_missing().unwrap());
    assert_eq!(ks.get("keystore.seed").unwrap(), seed);
    assert!(ks.remove("keystore.seed"));
    assert!(ks.is_empty());
    assert!(ks.add_seed_if_missing().unwrap());
    assert_eq!(ks.len(), 1);
}

#[test]
fn a_key_kept_from_a_save_opens_only_with_the_same_password() {
    let (_dir, path, _) = saved("right-password");
    Keystore::load(&path, &pw("right-password")).unwrap();
    // The kept key is found by salt and password: any other password still fails.
    for wrong in ["wrong-password", "", "right-password "] {
        let loaded = Keystore::load(&path, &pw(wrong));
        assert!(matches!(loaded, Err(KeystoreError::WrongPassword { .. })), "{wrong:?}");
    }
    Keystore::load(&path, &pw("right-password")).unwrap();
}
