//! Hot reload of a layer's TLS material: the files are polled, and changed material is loaded,
//! validated and swapped in for new connections. Invalid material is refused with a log line and
//! the current certificate keeps serving.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use aws_lc_rs::digest;
use bulwark_keystore::Keystore;
use bulwark_settings::{Home, SslSettings};
use secrecy::SecretString;

use crate::NodeError;
use crate::tls::{self, CertEntry, LayerMaterial};

/// How often the files are checked.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A layer's live TLS configuration.
pub struct LayerTls {
    layer: &'static str,
    home: Home,
    ssl: SslSettings,
    keystore_password: SecretString,
    current: RwLock<(Arc<rustls::ServerConfig>, Arc<Vec<CertEntry>>)>,
    seen: Mutex<Vec<Option<[u8; 32]>>>,
    /// Revocation lists (DER) client certificates are checked against.
    crls: RwLock<Vec<Vec<u8>>>,
    /// The transport layer's client side (this node's certificate, the transport CA as the only
    /// root); `None` for HTTP or when it cannot be built.
    client: RwLock<Option<Arc<rustls::ClientConfig>>>,
}

/// The client configuration of the transport layer: this node's chain and key, trusting the
/// layer's CAs, speaking HTTP/2.
fn client_config(layer: &str, material: &LayerMaterial) -> Option<Arc<rustls::ClientConfig>> {
    if layer != "transport" {
        return None;
    }
    let roots: Vec<&[u8]> = material.trusted.iter().map(Vec::as_slice).collect();
    match bulwark_pki::client_config_mtls(&roots, material.chain.clone(), &material.key) {
        Ok(mut c) => {
            c.alpn_protocols = vec![b"h2".to_vec()];
            Some(Arc::new(c))
        }
        Err(e) => {
            tracing::warn!("the transport layer's certificate cannot be used to connect to other nodes: {e}");
            None
        }
    }
}

fn digests(files: &[PathBuf]) -> Vec<Option<[u8; 32]>> {
    files
        .iter()
        .map(|f| {
            std::fs::read(f).ok().map(|b| {
                let mut out = [0u8; 32];
                out.copy_from_slice(digest::digest(&digest::SHA256, &b).as_ref());
                out
            })
        })
        .collect()
}

impl LayerTls {
    fn watched(&self) -> Vec<PathBuf> {
        let mut f = tls::files(&self.home, &self.ssl);
        f.push(self.home.keystore_file());
        f
    }

    fn build(&self) -> Result<(Arc<rustls::ServerConfig>, LayerMaterial), NodeError> {
        let crls = self.crls.read().map(|c| c.clone()).unwrap_or_else(|p| p.into_inner().clone());
        build(&self.home, self.layer, &self.ssl, &self.keystore_password, &crls)
    }

    /// Loads and validates the layer's material now.
    pub fn load(
        home: &Home,
        layer: &'static str,
        ssl: &SslSettings,
        keystore_password: &SecretString,
    ) -> Result<(Arc<LayerTls>, LayerMaterial), NodeError> {
        let mut watched = tls::files(home, ssl);
        watched.push(home.keystore_file());
        let seen = Mutex::new(digests(&watched));
        let (cfg, material) = build(home, layer, ssl, keystore_password, &[])?;
        let me = LayerTls {
            layer,
            home: home.clone(),
            ssl: ssl.clone(),
            keystore_password: keystore_password.clone(),
            current: RwLock::new((cfg, Arc::new(material.entries.clone()))),
            seen,
            crls: RwLock::new(Vec::new()),
            client: RwLock::new(client_config(layer, &material)),
        };
        Ok((Arc::new(me), material))
    }

    /// The configuration for a new connection.
    pub fn config(&self) -> Arc<rustls::ServerConfig> {
        self.current.read().map(|c| c.0.clone()).unwrap_or_else(|p| p.into_inner().0.clone())
    }

