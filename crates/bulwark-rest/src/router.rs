//! The only place routes are listed, each with the action it requires.

use axum::Router;
use axum::extract::{Extension, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use bulwark_security::audit::AuditEvent;
use bulwark_security::authz::{Action, Scope, may_change_own_password};
use serde_json::json;

use crate::api::{
    api_key, audit, cat, cluster, coordination, enroll, privilege, role, root, security, service, ssl, token,
    user,
};
use crate::caller::{self, Caller};
use crate::params as p;
use crate::{ApiError, RestState, authn, filter_path, media};

/// One row of the route table: a path and an action one of its methods requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteRow {
    /// The route's path, as axum spells it.
    pub path: &'static str,
    /// The action name its method requires.
    pub action: &'static str,
}

/// The methods of one path that require one action (merged with the path's others).
struct Secured {
    route: MethodRouter<RestState>,
    actions: Vec<Action>,
}

impl Secured {
    fn merge(mut self, other: Secured) -> Secured {
        self.route = self.route.merge(other.route);
        self.actions.extend(other.actions);
        self
    }

    fn map(mut self, f: impl FnOnce(MethodRouter<RestState>) -> MethodRouter<RestState>) -> Secured {
        self.route = f(self.route);
        self
    }
}

/// The routes and, beside them, what each requires.
struct Table {
    router: Router<RestState>,
    rows: Vec<RouteRow>,
}

impl Table {
    fn new() -> Table {
        Table { router: Router::new(), rows: Vec::new() }
    }

    fn route(mut self, path: &'static str, s: Secured) -> Table {
        self.rows.extend(s.actions.iter().map(|a| RouteRow { path, action: a.name() }));
        self.router = self.router.route(path, s.route);
        self
    }
}

/// Wraps a route so that it runs only when the caller may perform `action`, and only with the
/// URL parameters it `declared` (and the global ones): any other is a 400, checked first, as
/// Elasticsearch's REST layer checks them before the action runs.
fn secured(action: Action, declared: p::Declared, route: MethodRouter<RestState>) -> Secured {
    let route = route
        .route_layer(middleware::from_fn_with_state(action, check))
        .route_layer(middleware::from_fn_with_state(declared, p::check));
    Secured { route, actions: vec![action] }
}

/// Every secured route with the action it requires (the route × privilege matrix test reads
/// it, so a new route cannot go untested).
pub fn routes() -> Vec<RouteRow> {
    table().rows
}

async fn check(
    State(action): State<Action>,
    Extension(state): Extension<RestState>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(a) = authn::current(&req) {
        let origin = caller::origin(req.extensions(), req.method(), req.uri());
        if action.scope() == Scope::Indices {
            // Decided by the handler on the indices the request resolves to, and audited once
            // when the request ends (see `caller`).
            let c = Caller::for_index_route(&state, a.clone(), origin, action);
            req.extensions_mut().insert(c);
            return next.run(req).await;
        }
        let own_password = action == Action::ChangePassword && {
            let target =
                req.uri().path().strip_prefix("/_security/user/").and_then(|r| r.strip_suffix("/_password"));
            user::password_target(target.filter(|t| !t.is_empty()), Some(a))
                .is_some_and(|t| may_change_own_password(a, &t))
        };
        let decision = if own_password { Ok(()) } else { state.authorizer.authorize(a, action, &[]) };
        let event = if decision.is_ok() { AuditEvent::access_granted } else { AuditEvent::access_denied };
        state.authenticator.audit(event(a, action.name(), Vec::new(), origin));
        if let Err(e) = decision {
            let user = &a.user.username;
            tracing::info!(target: "bulwark::authz", %user, %action, "access denied");
            return ApiError::from(e).into_response();
        }
    }
    next.run(req).await
}

