//! rustls configurations for the HTTP and transport layers and for clients.
//!
//! Every configuration is built with `builder_with_provider` and an explicit aws-lc-rs provider,
//! so nothing depends on (or panics for lack of) a process-wide default provider.
//!
//! Only forward-secret cipher suites are offered. rustls' aws-lc-rs defaults already are: the TLS
//! 1.3 suites (whose key exchange is always ephemeral) and ECDHE-only TLS 1.2 suites with AEAD
//! ciphers. We still filter the list to ECDHE explicitly, so a future change of defaults cannot
//! silently add a static-RSA or non-ephemeral suite.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, KeyExchangeAlgorithm};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme, SupportedCipherSuite,
    SupportedProtocolVersion,
};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime};

use crate::error::PkiError;
use crate::fingerprint::Fingerprint;
use crate::inspect;

/// Which TLS versions to speak (Elasticsearch's `supported_protocols`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TlsVersions {
    /// TLS 1.2 and 1.3 (the default).
    #[default]
    Tls12And13,
    /// TLS 1.3 only.
    Tls13Only,
}

impl TlsVersions {
    /// Maps an Elasticsearch `supported_protocols` list (`TLSv1.3`, `TLSv1.2`, any order, any
    /// case) to a selection. Lists naming older versions, or TLS 1.2 without 1.3, are refused.
    pub fn from_protocols<S: AsRef<str>>(protocols: &[S]) -> Result<Self, PkiError> {
        let mut has12 = false;
        let mut has13 = false;
        let refuse =
            || PkiError::UnsupportedProtocols(protocols.iter().map(|p| p.as_ref().to_owned()).collect());
        for p in protocols {
            match p.as_ref().trim().to_ascii_lowercase().as_str() {
                "tlsv1.2" => has12 = true,
                "tlsv1.3" => has13 = true,
                _ => return Err(refuse()),
            }
        }
        match (has12, has13) {
            (true, true) => Ok(Self::Tls12And13),
            (false, true) => Ok(Self::Tls13Only),
            _ => Err(refuse()),
        }
    }

    /// The rustls protocol versions of this selection.
    pub fn protocol_versions(self) -> &'static [&'static SupportedProtocolVersion] {
        static BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
        static TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
        match self {
            Self::Tls12And13 => BOTH,
            Self::Tls13Only => TLS13_ONLY,
        }
    }
}

/// Whether and how a server asks clients for certificates (`client_authentication`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// Do not ask for a client certificate.
    #[default]
    None,
    /// Ask; accept clients without one, but verify any certificate presented.
    Optional(ClientTrust),
    /// Require a client certificate that verifies.
    Required(ClientTrust),
}

/// What a client certificate is verified against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientTrust {
    /// The CA certificates (DER) that may have issued it.
    pub roots: Vec<Vec<u8>>,
    /// Revocation lists (DER) of those CAs: a client certificate they list is refused. A
    /// certificate of a CA without a list here is accepted (its status is unknown, not revoked).
    pub crls: Vec<Vec<u8>>,
}

impl From<Vec<Vec<u8>>> for ClientTrust {
    /// Trust these CA certificates, with no revocation lists.
    fn from(roots: Vec<Vec<u8>>) -> Self {
        ClientTrust { roots, crls: Vec::new() }
    }
}

/// The aws-lc-rs provider restricted to forward-secret suites (see the module docs).
pub fn provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.cipher_suites.retain(|suite| match suite {
        SupportedCipherSuite::Tls13(_) => true,
        SupportedCipherSuite::Tls12(s) => s.kx == KeyExchangeAlgorithm::ECDHE,
    });
    Arc::new(provider)
}

/// The name of a suite as Elasticsearch (JSSE) and IANA spell it: `TLS_AES_256_GCM_SHA384`,
/// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`.
fn suite_name(suite: &SupportedCipherSuite) -> String {
    let name = format!("{:?}", suite.suite());
    name.strip_prefix("TLS13_").map_or(name.clone(), |rest| format!("TLS_{rest}"))
}

/// The names of the suites [`provider`] offers, strongest first.
pub fn supported_cipher_suites() -> Vec<String> {
    provider().cipher_suites.iter().map(suite_name).collect()
}

