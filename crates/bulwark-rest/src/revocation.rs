//! Revoked certificates: the store entries behind `POST /_ssl/certificates/_revoke` and the
//! revocation lists a node publishes at `GET /_ssl/crl/<authority>.crl`.
//!
//! A revocation is a store entry (kind `revoked_certificate`, id `<authority>:<serial>`), so every
//! node sees the same list; the node that holds the CA's key signs the CRL from it.

use bulwark_pki::{Revocation, RevocationReason};
use bulwark_store::{EntryKind, Store, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One of the cluster's certificate authorities (the ones auto-configuration creates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    /// `config/certs/http_ca.p12`: signs HTTP certificates.
    HttpCa,
    /// `config/certs/transport_ca.p12`: signs transport certificates.
    TransportCa,
}

impl Authority {
    /// Both authorities.
    pub const ALL: [Authority; 2] = [Authority::HttpCa, Authority::TransportCa];

    /// `http_ca` or `transport_ca`: the name in requests, file names and CRL URLs.
    pub fn name(self) -> &'static str {
        match self {
            Authority::HttpCa => "http_ca",
            Authority::TransportCa => "transport_ca",
        }
    }

    /// The authority named `name`.
    pub fn parse(name: &str) -> Option<Authority> {
        Authority::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The path its CRL is published at on every node's HTTP port.
    pub fn crl_path(self) -> String {
        format!("/_ssl/crl/{}.crl", self.name())
    }
}

/// A revoked certificate, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedCertificate {
    /// The CA that issued it.
    pub authority: Authority,
    /// Lowercase hex without leading zeros.
    pub serial_number: String,
    /// A [`RevocationReason`] name (`key_compromise`).
    pub reason: String,
    /// Epoch milliseconds.
    pub revoked_at: i64,
    /// Who revoked it.
    pub revoked_by: String,
}

impl RevokedCertificate {
    /// The store id: `<authority>:<serial>`.
    pub fn id(&self) -> String {
        format!("{}:{}", self.authority.name(), self.serial_number)
    }

    /// The entry as a CRL lists it.
    pub fn revocation(&self) -> Revocation {
        let at = OffsetDateTime::from_unix_timestamp(self.revoked_at.div_euclid(1000))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Revocation {
            serial_hex: self.serial_number.clone(),
            revoked_at: at,
            reason: RevocationReason::parse(&self.reason).unwrap_or(RevocationReason::Unspecified),
        }
    }
}

/// Every certificate revoked by `authority` (all authorities when `None`), oldest first.
pub fn revoked(store: &Store, authority: Option<Authority>) -> Result<Vec<RevokedCertificate>, StoreError> {
    let mut list: Vec<RevokedCertificate> = store
        .entries(EntryKind::RevokedCertificate)?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_value::<RevokedCertificate>(v).ok())
        .filter(|r| authority.is_none_or(|a| r.authority == a))
        .collect();
    list.sort_by(|a, b| (a.revoked_at, &a.serial_number).cmp(&(b.revoked_at, &b.serial_number)));
    Ok(list)
}
