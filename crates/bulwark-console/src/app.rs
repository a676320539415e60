//! The console's router and shared state: routes, the security headers every response carries,
//! the session check of `/app/*`, setup, login and logout. The pages live in `pages/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::Router;
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use bulwark_client::{Credentials, NodeClient, NodeError};
use bulwark_settings::console::ConsoleSettings;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::code::{CodeCheck, VerificationCode};
use crate::session::{self, CSRF_COOKIE, Refusal, SESSION_COOKIE, Sealer, Session};
use crate::{ConsoleError, ConsoleHome, TokenDecoder, pages};

/// The strict policy: no inline script or style, no eval, nothing from elsewhere, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's connection to its node.
pub struct NodeLink {
    pub client: NodeClient,
    /// The service-account token: only for the console's own needs.
    pub token: SecretString,
}

/// Everything the handlers share.
pub struct AppState {
    pub home: ConsoleHome,
    pub overrides: Vec<String>,
    settings: RwLock<ConsoleSettings>,
    pub sealer: Sealer,
    node: RwLock<Option<Arc<NodeLink>>>,
    pub code: Mutex<Option<VerificationCode>>,
    /// Session ids ended by logout, with the time their lifespan would end.
    ended: Mutex<HashMap<String, u64>>,
    pub decoder: TokenDecoder,
    /// Whether cookies get `Secure` (HTTPS).
    pub secure: bool,
    pub monitor: crate::monitor::Monitor,
    /// The newest token pairs of sessions that refreshed (`tokens.rs`).
    pub refreshes: crate::tokens::Refreshes,
    enrolling: tokio::sync::Mutex<()>,
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        home: ConsoleHome,
        overrides: Vec<String>,
        settings: ConsoleSettings,
        sealer: Sealer,
        node: Option<NodeLink>,
        code: Option<VerificationCode>,
        decoder: TokenDecoder,
        secure: bool,
    ) -> AppState {
        AppState {
            home,
            overrides,
            settings: RwLock::new(settings),
            sealer,
            node: RwLock::new(node.map(Arc::new)),
            code: Mutex::new(code),
            ended: Mutex::new(HashMap::new()),
            decoder,
            secure,
            monitor: crate::monitor::Monitor::default(),
            refreshes: crate::tokens::Refreshes::default(),
            enrolling: tokio::sync::Mutex::new(()),
        }
    }

    pub fn settings(&self) -> ConsoleSettings {
        self.settings.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn node(&self) -> Option<Arc<NodeLink>> {
        self.node.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn is_ended(&self, sid: &str) -> bool {
        let mut ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        let now = session::now();
        ended.retain(|_, until| *until > now);
        ended.contains_key(sid)
    }

    /// The configured node link, from the home's settings and keystore.
    pub fn link(home: &ConsoleHome, settings: &ConsoleSettings) -> Result<Option<NodeLink>, ConsoleError> {
        if !settings.has_node() {
            // A token without hosts (an enrollment stopped half way, or a hand edit): configured
            // credentials, so no setup is offered, and no node to use them with.
            if home.service_token()?.is_some() {
                return Err(ConsoleError::Config(format!(
                    "the console keystore [{}] holds [{}] but [elasticsearch.hosts] is not set in [{}]: set [elasticsearch.hosts] and [elasticsearch.ssl.certificateAuthorities], or remove the console keystore to enroll again",
                    home.keystore_file().display(),
                    crate::home::SERVICE_TOKEN,
                    home.settings_file().display()
                )));
            }
            return Ok(None);
        }
        let token = home.service_token()?.ok_or_else(|| {
            ConsoleError::Config(format!(
                "[elasticsearch.hosts] is set but the console keystore [{}] holds no [{}]",
                home.keystore_file().display(),
                crate::home::SERVICE_TOKEN
            ))
        })?;
        let mut cas = Vec::new();
        for path in &settings.elasticsearch_certificate_authorities {
            let pem = std::fs::read(path).map_err(|e| ConsoleError::io(path, e))?;
            cas.extend(bulwark_pki::certs_from_pem(&pem).map_err(|e| {
                ConsoleError::Config(format!(
                    "[elasticsearch.ssl.certificateAuthorities] [{}]: {e}",
                    path.display()
                ))
            })?);
        }
        if cas.is_empty() {
            return Err(ConsoleError::Config(
                "[elasticsearch.ssl.certificateAuthorities] names no CA certificate: the console trusts no system CA for its node".into(),
            ));
        }
        let client = NodeClient::new(&settings.elasticsearch_hosts, &cas)
            .map_err(|e| ConsoleError::Config(format!("[elasticsearch.hosts]: {e}")))?;
        Ok(Some(NodeLink { client, token }))
    }
}

/// The console's router.
pub fn router(state: Arc<AppState>) -> Router {
    let app = Router::new()
        .route("/app/overview", get(pages::data::overview))
        .route("/app/users", get(pages::security::users).post(pages::security::create_user))
        .route("/app/roles", get(pages::security::roles).post(pages::security::create_role))
        .route("/app/users/edit", get(pages::edit::edit_user_page).post(pages::edit::edit_user))
        .route("/app/users/delete", get(pages::edit::confirm_user).post(pages::edit::delete_user))
        .route("/app/roles/edit", get(pages::edit::edit_role_page).post(pages::edit::edit_role))
        .route("/app/roles/delete", get(pages::edit::confirm_role).post(pages::edit::delete_role))
        .route("/app/role_mappings", get(pages::mappings::role_mappings).post(pages::mappings::save_mapping))
        .route(
            "/app/role_mappings/delete",
            get(pages::edit::confirm_mapping).post(pages::edit::delete_mapping),
        )
        .route("/app/audit", get(pages::audit::audit))
        .route("/app/api_keys", get(pages::keys::api_keys).post(pages::keys::create_api_key))
        .route("/app/api_keys/invalidate", post(pages::keys::invalidate_api_key))
        .route("/app/service_tokens", get(pages::keys::service_tokens))
        .route("/app/search", get(pages::data::search))
        .route("/app/monitoring", get(pages::data::monitoring))
        .route("/app/monitoring/chart.svg", get(pages::data::monitoring_chart))
        .route("/app/logout", post(logout))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), require_session));
    Router::new()
        .route("/", get(index))
        .route("/setup", get(setup_page).post(setup_submit))
        .route("/login", get(login_page).post(login_submit))
        .route("/static/console.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/static/console.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .merge(app)
        .fallback(|| async {
            (StatusCode::NOT_FOUND, pages::message_page("Not found", "There is no such page."))
        })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), crate::csrf::protect))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), security_headers))
        .with_state(state)
}

