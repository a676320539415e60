//! The file realm, in Elasticsearch's formats: `config/users` holds `username:hash` lines and
//! `config/users_roles` holds `role:user1,user2` lines; `#` starts a comment line and blank lines
//! are ignored.
//!
//! Parsing is strict where Elasticsearch is lenient: a bad line is an error naming the file and
//! the line (Elasticsearch skips it, or drops every user), a plaintext or unknown hash is refused
//! (Elasticsearch would compare it as plaintext), and a reserved user name is refused. A node
//! that polls the files keeps its previous users when an edit does not parse.
//!
//! User and role names follow Elasticsearch's rule (1 to 1024 printable ASCII characters, no
//! leading or trailing space) and, because these files could not represent them otherwise, must
//! not contain `:` or `,` nor start with `#`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_lc_rs::digest;
use secrecy::SecretString;

use super::{Authentication, PasswordHash, RESERVED_USERS, RealmRef, User, VerifyCache};

/// The users file's name in the config directory.
pub const USERS_FILE: &str = "users";
/// The user-to-role file's name in the config directory.
pub const USERS_ROLES_FILE: &str = "users_roles";

/// Longest user or role name Elasticsearch accepts.
const MAX_NAME_LEN: usize = 1024;

/// Names no file user may take: the built-in users (and the deprecated `kibana`) and the internal
/// users, which are never usable from outside.
const OTHER_RESERVED_NAMES: &[&str] = &[
    "kibana",
    "_system",
    "_xpack",
    "_xpack_security",
    "_async_search",
    "_security_profile",
    "_storage",
    "_synonyms",
    "_lazy_rollover",
    "_reindex_data_stream",
];

