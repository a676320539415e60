//! Starting a node: settings, auto-configuration, state, TLS, the listener, first-start
//! secrets, then serving until a signal arrives.

use std::net::SocketAddr;
use std::sync::Arc;

use bulwark_keystore::Keystore;
use bulwark_pki::Fingerprint;
use bulwark_rest::{ClusterView, Enrollment, EnrollmentAuthority, MemberView, NodeInfo, RestState, Services};
use bulwark_security::audit::{AuditFilter, AuditSink, NoAudit};
use bulwark_security::authn::{Authenticator, LockoutPolicy, PasswordPolicy, PkiRealm, RealmFiles};
use bulwark_security::authz::Authorizer;
use bulwark_settings::{DEFAULT_SETTINGS_FILE, Home, Loaded, Settings};
use bulwark_store::Store;
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::audit::{AuditConfig, AuditLog};
use crate::bootstrap::{self, ElasticPassword, FirstStart};
use crate::enrollment::{FirstStartToken, NodeEnrollment};
use crate::reload::{Certificates, LayerTls};
use crate::state::{AutoconfigRecord, NodeState, SecurityEntries};
use crate::{NodeError, autoconfig, files, host, logging, server};

/// How the node was started.
pub struct StartOptions {
    /// The node's home.
    pub home: Home,
    /// `-E key=value` overrides.
    pub overrides: Vec<String>,
    /// The keystore password (empty for an unprotected keystore).
    pub keystore_password: SecretString,
    /// Running as root (allowed by `--allow-root`): warned about at every start.
    pub running_as_root: bool,
    /// Whether standard output is a terminal (decides how first-start secrets are delivered).
    pub terminal: bool,
    /// `--enrollment-token`: join the cluster that made it (fresh homes only).
    pub enrollment_token: Option<SecretString>,
}

/// How long a request on a follower waits to catch up with the leader before it is served from
/// the local state as it is.
const READ_BARRIER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a stopping node waits for its search indices to follow the store's last entry.
const INDICES_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The cluster as the replicated store's membership describes it.
/// The cluster as the store sees it, and the transport client that asks other members.
struct StoreCluster(Arc<Store>, Option<bulwark_transport::Client>);

impl ClusterView for StoreCluster {
    fn members(&self) -> Vec<MemberView> {
        let leader = self.0.leader();
        self.0
            .members()
            .into_iter()
            .map(|m| MemberView { master: Some(m.id) == leader, name: m.name, address: m.address })
            .collect()
    }
    fn number_of_nodes(&self) -> usize {
        self.0.members().len()
    }
    fn number_of_data_nodes(&self) -> usize {
        self.0.members().len()
    }
    fn member_stats(&self, address: &str, timeout: std::time::Duration) -> bulwark_rest::MemberStatsFuture {
        match &self.1 {
            Some(client) => crate::cluster::member_stats(client, address, timeout),
            None => {
                let address = address.to_owned();
                Box::pin(async move {
                    Err(bulwark_rest::MemberFailure {
                        kind: bulwark_rest::ErrorType::NodeNotConnected,
                        reason: format!(
                            "Node not connected: transport TLS is off on this node, so it cannot reach [{address}]"
                        ),
                    })
                })
            }
        }
    }
}

fn load_settings(opts: &StartOptions, hostname: &str) -> Result<Loaded, NodeError> {
    Ok(bulwark_settings::load(&opts.home, &opts.overrides, hostname)?)
}

fn load_keystore(home: &Home, password: &SecretString) -> Result<Option<Keystore>, NodeError> {
    let path = home.keystore_file();
    if Keystore::exists(&path) { Ok(Some(Keystore::load(&path, password)?)) } else { Ok(None) }
}

/// A fresh home gets its config directory and a commented `bulwark.yml`.
fn ensure_settings_file(home: &Home, settings: &Settings) -> Result<bool, NodeError> {
    if !files::dir_is_empty(&settings.path_data)? {
        return Ok(false);
    }
    files::create_dir(home.config_dir(), 0o750)?;
    bulwark_pki::write_atomic(&home.settings_file(), DEFAULT_SETTINGS_FILE.as_bytes(), 0o640)?;
    Ok(true)
}

