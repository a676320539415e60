//! The only place routes are listed, each with the action it requires.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use bulwark_security::audit::AuditEvent;
use bulwark_security::authz::{Action, may_change_own_password};
use serde_json::json;

use crate::api::{api_key, cat, cluster, enroll, role, root, security, service, ssl, user};
use crate::params as p;
use crate::{ApiError, RestState, authn, filter_path, media};

/// Wraps a route so that it runs only when the caller may perform `action`.
/// Wraps a route so that it runs only when the caller may perform `action`, and only with the
/// URL parameters it `declared` (and the global ones): any other is a 400, checked first, as
/// Elasticsearch's REST layer checks them before the action runs.
fn secured(
    state: &RestState,
    action: Action,
    declared: p::Declared,
    route: MethodRouter<RestState>,
) -> MethodRouter<RestState> {
    route
        .route_layer(middleware::from_fn_with_state((state.clone(), action), check))
        .route_layer(middleware::from_fn_with_state(declared, p::check))
}

async fn check(State((state, action)): State<(RestState, Action)>, req: Request, next: Next) -> Response {
    if let Some(a) = authn::current(&req) {
        let user = a.user.username.clone();
        let origin = authn::origin(&req);
        let own_password = action == Action::ChangePassword && {
            let target =
                req.uri().path().strip_prefix("/_security/user/").and_then(|r| r.strip_suffix("/_password"));
            user::password_target(target.filter(|t| !t.is_empty()), Some(a))
                .is_some_and(|t| may_change_own_password(a, &t))
        };
        let index_action = action.name().starts_with("indices:");
        let decision = if own_password || index_action {
            // Index actions are authorized by their handlers, which know the indices.
            Ok(())
        } else {
            state.authorizer.authorize(a, action, &[])
        };
        let event = if decision.is_ok() { AuditEvent::access_granted } else { AuditEvent::access_denied };
        state.authenticator.audit(event(a, action.name(), Vec::new(), origin));
        if let Err(e) = decision {
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

/// The whole REST API.
pub fn router(state: RestState) -> Router {
    Router::new()
        .route("/", secured(&state, Action::MonitorMain, p::NONE, get(root::info).head(root::head)))
        .route(
            "/_cluster/health",
            secured(&state, Action::MonitorHealth, p::CLUSTER_HEALTH, get(cluster::health)),
        )
        .route("/_cat/health", secured(&state, Action::MonitorHealth, p::CAT, get(cat::health)))
        .route("/_cat/nodes", secured(&state, Action::NodesInfo, p::CAT, get(cat::nodes)))
        .route(
            "/_ssl/certificates",
            secured(&state, Action::SslCertificates, p::NONE, get(ssl::certificates)),
        )
        .route("/_ssl/certificates/_revoke", secured(&state, Action::SslRevoke, p::NONE, post(ssl::revoke)))
        .route("/_ssl/certificates/_revoked", secured(&state, Action::SslRevoked, p::NONE, get(ssl::revoked)))
        .route(
            "/_security/_authenticate",
            secured(&state, Action::Authenticate, p::NONE, get(security::authenticate)),
        )
        .route("/_security/user", secured(&state, Action::GetUsers, p::WITH_PROFILE_UID, get(user::get)))
        .route(
            "/_security/user/{username}",
            secured(&state, Action::GetUsers, p::WITH_PROFILE_UID, get(user::get))
                .merge(secured(&state, Action::PutUser, p::REFRESH, put(user::put).post(user::put)))
                .merge(secured(&state, Action::DeleteUser, p::REFRESH, delete(user::delete))),
        )
        .route(
            "/_security/user/_password",
            secured(
                &state,
                Action::ChangePassword,
                p::REFRESH,
                put(user::change_password).post(user::change_password),
            ),
        )
        .route(
            "/_security/user/{username}/_password",
            secured(
                &state,
                Action::ChangePassword,
                p::REFRESH,
                put(user::change_password).post(user::change_password),
            ),
        )
        .route(
            "/_security/user/{username}/_enable",
            secured(&state, Action::SetEnabled, p::REFRESH, put(user::enable).post(user::enable)),
        )
        .route(
            "/_security/user/{username}/_disable",
            secured(&state, Action::SetEnabled, p::REFRESH, put(user::disable).post(user::disable)),
        )
        .route(
            "/_security/_query/user",
            secured(&state, Action::QueryUsers, p::WITH_PROFILE_UID, get(user::query).post(user::query)),
        )
        .route(
            "/_security/realm/{realms}/_clear_cache",
            secured(&state, Action::ClearRealmCache, p::CLEAR_REALM_CACHE, post(security::clear_realm_cache)),
        )
        .route(
            "/_security/api_key",
            secured(&state, Action::CreateApiKey, p::REFRESH, post(api_key::create).put(api_key::create))
                .merge(secured(&state, Action::GetApiKey, p::GET_API_KEY, get(api_key::get)))
                .merge(secured(&state, Action::InvalidateApiKey, p::NONE, delete(api_key::invalidate))),
        )
        .route(
            "/_security/api_key/grant",
            secured(&state, Action::GrantApiKey, p::REFRESH, post(api_key::grant)),
        )
        .route(
            "/_security/api_key/_bulk_update",
            secured(&state, Action::BulkUpdateApiKey, p::NONE, post(api_key::bulk_update)),
        )
        .route(
            "/_security/api_key/{id}",
            secured(&state, Action::UpdateApiKey, p::NONE, put(api_key::update)),
        )
        .route(
            "/_security/api_key/{ids}/_clear_cache",
            secured(&state, Action::ClearSecurityCache, p::NONE, post(api_key::clear_cache)),
        )
        .route(
            "/_security/_query/api_key",
            secured(&state, Action::QueryApiKey, p::QUERY_API_KEY, get(api_key::query).post(api_key::query)),
        )
        .route(
            "/_security/service",
            secured(&state, Action::GetServiceAccounts, p::NONE, get(service::accounts)),
        )
        .route(
            "/_security/service/{namespace}",
            secured(&state, Action::GetServiceAccounts, p::NONE, get(service::accounts)),
        )
        .route(
            "/_security/service/{namespace}/{service}",
            secured(&state, Action::GetServiceAccounts, p::NONE, get(service::accounts)),
        )
        .route(
            "/_security/service/{namespace}/{service}/credential",
            secured(&state, Action::GetServiceCredentials, p::NONE, get(service::credentials)),
        )
        .route(
            "/_security/service/{namespace}/{service}/credential/token",
            secured(&state, Action::CreateServiceToken, p::REFRESH, post(service::create_token)),
        )
        .route(
            "/_security/service/{namespace}/{service}/credential/token/{name}",
            secured(
                &state,
                Action::CreateServiceToken,
                p::REFRESH,
                post(service::create_token).put(service::create_token),
            )
            .merge(secured(
                &state,
                Action::DeleteServiceToken,
                p::REFRESH,
                delete(service::delete_token),
            )),
        )
        .route(
            "/_security/service/{namespace}/{service}/credential/token/{name}/_clear_cache",
            secured(&state, Action::ClearSecurityCache, p::NONE, post(service::clear_cache)),
        )
        .route(
            "/_security/role",
            secured(&state, Action::GetRoles, p::NONE, get(role::get))
                .merge(secured(&state, Action::PutRole, p::REFRESH, post(role::bulk_put)))
                .merge(secured(&state, Action::DeleteRole, p::REFRESH, delete(role::bulk_delete))),
        )
        .route(
            "/_security/role/{name}",
            secured(&state, Action::GetRoles, p::NONE, get(role::get))
                .merge(secured(&state, Action::PutRole, p::REFRESH, put(role::put).post(role::put)))
                .merge(secured(&state, Action::DeleteRole, p::REFRESH, delete(role::delete))),
        )
        .route(
            "/_security/role/{name}/_clear_cache",
            secured(&state, Action::ClearSecurityCache, p::NONE, post(role::clear_cache)),
        )
        .route(
            "/_security/_query/role",
            secured(&state, Action::QueryRoles, p::NONE, get(role::query).post(role::query)),
        )
        .route(
            "/_security/role_mapping",
            secured(&state, Action::GetRoleMappings, p::NONE, get(role::get_mappings)),
        )
        .route(
            "/_security/role_mapping/{name}",
            secured(&state, Action::GetRoleMappings, p::NONE, get(role::get_mappings))
                .merge(secured(
                    &state,
                    Action::PutRoleMapping,
                    p::REFRESH,
                    put(role::put_mapping).post(role::put_mapping),
                ))
                .merge(secured(&state, Action::DeleteRoleMapping, p::REFRESH, delete(role::delete_mapping))),
        )
        .route(
            "/_security/user/_has_privileges",
            secured(
                &state,
                Action::Authenticate,
                p::NONE,
                get(role::has_privileges).post(role::has_privileges),
            ),
        )
        .route(
            "/_security/user/{username}/_has_privileges",
            secured(
                &state,
                Action::Authenticate,
                p::NONE,
                get(role::has_privileges).post(role::has_privileges),
            ),
        )
        .route(
            "/_security/user/_privileges",
            secured(&state, Action::Authenticate, p::NONE, get(role::user_privileges)),
        )
        .route(
            "/_security/privilege/_builtin",
            secured(&state, Action::GetBuiltinPrivileges, p::NONE, get(role::builtin)),
        )
        .route(
            "/_security/enroll/kibana",
            secured(&state, Action::EnrollKibana, p::NONE, get(enroll::kibana))
                .route_layer(middleware::from_fn(enroll::scope_hint)),
        )
        .route(
            "/_security/enroll/node",
            secured(&state, Action::EnrollNode, p::NONE, post(enroll::node).get(enroll::node_key_shipping))
                .route_layer(middleware::from_fn(enroll::scope_hint)),
        )
        .merge(data_plane(&state))
        .fallback(no_handler)
        .layer(axum::extract::DefaultBodyLimit::max(state.max_content_length))
        .layer(middleware::from_fn(p::source_body))
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

/// Index, document and search routes. Their actions are index actions: the handlers authorize
/// them on the indices each request names.
fn data_plane(state: &RestState) -> Router<RestState> {
    use crate::api::{alias, bulk, document, index, license, nodes, search, settings};
    let s = state;
    Router::new()
        .route("/_bulk", secured(s, Action::Bulk, p::BULK, post(bulk::bulk).put(bulk::bulk)))
        .route("/{index}/_bulk", secured(s, Action::Bulk, p::BULK, post(bulk::bulk).put(bulk::bulk)))
        .route("/_search", secured(s, Action::Search, p::SEARCH, get(search::search).post(search::search)))
        .route(
            "/{index}/_search",
            secured(s, Action::Search, p::SEARCH, get(search::search).post(search::search)),
        )
        .route(
            "/_msearch",
            secured(s, Action::MultiSearch, p::MSEARCH, get(search::msearch).post(search::msearch)),
        )
        .route(
            "/{index}/_msearch",
            secured(s, Action::MultiSearch, p::MSEARCH, get(search::msearch).post(search::msearch)),
        )
        .route("/_count", secured(s, Action::Count, p::COUNT, get(search::count).post(search::count)))
        .route("/{index}/_count", secured(s, Action::Count, p::COUNT, get(search::count).post(search::count)))
        .route("/_mget", secured(s, Action::MultiGet, p::MGET, get(document::mget).post(document::mget)))
        .route(
            "/{index}/_mget",
            secured(s, Action::MultiGet, p::MGET, get(document::mget).post(document::mget)),
        )
        .route(
            "/_refresh",
            secured(s, Action::RefreshIndex, p::EXPRESSION, get(index::refresh).post(index::refresh)),
        )
        .route(
            "/{index}/_refresh",
            secured(s, Action::RefreshIndex, p::EXPRESSION, get(index::refresh).post(index::refresh)),
        )
        .route("/_mapping", secured(s, Action::GetMapping, p::INDEX_GET, get(index::get_mapping)))
        .route(
            "/{index}/_mapping",
            secured(s, Action::GetMapping, p::INDEX_GET, get(index::get_mapping)).merge(secured(
                s,
                Action::PutMapping,
                p::PUT_MAPPING,
                put(index::put_mapping).post(index::put_mapping),
            )),
        )
        .route(
            "/_aliases",
            secured(s, Action::UpdateAliases, p::ALIAS_CHANGE, post(alias::update)).merge(secured(
                s,
                Action::GetAliases,
                p::ALIAS_GET,
                get(alias::get_all),
            )),
        )
        .route("/_alias", secured(s, Action::GetAliases, p::ALIAS_GET, get(alias::get_all)))
        .route("/_alias/{name}", secured(s, Action::GetAliases, p::ALIAS_GET, get(alias::get_named)))
        .route("/{index}/_alias", secured(s, Action::GetAliases, p::ALIAS_GET, get(alias::get_of_index)))
        .route("/{index}/_aliases", secured(s, Action::GetAliases, p::ALIAS_GET, get(alias::get_of_index)))
        .route(
            "/{index}/_alias/{name}",
            secured(s, Action::GetAliases, p::ALIAS_GET, get(alias::get_named_of_index)).merge(secured(
                s,
                Action::UpdateAliases,
                p::ALIAS_CHANGE,
                put(alias::put).post(alias::put).delete(alias::delete),
            )),
        )
        .route(
            "/{index}/_aliases/{name}",
            secured(s, Action::GetAliases, p::ALIAS_GET, get(alias::get_named_of_index)).merge(secured(
                s,
                Action::UpdateAliases,
                p::ALIAS_CHANGE,
                put(alias::put).post(alias::put).delete(alias::delete),
            )),
        )
        .route(
            "/_settings",
            secured(s, Action::GetSettings, p::GET_SETTINGS, get(settings::get)).merge(secured(
                s,
                Action::UpdateSettings,
                p::PUT_SETTINGS,
                put(settings::put),
            )),
        )
        .route(
            "/{index}/_settings",
            secured(s, Action::GetSettings, p::GET_SETTINGS, get(settings::get)).merge(secured(
                s,
                Action::UpdateSettings,
                p::PUT_SETTINGS,
                put(settings::put),
            )),
        )
        .route(
            "/{index}/_block/{block}",
            secured(s, Action::AddIndexBlock, p::ADD_BLOCK, put(settings::add_block)),
        )
        .route("/{index}/_close", secured(s, Action::CloseIndex, p::OPEN_CLOSE, post(index::close)))
        .route("/{index}/_open", secured(s, Action::OpenIndex, p::OPEN_CLOSE, post(index::open)))
        .route(
            "/{index}",
            secured(s, Action::CreateIndex, p::INDEX_CREATE, put(index::create))
                .merge(secured(s, Action::IndicesGet, p::INDEX_GET, get(index::get).head(index::exists)))
                .merge(secured(s, Action::DeleteIndex, p::INDEX_DELETE, delete(index::delete))),
        )
        .route("/{index}/_doc", secured(s, Action::IndexDoc, p::INDEX_DOC, post(document::index_auto_id)))
        .route(
            "/{index}/_doc/{id}",
            secured(
                s,
                Action::IndexDoc,
                p::INDEX_DOC,
                put(document::index_with_id).post(document::index_with_id),
            )
            .merge(secured(s, Action::GetDoc, p::GET_DOC, get(document::get)))
            .merge(secured(s, Action::DeleteDoc, p::DELETE_DOC, delete(document::delete))),
        )
        .route(
            "/{index}/_create/{id}",
            secured(s, Action::CreateDoc, p::CREATE_DOC, put(document::create).post(document::create)),
        )
        .route("/{index}/_update/{id}", secured(s, Action::UpdateDoc, p::UPDATE_DOC, post(document::update)))
        .route("/{index}/_source/{id}", secured(s, Action::GetDoc, p::GET_DOC, get(document::source)))
        .route("/_cat/indices", secured(s, Action::IndicesStats, p::CAT_INDICES, get(cat::indices)))
        .route("/_cat/indices/{index}", secured(s, Action::IndicesStats, p::CAT_INDICES, get(cat::indices)))
        .route("/_nodes/stats", secured(s, Action::NodesStats, p::NODES_STATS, get(nodes::stats_all)))
        .route(
            "/_nodes/stats/{metric}",
            secured(s, Action::NodesStats, p::NODES_STATS, get(nodes::stats_all)),
        )
        .route(
            "/_nodes/{node_id}/stats",
            secured(s, Action::NodesStats, p::NODES_STATS, get(nodes::stats_of)),
        )
        .route(
            "/_nodes/{node_id}/stats/{metric}",
            secured(s, Action::NodesStats, p::NODES_STATS, get(nodes::stats_of)),
        )
        .route("/_license", secured(s, Action::License, p::LICENSE, get(license::get)))
}
