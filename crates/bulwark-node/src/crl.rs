//! The revocation lists a node publishes for the CAs whose keys it holds.
//!
//! Certificates the node's CAs issue name, in their CRL distribution point, the node's HTTP port
//! (`https://<host>:<port>/_ssl/crl/<authority>.crl`). The list is signed on demand from the
//! store's revocations and kept: it is signed again only when the revocations change or a day
//! has passed, and each list is valid for a week, so a stopped node's last list keeps clients
//! working for that long. CRL numbers are the signing time in seconds (as public CAs do), kept
//! strictly increasing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bulwark_pki::{CertifiedKey, Revocation};
use bulwark_rest::revocation::{self, Authority};
use bulwark_rest::{EnrollmentAuthority, SignError};
use bulwark_store::{AppliedEvent, EntryKind, Store};
use time::{Duration, OffsetDateTime};
use tokio::sync::broadcast::error::RecvError;

use crate::reload::LayerTls;

/// How long a published list is valid (its `nextUpdate`).
pub const VALIDITY: Duration = Duration::days(7);
/// How old a list may get before it is signed again, even without new revocations.
const REISSUE_AFTER: Duration = Duration::days(1);

/// The CRL distribution point URLs for certificates of `authority`: one per name clients may
/// use for this node (`names`, e.g. its host name and `localhost`), on HTTP port `port`. None
/// when the port is not fixed (`http.port: 0`), since the URL could not name it.
pub fn distribution_points(names: &[&str], port: u16, authority: Authority) -> Vec<String> {
    if port == 0 {
        return Vec::new();
    }
    let mut urls: Vec<String> = Vec::new();
    for name in names.iter().filter(|n| !n.is_empty()) {
        let url = format!("https://{name}:{port}{}", authority.crl_path());
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    urls
}

struct Issued {
    revoked: Vec<Revocation>,
    at: OffsetDateTime,
    number: u64,
    der: Vec<u8>,
}

/// The lists signed so far, one per authority.
#[derive(Default)]
pub struct CrlCache {
    issued: Mutex<HashMap<Authority, Issued>>,
}

impl CrlCache {
    /// The current list of `authority` for `revoked`: the kept one when it still lists exactly
    /// these and is less than a day old, else a new one signed by the CA `load_ca` returns.
    pub fn get(
        &self,
        authority: Authority,
        revoked: &[Revocation],
        load_ca: impl FnOnce() -> Result<CertifiedKey, SignError>,
    ) -> Result<Vec<u8>, SignError> {
        // One signature at a time: concurrent fetches of a stale list wait for the one signing.
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        let now = OffsetDateTime::now_utc();
        if let Some(i) = issued.get(&authority)
            && i.revoked == revoked
            && now - i.at < REISSUE_AFTER
        {
            return Ok(i.der.clone());
        }
        let ca = load_ca()?;
        let seconds = u64::try_from(now.unix_timestamp()).unwrap_or(0);
        let number = issued.get(&authority).map_or(seconds, |i| seconds.max(i.number + 1));
        let der = bulwark_pki::issue_crl(&ca, number, revoked, VALIDITY).map_err(|e| {
            SignError::Unavailable(format!(
                "signing the revocation list of [{}] failed: {e}",
                authority.name()
            ))
        })?;
        drop(ca);
        issued.insert(authority, Issued { revoked: revoked.to_vec(), at: now, number, der: der.clone() });
        Ok(der)
    }
}

/// Makes `layer` refuse client certificates that `authority` revoked: applied now, then again
/// whenever the store applies a revocation (its change events). Does nothing when this node does
/// not hold the CA's key (it has no list to apply). Blocks while a list is signed.
pub fn enforce(
    layer: Arc<LayerTls>,
    ca: Arc<dyn EnrollmentAuthority>,
    store: Arc<Store>,
    authority: Authority,
) {
    // Subscribe first, so no revocation applied meanwhile is missed.
    let mut events = store.subscribe();
    let mut applied: Option<Vec<Revocation>> = None;
    apply(&layer, ca.as_ref(), &store, authority, &mut applied);
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(AppliedEvent::Entry { kind: EntryKind::RevokedCertificate, .. } | AppliedEvent::Reset)
                | Err(RecvError::Lagged(_)) => {}
                Ok(_) => continue,
                Err(RecvError::Closed) => return,
            }
            let (layer, ca, store) = (layer.clone(), ca.clone(), store.clone());
            let mut last = applied.take();
            applied = tokio::task::spawn_blocking(move || {
                apply(&layer, ca.as_ref(), &store, authority, &mut last);
                last
            })
            .await
            .unwrap_or(None);
        }
    });
}

fn apply(
    layer: &LayerTls,
    ca: &dyn EnrollmentAuthority,
    store: &Store,
    authority: Authority,
    applied: &mut Option<Vec<Revocation>>,
) {
    let Ok(list) = revocation::revoked(store, Some(authority)) else { return };
    let list: Vec<Revocation> = list.iter().map(|r| r.revocation()).collect();
    if applied.as_ref() == Some(&list) {
        return;
    }
    let crl = match ca.crl(authority, &list) {
        Ok(Some(der)) => der,
        Ok(None) => return,
        Err(SignError::BadRequest(m) | SignError::Unavailable(m)) => {
            tracing::warn!("revoked client certificates are not refused yet: {m}");
            return;
        }
    };
    match layer.set_crls(vec![crl]) {
        Ok(()) => {
            tracing::info!(
                authority = authority.name(),
                revoked = list.len(),
                "client certificates are checked against the revocation list of [{}] ({} revoked)",
                authority.name(),
                list.len()
            );
            *applied = Some(list);
        }
        Err(e) => tracing::warn!("could not apply the revocation list of [{}]: {e}", authority.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_pki::{KeyAlgorithm, RevocationReason, new_ca, read_crl};

    #[test]
    fn urls_name_every_host_once_and_need_a_fixed_port() {
        assert_eq!(
            distribution_points(&["node-1.example", "localhost", "localhost"], 9200, Authority::HttpCa),
            vec![
                "https://node-1.example:9200/_ssl/crl/http_ca.crl",
                "https://localhost:9200/_ssl/crl/http_ca.crl"
            ]
        );
        assert!(distribution_points(&["localhost"], 0, Authority::TransportCa).is_empty());
    }

    #[test]
    fn lists_are_kept_until_the_revocations_change() {
        let ca = new_ca("CRL CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let cache = CrlCache::default();
        let mut loads = 0;
        let mut get = |revoked: &[Revocation]| {
            cache
                .get(Authority::HttpCa, revoked, || {
                    loads += 1;
                    Ok(ca.clone())
                })
                .unwrap()
        };
        let first = get(&[]);
        assert_eq!(get(&[]), first);
        let r = Revocation {
            serial_hex: "4f1c".into(),
            revoked_at: OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
            reason: RevocationReason::Superseded,
        };
        let second = get(std::slice::from_ref(&r));
        assert_eq!(loads, 2);
        let (a, b) = (read_crl(&first, ca.cert_der()).unwrap(), read_crl(&second, ca.cert_der()).unwrap());
        assert!(b.number > a.number);
        assert!(b.is_revoked("4F1C") && !a.is_revoked("4f1c"));
        assert_eq!((b.next_update.unwrap() - b.this_update).whole_days(), 7);
    }
}