/// [`provider`] restricted to `names` (the `cipher_suites` setting), in the given order of
/// preference; all of them when `names` is empty. A name that is not offered is refused.
fn provider_with_suites(names: &[String]) -> Result<Arc<CryptoProvider>, PkiError> {
    if names.is_empty() {
        return Ok(provider());
    }
    let mut base = Arc::unwrap_or_clone(provider());
    let mut chosen = Vec::with_capacity(names.len());
    for name in names {
        let suite = base.cipher_suites.iter().find(|s| suite_name(s).eq_ignore_ascii_case(name.trim()));
        match suite {
            Some(s) if !chosen.contains(s) => chosen.push(*s),
            Some(_) => {}
            None => {
                return Err(PkiError::UnsupportedCipherSuite {
                    name: name.clone(),
                    supported: supported_cipher_suites(),
                });
            }
        }
    }
    base.cipher_suites = chosen;
    Ok(Arc::new(base))
}

/// A server configuration presenting `chain_der` (leaf first, then its CA so clients can pin the
/// CA) with `key_der` (PKCS#8, SEC1 or PKCS#1), optionally verifying client certificates, with
/// the given versions, ALPN protocols (in preference order, e.g. `[b"h2", b"http/1.1"]`) and
/// cipher suites (names as [`supported_cipher_suites`] gives them; empty for all of those).
pub fn server_config(
    chain_der: Vec<Vec<u8>>,
    key_der: &[u8],
    client_auth: ClientAuth,
    versions: TlsVersions,
    alpn: &[&[u8]],
    cipher_suites: &[String],
) -> Result<ServerConfig, PkiError> {
    let provider = provider_with_suites(cipher_suites)?;
    let leaf =
        chain_der.first().ok_or_else(|| PkiError::CertParse("the certificate chain is empty".to_owned()))?;
    let subject = inspect::subject_of(leaf);
    let chain: Vec<CertificateDer<'static>> = chain_der.into_iter().map(CertificateDer::from).collect();
    let key = private_key(key_der)?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions.protocol_versions())
        .map_err(PkiError::tls("server configuration"))?;
    let builder = match client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Optional(trust) => {
            builder.with_client_cert_verifier(client_verifier(&trust, &provider, true)?)
        }
        ClientAuth::Required(trust) => {
            builder.with_client_cert_verifier(client_verifier(&trust, &provider, false)?)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => PkiError::KeyMismatch { subject },
        other => PkiError::Tls { what: "server certificate", source: other },
    })?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // The server's suite order (strongest first) wins over the client's.
    config.ignore_client_order = true;
    Ok(config)
}

/// A client configuration trusting exactly the given CA certificates (DER).
pub fn client_config_trusting(ca_der: &[&[u8]]) -> Result<ClientConfig, PkiError> {
    let roots: Vec<Vec<u8>> = ca_der.iter().map(|c| c.to_vec()).collect();
    let provider = provider();
    Ok(ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(TlsVersions::Tls12And13.protocol_versions())
        .map_err(PkiError::tls("client configuration"))?
        .with_root_certificates(root_store(&roots)?)
        .with_no_client_auth())
}

/// A client configuration trusting the given CAs and presenting a client certificate (node-to-node
/// transport, PKI login): `chain_der` leaf first, `key_der` PKCS#8, SEC1 or PKCS#1.
pub fn client_config_mtls(
    ca_der: &[&[u8]],
    chain_der: Vec<Vec<u8>>,
    key_der: &[u8],
) -> Result<ClientConfig, PkiError> {
    let roots: Vec<Vec<u8>> = ca_der.iter().map(|c| c.to_vec()).collect();
    let subject = chain_der.first().map(|c| inspect::subject_of(c)).unwrap_or_default();
    let chain: Vec<CertificateDer<'static>> = chain_der.into_iter().map(CertificateDer::from).collect();
    ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(TlsVersions::Tls12And13.protocol_versions())
        .map_err(PkiError::tls("client configuration"))?
        .with_root_certificates(root_store(&roots)?)
        .with_client_auth_cert(chain, private_key(key_der)?)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => PkiError::KeyMismatch { subject },
            other => PkiError::Tls { what: "client certificate", source: other },
        })
}