/// Runs the node until SIGINT or SIGTERM.
///
/// The first thing it does is set the process umask to 0077, before any thread exists: the store
/// (redb) and the search indices (tantivy) create files and directories we do not open ourselves,
/// and the umask is the one control that covers every one of them, including files created long
/// after start (new segments, compaction). Chmod after creation would leave a window and miss
/// files made later. Files that must be readable by others (`http_ca.crt`) are written with an
/// exact mode that ignores the umask ([`bulwark_pki::write_atomic`]). The data directories are
/// also created (or tightened) to 0700 explicitly, which covers a `path.data` the operator made.
pub fn run(opts: StartOptions) -> Result<(), NodeError> {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let hostname = host::hostname();
    let mut loaded = load_settings(&opts, &hostname)?;
    if !loaded.file_exists && ensure_settings_file(&opts.home, &loaded.settings)? {
        loaded = load_settings(&opts, &hostname)?;
    }
    logging::init(&loaded.settings.path_logs, loaded.settings.log_rotation)?;
    let result = run_logged(&opts, &hostname, loaded);
    if let Err(e) = &result {
        tracing::error!("node stopped: {e}");
    }
    result
}

fn run_logged(opts: &StartOptions, hostname: &str, mut loaded: Loaded) -> Result<(), NodeError> {
    let home = &opts.home;
    if opts.running_as_root {
        tracing::warn!(
            "running as root because --allow-root was given; run the node as an unprivileged user outside containers and CI"
        );
    }
    if autoconfig::recover(home)? {
        tracing::warn!("an interrupted security auto-configuration was rolled back; it runs again now");
        loaded = load_settings(opts, hostname)?;
    }
    let mut keystore = load_keystore(home, &opts.keystore_password)?;
    let mut fingerprint: Option<Fingerprint> = None;
    let mut enrolled = None;
    if let Some(token) = &opts.enrollment_token {
        use secrecy::ExposeSecret;
        let e = crate::enroll::enroll(
            home,
            &loaded.settings,
            keystore.take(),
            &opts.keystore_password,
            token.expose_secret(),
            hostname,
        )?;
        loaded = load_settings(opts, hostname)?;
        keystore = load_keystore(home, &opts.keystore_password)?;
        enrolled = Some(e);
    }
    let checked = if enrolled.is_some() {
        Err(autoconfig::SkipReason {
            check: "enrolled",
            message: "this node was configured by its enrollment into a cluster".into(),
        })
    } else {
        autoconfig::check(home, &loaded.settings, loaded.file_exists, keystore.as_ref())
    };
    let record = match checked {
        Ok(()) => {
            let applied = autoconfig::apply(
                home,
                &loaded.settings,
                keystore.take(),
                &opts.keystore_password,
                hostname,
                &host::interface_addresses(),
            )?;
            bulwark_keystore::crash_point("autoconfig.done");
            tracing::info!(
                fingerprint = %applied.http_ca_fingerprint,
                "security auto-configuration done: TLS certificates in [{}], settings appended to [{}]",
                home.certs_dir().display(),
                home.settings_file().display()
            );
            fingerprint = Some(applied.http_ca_fingerprint);
            loaded = load_settings(opts, hostname)?;
            keystore = load_keystore(home, &opts.keystore_password)?;
            AutoconfigRecord { outcome: "configured".into(), reason: None }
        }
        Err(reason) => {
            tracing::info!(check = reason.check, "security auto-configuration skipped: {}", reason.message);
            AutoconfigRecord { outcome: "skipped".into(), reason: Some(reason.to_string()) }
        }
    };
    let settings = loaded.settings;
    NodeState::load_or_create(&settings.path_data, record)?;
    files::create_dir(&settings.path_data, 0o700)?;
    files::create_dir(&settings.path_data.join("store"), 0o700)?;
    let security = &settings.security;
    if !security.is_enabled() {
        tracing::warn!(
            "security is disabled (xpack.security.enabled: false): anyone who can reach this node can read and change everything; it serves plain HTTP"
        );
    }
    production_check(&settings)?;
    // Before the TLS material is loaded and watched: adding the key rewrites the keystore.
    let audit_key = if security.is_enabled() && security.audit_enabled {
        Some(crate::audit::chain_key(home, &mut keystore, &opts.keystore_password)?)
    } else {
        None
    };
    let http_tls = if security.is_enabled() && security.http_ssl.enabled {
        let (layer, material) = LayerTls::load(home, "http", &security.http_ssl, &opts.keystore_password)?;
        if material.chain.len() > 1
            && let Some(ca) = material.chain.last()
        {
            fingerprint.get_or_insert(Fingerprint::of_der(ca));
        }
        Some(layer)
    } else {
        None
    };
    // No node-to-node connections are made yet (single node), but the transport material is
    // loaded and validated like HTTP's, so a broken keystore stops the start naming the setting,
    // and it is watched and listed by `GET /_ssl/certificates`.
    let transport_tls = if security.is_enabled() && security.transport_ssl.enabled {
        Some(LayerTls::load(home, "transport", &security.transport_ssl, &opts.keystore_password)?.0)
    } else {
        None
    };
    if let Some(fp) = fingerprint {
        tracing::info!(fingerprint = %fp, "HTTP CA certificate SHA-256 fingerprint");
    }
    crate::memory::tune_allocator();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| NodeError::Runtime { context: "cannot start the async runtime", source })?;
    runtime.block_on(async {
        tokio::spawn(async {
            let mut tick = tokio::time::interval(crate::memory::COLLECT_EVERY);
            loop {
                tick.tick().await;
                crate::memory::collect();
            }
        });
        // Seed hosts and an empty store (certificates made by hand): join the seeds' cluster.
        let seeded = if enrolled.is_none()
            && !settings.discovery.seed_hosts.is_empty()
            && files::dir_is_empty(&settings.path_data.join("store"))?
        {
            Some(crate::cluster::discover(&settings, transport_tls.as_ref()).await?)
        } else {
            None
        };
        let joining =
            enrolled.as_ref().map(|e| e.cluster_uuid.clone()).or_else(|| seeded.as_ref().map(|s| s.0.clone()));
        let opened = crate::cluster::open_store(&settings, transport_tls.as_ref(), joining.as_deref()).await;
        let (store, transport) = match opened {
            Ok(o) => o,
            Err(e) => {
                if let Some(en) = enrolled.take() {
                    en.roll_back(&settings);
                }
                return Err(e);
            }
        };
        // Subscribed before the indices read the store, so that no applied entry falls between them.
        let follow = store.subscribe();
        let indices = {
            let (store, data) = (store.clone(), settings.path_data.clone());
            tokio::task::spawn_blocking(move || crate::indices::Indices::open(store, &data)).await.map_err(NodeError::interrupted("opening the search indices"))??
        };
        indices.spawn_refresher();
        indices.spawn_follower(follow);
        let users = Arc::new(SecurityEntries::new(store.clone()));
        let audit_log = if let Some(key) = &audit_key {
            Some(Arc::new(AuditLog::open(AuditConfig {
                logs: &settings.path_logs,
                data: &settings.path_data,
                key,
                rotation: settings.log_rotation,
                filter: AuditFilter::new(&security.audit_events),
            })?))
        } else {
            None
        };
        let audit: Arc<dyn AuditSink> = match &audit_log {
            Some(log) => log.clone(),
            None => Arc::new(NoAudit),
        };
        let files = RealmFiles {
            users: home.config_dir().join("users"),
            users_roles: home.config_dir().join("users_roles"),
            service_tokens: home.config_dir().join("service_tokens"),
        };
        let lockout = LockoutPolicy {
            enabled: security.lockout.enabled,
            max_failures: security.lockout.max_failures,
            duration: security.lockout.duration,
        };
        let client_auth = http_tls.is_some()
            && security.http_ssl.client_authentication != bulwark_settings::values::ClientAuthentication::None;
        let mut pki_realms = Vec::new();
        for r in security.pki_realms.iter().filter(|r| security.is_enabled() && r.enabled) {
            if !client_auth {
                return Err(NodeError::Config(format!(
                    "PKI realm [{}] needs client certificates: set xpack.security.http.ssl.enabled: true and xpack.security.http.ssl.client_authentication to optional or required",
                    r.name
                )));
            }
            pki_realms.push(PkiRealm::new(r).map_err(NodeError::Config)?);
        }
        // Elasticsearch's default: the token service is on when HTTP has TLS.
        let tokens_enabled = security.token_enabled.unwrap_or(http_tls.is_some());
        let (authenticator, messages) = Authenticator::new(users.clone(), Some(files), lockout, audit);
        let authenticator = authenticator.with_pki_realms(pki_realms);
        for m in messages.into_iter().chain(authenticator.reload_realm_files()) {
            tracing::info!("{m}");
        }
        let authenticator = Arc::new(
            authenticator
                .with_api_keys(security.api_key_enabled)
                .with_tokens(tokens_enabled)
                .with_password_hashing(security.password_hashing),
        );
        let authorizer = Arc::new(Authorizer::new(users.clone()));
        let in_cluster = enrolled.is_some() || !settings.discovery.seed_hosts.is_empty();
        let transport_publish = transport.as_ref().map(|t| t.publish);
        let transport_client = transport.as_ref().map(|t| t.client.clone());
        if let (Some(t), Some(layer)) = (transport, transport_tls.as_ref()) {
            let full = security.transport_ssl.verification_mode == bulwark_settings::values::VerificationMode::Full;
            let a = authenticator.clone();
            let publish = t.publish;
            let local = crate::cluster::Local {
                store: store.clone(),
                client: t.client.clone(),
                node_name: settings.node_name.clone(),
                indices: indices.clone(),
            };
            crate::cluster::serve(t.listener, layer, full, local, move |ev| a.audit(ev));
            tracing::info!("transport (mutual TLS) listening on [{publish}]");
            if let Some(en) = enrolled.take() {
                let req = crate::cluster::JoinRequest {
                    cluster_uuid: en.cluster_uuid.clone(),
                    id: store.node_id(),
                    name: settings.node_name.clone(),
                    address: publish.to_string(),
                };
                match crate::cluster::join(&t.client, &en.seeds, &req).await {
                    Ok(()) => {
                        en.commit()?;
                        tracing::info!(cluster_uuid = %req.cluster_uuid, "joined the cluster as node {}", req.id);
                    }
                    Err(e) => {
                        en.roll_back(&settings);
                        return Err(NodeError::Config(format!(
                            "enrollment failed ({}): the cluster did not add this node ({e}); check that the cluster's nodes can reach this node's transport address [{publish}]; the home was left as it was",
                            crate::cluster::join_check(&e)
                        )));
                    }
                }
            } else if let Some((uuid, seeds)) = &seeded {
                let req = crate::cluster::JoinRequest {
                    cluster_uuid: uuid.clone(),
                    id: store.node_id(),
                    name: settings.node_name.clone(),
                    address: publish.to_string(),
                };
                if let Err(e) = crate::cluster::join(&t.client, seeds, &req).await {
                    // Nothing of the cluster's was kept: the next start discovers and joins afresh.
                    for dir in ["store", "indices"] {
                        let _ = crate::cluster::empty_dir(&settings.path_data.join(dir), true);
                    }
                    return Err(NodeError::Config(format!(
                        "joining the cluster of [discovery.seed_hosts] failed ({}): the cluster did not add this node ({e}); check that its nodes can reach this node's transport address [{publish}]; this node's store was emptied again, so the next start joins afresh",
                        crate::cluster::join_check(&e)
                    )));
                }
                tracing::info!(cluster_uuid = %uuid, "joined the cluster of [discovery.seed_hosts] as node {}", req.id);
            } else {
                // A restarted member serves clients once it caught up with the leader.
                crate::cluster::catch_up(&store).await;
            }
        }
        let roles_file = home.config_dir().join("roles.yml");
        watch_realm_files(authenticator.clone(), authorizer.clone(), roles_file);
        let rest = RestState::new(Services {
            info: Arc::new(NodeInfo {
                node_name: settings.node_name.clone(),
                cluster_name: settings.cluster_name.clone(),
                cluster_uuid: store.cluster_uuid().to_owned(),
            }),
            authenticator: authenticator.clone(),
            authorizer,
            cluster: Arc::new(StoreCluster(store.clone(), transport_client)),
            certificates: Arc::new(Certificates(http_tls.iter().chain(&transport_tls).cloned().collect())),
            security_enabled: security.is_enabled(),
            api_keys_enabled: security.api_key_enabled,
            token_timeout: tokens_enabled.then_some(security.token_timeout),
            pki_enabled: client_auth && authenticator.has_pki_realms(),
            max_content_length: usize::try_from(settings.http.max_content_length).unwrap_or(usize::MAX),
            indexing_pressure: bulwark_rest::pressure::IndexingPressure::new(
                settings.indexing_pressure_memory_limit.bytes(crate::memory::physical()),
            ),
            store: store.clone(),
            password_hashing: security.password_hashing,
            service_token_hashing: security.service_token_hashing,
            password_policy: PasswordPolicy::from_settings(&security.password_policy),
        });
        let enrollment = Arc::new(NodeEnrollment::new(
            home,
            &settings,
            &opts.keystore_password,
            http_tls.clone(),
            store.clone(),
        ));
        if let Some(layer) = http_tls.as_ref().filter(|l| l.verifies_clients()) {
            let (layer, ca, store) = (layer.clone(), enrollment.clone(), store.clone());
            tokio::task::spawn_blocking(move || {
                crate::crl::enforce(layer, ca, store, bulwark_rest::revocation::Authority::HttpCa)
            })
            .await
            .map_err(NodeError::interrupted("applying revocation lists"))?;
        }
        if let Some(layer) = transport_tls.as_ref().filter(|l| l.verifies_clients()) {
            // Revoked transport certificates are refused by the node that holds the transport CA
            // key (it signs the list); see docs/architecture.md.
            let (layer, ca, store) = (layer.clone(), enrollment.clone(), store.clone());
            tokio::task::spawn_blocking(move || {
                crate::crl::enforce(layer, ca, store, bulwark_rest::revocation::Authority::TransportCa)
            })
            .await
            .map_err(|e| NodeError::Config(format!("applying revocation lists was interrupted: {e}")))?;
        }
        let host = settings.http.host.as_deref().or(settings.network_host.as_deref()).unwrap_or("_local_");
        let addr = server::resolve_host(host, settings.http.port)?;
        let listener = TcpListener::bind(addr).await.map_err(|source| NodeError::Bind {
            what: "HTTP",
            addr: addr.to_string(),
            source,
        })?;
        let bound = listener.local_addr().map_err(|source| NodeError::Bind {
            what: "HTTP",
            addr: addr.to_string(),
            source,
        })?;
        // Checked at every start (a wildcard or unresolvable publish host stops it).
        let http_publish = crate::enrollment::http_publish_address(&settings, bound)?;
        if settings.node_portsfile {
            write_portsfile(&settings.path_logs.join("http.ports"), bound)?;
        }
        crate::listening::write(
            &settings.path_data,
            &crate::listening::Listening {
                http: bound,
                scheme: if http_tls.is_some() { "https" } else { "http" }.into(),
                transport: transport_publish,
                pid: std::process::id(),
            },
        )?;
        if security.is_enabled() && !in_cluster {
            // A start that died after auto-configuration but before the password was delivered
            // still reports the auto-configured CA's fingerprint.
            let fingerprint = fingerprint.or_else(|| autoconfig::ca_fingerprint(home));
            let stash = |p: &SecretString| {
                if opts.terminal {
                    return Ok(());
                }
                let first = FirstStart {
                    home,
                    password: Some(p),
                    fingerprint,
                    port: bound.port(),
                    https: http_tls.is_some(),
                    enrollment: None,
                    enrollment_enabled: enrollment.enrollment_enabled(),
                };
                bootstrap::write_credentials(&first).map(|_| ())
            };
            let first = bootstrap::elastic_password(&users, &settings, keystore.as_ref(), stash).await?;
            if let Some(source) = first {
                let password = match &source {
                    ElasticPassword::Generated(p) => Some(p),
                    ElasticPassword::Supplied(from) => {
                        tracing::info!("the elastic user's password was taken from {from}");
                        None
                    }
                };
                // Only a token someone receives: on the terminal, or in the credentials file
                // that a generated password needs anyway.
                let delivered = opts.terminal || password.is_some();
                let token = if delivered { console_token(&enrollment, http_publish).await } else { None };
                if let Some(t) = &token {
                    authenticator.audit(bulwark_security::audit::AuditEvent::SecurityConfigChange {
                        user: bulwark_security::enrollment::INTERNAL_OWNER.to_owned(),
                        change: "create_enrollment_token".to_owned(),
                        target: t.key_id.clone(),
                    });
                }
                let first = FirstStart {
                    home,
                    password,
                    fingerprint,
                    port: bound.port(),
                    https: http_tls.is_some(),
                    enrollment: token.as_ref(),
                    enrollment_enabled: enrollment.enrollment_enabled(),
                };
                bootstrap::deliver(&first, opts.terminal)?;
            }
        }
        tracing::info!(
            "node [{}] of cluster [{}] started; serving {} on [{bound}]",
            settings.node_name,
            settings.cluster_name,
            if http_tls.is_some() { "HTTPS" } else { "HTTP" }
        );
        for t in http_tls.iter().chain(&transport_tls) {
            t.watch();
        }
        let app = bulwark_rest::router::router(rest).layer(axum::Extension(Enrollment(enrollment)));
        let app = app.layer(axum::Extension(bulwark_rest::indices::DataPlane(indices.clone())));
        let app = match (&audit_log, &audit_key) {
            (Some(log), Some(key)) => app.layer(axum::Extension(bulwark_rest::AuditReader(Arc::new(
                crate::audit::read::AuditFiles::new(&settings.path_logs, key, log.clone()),
            )))),
            _ => app,
        };
        let (barrier_store, barrier_indices) = (store.clone(), indices.clone());
        let stale = Arc::new(StaleReads::default());
        let app = app.layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            let (store, indices) = (barrier_store.clone(), barrier_indices.clone());
            let stale_reads = stale.clone();
            async move {
                // Read-your-writes across nodes: catch up with the leader's commit index first,
                // in the store and then in the search indices (an index just created through
                // another node exists here before this request looks for it). Without a leader
                // (this node is cut off from the majority) the request is served from the local
                // state, as Elasticsearch serves reads without a master (writes are refused by
                // the store): see docs/architecture.md.
                let started = std::time::Instant::now();
                match store.read_barrier(READ_BARRIER_TIMEOUT).await {
                    Ok(Some(index)) => {
                        let left = READ_BARRIER_TIMEOUT.saturating_sub(started.elapsed());
                        if !indices.wait_followed(index, left).await {
                            stale_reads.note(&bulwark_store::StoreError::Timeout {
                                what: format!("log index {index} to reach this node's search indices"),
                                waited: started.elapsed(),
                            });
                        }
                    }
                    Ok(None) => {}
                    Err(e) => stale_reads.note(&e),
                }
                next.run(req).await
            }
        }));
        let limits = crate::connection::Limits::from_settings(&settings.http);
        tracing::debug!(?limits, "HTTP limits");
        server::serve(listener, http_tls.clone(), app, limits, shutdown_signal()).await;
        // Committed with their position, so that the next start replays nothing.
        let closing = indices.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || closing.close(INDICES_CLOSE_WAIT)).await {
            tracing::warn!("committing the search indices at shutdown was interrupted: {e}");
        }
        if settings.node_portsfile {
            let _ = std::fs::remove_file(settings.path_logs.join("http.ports"));
        }
        if let Some(log) = &audit_log {
            log.sync();
        }
        tracing::info!("node stopped");
        Ok(())
    })
}

