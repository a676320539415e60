//! TLS material for a layer, from its `xpack.security.<layer>.ssl.*` settings: a PKCS#12
//! keystore (`keystore.path` + `keystore.secure_password` in the keystore) or PEM files
//! (`certificate`, `key`, `certificate_authorities`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bulwark_keystore::Keystore;
use bulwark_pki::{ClientAuth, ClientTrust, TlsVersions};
use bulwark_settings::values::{ClientAuthentication, TlsProtocol, VerificationMode};
use bulwark_settings::{Home, SslSettings};
use secrecy::SecretString;

use crate::NodeError;

/// One certificate in use, as `GET /_ssl/certificates` reports it.
#[derive(Debug, Clone)]
pub struct CertEntry {
    /// The path as configured (relative to the config directory when it was relative).
    pub path: String,
    /// `PKCS12` or `PEM`.
    pub format: &'static str,
    /// The PKCS#12 alias, when there is one.
    pub alias: Option<String>,
    pub der: Vec<u8>,
    pub has_private_key: bool,
}

/// The certificates and key a layer serves with.
pub struct LayerMaterial {
    /// Leaf first, then CA certificates.
    pub chain: Vec<Vec<u8>>,
    pub key: zeroize::Zeroizing<Vec<u8>>,
    /// Certificates trusted for client authentication.
    pub trusted: Vec<Vec<u8>>,
    /// Every certificate, with where it came from.
    pub entries: Vec<CertEntry>,
}

fn read(path: &Path, setting: &str) -> Result<Vec<u8>, NodeError> {
    std::fs::read(path).map_err(|e| {
        NodeError::Config(format!("cannot read [{}] named by setting [{setting}]: {e}", path.display()))
    })
}

fn secret(ks: Option<&Keystore>, name: &str) -> SecretString {
    ks.and_then(|k| k.get_string(name)).unwrap_or_else(|| SecretString::from(""))
}

fn wrap(setting: String, path: &Path) -> impl FnOnce(bulwark_pki::PkiError) -> NodeError + '_ {
    move |e| NodeError::Config(format!("setting [{setting}] ([{}]): {e}", path.display()))
}

/// The files a layer's material is read from (watched for hot reload).
pub fn files(home: &Home, ssl: &SslSettings) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ssl.certificate_authorities.iter().map(|p| home.config_relative(p)).collect();
    for p in [&ssl.truststore_path, &ssl.keystore_path, &ssl.certificate, &ssl.key].into_iter().flatten() {
        out.push(home.config_relative(p));
    }
    out
}

/// Loads a layer's material; `layer` is `http` or `transport`.
pub fn load(
    home: &Home,
    layer: &str,
    ssl: &SslSettings,
    ks: Option<&Keystore>,
) -> Result<LayerMaterial, NodeError> {
    let prefix = format!("xpack.security.{layer}.ssl");
    let shown = |p: &Path| p.display().to_string();
    let mut trusted = Vec::new();
    let mut entries = Vec::new();
    for ca in &ssl.certificate_authorities {
        let p = home.config_relative(ca);
        let setting = format!("{prefix}.certificate_authorities");
        for der in bulwark_pki::certs_from_pem(&read(&p, &setting)?).map_err(wrap(setting, &p))? {
            entries.push(CertEntry {
                path: shown(ca),
                format: "PEM",
                alias: None,
                der: der.clone(),
                has_private_key: false,
            });
            trusted.push(der);
        }
    }
    if let Some(ts) = &ssl.truststore_path {
        let p = home.config_relative(ts);
        let setting = format!("{prefix}.truststore.path");
        let pw = secret(ks, &format!("{prefix}.truststore.secure_password"));
        let contents = bulwark_pki::read_p12(&read(&p, &setting)?, &pw).map_err(wrap(setting, &p))?;
        for (alias, der) in &contents.trusted {
            entries.push(CertEntry {
                path: shown(ts),
                format: "PKCS12",
                alias: Some(alias.clone()),
                der: der.clone(),
                has_private_key: false,
            });
        }
        trusted.extend(contents.ca_certs());
    }
    let (chain, key) = if let Some(kp) = &ssl.keystore_path {
        let p = home.config_relative(kp);
        let setting = format!("{prefix}.keystore.path");
        let pw = secret(ks, &format!("{prefix}.keystore.secure_password"));
        let contents = bulwark_pki::read_p12(&read(&p, &setting)?, &pw).map_err(wrap(setting.clone(), &p))?;
        let kc = contents.key_chain(None).map_err(wrap(setting, &p))?;
        let alias =
            contents.key_chains.iter().find(|(_, c)| c.chain_der == kc.chain_der).map(|(a, _)| a.clone());
        for (i, der) in kc.chain_der.iter().enumerate() {
            entries.push(CertEntry {
                path: shown(kp),
                format: "PKCS12",
                alias: alias.clone(),
                der: der.clone(),
                has_private_key: i == 0,
            });
        }
        (kc.chain_der.clone(), zeroize::Zeroizing::new(kc.key_pkcs8_der.to_vec()))
    } else if let (Some(c), Some(k)) = (&ssl.certificate, &ssl.key) {
        let (cp, kp) = (home.config_relative(c), home.config_relative(k));
        let cs = format!("{prefix}.certificate");
        let mut chain = bulwark_pki::certs_from_pem(&read(&cp, &cs)?).map_err(wrap(cs, &cp))?;
        for (i, der) in chain.iter().enumerate() {
            entries.push(CertEntry {
                path: shown(c),
                format: "PEM",
                alias: None,
                der: der.clone(),
                has_private_key: i == 0,
            });
        }
        // Send the CA too, so clients can pin it by fingerprint.
        for t in &trusted {
            if !chain.contains(t) {
                chain.push(t.clone());
            }
        }
        let ksetting = format!("{prefix}.key");
        let passphrase_entry = format!("{prefix}.secure_key_passphrase");
        let passphrase = ks.and_then(|k| k.get_string(&passphrase_entry));
        let key = bulwark_pki::key_from_pem_with_passphrase(&read(&kp, &ksetting)?, passphrase.as_ref())
            .map_err(|e| match e {
                bulwark_pki::PkiError::EncryptedKey => NodeError::Config(format!(
                    "setting [{ksetting}] ([{}]): the private key is encrypted; add its passphrase to the keystore: `bulwark keystore add {passphrase_entry}`",
                    kp.display()
                )),
                bulwark_pki::PkiError::WrongPassphrase => NodeError::Config(format!(
                    "setting [{ksetting}] ([{}]): the passphrase in the keystore's [{passphrase_entry}] does not decrypt the private key",
                    kp.display()
                )),
                other => wrap(ksetting.clone(), &kp)(other),
            })?;
        (chain, key)
    } else {
        return Err(NodeError::Config(format!(
            "[{prefix}.enabled] is true but neither [{prefix}.keystore.path] nor [{prefix}.certificate] and [{prefix}.key] are set"
        )));
    };
    Ok(LayerMaterial { chain, key, trusted, entries })
}

