//! Self-signed instance certificates (`cert --self-signed`): a certificate signed by its own key,
//! with the instance's SANs, `CA:FALSE`, and server and client authentication.
//!
//! bulwark-pki only issues certificates from a CA, so the certificate is assembled here with rcgen
//! from the subject and SANs of a CSR that bulwark-pki makes (which also validates them and
//! generates the key).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bulwark_pki::{CertRequest, CertifiedKey};
use rcgen::{ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};

use super::failure;
use crate::exit::fail;

/// How far in the past `notBefore` is set, to tolerate clock skew (as bulwark-pki does).
const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// Makes a key pair and a self-signed certificate for `req`.
pub fn issue(req: &CertRequest) -> anyhow::Result<CertifiedKey> {
    let subject = req.subject_cn.as_str();
    let (csr_pem, key) =
        bulwark_pki::new_csr(req).map_err(|e| failure::pki(format!("instance {subject:?}"), e))?;
    let rcgen_failure =
        |e: rcgen::Error| fail(1, format!("cannot make a self-signed certificate for {subject:?}: {e}"));
    let mut params =
        rcgen::CertificateSigningRequestParams::from_pem(&csr_pem).map_err(rcgen_failure)?.params;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages =
        vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    params.serial_number =
        Some(bulwark_pki::random_serial().map_err(|e| failure::pki(format!("instance {subject:?}"), e))?);
    let now_secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let now = UNIX_EPOCH + Duration::from_secs(now_secs);
    params.not_before = (now - BACKDATE).into();
    params.not_after = (now + Duration::from_secs(u64::from(req.validity_days) * 86_400)).into();
    let key_pair = rcgen::KeyPair::try_from(key.as_slice()).map_err(rcgen_failure)?;
    let cert = params.self_signed(&key_pair).map_err(rcgen_failure)?;
    CertifiedKey::from_der(cert.der().to_vec(), &key)
        .map_err(|e| failure::pki(format!("instance {subject:?}"), e))
}