/// Requests served from the local state because the read barrier failed: logged at WARN at
/// most once a minute while it lasts (every request would otherwise log it).
#[derive(Default)]
struct StaleReads(std::sync::Mutex<Option<std::time::Instant>>);

impl StaleReads {
    const INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

    fn note(&self, e: &bulwark_store::StoreError) {
        let now = std::time::Instant::now();
        let mut last = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|t| now.duration_since(t) >= Self::INTERVAL) {
            *last = Some(now);
            tracing::warn!(
                "requests are served from this node's own state, which may miss the latest writes made through other nodes (logged once a minute while it lasts): {e}"
            );
        } else {
            tracing::debug!("serving from the local state: {e}");
        }
    }
}

/// The console enrollment token of the first start, when enrollment is on; a failure is logged
/// (with the command that makes one later) and does not stop the node.
async fn console_token(enrollment: &NodeEnrollment, bound: SocketAddr) -> Option<FirstStartToken> {
    if !enrollment.enrollment_enabled() {
        return None;
    }
    match enrollment.first_start_token(bound).await {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(
                "could not create the console enrollment token: {e}; create one with `bulwark create-enrollment-token -s kibana`"
            );
            None
        }
    }
}

/// Security on, transport reachable from other hosts and no transport TLS: refuse (SPEC §4).
fn production_check(settings: &Settings) -> Result<(), NodeError> {
    let sec = &settings.security;
    let (key, host) = match (&settings.transport.host, &settings.network_host) {
        (Some(h), _) => ("transport.host", h.as_str()),
        (None, Some(h)) => ("network.host", h.as_str()),
        (None, None) => return Ok(()),
    };
    let addr = server::resolve_host(host, 0)?;
    if sec.is_enabled() && !addr.ip().is_loopback() && !sec.transport_ssl.enabled {
        return Err(NodeError::Config(format!(
            "[{key}] is [{host}], so other hosts can reach this node's transport port, but transport TLS is not configured: set [xpack.security.transport.ssl.enabled: true] with a keystore or certificate (see `bulwark certutil`), or bind to a loopback address"
        )));
    }
    Ok(())
}