/// A realm file that cannot be read or does not parse.
#[derive(Debug, thiserror::Error)]
pub enum RealmFileError {
    /// The file exists but cannot be read (or is not UTF-8).
    #[error("cannot read [{}]: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// One line is not in the file's format. The message never holds a hash.
    #[error("[{}] line {line}: {reason}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Whether `name` is a built-in or internal user that the file realm may not define.
pub fn is_reserved_username(name: &str) -> bool {
    RESERVED_USERS.iter().any(|(u, _)| *u == name) || OTHER_RESERVED_NAMES.contains(&name)
}

/// Checks a user name against Elasticsearch's rule and the file formats' limits.
pub fn validate_username(name: &str) -> Result<(), String> {
    validate_name("user", name)
}

/// Checks a role name against Elasticsearch's rule and the file formats' limits.
pub fn validate_role_name(name: &str) -> Result<(), String> {
    validate_name("role", name)
}

fn validate_name(kind: &str, name: &str) -> Result<(), String> {
    let printable = name.bytes().all(|b| (0x20..=0x7e).contains(&b));
    let len_ok = (1..=MAX_NAME_LEN).contains(&name.len());
    if !len_ok || !printable || name.starts_with(' ') || name.ends_with(' ') {
        return Err(format!(
            "invalid {kind} name [{}]: a {kind} name has 1 to {MAX_NAME_LEN} printable ASCII characters \
             (letters, digits, spaces, punctuation, symbols) and no leading or trailing space",
            name.escape_debug()
        ));
    }
    if name.contains([':', ',']) || name.starts_with('#') {
        return Err(format!(
            "invalid {kind} name [{name}]: file realm names cannot contain ':' or ',' nor start with '#'"
        ));
    }
    Ok(())
}

/// The lines that carry data: `(line number, trimmed text)`, skipping `#` comments and blanks.
pub(crate) fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Reads a realm file; `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, RealmFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RealmFileError::Io { path: path.to_path_buf(), source }),
    }
}

/// Adds a file's presence and bytes to a digest.
pub(crate) fn digest_file(ctx: &mut digest::Context, text: Option<&str>) {
    match text {
        None => ctx.update(&[0]),
        Some(t) => {
            ctx.update(&[1]);
            ctx.update(&(t.len() as u64).to_be_bytes());
            ctx.update(t.as_bytes());
        }
    }
}

pub(crate) fn finish(ctx: digest::Context) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// `config/users`: user names and their password hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersFile {
    users: BTreeMap<String, PasswordHash>,
}

impl UsersFile {
    /// Parses the file's text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<UsersFile, RealmFileError> {
        let bad = |line, reason: String| RealmFileError::Line { path: path.to_path_buf(), line, reason };
        let mut users = BTreeMap::new();
        for (n, line) in content_lines(text) {
            let (user, hash) = match line.split_once(':') {
                Some((u, h)) if !u.is_empty() && !h.is_empty() => (u, h),
                _ => return Err(bad(n, "expected `username:hash`".into())),
            };
            validate_username(user).map_err(|e| bad(n, e))?;
            if is_reserved_username(user) {
                return Err(bad(n, format!("user [{user}] is reserved and cannot be a file user")));
            }
            let hash = PasswordHash::from_stored(hash.to_owned());
            if !hash.is_known_format() {
                return Err(bad(
                    n,
                    format!(
                        "the password hash of user [{user}] is not bcrypt, {{PBKDF2}} or {{PBKDF2_STRETCH}} \
                         (plaintext passwords are not accepted)"
                    ),
                ));
            }
            if users.insert(user.to_owned(), hash).is_some() {
                return Err(bad(n, format!("user [{user}] is defined more than once")));
            }
        }
        Ok(UsersFile { users })
    }

    /// Reads and parses the file; a missing file has no users.
    pub fn load(path: &Path) -> Result<UsersFile, RealmFileError> {
        match read_optional(path)? {
            Some(text) => UsersFile::parse(&text, path),
            None => Ok(UsersFile::default()),
        }
    }

    /// The file's text: one `username:hash` line per user, sorted by name.
    pub fn to_file_string(&self) -> String {
        self.users.iter().map(|(u, h)| format!("{u}:{}\n", h.as_str())).collect()
    }

    /// The stored hash of a user.
    pub fn get(&self, username: &str) -> Option<&PasswordHash> {
        self.users.get(username)
    }

    /// Whether `username` has a line.
    pub fn contains(&self, username: &str) -> bool {
        self.users.contains_key(username)
    }

    /// Adds or replaces a user; the name must be valid and not reserved.
    pub fn insert(&mut self, username: &str, hash: PasswordHash) -> Result<(), String> {
        validate_username(username)?;
        if is_reserved_username(username) {
            return Err(format!("user [{username}] is reserved and cannot be a file user"));
        }
        self.users.insert(username.to_owned(), hash);
        Ok(())
    }

    /// Removes a user; whether it existed.
    pub fn remove(&mut self, username: &str) -> bool {
        self.users.remove(username).is_some()
    }

    /// User names, sorted.
    pub fn usernames(&self) -> impl Iterator<Item = &str> {
        self.users.keys().map(String::as_str)
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// No users at all.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// `config/users_roles`: for each role, the file users that have it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersRolesFile {
    by_role: BTreeMap<String, BTreeSet<String>>,
}

impl UsersRolesFile {
    /// Parses the file's text; `path` only names the file in errors. A role on several lines gets
    /// the users of all of them.
    pub fn parse(text: &str, path: &Path) -> Result<UsersRolesFile, RealmFileError> {
        let bad = |line, reason: String| RealmFileError::Line { path: path.to_path_buf(), line, reason };
        let mut by_role: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (n, line) in content_lines(text) {
            let (role, users) = match line.split_once(':') {
                Some((r, u)) if !r.trim().is_empty() && !u.trim().is_empty() => (r.trim(), u.trim()),
                _ => return Err(bad(n, "expected `role:user1,user2`".into())),
            };
            validate_role_name(role).map_err(|e| bad(n, e))?;
            let set = by_role.entry(role.to_owned()).or_default();
            for user in users.split(',').map(str::trim) {
                if user.is_empty() {
                    return Err(bad(n, format!("empty user name in the list of role [{role}]")));
                }
                validate_username(user).map_err(|e| bad(n, e))?;
                set.insert(user.to_owned());
            }
        }
        Ok(UsersRolesFile { by_role })
    }

    /// Reads and parses the file; a missing file maps no roles.
    pub fn load(path: &Path) -> Result<UsersRolesFile, RealmFileError> {
        match read_optional(path)? {
            Some(text) => UsersRolesFile::parse(&text, path),
            None => Ok(UsersRolesFile::default()),
        }
    }

    /// The file's text: one `role:user1,user2` line per role, roles and users sorted.
    pub fn to_file_string(&self) -> String {
        self.by_role
            .iter()
            .filter(|(_, users)| !users.is_empty())
            .map(|(role, users)| format!("{role}:{}\n", users.iter().cloned().collect::<Vec<_>>().join(",")))
            .collect()
    }

    /// The roles of a user, sorted.
    pub fn roles_of(&self, username: &str) -> Vec<String> {
        self.by_role.iter().filter(|(_, users)| users.contains(username)).map(|(r, _)| r.clone()).collect()
    }

    /// Replaces the roles of a user (an empty list removes the user from the file).
    pub fn set_roles(&mut self, username: &str, roles: &[String]) -> Result<(), String> {
        validate_username(username)?;
        for role in roles {
            validate_role_name(role)?;
        }
        self.remove_user(username);
        for role in roles {
            self.by_role.entry(role.clone()).or_default().insert(username.to_owned());
        }
        Ok(())
    }

    /// Removes a user from every role; whether it had any.
    pub fn remove_user(&mut self, username: &str) -> bool {
        let mut had = false;
        for users in self.by_role.values_mut() {
            had |= users.remove(username);
        }
        self.by_role.retain(|_, users| !users.is_empty());
        had
    }

    /// Every user named in the file, sorted.
    pub fn usernames(&self) -> BTreeSet<&str> {
        self.by_role.values().flatten().map(String::as_str).collect()
    }
}

/// What [`FileRealm::reload_if_changed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// Neither file changed since the last look.
    Unchanged,
    /// The files changed and were loaded; the warnings of the new contents.
    Reloaded(Vec<String>),
}

