//! The secure settings the node knows: names that may be stored in the keystore.

/// Secure settings with fixed names.
const KNOWN: &[&str] = &[
    "keystore.seed",
    "bootstrap.password",
    "autoconfiguration.password_hash",
    "autoconfiguration.http_ca.secure_password",
    "autoconfiguration.transport_ca.secure_password",
    "xpack.security.http.ssl.keystore.secure_password",
    "xpack.security.http.ssl.keystore.secure_key_password",
    "xpack.security.http.ssl.truststore.secure_password",
    "xpack.security.http.ssl.secure_key_passphrase",
    "xpack.security.transport.ssl.keystore.secure_password",
    "xpack.security.transport.ssl.keystore.secure_key_password",
    "xpack.security.transport.ssl.truststore.secure_password",
    "xpack.security.transport.ssl.secure_key_passphrase",
    AUDIT_CHAIN_KEY,
];

/// The key of the audit log's HMAC chain: 32 random bytes the node adds to the keystore on its
/// first start with audit on. Only the keystore holds it, so whoever can edit the log files but
/// not read the keystore cannot recompute the chain.
pub const AUDIT_CHAIN_KEY: &str = "xpack.security.audit.logfile.secure_chain_key";

/// Whether `name` is a secure setting the node understands (used by `bulwark keystore` to
/// refuse typos before they silently do nothing).
pub fn is_known_secure_setting(name: &str) -> bool {
    KNOWN.contains(&name)
}

/// Every known secure setting name, for error messages.
pub fn known_secure_settings() -> &'static [&'static str] {
    KNOWN
}
