//! The console's own HTTPS: the certificate and key of `server.ssl.certificate`/`key` (for
//! instance the `kibana/` files of `certutil http`), else an ECDSA P-256 certificate generated on
//! the first start (signed by a console-only CA made at the same time, whose key is not kept),
//! for `localhost`, the loopback addresses and `server.host`.

use std::net::IpAddr;
use std::sync::Arc;

use bulwark_pki::{CertRequest, CertUsage, KeyAlgorithm, TlsVersions};
use bulwark_settings::console::ConsoleSettings;

use crate::{ConsoleError, ConsoleHome};

/// Validity of the generated certificate (days).
const GENERATED_VALIDITY_DAYS: u32 = 825;

/// The rustls server configuration for the console, or `None` with `server.ssl.enabled: false`.
pub fn server_config(
    home: &ConsoleHome,
    settings: &ConsoleSettings,
) -> Result<Option<Arc<rustls::ServerConfig>>, ConsoleError> {
    if !settings.ssl_enabled {
        return Ok(None);
    }
    let (cert_path, key_path) = match &settings.ssl_certificate {
        Some((c, k)) => (c.clone(), k.clone()),
        None => {
            let (c, k) = home.generated_tls();
            if !c.exists() || !k.exists() {
                generate(home, settings)?;
            }
            (c, k)
        }
    };
    let read = |p: &std::path::Path, what: &str| {
        std::fs::read(p)
            .map_err(|e| ConsoleError::Config(format!("cannot read {what} [{}]: {e}", p.display())))
    };
    let chain = bulwark_pki::certs_from_pem(&read(&cert_path, "[server.ssl.certificate]")?).map_err(|e| {
        ConsoleError::Config(format!("[server.ssl.certificate] [{}]: {e}", cert_path.display()))
    })?;
    let key = bulwark_pki::key_from_pem(&read(&key_path, "[server.ssl.key]")?)
        .map_err(|e| ConsoleError::Config(format!("[server.ssl.key] [{}]: {e}", key_path.display())))?;
    let config = bulwark_pki::server_config(
        chain,
        &key,
        bulwark_pki::ClientAuth::None,
        TlsVersions::Tls12And13,
        &[b"http/1.1"],
        &[],
    )
    .map_err(|e| ConsoleError::Config(format!("server.ssl: {e}")))?;
    Ok(Some(Arc::new(config)))
}

fn generate(home: &ConsoleHome, settings: &ConsoleSettings) -> Result<(), ConsoleError> {
    let err = |e: bulwark_pki::PkiError| {
        ConsoleError::Config(format!("cannot generate the console certificate: {e}"))
    };
    let ca = bulwark_pki::new_ca("Bulwark console CA", GENERATED_VALIDITY_DAYS, KeyAlgorithm::EcdsaP256)
        .map_err(err)?;
    let mut req = CertRequest::new("bulwark-console");
    req.validity_days = GENERATED_VALIDITY_DAYS;
    req.dns = vec!["localhost".into()];
    req.ips =
        vec![IpAddr::from([127, 0, 0, 1]), "::1".parse().map_err(|_| ConsoleError::Config("::1".into()))?];
    match settings.host.parse::<IpAddr>() {
        Ok(ip) if !ip.is_unspecified() && !req.ips.contains(&ip) => req.ips.push(ip),
        Ok(_) => {}
        Err(_) if settings.host != "localhost" => req.dns.push(settings.host.clone()),
        Err(_) => {}
    }
    let leaf = bulwark_pki::issue(&ca, &req, CertUsage::Server).map_err(err)?;
    let (cert_path, key_path) = home.generated_tls();
    let chain = format!("{}{}", leaf.cert_pem(), ca.cert_pem());
    bulwark_pki::write_public_file(&cert_path, chain.as_bytes()).map_err(err)?;
    bulwark_pki::write_private_file(&key_path, leaf.key_pem().as_bytes()).map_err(err)?;
    Ok(())
}