/// The file realm: users and roles from `config/users` and `config/users_roles`.
pub struct FileRealm {
    users: UsersFile,
    roles: UsersRolesFile,
    warnings: Vec<String>,
    /// Digest of the file contents last looked at (loaded or not).
    seen: Option<[u8; 32]>,
    cache: VerifyCache,
}

impl FileRealm {
    /// A realm over parsed files (for tests and tools); see [`warnings`](Self::warnings).
    pub fn new(users: UsersFile, roles: UsersRolesFile) -> FileRealm {
        let warnings = Self::check(&users, &roles);
        FileRealm {
            users,
            roles,
            warnings,
            seen: None,
            cache: VerifyCache::new(Duration::from_secs(20 * 60), 100_000),
        }
    }

    /// Loads both files (a missing file is empty).
    pub fn load(users_path: &Path, roles_path: &Path) -> Result<FileRealm, RealmFileError> {
        let mut realm = FileRealm::new(UsersFile::default(), UsersRolesFile::default());
        realm.reload_if_changed(users_path, roles_path)?;
        Ok(realm)
    }

    /// Users named in `users_roles` but absent from `users` are ignored; one warning each.
    fn check(users: &UsersFile, roles: &UsersRolesFile) -> Vec<String> {
        roles
            .usernames()
            .into_iter()
            .filter(|u| !users.contains(u))
            .map(|u| {
                format!("user [{u}] is listed in [{USERS_ROLES_FILE}] but not in [{USERS_FILE}]; ignoring it")
            })
            .collect()
    }