/// A client configuration that trusts a server because its chain contains the CA with
/// fingerprint `fp` (enrollment tokens pin the cluster's HTTP CA this way).
///
/// The pinned CA must be among the certificates the server sends. Once found it becomes the only
/// trust anchor of a full webpki validation (path, validity, key usage, and host name or IP), so
/// a matching fingerprint alone never suffices.
pub fn client_config_pinned(fp: Fingerprint) -> Result<ClientConfig, PkiError> {
    let provider = provider();
    let verifier = Arc::new(CaPin { pin: fp, provider: Arc::clone(&provider) });
    Ok(ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(TlsVersions::Tls12And13.protocol_versions())
        .map_err(PkiError::tls("client configuration"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Verifies a server by a pinned CA fingerprint found in the presented chain.
#[derive(Debug)]
struct CaPin {
    pin: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for CaPin {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ca = std::iter::once(end_entity)
            .chain(intermediates)
            .find(|c| self.pin.matches(c.as_ref()))
            .ok_or(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))?;
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&self.provider))
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A webpki client verifier for `trust`; `optional` also lets clients without a certificate in.
fn client_verifier(
    trust: &ClientTrust,
    provider: &Arc<CryptoProvider>,
    optional: bool,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, PkiError> {
    let crls = trust.crls.iter().map(|c| CertificateRevocationListDer::from(c.clone()));
    let mut builder =
        WebPkiClientVerifier::builder_with_provider(root_store(&trust.roots)?, Arc::clone(provider))
            .with_crls(crls)
            .only_check_end_entity_revocation()
            .allow_unknown_revocation_status();
    if optional {
        builder = builder.allow_unauthenticated();
    }
    builder.build().map_err(|e| PkiError::ClientVerifier(e.to_string()))
}

fn root_store(roots_der: &[Vec<u8>]) -> Result<Arc<RootCertStore>, PkiError> {
    if roots_der.is_empty() {
        return Err(PkiError::ClientVerifier("no CA certificates were given to trust".to_owned()));
    }
    let mut roots = RootCertStore::empty();
    for der in roots_der {
        roots.add(CertificateDer::from(der.clone())).map_err(PkiError::tls("trust store"))?;
    }
    Ok(Arc::new(roots))
}

fn private_key(der: &[u8]) -> Result<PrivateKeyDer<'static>, PkiError> {
    PrivateKeyDer::try_from(der).map(|k| k.clone_key()).map_err(|e| PkiError::KeyParse(e.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols() {
        assert_eq!(TlsVersions::from_protocols(&["TLSv1.3", "TLSv1.2"]).ok(), Some(TlsVersions::Tls12And13));
        assert_eq!(TlsVersions::from_protocols(&["tlsv1.3"]).ok(), Some(TlsVersions::Tls13Only));
        assert!(TlsVersions::from_protocols(&["TLSv1.2"]).is_err());
        assert!(TlsVersions::from_protocols(&["TLSv1.1", "TLSv1.3"]).is_err());
        assert!(TlsVersions::from_protocols::<&str>(&[]).is_err());
    }

    #[test]
    fn only_forward_secret_suites() {
        let p = provider();
        assert!(!p.cipher_suites.is_empty());
        for suite in &p.cipher_suites {
            let name = format!("{:?}", suite.suite());
            assert!(name.starts_with("TLS13_") || name.starts_with("TLS_ECDHE_"), "{name}");
        }
    }

    #[test]
    fn cipher_suites_by_elasticsearch_name() {
        let all = supported_cipher_suites();
        for name in [
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ] {
            assert!(all.iter().any(|n| n == name), "{name} in {all:?}");
        }
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let p = provider_with_suites(&names(&[
            "tls_aes_128_gcm_sha256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        ]))
        .unwrap();
        let chosen: Vec<String> = p.cipher_suites.iter().map(suite_name).collect();
        assert_eq!(chosen, ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]);
        let err = provider_with_suites(&names(&["TLS_RSA_WITH_AES_128_CBC_SHA"])).unwrap_err().to_string();
        assert!(err.contains("[TLS_RSA_WITH_AES_128_CBC_SHA] is not a supported cipher suite"), "{err}");
        assert!(err.contains("TLS_AES_256_GCM_SHA384"), "{err}");
        assert_eq!(provider_with_suites(&[]).unwrap().cipher_suites.len(), all.len());
    }
}