fn write_portsfile(path: &std::path::Path, bound: SocketAddr) -> Result<(), NodeError> {
    bulwark_pki::write_public_file(path, format!("{bound}\n").as_bytes())?;
    Ok(())
}

/// Re-reads the file realms and `roles.yml` every few seconds (off the async executor).
fn watch_realm_files(
    authenticator: Arc<Authenticator>,
    authorizer: Arc<Authorizer>,
    roles_file: std::path::PathBuf,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        let mut seen_roles: Option<Option<Vec<u8>>> = None;
        loop {
            tick.tick().await;
            let a = authenticator.clone();
            if let Ok(messages) = tokio::task::spawn_blocking(move || a.reload_realm_files()).await {
                for m in messages {
                    tracing::info!("{m}");
                }
            }
            let now = std::fs::read(&roles_file).ok();
            if seen_roles.as_ref() != Some(&now) {
                let text = now.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
                let parsed = bulwark_security::authz::parse_roles_yml(&text, &roles_file).and_then(|roles| {
                    for (name, d) in &roles {
                        bulwark_rest::restrict::check_role_queries(name, d)
                            .map_err(|e| format!("[{}]: {}", roles_file.display(), e.reason))?;
                    }
                    Ok(roles)
                });
                match parsed {
                    Ok(roles) => {
                        if now.is_some() {
                            tracing::info!("loaded {} roles from [{}]", roles.len(), roles_file.display());
                        }
                        authorizer.set_file_roles(roles);
                    }
                    Err(e) => tracing::warn!("roles file keeps its previous roles: {e}"),
                }
                seen_roles = Some(now);
            }
        }
    });
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