    /// Re-reads both files when their contents differ from the last look. On an error the realm
    /// keeps its previous users, and the same broken contents are not reported again.
    pub fn reload_if_changed(
        &mut self,
        users_path: &Path,
        roles_path: &Path,
    ) -> Result<ReloadOutcome, RealmFileError> {
        let users_text = read_optional(users_path)?;
        let roles_text = read_optional(roles_path)?;
        let mut ctx = digest::Context::new(&digest::SHA256);
        digest_file(&mut ctx, users_text.as_deref());
        digest_file(&mut ctx, roles_text.as_deref());
        let digest = finish(ctx);
        if self.seen == Some(digest) {
            return Ok(ReloadOutcome::Unchanged);
        }
        self.seen = Some(digest);
        let users = match &users_text {
            Some(t) => UsersFile::parse(t, users_path)?,
            None => UsersFile::default(),
        };
        let roles = match &roles_text {
            Some(t) => UsersRolesFile::parse(t, roles_path)?,
            None => UsersRolesFile::default(),
        };
        self.warnings = Self::check(&users, &roles);
        self.users = users;
        self.roles = roles;
        self.cache.invalidate(None);
        Ok(ReloadOutcome::Reloaded(self.warnings.clone()))
    }

    /// Warnings about the loaded contents (users in `users_roles` missing from `users`).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether `username` is a file user (else the next realm should try).
    pub fn owns(&self, username: &str) -> bool {
        self.users.contains(username)
    }

    /// `config/users` as last read.
    pub fn users(&self) -> &UsersFile {
        &self.users
    }

    /// `config/users_roles` as last read.
    pub fn roles(&self) -> &UsersRolesFile {
        &self.roles
    }

    /// The user as the realm knows it, for `run_as` and lookups; `None` for an unknown user.
    pub fn lookup(&self, username: &str) -> Option<User> {
        self.owns(username).then(|| User {
            username: username.to_owned(),
            roles: self.roles.roles_of(username),
            full_name: None,
            email: None,
            enabled: true,
        })
    }

    fn authentication(&self, username: &str) -> Option<Authentication> {
        Some(Authentication {
            user: self.lookup(username)?,
            authentication_realm: RealmRef::FILE,
            lookup_realm: RealmRef::FILE,
            authentication_type: "realm",
            token: None,
            api_key: None,
            pki_dn: None,
        })
    }

    /// The fast path: `Some` only for credentials verified recently.
    pub fn authenticate_cached(&self, username: &str, password: &SecretString) -> Option<Authentication> {
        if !self.owns(username) || !self.cache.hit(username, password) {
            return None;
        }
        self.authentication(username)
    }

    /// The full check (may run bcrypt or PBKDF2: call it off the async executor). `None` for an
    /// unknown user or a wrong password.
    pub fn authenticate(&self, username: &str, password: &SecretString) -> Option<Authentication> {
        if let Some(a) = self.authenticate_cached(username, password) {
            return Some(a);
        }
        let hash = self.users.get(username)?;
        if !hash.verify(password) {
            return None;
        }
        self.cache.insert(username, password);
        self.authentication(username)
    }

    /// Forgets cached verifications for one user, or all.
    pub fn clear_cache(&self, username: Option<&str>) {
        self.cache.invalidate(username);
    }
}

#[cfg(test)]
mod tests {
    use bulwark_settings::values::PasswordHashing;

    use super::*;

    const FAST: PasswordHashing = PasswordHashing::Bcrypt { cost: 4 };

    fn hash(pw: &str) -> PasswordHash {
        PasswordHash::create(&SecretString::from(pw), FAST).unwrap()
    }

