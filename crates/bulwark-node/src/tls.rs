//! TLS material for a layer, from its `xpack.security.<layer>.ssl.*` settings: a PKCS#12
//! keystore (`keystore.path` + `keystore.secure_password` in the keystore) or PEM files
//! (`certificate`, `key`, `certificate_authorities`).

use std::path::Path;
use std::sync::Arc;

use bulwark_keystore::Keystore;
use bulwark_pki::{ClientAuth, TlsVersions};
use bulwark_settings::values::{ClientAuthentication, TlsProtocol};
use bulwark_settings::{Home, SslSettings};
use secrecy::SecretString;

use crate::NodeError;

/// The certificates and key a layer serves with.
pub struct LayerMaterial {
    /// Leaf first, then CA certificates.
    pub chain: Vec<Vec<u8>>,
    pub key: zeroize::Zeroizing<Vec<u8>>,
    /// Certificates trusted for client authentication.
    pub trusted: Vec<Vec<u8>>,
}

fn read(path: &Path, setting: &str) -> Result<Vec<u8>, NodeError> {
    std::fs::read(path).map_err(|e| {
        NodeError::Config(format!("cannot read [{}] named by setting [{setting}]: {e}", path.display()))
    })
}

fn secret(ks: Option<&Keystore>, name: &str) -> SecretString {
    ks.and_then(|k| k.get_string(name)).unwrap_or_else(|| SecretString::from(""))
}

/// Loads a layer's material; `layer` is `http` or `transport`.
pub fn load(
    home: &Home,
    layer: &str,
    ssl: &SslSettings,
    ks: Option<&Keystore>,
) -> Result<LayerMaterial, NodeError> {
    let prefix = format!("xpack.security.{layer}.ssl");
    fn wrap(setting: String, path: &Path) -> impl FnOnce(bulwark_pki::PkiError) -> NodeError + '_ {
        move |e| NodeError::Config(format!("setting [{setting}] ([{}]): {e}", path.display()))
    }
    let mut trusted = Vec::new();
    for ca in &ssl.certificate_authorities {
        let p = home.config_relative(ca);
        let setting = format!("{prefix}.certificate_authorities");
        trusted.extend(bulwark_pki::certs_from_pem(&read(&p, &setting)?).map_err(wrap(setting, &p))?);
    }
    if let Some(ts) = &ssl.truststore_path {
        let p = home.config_relative(ts);
        let setting = format!("{prefix}.truststore.path");
        let pw = secret(ks, &format!("{prefix}.truststore.secure_password"));
        trusted
            .extend(bulwark_pki::read_p12(&read(&p, &setting)?, &pw).map_err(wrap(setting, &p))?.ca_certs());
    }
    let (chain, key) = if let Some(kp) = &ssl.keystore_path {
        let p = home.config_relative(kp);
        let setting = format!("{prefix}.keystore.path");
        let pw = secret(ks, &format!("{prefix}.keystore.secure_password"));
        let contents = bulwark_pki::read_p12(&read(&p, &setting)?, &pw).map_err(wrap(setting.clone(), &p))?;
        let kc = contents.key_chain(None).map_err(wrap(setting, &p))?;
        (kc.chain_der.clone(), zeroize::Zeroizing::new(kc.key_pkcs8_der.to_vec()))
    } else if let (Some(c), Some(k)) = (&ssl.certificate, &ssl.key) {
        let (cp, kp) = (home.config_relative(c), home.config_relative(k));
        let cs = format!("{prefix}.certificate");
        let mut chain = bulwark_pki::certs_from_pem(&read(&cp, &cs)?).map_err(wrap(cs, &cp))?;
        // Send the CA too, so clients can pin it by fingerprint.
        for t in &trusted {
            if !chain.contains(t) {
                chain.push(t.clone());
            }
        }
        let ksetting = format!("{prefix}.key");
        let key = bulwark_pki::key_from_pem(&read(&kp, &ksetting)?).map_err(wrap(ksetting, &kp))?;
        (chain, key)
    } else {
        return Err(NodeError::Config(format!(
            "[{prefix}.enabled] is true but neither [{prefix}.keystore.path] nor [{prefix}.certificate] and [{prefix}.key] are set"
        )));
    };
    Ok(LayerMaterial { chain, key, trusted })
}

/// A rustls server configuration for a layer.
pub fn server_config(
    layer: &str,
    ssl: &SslSettings,
    material: &LayerMaterial,
) -> Result<Arc<rustls::ServerConfig>, NodeError> {
    let prefix = format!("xpack.security.{layer}.ssl");
    let names: Vec<String> = ssl.supported_protocols.iter().map(TlsProtocol::to_string).collect();
    let versions = TlsVersions::from_protocols(&names)
        .map_err(|e| NodeError::Config(format!("setting [{prefix}.supported_protocols]: {e}")))?;
    let client_auth = match ssl.client_authentication {
        ClientAuthentication::None => ClientAuth::None,
        ClientAuthentication::Optional => ClientAuth::Optional(material.trusted.clone()),
        ClientAuthentication::Required => ClientAuth::Required(material.trusted.clone()),
    };
    let cfg = bulwark_pki::server_config(
        material.chain.clone(),
        &material.key,
        client_auth,
        versions,
        &[b"h2", b"http/1.1"],
    )
    .map_err(|e| NodeError::Config(format!("TLS for [{prefix}]: {e}")))?;
    Ok(Arc::new(cfg))
}