    /// The client configuration for connections to other nodes (transport layer only).
    pub fn client_config(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.client.read().map(|c| c.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    fn set_client(&self, material: &LayerMaterial) {
        if let Some(c) = client_config(self.layer, material)
            && let Ok(mut cur) = self.client.write()
        {
            *cur = Some(c);
        }
    }

    /// The certificates in use.
    pub fn certificates(&self) -> Arc<Vec<CertEntry>> {
        self.current.read().map(|c| c.1.clone()).unwrap_or_else(|p| p.into_inner().1.clone())
    }

    /// Whether the layer asks clients for certificates (`client_authentication` is not `none`).
    pub fn verifies_clients(&self) -> bool {
        self.ssl.client_authentication != bulwark_settings::values::ClientAuthentication::None
    }

    /// Checks client certificates against `crls` (DER) from now on: new connections whose
    /// certificate is listed are refused. Fails, keeping the current configuration, when the
    /// layer's material no longer builds.
    pub fn set_crls(&self, crls: Vec<Vec<u8>>) -> Result<(), NodeError> {
        if let Ok(mut c) = self.crls.write() {
            *c = crls;
        }
        let (cfg, material) = self.build()?;
        self.set_client(&material);
        if let Ok(mut cur) = self.current.write() {
            *cur = (cfg, Arc::new(material.entries));
        }
        Ok(())
    }

    /// Reloads when a watched file changed. Returns whether new material was swapped in.
    pub fn check(&self) -> bool {
        let now = digests(&self.watched());
        {
            let Ok(mut seen) = self.seen.lock() else { return false };
            if *seen == now {
                return false;
            }
            *seen = now;
        }
        match self.build() {
            Ok((cfg, material)) => {
                self.set_client(&material);
                if let Ok(mut cur) = self.current.write() {
                    *cur = (cfg, Arc::new(material.entries));
                }
                let serial =
                    material.chain.first().and_then(|c| bulwark_pki::inspect(c).ok()).map(|i| i.serial_hex);
                tracing::info!(
                    layer = self.layer,
                    serial = serial.as_deref().unwrap_or("?"),
                    "reloaded TLS certificates for the {} layer; new connections use them",
                    self.layer
                );
                true
            }
            Err(e) => {
                tracing::warn!(
                    layer = self.layer,
                    "refused new TLS material for the {} layer, the current certificate keeps serving: {e}",
                    self.layer
                );
                false
            }
        }
    }

    /// Polls for changes until the process ends.
    pub fn watch(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL_INTERVAL);
            loop {
                tick.tick().await;
                let me = me.clone();
                let _ = tokio::task::spawn_blocking(move || me.check()).await;
            }
        });
    }
}

/// Loads, validates and builds a layer's configuration.
fn build(
    home: &Home,
    layer: &str,
    ssl: &SslSettings,
    keystore_password: &SecretString,
    crls: &[Vec<u8>],
) -> Result<(Arc<rustls::ServerConfig>, LayerMaterial), NodeError> {
    let ks_path = home.keystore_file();
    let ks =
        if Keystore::exists(&ks_path) { Some(Keystore::load(&ks_path, keystore_password)?) } else { None };
    let material = tls::load(home, layer, ssl, ks.as_ref())?;
    tls::validate(layer, &material)?;
    let cfg = tls::server_config(layer, ssl, &material, crls)?;
    warn_expiring(layer, &material.entries);
    Ok((cfg, material))
}

/// Certificates expiring within this many days are warned about at start and on reload.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

fn warn_expiring(layer: &str, entries: &[CertEntry]) {
    let now = time::OffsetDateTime::now_utc();
    for e in entries {
        let Ok(info) = bulwark_pki::inspect(&e.der) else { continue };
        let days = info.days_until_expiry(now);
        if days <= EXPIRY_WARNING_DAYS {
            tracing::warn!(
                layer,
                path = %e.path,
                "certificate [{}] in [{}] for the {layer} layer expires in {days} days ({}); issue a new one with `bulwark certutil` and replace the file (the node reloads it)",
                info.subject_dn,
                e.path,
                info.not_after
            );
        }
    }
}

/// The certificates of every TLS layer, for `GET /_ssl/certificates`.
pub struct Certificates(pub Vec<Arc<LayerTls>>);

impl bulwark_rest::CertificateSource for Certificates {
    fn certificates(&self) -> Vec<bulwark_rest::SslCertificate> {
        let mut out = Vec::new();
        for layer in &self.0 {
            for e in layer.certificates().iter() {
                let Ok(info) = bulwark_pki::inspect(&e.der) else { continue };
                let serial = info.serial_hex.trim_start_matches('0').to_ascii_lowercase();
                out.push(bulwark_rest::SslCertificate {
                    path: e.path.clone(),
                    format: e.format.to_owned(),
                    alias: e.alias.clone(),
                    subject_dn: info.subject_dn,
                    serial_number: if serial.is_empty() { "0".into() } else { serial },
                    has_private_key: e.has_private_key,
                    expiry: crate::timestamp::iso8601(info.not_after),
                    issuer: info.issuer_dn,
                });
            }
        }
        out
    }
}