    fn line_error(e: RealmFileError) -> (usize, String) {
        match e {
            RealmFileError::Line { line, reason, path } => {
                assert_eq!(path, Path::new("config/x"));
                (line, reason)
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn parses_users_with_comments_and_every_hash_kind() {
        let pbkdf2 =
            PasswordHash::create(&SecretString::from("x"), PasswordHashing::Pbkdf2 { iterations: 1000 })
                .unwrap();
        let stretch = PasswordHash::create(
            &SecretString::from("x"),
            PasswordHashing::Pbkdf2Stretch { iterations: 1000 },
        )
        .unwrap();
        let text = format!(
            "# users\n\nbob:$2a$10$abcdefghijklmnopqrstuv\n  alice@example.com:{}  \ncarol.x-y_z:{}\n",
            pbkdf2.as_str(),
            stretch.as_str()
        );
        let f = UsersFile::parse(&text, Path::new("config/users")).unwrap();
        assert_eq!(f.usernames().collect::<Vec<_>>(), ["alice@example.com", "bob", "carol.x-y_z"]);
        assert_eq!(f.get("alice@example.com"), Some(&pbkdf2));
        assert_eq!(f.len(), 3);
        // Serialized sorted; parsing it again gives the same users.
        let out = f.to_file_string();
        assert!(out.starts_with("alice@example.com:{PBKDF2}1000$"), "{out}");
        assert_eq!(UsersFile::parse(&out, Path::new("u")).unwrap(), f);
        assert_eq!(UsersFile::parse(&out, Path::new("u")).unwrap().to_file_string(), out);
    }

    #[test]
    fn each_bad_users_line_names_its_line() {
        let good = "ok:$2a$10$abcdefghijklmnopqrstuv\n";
        let cases: &[(&str, &str)] = &[
            ("nocolon", "expected `username:hash`"),
            (":$2a$10$x", "expected `username:hash`"),
            ("bob:", "expected `username:hash`"),
            ("bob:plaintext", "plaintext passwords are not accepted"),
            ("b\u{e9}b:$2a$10$x", "invalid user name"),
            ("elastic:$2a$10$x", "reserved"),
            ("kibana:$2a$10$x", "reserved"),
            ("ok:$2a$10$y", "more than once"),
        ];
        for (bad, expect) in cases {
            let text = format!("# comment\n{good}\n{bad}\n");
            let (line, reason) = line_error(UsersFile::parse(&text, Path::new("config/x")).unwrap_err());
            assert_eq!(line, 4, "{bad}");
            assert!(reason.contains(expect), "{bad}: {reason}");
            assert!(!reason.contains("$2a$"), "a hash leaked: {reason}");
        }
        let e = UsersFile::parse("x:plain", Path::new("config/users")).unwrap_err().to_string();
        assert_eq!(e.split(':').next().unwrap(), "[config/users] line 1");
    }

    #[test]
    fn name_rules() {
        for ok in ["a", "bob", "Bob Smith", "x@y.z", "1abc", "we!rd~{}", &"a".repeat(1024)] {
            assert!(validate_username(ok).is_ok(), "{ok}");
        }
        for bad in ["", " bob", "bob ", "a:b", "a,b", "#a", "tab\t", "\u{e9}", &"a".repeat(1025)] {
            assert!(validate_username(bad).is_err(), "{bad:?}");
        }
        assert!(is_reserved_username("elastic") && is_reserved_username("_system"));
        assert!(!is_reserved_username("elastic2"));
    }

    #[test]
    fn parses_and_writes_users_roles() {
        let text = "# roles\nsuperuser: bob , alice\n\nviewer:carol\nviewer:bob\n";
        let f = UsersRolesFile::parse(text, Path::new("config/users_roles")).unwrap();
        assert_eq!(f.roles_of("bob"), ["superuser", "viewer"]);
        assert_eq!(f.roles_of("alice"), ["superuser"]);
        assert!(f.roles_of("nobody").is_empty());
        let out = f.to_file_string();
        assert_eq!(out, "superuser:alice,bob\nviewer:bob,carol\n");
        assert_eq!(UsersRolesFile::parse(&out, Path::new("r")).unwrap(), f);

        let mut f = f;
        f.set_roles("bob", &["editor".into()]).unwrap();
        assert_eq!(f.to_file_string(), "editor:bob\nsuperuser:alice\nviewer:carol\n");
        assert!(f.remove_user("carol"));
        assert!(!f.remove_user("carol"));
        assert_eq!(f.to_file_string(), "editor:bob\nsuperuser:alice\n");
        assert!(f.set_roles("bob", &["a:b".into()]).is_err());
    }

    #[test]
    fn each_bad_users_roles_line_names_its_line() {
        let cases: &[(&str, &str)] = &[
            ("superuser", "expected `role:user1,user2`"),
            ("superuser:", "expected `role:user1,user2`"),
            (":bob", "expected `role:user1,user2`"),
            ("superuser:bob,,alice", "empty user name"),
            ("bad\u{1}role:bob", "invalid role name"),
            ("superuser:b\u{e9}b", "invalid user name"),
        ];
        for (bad, expect) in cases {
            let text = format!("viewer:bob\n\n{bad}\n");
            let (line, reason) = line_error(UsersRolesFile::parse(&text, Path::new("config/x")).unwrap_err());
            assert_eq!(line, 3, "{bad}");
            assert!(reason.contains(expect), "{bad}: {reason}");
        }
    }

    fn realm() -> FileRealm {
        let mut users = UsersFile::default();
        users.insert("bob", hash("bob-password-1")).unwrap();
        users.insert("carol", hash("carol-password")).unwrap();
        let roles = UsersRolesFile::parse("superuser:bob\nviewer:bob,ghost\n", Path::new("r")).unwrap();
        FileRealm::new(users, roles)
    }

    #[test]
    fn authenticates_with_roles_from_users_roles() {
        let realm = realm();
        let pw = SecretString::from("bob-password-1");
        assert!(realm.authenticate_cached("bob", &pw).is_none());
        let a = realm.authenticate("bob", &pw).unwrap();
        assert_eq!(a.user.username, "bob");
        assert_eq!(a.user.roles, ["superuser", "viewer"]);
        assert_eq!(a.authentication_realm, RealmRef { name: "default_file", realm_type: "file" });
        assert_eq!(a.lookup_realm, RealmRef::FILE);
        assert_eq!(a.authentication_type, "realm");
        assert_eq!(a.token, None);
        assert!(realm.authenticate_cached("bob", &pw).is_some());
        assert!(realm.authenticate("bob", &SecretString::from("wrong-password")).is_none());
        assert!(realm.authenticate("nobody", &pw).is_none());
        let carol = realm.authenticate("carol", &SecretString::from("carol-password")).unwrap();
        assert!(carol.user.roles.is_empty());
        assert!(realm.owns("carol") && !realm.owns("ghost"));
        assert_eq!(realm.lookup("bob").unwrap().roles, ["superuser", "viewer"]);
        assert!(realm.lookup("ghost").is_none());
        assert_eq!(realm.warnings().len(), 1);
        assert!(realm.warnings()[0].contains("[ghost]"), "{:?}", realm.warnings());
        realm.clear_cache(Some("bob"));
        assert!(realm.authenticate_cached("bob", &pw).is_none());
    }

    #[test]
    fn reloads_only_on_change_and_keeps_users_on_a_bad_edit() {
        let dir = std::env::temp_dir().join(format!("bulwark-file-realm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (users, roles) = (dir.join(USERS_FILE), dir.join(USERS_ROLES_FILE));
        let _ = std::fs::remove_file(&roles);
        std::fs::write(&users, format!("bob:{}\n", hash("first-password").as_str())).unwrap();
        let mut realm = FileRealm::load(&users, &roles).unwrap();
        let first = SecretString::from("first-password");
        assert!(realm.authenticate("bob", &first).is_some());
        assert_eq!(realm.reload_if_changed(&users, &roles).unwrap(), ReloadOutcome::Unchanged);

        std::fs::write(&users, format!("bob:{}\n", hash("second-password").as_str())).unwrap();
        std::fs::write(&roles, "viewer:bob,ghost\n").unwrap();
        let ReloadOutcome::Reloaded(warnings) = realm.reload_if_changed(&users, &roles).unwrap() else {
            panic!("expected a reload")
        };
        assert_eq!(warnings.len(), 1);
        assert!(realm.authenticate_cached("bob", &first).is_none(), "old password must be forgotten");
        assert!(realm.authenticate("bob", &first).is_none());
        let a = realm.authenticate("bob", &SecretString::from("second-password")).unwrap();
        assert_eq!(a.user.roles, ["viewer"]);

        std::fs::write(&users, "bob:plaintext\n").unwrap();
        let e = realm.reload_if_changed(&users, &roles).unwrap_err();
        assert!(matches!(e, RealmFileError::Line { line: 1, .. }), "{e}");
        assert_eq!(realm.reload_if_changed(&users, &roles).unwrap(), ReloadOutcome::Unchanged);
        assert!(realm.authenticate("bob", &SecretString::from("second-password")).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