/// Elasticsearch's answer for a path no handler serves.
async fn no_handler(req: Request) -> Response {
    let msg = format!("no handler found for uri [{}] and method [{}]", req.uri(), req.method());
    (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": msg, "status": 400 }))).into_response()
}

/// Every secured route.
fn table() -> Table {
    let t = Table::new()
        .route("/", secured(Action::MonitorMain, p::NONE, get(root::info).head(root::head)))
        .route("/_cluster/health", secured(Action::MonitorHealth, p::CLUSTER_HEALTH, get(cluster::health)))
        .route("/_cluster/state", secured(Action::ClusterState, p::NONE, get(coordination::state_all)))
        .route(
            "/_cluster/state/{metrics}",
            secured(Action::ClusterState, p::NONE, get(coordination::state_of)),
        )
        .route(
            "/_cluster/voting_config_exclusions",
            secured(Action::AddVotingConfigExclusions, p::ADD_VOTING_EXCLUSIONS, post(coordination::exclude))
                .merge(secured(
                    Action::ClearVotingConfigExclusions,
                    p::CLEAR_VOTING_EXCLUSIONS,
                    delete(coordination::clear),
                )),
        )
        .route("/_cat/health", secured(Action::MonitorHealth, p::CAT, get(cat::health)))
        .route("/_cat/nodes", secured(Action::NodesInfo, p::CAT, get(cat::nodes)))
        .route("/_ssl/certificates", secured(Action::SslCertificates, p::NONE, get(ssl::certificates)))
        .route("/_ssl/certificates/_revoke", secured(Action::SslRevoke, p::NONE, post(ssl::revoke)))
        .route("/_ssl/certificates/_revoked", secured(Action::SslRevoked, p::NONE, get(ssl::revoked)))
        .route("/_bulwark/audit", secured(Action::AuditRead, p::AUDIT_READ, get(audit::read)))
        .route(
            "/_security/_authenticate",
            secured(Action::Authenticate, p::NONE, get(security::authenticate)),
        )
        .route("/_security/user", secured(Action::GetUsers, p::WITH_PROFILE_UID, get(user::get)))
        .route(
            "/_security/user/{username}",
            secured(Action::GetUsers, p::WITH_PROFILE_UID, get(user::get))
                .merge(secured(Action::PutUser, p::REFRESH, put(user::put).post(user::put)))
                .merge(secured(Action::DeleteUser, p::REFRESH, delete(user::delete))),
        )
        .route(
            "/_security/user/_password",
            secured(
                Action::ChangePassword,
                p::REFRESH,
                put(user::change_password).post(user::change_password),
            ),
        )
        .route(
            "/_security/user/{username}/_password",
            secured(
                Action::ChangePassword,
                p::REFRESH,
                put(user::change_password).post(user::change_password),
            ),
        )
        .route(
            "/_security/user/{username}/_enable",
            secured(Action::SetEnabled, p::REFRESH, put(user::enable).post(user::enable)),
        )
        .route(
            "/_security/user/{username}/_disable",
            secured(Action::SetEnabled, p::REFRESH, put(user::disable).post(user::disable)),
        )
        .route(
            "/_security/_query/user",
            secured(Action::QueryUsers, p::WITH_PROFILE_UID, get(user::query).post(user::query)),
        )
        .route(
            "/_security/realm/{realms}/_clear_cache",
            secured(Action::ClearRealmCache, p::CLEAR_REALM_CACHE, post(security::clear_realm_cache)),
        )
        .route(
            "/_security/api_key",
            secured(Action::CreateApiKey, p::REFRESH, post(api_key::create).put(api_key::create))
                .merge(secured(Action::GetApiKey, p::GET_API_KEY, get(api_key::get)))
                .merge(secured(Action::InvalidateApiKey, p::NONE, delete(api_key::invalidate))),
        )
        .route("/_security/api_key/grant", secured(Action::GrantApiKey, p::REFRESH, post(api_key::grant)))
        .route(
            "/_security/api_key/_bulk_update",
            secured(Action::BulkUpdateApiKey, p::NONE, post(api_key::bulk_update)),
        )
        .route("/_security/api_key/{id}", secured(Action::UpdateApiKey, p::NONE, put(api_key::update)))
        .route(
            "/_security/api_key/{ids}/_clear_cache",
            secured(Action::ClearSecurityCache, p::NONE, post(api_key::clear_cache)),
        )
        .route(
            "/_security/_query/api_key",
            secured(Action::QueryApiKey, p::QUERY_API_KEY, get(api_key::query).post(api_key::query)),
        )
        .route("/_security/service", secured(Action::GetServiceAccounts, p::NONE, get(service::accounts)))
        .route(
            "/_security/service/{namespace}",
            secured(Action::GetServiceAccounts, p::NONE, get(service::accounts)),
        )
        .route(
            "/_security/service/{namespace}/{service}",
            secured(Action::GetServiceAccounts, p::NONE, get(service::accounts)),
        )
        .route(
            "/_security/service/{namespace}/{service}/credential",
            secured(Action::GetServiceCredentials, p::NONE, get(service::credentials)),
        )
        .route(
            "/_security/service/{namespace}/{service}/credential/token",
            secured(Action::CreateServiceToken, p::REFRESH, post(service::create_token)),
        )
        .route(
            "/_security/service/{namespace}/{service}/credential/token/{name}",
            secured(
                Action::CreateServiceToken,
                p::REFRESH,
                post(service::create_token).put(service::create_token),
            )
            .merge(secured(
                Action::DeleteServiceToken,
                p::REFRESH,
                delete(service::delete_token),
            )),
        )
        .route(
            "/_security/service/{namespace}/{service}/credential/token/{name}/_clear_cache",
            secured(Action::ClearSecurityCache, p::NONE, post(service::clear_cache)),
        )
        .route(
            "/_security/role",
            secured(Action::GetRoles, p::NONE, get(role::get))
                .merge(secured(Action::PutRole, p::REFRESH, post(role::bulk_put)))
                .merge(secured(Action::DeleteRole, p::REFRESH, delete(role::bulk_delete))),
        )
        .route(
            "/_security/role/{name}",
            secured(Action::GetRoles, p::NONE, get(role::get))
                .merge(secured(Action::PutRole, p::REFRESH, put(role::put).post(role::put)))
                .merge(secured(Action::DeleteRole, p::REFRESH, delete(role::delete))),
        )
        .route(
            "/_security/role/{name}/_clear_cache",
            secured(Action::ClearSecurityCache, p::NONE, post(role::clear_cache)),
        )
        .route(
            "/_security/_query/role",
            secured(Action::QueryRoles, p::NONE, get(role::query).post(role::query)),
        )
        .route("/_security/role_mapping", secured(Action::GetRoleMappings, p::NONE, get(role::get_mappings)))
        .route(
            "/_security/role_mapping/{name}",
            secured(Action::GetRoleMappings, p::NONE, get(role::get_mappings))
                .merge(secured(
                    Action::PutRoleMapping,
                    p::REFRESH,
                    put(role::put_mapping).post(role::put_mapping),
                ))
                .merge(secured(Action::DeleteRoleMapping, p::REFRESH, delete(role::delete_mapping))),
        )
        .route(
            "/_security/user/_has_privileges",
            secured(Action::Authenticate, p::NONE, get(role::has_privileges).post(role::has_privileges)),
        )
        .route(
            "/_security/user/{username}/_has_privileges",
            secured(Action::Authenticate, p::NONE, get(role::has_privileges).post(role::has_privileges)),
        )
        .route(
            "/_security/user/_privileges",
            secured(Action::Authenticate, p::NONE, get(role::user_privileges)),
        )
        .route(
            "/_security/oauth2/token",
            secured(Action::CreateToken, p::NONE, post(token::create)).merge(secured(
                Action::InvalidateToken,
                p::NONE,
                delete(token::invalidate),
            )),
        )
        .route(
            "/_security/privilege/_builtin",
            secured(Action::GetBuiltinPrivileges, p::NONE, get(role::builtin)),
        )
        .route(
            "/_security/privilege",
            secured(Action::GetPrivileges, p::NONE, get(privilege::get_all)).merge(secured(
                Action::PutPrivileges,
                p::REFRESH,
                put(privilege::put).post(privilege::put),
            )),
        )
        .route(
            "/_security/privilege/{application}",
            secured(Action::GetPrivileges, p::NONE, get(privilege::get_app)),
        )
        .route(
            "/_security/privilege/{application}/{name}",
            secured(Action::GetPrivileges, p::NONE, get(privilege::get_named)).merge(secured(
                Action::DeletePrivileges,
                p::REFRESH,
                delete(privilege::delete),
            )),
        )
        .route(
            "/_security/privilege/{application}/_clear_cache",
            secured(Action::ClearPrivilegesCache, p::NONE, post(privilege::clear_cache)),
        )
        .route(
            "/_security/enroll/kibana",
            secured(Action::EnrollKibana, p::NONE, get(enroll::kibana))
                .map(|r| r.route_layer(middleware::from_fn(enroll::scope_hint))),
        )
        .route(
            "/_security/enroll/node",
            secured(Action::EnrollNode, p::NONE, post(enroll::node).get(enroll::node_key_shipping))
                .map(|r| r.route_layer(middleware::from_fn(enroll::scope_hint))),
        );
    shipper_setup(data_plane(t))
}

/// The whole REST API.
pub fn router(state: RestState) -> Router {
    table()
        .router
        .fallback(no_handler)
        .layer(axum::extract::DefaultBodyLimit::max(state.max_content_length))
        .layer(middleware::from_fn(p::source_body))
        // The per-route authorization layer (`check`) reads the state from here.
        .layer(axum::Extension(state.clone()))
        .layer(middleware::from_fn_with_state(state.clone(), authn::authenticate))
        // Added after the authentication layer, so it does not apply: revocation lists are
        // fetched by TLS clients that have no credentials, and they are signed.
        .route("/_ssl/crl/{file}", get(ssl::crl))
        .layer(middleware::from_fn(filter_path::filter))
        .layer(middleware::from_fn(media::pretty))
        .layer(middleware::from_fn(media::negotiate))
        .layer(middleware::from_fn(crate::error::elasticsearch_shape))
        .with_state(state)
}

/// Index, document and search routes. Most of their actions are index actions: the handlers
/// authorize them on the indices each request resolves to (see `caller`).
fn data_plane(t: Table) -> Table {
    use crate::api::{alias, bulk, document, index, license, nodes, search, settings};
    t.route("/_bulk", secured(Action::Bulk, p::BULK, post(bulk::bulk).put(bulk::bulk)))
        .route("/{index}/_bulk", secured(Action::Bulk, p::BULK, post(bulk::bulk).put(bulk::bulk)))
        .route("/_search", secured(Action::Search, p::SEARCH, get(search::search).post(search::search)))
        .route(
            "/{index}/_search",
            secured(Action::Search, p::SEARCH, get(search::search).post(search::search)),
        )
        .route(
            "/_msearch",
            secured(Action::MultiSearch, p::MSEARCH, get(search::msearch).post(search::msearch)),
        )
        .route(
            "/{index}/_msearch",
            secured(Action::MultiSearch, p::MSEARCH, get(search::msearch).post(search::msearch)),
        )
        .route("/_count", secured(Action::Count, p::COUNT, get(search::count).post(search::count)))
        .route("/{index}/_count", secured(Action::Count, p::COUNT, get(search::count).post(search::count)))
        .route("/_mget", secured(Action::MultiGet, p::MGET, get(document::mget).post(document::mget)))
        .route("/{index}/_mget", secured(Action::MultiGet, p::MGET, get(document::mget).post(document::mget)))
        .route(
            "/_refresh",
            secured(Action::RefreshIndex, p::EXPRESSION, get(index::refresh).post(index::refresh)),
        )
        .route(
            "/{index}/_refresh",
            secured(Action::RefreshIndex, p::EXPRESSION, get(index::refresh).post(index::refresh)),
        )
        .route("/_mapping", secured(Action::GetMapping, p::INDEX_GET, get(index::get_mapping)))
        .route(
            "/{index}/_mapping",
            secured(Action::GetMapping, p::INDEX_GET, get(index::get_mapping)).merge(secured(
                Action::PutMapping,
                p::PUT_MAPPING,
                put(index::put_mapping).post(index::put_mapping),
            )),
        )
        .route(
            "/_aliases",
            secured(Action::UpdateAliases, p::ALIAS_CHANGE, post(alias::update)).merge(secured(
                Action::GetAliases,
                p::ALIAS_GET,
                get(alias::get_all),
            )),
        )
        .route("/_alias", secured(Action::GetAliases, p::ALIAS_GET, get(alias::get_all)))
        .route("/_alias/{name}", secured(Action::GetAliases, p::ALIAS_GET, get(alias::get_named)))
        .route("/{index}/_alias", secured(Action::GetAliases, p::ALIAS_GET, get(alias::get_of_index)))
        .route("/{index}/_aliases", secured(Action::GetAliases, p::ALIAS_GET, get(alias::get_of_index)))
        .route(
            "/{index}/_alias/{name}",
            secured(Action::GetAliases, p::ALIAS_GET, get(alias::get_named_of_index)).merge(secured(
                Action::UpdateAliases,
                p::ALIAS_CHANGE,
                put(alias::put).post(alias::put).delete(alias::delete),
            )),
        )
        .route(
            "/{index}/_aliases/{name}",
            secured(Action::GetAliases, p::ALIAS_GET, get(alias::get_named_of_index)).merge(secured(
                Action::UpdateAliases,
                p::ALIAS_CHANGE,
                put(alias::put).post(alias::put).delete(alias::delete),
            )),
        )
        .route(
            "/_settings",
            secured(Action::GetSettings, p::GET_SETTINGS, get(settings::get)).merge(secured(
                Action::UpdateSettings,
                p::PUT_SETTINGS,
                put(settings::put),
            )),
        )
        .route(
            "/{index}/_settings",
            secured(Action::GetSettings, p::GET_SETTINGS, get(settings::get)).merge(secured(
                Action::UpdateSettings,
                p::PUT_SETTINGS,
                put(settings::put),
            )),
        )
        .route(
            "/{index}/_block/{block}",
            secured(Action::AddIndexBlock, p::ADD_BLOCK, put(settings::add_block)),
        )
        .route("/{index}/_close", secured(Action::CloseIndex, p::OPEN_CLOSE, post(index::close)))
        .route("/{index}/_open", secured(Action::OpenIndex, p::OPEN_CLOSE, post(index::open)))
        .route(
            "/{index}",
            secured(Action::CreateIndex, p::INDEX_CREATE, put(index::create))
                .merge(secured(Action::IndicesGet, p::INDEX_GET, get(index::get).head(index::exists)))
                .merge(secured(Action::DeleteIndex, p::INDEX_DELETE, delete(index::delete))),
        )
        .route("/{index}/_doc", secured(Action::IndexDoc, p::INDEX_DOC, post(document::index_auto_id)))
        .route(
            "/{index}/_doc/{id}",
            secured(
                Action::IndexDoc,
                p::INDEX_DOC,
                put(document::index_with_id).post(document::index_with_id),
            )
            .merge(secured(Action::GetDoc, p::GET_DOC, get(document::get)))
            .merge(secured(Action::DeleteDoc, p::DELETE_DOC, delete(document::delete))),
        )
        .route(
            "/{index}/_create/{id}",
            secured(Action::CreateDoc, p::CREATE_DOC, put(document::create).post(document::create)),
        )
        .route("/{index}/_update/{id}", secured(Action::UpdateDoc, p::UPDATE_DOC, post(document::update)))
        .route("/{index}/_source/{id}", secured(Action::GetDoc, p::GET_DOC, get(document::source)))
        .route("/_cat/indices", secured(Action::IndicesStats, p::CAT_INDICES, get(cat::indices)))
        .route("/_cat/indices/{index}", secured(Action::IndicesStats, p::CAT_INDICES, get(cat::indices)))
        .route("/_nodes", secured(Action::NodesInfo, p::NODES_INFO, get(nodes::info_all)))
        .route("/_nodes/{node_id}", secured(Action::NodesInfo, p::NODES_INFO, get(nodes::info_of)))
        .route("/_nodes/stats", secured(Action::NodesStats, p::NODES_STATS, get(nodes::stats_all)))
        .route("/_nodes/stats/{metric}", secured(Action::NodesStats, p::NODES_STATS, get(nodes::stats_all)))
        .route("/_nodes/{node_id}/stats", secured(Action::NodesStats, p::NODES_STATS, get(nodes::stats_of)))
        .route("/_nodes/{node_id}/{metric}", secured(Action::NodesInfo, p::NODES_INFO, get(nodes::info_of)))
        .route(
            "/_nodes/{node_id}/stats/{metric}",
            secured(Action::NodesStats, p::NODES_STATS, get(nodes::stats_of)),
        )
        .route("/_license", secured(Action::License, p::LICENSE, get(license::get)))
}

/// Templates, data streams, lifecycle policies, ingest pipelines and `_xpack`: what a Beats
/// shipper calls on setup.
fn shipper_setup(t: Table) -> Table {
    use crate::api::{data_stream as ds, ilm, ingest, template as tp};
    t.route(
        "/_index_template",
        secured(Action::GetIndexTemplate, p::MASTER_TIMEOUT, get(tp::get_index_template)),
    )
    .route(
        "/_index_template/{name}",
        secured(
            Action::GetIndexTemplate,
            p::MASTER_TIMEOUT,
            get(tp::get_index_template).head(tp::index_template_exists),
        )
        .merge(secured(
            Action::PutIndexTemplate,
            p::TEMPLATE_PUT,
            put(tp::put_index_template).post(tp::put_index_template),
        ))
        .merge(secured(
            Action::DeleteIndexTemplate,
            p::MASTER_TIMEOUT,
            delete(tp::delete_index_template),
        )),
    )
    .route(
        "/_index_template/_simulate_index/{name}",
        secured(Action::SimulateIndexTemplate, p::MASTER_TIMEOUT, post(tp::simulate_index)),
    )
    .route(
        "/_component_template",
        secured(Action::GetComponentTemplate, p::MASTER_TIMEOUT, get(tp::get_component_template)),
    )
    .route(
        "/_component_template/{name}",
        secured(
            Action::GetComponentTemplate,
            p::MASTER_TIMEOUT,
            get(tp::get_component_template).head(tp::component_template_exists),
        )
        .merge(secured(
            Action::PutComponentTemplate,
            p::TEMPLATE_PUT,
            put(tp::put_component_template).post(tp::put_component_template),
        ))
        .merge(secured(
            Action::DeleteComponentTemplate,
            p::MASTER_TIMEOUT,
            delete(tp::delete_component_template),
        )),
    )
    .route("/_ilm/policy", secured(Action::GetLifecycle, p::MASTER_TIMEOUT, get(ilm::get)))
    .route(
        "/_ilm/policy/{name}",
        secured(Action::GetLifecycle, p::MASTER_TIMEOUT, get(ilm::get))
            .merge(secured(Action::PutLifecycle, p::MASTER_TIMEOUT, put(ilm::put)))
            .merge(secured(Action::DeleteLifecycle, p::MASTER_TIMEOUT, delete(ilm::delete))),
    )
    .route("/_ingest/pipeline", secured(Action::GetPipeline, p::MASTER_TIMEOUT, get(ingest::get)))
    .route(
        "/_ingest/pipeline/{id}",
        secured(Action::GetPipeline, p::MASTER_TIMEOUT, get(ingest::get))
            .merge(secured(Action::PutPipeline, p::PIPELINE_PUT, put(ingest::put)))
            .merge(secured(Action::DeletePipeline, p::MASTER_TIMEOUT, delete(ingest::delete))),
    )
    .route(
        "/_ingest/pipeline/_simulate",
        secured(Action::SimulatePipeline, p::PIPELINE_SIMULATE, get(ingest::simulate).post(ingest::simulate)),
    )
    .route(
        "/_ingest/pipeline/{id}/_simulate",
        secured(Action::SimulatePipeline, p::PIPELINE_SIMULATE, get(ingest::simulate).post(ingest::simulate)),
    )
    .route("/_xpack", secured(Action::XpackInfo, p::XPACK, get(crate::api::license::xpack)))
    .route("/_data_stream", secured(Action::GetDataStream, p::NONE, get(ds::get)))
    .route(
        "/_data_stream/{name}",
        secured(Action::GetDataStream, p::NONE, get(ds::get))
            .merge(secured(Action::CreateDataStream, p::MASTER_TIMEOUT, put(ds::create)))
            .merge(secured(Action::DeleteDataStream, p::MASTER_TIMEOUT, delete(ds::delete))),
    )
}