/// Checks material before it is used: the leaf is valid now, has names, and is signed by the
/// CA sent with it (key/certificate agreement is checked when the configuration is built).
pub fn validate(layer: &str, material: &LayerMaterial) -> Result<(), NodeError> {
    let bad = |m: String| NodeError::Config(format!("the {layer} certificate is not usable: {m}"));
    let leaf = material.chain.first().ok_or_else(|| bad("no certificate".into()))?;
    let info = bulwark_pki::inspect(leaf).map_err(|e| bad(e.to_string()))?;
    let now = time::OffsetDateTime::now_utc();
    if !info.is_valid_at(now) {
        return Err(bad(format!(
            "[{}] is valid from {} to {}, not now",
            info.subject_dn, info.not_before, info.not_after
        )));
    }
    if info.dns_sans.is_empty() && info.ip_sans.is_empty() {
        return Err(bad(format!("[{}] has no subject alternative names", info.subject_dn)));
    }
    if let Some(ca) = material.chain.get(1) {
        bulwark_pki::verify_chain(leaf, ca).map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}

/// A rustls server configuration for a layer.
pub fn server_config(
    layer: &str,
    ssl: &SslSettings,
    material: &LayerMaterial,
    crls: &[Vec<u8>],
) -> Result<Arc<rustls::ServerConfig>, NodeError> {
    let prefix = format!("xpack.security.{layer}.ssl");
    let names: Vec<String> = ssl.supported_protocols.iter().map(TlsProtocol::to_string).collect();
    let versions = TlsVersions::from_protocols(&names)
        .map_err(|e| NodeError::Config(format!("setting [{prefix}.supported_protocols]: {e}")))?;
    // Client certificates have no host name to check, so `full` and `certificate` verify them
    // alike. `none` would let any certificate through, and the PKI realm would log its subject in:
    // refused rather than honoured.
    if ssl.verification_mode == VerificationMode::None
        && ssl.client_authentication != ClientAuthentication::None
    {
        return Err(NodeError::Config(format!(
            "[{prefix}.verification_mode] is [none] while [{prefix}.client_authentication] is [{}]: any client certificate would be accepted, and the PKI realm would trust its subject; use [full] (or [certificate]) with [{prefix}.certificate_authorities] or a truststore",
            ssl.client_authentication
        )));
    }
    let trust = || ClientTrust { roots: material.trusted.clone(), crls: crls.to_vec() };
    let client_auth = match ssl.client_authentication {
        ClientAuthentication::None => ClientAuth::None,
        ClientAuthentication::Optional => ClientAuth::Optional(trust()),
        ClientAuthentication::Required => ClientAuth::Required(trust()),
    };
    let cfg = bulwark_pki::server_config(
        material.chain.clone(),
        &material.key,
        client_auth,
        versions,
        // HTTP/1.0 clients that offer only `http/1.0` are served too (a list without it makes
        // rustls refuse them with a no_application_protocol alert).
        &[b"h2", b"http/1.1", b"http/1.0"],
        &ssl.cipher_suites,
    )
    .map_err(|e| match e {
        bulwark_pki::PkiError::UnsupportedCipherSuite { .. } => {
            NodeError::Config(format!("setting [{prefix}.cipher_suites]: {e}"))
        }
        other => NodeError::Config(format!("TLS for [{prefix}]: {other}")),
    })?;
    Ok(Arc::new(cfg))
}