const CSS: &str = include_str!("../static/console.css");
const JS: &str = include_str!("../static/console.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "max-age=3600")], body).into_response()
}

/// Middleware: the headers of every response.
async fn security_headers(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if state.secure {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

fn with_cookie(mut resp: Response, cookie: String) -> Response {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn cookies(req_headers: &axum::http::HeaderMap) -> String {
    req_headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// To the login page, the session cookie removed.
pub fn to_login(state: &AppState, reason: Option<Refusal>) -> Response {
    let to = reason.map_or_else(|| "/login".to_owned(), |r| format!("/login?reason={}", r.code()));
    with_cookie(Redirect::to(&to).into_response(), session::clear_cookie(SESSION_COOKIE, state.secure))
}

/// Middleware of `/app/*`: a valid, live session, re-issued with the time of this request.
async fn require_session(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let settings = state.settings();
    let header = cookies(req.headers());
    let Some(text) = session::cookie(&header, SESSION_COOKIE) else { return to_login(&state, None) };
    let mut s = match state.sealer.open_session(
        text,
        settings.session_idle_timeout,
        settings.session_lifespan,
        session::now(),
    ) {
        Ok(s) => s,
        Err(r) => return to_login(&state, Some(r)),
    };
    if state.is_ended(&s.sid) || state.node().is_none() {
        return to_login(&state, Some(Refusal::Invalid));
    }
    s.seen = session::now();
    s.take_newer(&state.refreshes.newest(&s));
    req.extensions_mut().insert(s.clone());
    let resp = next.run(req).await;
    // A refresh while the page was made: the cookie carries the new pair.
    s.take_newer(&state.refreshes.newest(&s));
    let already = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(SESSION_COOKIE.as_bytes()));
    match state.sealer.seal_session(&s) {
        Ok(v) if !already => with_cookie(resp, session::set_cookie(SESSION_COOKIE, &v, state.secure)),
        _ => resp,
    }
}

/// A node error met while acting as the user: an ended session (a refused token) means log in
/// again.
pub fn node_failure(state: &AppState, e: &NodeError) -> Response {
    if e.status() == Some(401) {
        return to_login(state, Some(Refusal::Invalid));
    }
    let status = e.status().and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, pages::message_page("The node refused", &e.to_string())).into_response()
}

async fn index(State(state): State<Arc<AppState>>, headers: axum::http::HeaderMap) -> Response {
    if state.node().is_none() {
        return Redirect::to("/setup").into_response();
    }
    let settings = state.settings();
    let live = session::cookie(&cookies(&headers), SESSION_COOKIE).is_some_and(|c| {
        state
            .sealer
            .open_session(c, settings.session_idle_timeout, settings.session_lifespan, session::now())
            .is_ok()
    });
    Redirect::to(if live { "/app/overview" } else { "/login" }).into_response()
}

/// A pre-login form page with a fresh CSRF cookie.
fn form_page(state: &AppState, render: impl FnOnce(&str) -> maud::Markup) -> Response {
    match state.sealer.new_form_token() {
        Ok((cookie, token)) => with_cookie(
            render(&token).into_response(),
            session::set_cookie(CSRF_COOKIE, &cookie, state.secure),
        ),
        Err(e) => {
            (StatusCode::INTERNAL_SERVER_ERROR, pages::message_page("Error", &e.to_string())).into_response()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupQuery {
    code: Option<String>,
}

async fn setup_page(State(state): State<Arc<AppState>>, Query(q): Query<SetupQuery>) -> Response {
    if state.node().is_some() {
        return Redirect::to("/login").into_response();
    }
    let locked = state
        .code
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .is_none_or(VerificationCode::locked);
    form_page(&state, |csrf| pages::setup::setup(csrf, q.code.as_deref().unwrap_or_default(), None, locked))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupForm {
    /// Checked by the CSRF middleware (`csrf.rs`).
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
    code: String,
    token: String,
}

async fn setup_submit(State(state): State<Arc<AppState>>, Form(f): Form<SetupForm>) -> Response {
    if state.node().is_some() {
        return Redirect::to("/login").into_response();
    }
    let _one = state.enrolling.lock().await;
    let check = match state.code.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
        Some(c) => c.check(&f.code),
        None => CodeCheck::Locked,
    };
    let (status, error) = match check {
        CodeCheck::Valid => match enroll_here(&state, &f.token).await {
            Ok(()) => return Redirect::to("/login?enrolled=1").into_response(),
            // Nothing was sent to any node: the console's own files stopped it.
            Err(e @ ConsoleError::AlreadyConfigured(_)) => (StatusCode::CONFLICT, e.to_string()),
            Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
        },
        CodeCheck::Wrong { left } => {
            (StatusCode::FORBIDDEN, format!("The verification code is not valid ({left} tries left)."))
        }
        CodeCheck::Locked => (
            StatusCode::FORBIDDEN,
            "Too many wrong verification codes: the form is locked. Restart the console for a new code."
                .into(),
        ),
    };
    let locked = check == CodeCheck::Locked;
    let resp = form_page(&state, |csrf| pages::setup::setup(csrf, &f.code, Some(&error), locked));
    (status, resp).into_response()
}

/// Enrolls, then takes the new settings and node link without a restart.
async fn enroll_here(state: &AppState, token: &str) -> Result<(), ConsoleError> {
    crate::enroll::enroll(&state.home, &state.decoder, token).await?;
    let settings = crate::load_settings(&state.home, &state.overrides)?;
    let link = AppState::link(&state.home, &settings)?;
    *state.settings.write().unwrap_or_else(PoisonError::into_inner) = settings;
    *state.node.write().unwrap_or_else(PoisonError::into_inner) = link.map(Arc::new);
    *state.code.lock().unwrap_or_else(PoisonError::into_inner) = None;
    let _ = std::fs::remove_file(state.home.code_file());
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginQuery {
    reason: Option<String>,
    enrolled: Option<String>,
}

async fn login_page(State(state): State<Arc<AppState>>, Query(q): Query<LoginQuery>) -> Response {
    if state.node().is_none() {
        return Redirect::to("/setup").into_response();
    }
    let note = match q.reason.as_deref() {
        Some("idle") => Some(Refusal::Idle.message()),
        Some("expired") => Some(Refusal::Expired.message()),
        Some("invalid") => Some(Refusal::Invalid.message()),
        Some("logout") => Some("You are logged out."),
        _ if q.enrolled.is_some() => {
            Some("The console is connected to the cluster. Log in with a user of the cluster.")
        }
        _ => None,
    };
    form_page(&state, |csrf| pages::setup::login(csrf, "", note, None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginForm {
    /// Checked by the CSRF middleware (`csrf.rs`).
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
    username: String,
    password: String,
}

async fn login_submit(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let Some(node) = state.node() else { return Redirect::to("/setup").into_response() };
    let settings = state.settings();
    // The session this browser still holds, if any: ended once the new one is made.
    let previous = session::cookie(&cookies(&headers), SESSION_COOKIE).and_then(|c| {
        state
            .sealer
            .open_session(c, settings.session_idle_timeout, settings.session_lifespan, session::now())
            .ok()
    });
    let password = SecretString::from(f.password);
    let failed = |msg: &str, status: StatusCode| {
        let resp = form_page(&state, |csrf| pages::setup::login(csrf, &f.username, None, Some(msg)));
        (status, resp).into_response()
    };
    let (tokens, me) = match crate::tokens::login(&node, &f.username, &password).await {
        Ok(v) => v,
        Err(NodeError::Api { status: 401, .. }) => {
            return failed("The user name or password is not valid.", StatusCode::UNAUTHORIZED);
        }
        Err(e) => return failed(&format!("The node could not log you in: {e}"), StatusCode::BAD_GATEWAY),
    };
    let user = me["username"].as_str().unwrap_or(&f.username).to_owned();
    let roles = me["roles"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let access = tokens.access_token();
    let mut s = match Session::new(user, roles, tokens) {
        Ok(s) => s,
        Err(e) => return failed(&e.to_string(), StatusCode::INTERNAL_SERVER_ERROR),
    };
    s.may_read_audit = may_read_audit(&node, &access).await;
    tracing::info!(user = %s.user, "console login");
    match state.sealer.seal_session(&s) {
        Ok(v) => {
            if let Some(p) = previous {
                end_session(&state, &p).await;
            }
            let resp = with_cookie(
                Redirect::to("/app/overview").into_response(),
                session::set_cookie(SESSION_COOKIE, &v, state.secure),
            );
            with_cookie(resp, session::clear_cookie(CSRF_COOKIE, state.secure))
        }
        Err(e) => failed(&e.to_string(), StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// The privilege of the node's `GET /_bulwark/audit`.
const AUDIT_READ: &str = "cluster:admin/xpack/security/audit/get";

/// Whether the node says the user may read the audit log (asked once, at login). A failed
/// question counts as no: the link is hidden, and the page still asks the node.
async fn may_read_audit(node: &NodeLink, access: &SecretString) -> bool {
    let body = json!({"cluster": [AUDIT_READ]});
    match node.client.post("_security/user/_has_privileges", Credentials::Bearer(access), &body).await {
        Ok(v) => v["cluster"][AUDIT_READ].as_bool() == Some(true),
        Err(e) => {
            tracing::warn!(error = %e, "could not ask the node whether the user may read the audit log");
            false
        }
    }
}

/// Logout: the session ends on both sides.
async fn logout(
    State(state): State<Arc<AppState>>,
    axum::Extension(s): axum::Extension<Session>,
) -> Response {
    end_session(&state, &s).await;
    let resp = with_cookie(
        Redirect::to("/login?reason=logout").into_response(),
        session::clear_cookie(SESSION_COOKIE, state.secure),
    );
    with_cookie(resp, session::clear_cookie(CSRF_COOKIE, state.secure))
}

/// Ends a session on both sides (at logout, or when the browser logs in again): the node
/// invalidates its newest token pair, the console remembers its id as ended until its lifespan is
/// over.
async fn end_session(state: &AppState, s: &Session) {
    let lifespan = u64::try_from(state.settings().session_lifespan.as_millis()).unwrap_or(u64::MAX);
    state
        .ended
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(s.sid.clone(), s.created.saturating_add(lifespan));
    let newest = state.refreshes.newest(s);
    state.refreshes.forget(&s.sid);
    if let Some(node) = state.node() {
        crate::tokens::invalidate(&node, &s.user, &newest).await;
    }
}
