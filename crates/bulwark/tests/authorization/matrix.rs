//! Every route × the privilege it needs: one row per (path, action) of the router's table
//! (`bulwark_rest::router::routes`), so a route added without a row fails here. Each row is
//! called by a user holding no privilege and by a user holding only the row's privilege.

use std::collections::{BTreeMap, BTreeSet};

use bulwark_testkit::{Started, TestHome, start_fresh};
use serde_json::{Value, json};

use super::{USER_PASSWORD, admin, send, user_with_role};

/// What a row needs.
#[derive(Clone, Copy)]
enum Needs {
    /// A cluster privilege (a name or an action pattern).
    Cluster(&'static str),
    /// An index privilege on `matrix*`.
    Index(&'static str),
    /// Nothing: every authenticated user may (`_authenticate`, one's own password, ...).
    Nothing,
}

/// What the user without the privilege gets.
#[derive(Clone, Copy, PartialEq)]
enum Without {
    /// 403 naming the action.
    Denied,
    /// 403 naming another action, checked first (`_create` is first a write,
    /// `indices:data/write/index`, as in Elasticsearch).
    DeniedAs(&'static str),
    /// An answer in which the items about `matrix` are refused (bulk, mget, msearch).
    ItemsDenied,
    /// An answer without the `matrix` index (wildcards skip what the user may not see).
    Hidden,
}

struct Row {
    path: &'static str,
    action: &'static str,
    method: &'static str,
    url: &'static str,
    body: &'static str,
    needs: Needs,
    without: Without,
}

const fn row(
    path: &'static str,
    action: &'static str,
    (method, url, body): (&'static str, &'static str, &'static str),
    needs: Needs,
    without: Without,
) -> Row {
    Row { path, action, method, url, body, needs, without }
}

use Needs::{Cluster as C, Index as I, Nothing};
use Without::{Denied, DeniedAs, Hidden, ItemsDenied};

const SEC: &str = "cluster:admin/xpack/security/";

const ROWS: &[Row] = &[
    row("/", "cluster:monitor/main", ("GET", "/", ""), C("monitor"), Denied),
    row("/_cluster/health", "cluster:monitor/health", ("GET", "/_cluster/health", ""), C("monitor"), Denied),
    row("/_cluster/state", "cluster:monitor/state", ("GET", "/_cluster/state", ""), C("monitor"), Denied),
    row(
        "/_cluster/state/{metrics}",
        "cluster:monitor/state",
        ("GET", "/_cluster/state/metadata", ""),
        C("monitor"),
        Denied,
    ),
    row(
        "/_cluster/voting_config_exclusions",
        "cluster:admin/voting_config/add_exclusions",
        ("POST", "/_cluster/voting_config_exclusions?node_names=nobody", ""),
        C("manage"),
        Denied,
    ),
    row(
        "/_cluster/voting_config_exclusions",
        "cluster:admin/voting_config/clear_exclusions",
        ("DELETE", "/_cluster/voting_config_exclusions?wait_for_removal=false", ""),
        C("manage"),
        Denied,
    ),
    row("/_cat/health", "cluster:monitor/health", ("GET", "/_cat/health", ""), C("monitor"), Denied),
    row("/_cat/nodes", "cluster:monitor/nodes/info", ("GET", "/_cat/nodes", ""), C("monitor"), Denied),
    row(
        "/_ssl/certificates",
        "cluster:monitor/xpack/ssl/certificates/get",
        ("GET", "/_ssl/certificates", ""),
        C("monitor"),
        Denied,
    ),
    row(
        "/_ssl/certificates/_revoke",
        "cluster:admin/xpack/security/ssl/certificates/revoke",
        ("POST", "/_ssl/certificates/_revoke", "{}"),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_ssl/certificates/_revoked",
        "cluster:admin/xpack/security/ssl/certificates/revoked/get",
        ("GET", "/_ssl/certificates/_revoked", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_bulwark/audit",
        "cluster:admin/xpack/security/audit/get",
        ("GET", "/_bulwark/audit", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/_authenticate",
        "cluster:admin/xpack/security/user/authenticate",
        ("GET", "/_security/_authenticate", ""),
        Nothing,
        Denied,
    ),
    row(
        "/_security/user",
        "cluster:admin/xpack/security/user/get",
        ("GET", "/_security/user", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/user/{username}",
        "cluster:admin/xpack/security/user/get",
        ("GET", "/_security/user/victim", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/user/{username}",
        "cluster:admin/xpack/security/user/put",
        ("PUT", "/_security/user/matrix-new-user", r#"{"password": "a-long-enough-password", "roles": []}"#),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/user/{username}",
        "cluster:admin/xpack/security/user/delete",
        ("DELETE", "/_security/user/matrix-gone", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/user/_password",
        "cluster:admin/xpack/security/user/change_password",
        ("POST", "/_security/user/_password", r#"{"password": "a-long-enough-password"}"#),
        Nothing,
        Denied,
    ),
    row(
        "/_security/user/{username}/_password",
        "cluster:admin/xpack/security/user/change_password",
        ("POST", "/_security/user/victim/_password", r#"{"password": "a-long-enough-password"}"#),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/user/{username}/_enable",
        "cluster:admin/xpack/security/user/set_enabled",
        ("PUT", "/_security/user/victim/_enable", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/user/{username}/_disable",
        "cluster:admin/xpack/security/user/set_enabled",
        ("PUT", "/_security/user/matrix-off/_disable", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/_query/user",
        "cluster:admin/xpack/security/user/query",
        ("POST", "/_security/_query/user", "{}"),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/realm/{realms}/_clear_cache",
        "cluster:admin/xpack/security/realm/cache/clear",
        ("POST", "/_security/realm/*/_clear_cache", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/api_key",
        "cluster:admin/xpack/security/api_key/create",
        ("POST", "/_security/api_key", r#"{"name": "matrix-key"}"#),
        C("manage_own_api_key"),
        Denied,
    ),
    row(
        "/_security/api_key",
        "cluster:admin/xpack/security/api_key/get",
        ("GET", "/_security/api_key?owner=true", ""),
        C("manage_own_api_key"),
        Denied,
    ),
    row(
        "/_security/api_key",
        "cluster:admin/xpack/security/api_key/invalidate",
        ("DELETE", "/_security/api_key", r#"{"name": "no-such-key", "owner": true}"#),
        C("manage_own_api_key"),
        Denied,
    ),
    row(
        "/_security/api_key/grant",
        "cluster:admin/xpack/security/api_key/grant",
        (
            "POST",
            "/_security/api_key/grant",
            r#"{"grant_type": "password", "username": "victim", "password": "a-long-enough-password", "api_key": {"name": "granted"}}"#,
        ),
        C("grant_api_key"),
        Denied,
    ),
    row(
        "/_security/api_key/_bulk_update",
        "cluster:admin/xpack/security/api_key/bulk_update",
        ("POST", "/_security/api_key/_bulk_update", r#"{"ids": ["no-such-key"]}"#),
        C("manage_own_api_key"),
        Denied,
    ),
    row(
        "/_security/api_key/{id}",
        "cluster:admin/xpack/security/api_key/update",
        ("PUT", "/_security/api_key/no-such-key", "{}"),
        C("manage_own_api_key"),
        Denied,
    ),
    row(
        "/_security/api_key/{ids}/_clear_cache",
        "cluster:admin/xpack/security/cache/clear",
        ("POST", "/_security/api_key/*/_clear_cache", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/_query/api_key",
        "cluster:admin/xpack/security/api_key/query",
        ("POST", "/_security/_query/api_key", "{}"),
        C("manage_own_api_key"),
        Denied,
    ),
    row(
        "/_security/service",
        "cluster:admin/xpack/security/service_account/get",
        ("GET", "/_security/service", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/service/{namespace}",
        "cluster:admin/xpack/security/service_account/get",
        ("GET", "/_security/service/elastic", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/service/{namespace}/{service}",
        "cluster:admin/xpack/security/service_account/get",
        ("GET", "/_security/service/elastic/fleet-server", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/service/{namespace}/{service}/credential",
        "cluster:admin/xpack/security/service_account/credential/get",
        ("GET", "/_security/service/elastic/fleet-server/credential", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/service/{namespace}/{service}/credential/token",
        "cluster:admin/xpack/security/service_account/token/create",
        ("POST", "/_security/service/elastic/fleet-server/credential/token", ""),
        C("manage_service_account"),
        Denied,
    ),
    row(
        "/_security/service/{namespace}/{service}/credential/token/{name}",
        "cluster:admin/xpack/security/service_account/token/create",
        ("POST", "/_security/service/elastic/fleet-server/credential/token/matrix", ""),
        C("manage_service_account"),
        Denied,
    ),
    row(
        "/_security/service/{namespace}/{service}/credential/token/{name}",
        "cluster:admin/xpack/security/service_account/token/delete",
        ("DELETE", "/_security/service/elastic/fleet-server/credential/token/matrix", ""),
        C("manage_service_account"),
        Denied,
    ),
    row(
        "/_security/service/{namespace}/{service}/credential/token/{name}/_clear_cache",
        "cluster:admin/xpack/security/cache/clear",
        ("POST", "/_security/service/elastic/fleet-server/credential/token/matrix/_clear_cache", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/role",
        "cluster:admin/xpack/security/role/get",
        ("GET", "/_security/role", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/role",
        "cluster:admin/xpack/security/role/put",
        ("POST", "/_security/role", r#"{"roles": {"matrix-bulk-role": {}}}"#),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/role",
        "cluster:admin/xpack/security/role/delete",
        ("DELETE", "/_security/role", r#"{"names": ["matrix-bulk-role"]}"#),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/role/{name}",
        "cluster:admin/xpack/security/role/get",
        ("GET", "/_security/role/superuser", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/role/{name}",
        "cluster:admin/xpack/security/role/put",
        ("PUT", "/_security/role/matrix-role", "{}"),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/role/{name}",
        "cluster:admin/xpack/security/role/delete",
        ("DELETE", "/_security/role/matrix-role", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/role/{name}/_clear_cache",
        "cluster:admin/xpack/security/cache/clear",
        ("POST", "/_security/role/*/_clear_cache", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/_query/role",
        "cluster:admin/xpack/security/role/query",
        ("POST", "/_security/_query/role", "{}"),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/role_mapping",
        "cluster:admin/xpack/security/role_mapping/get",
        ("GET", "/_security/role_mapping", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/role_mapping/{name}",
        "cluster:admin/xpack/security/role_mapping/get",
        ("GET", "/_security/role_mapping/matrix", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/role_mapping/{name}",
        "cluster:admin/xpack/security/role_mapping/put",
        (
            "PUT",
            "/_security/role_mapping/matrix",
            r#"{"roles": ["viewer"], "rules": {"field": {"username": "nobody-at-all"}}}"#,
        ),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/role_mapping/{name}",
        "cluster:admin/xpack/security/role_mapping/delete",
        ("DELETE", "/_security/role_mapping/matrix", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/user/_has_privileges",
        "cluster:admin/xpack/security/user/authenticate",
        ("POST", "/_security/user/_has_privileges", r#"{"cluster": ["monitor"]}"#),
        Nothing,
        Denied,
    ),
    row(
        "/_security/user/{username}/_has_privileges",
        "cluster:admin/xpack/security/user/authenticate",
        ("POST", "/_security/user/USER/_has_privileges", r#"{"cluster": ["monitor"]}"#),
        Nothing,
        Denied,
    ),
    row(
        "/_security/user/_privileges",
        "cluster:admin/xpack/security/user/authenticate",
        ("GET", "/_security/user/_privileges", ""),
        Nothing,
        Denied,
    ),
    row(
        "/_security/privilege",
        "cluster:admin/xpack/security/privilege/get",
        ("GET", "/_security/privilege", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/privilege",
        "cluster:admin/xpack/security/privilege/put",
        ("PUT", "/_security/privilege", r#"{"matrixapp": {"read": {"actions": ["data:read/*"]}}}"#),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/privilege/{application}",
        "cluster:admin/xpack/security/privilege/get",
        ("GET", "/_security/privilege/matrixapp", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/privilege/{application}/{name}",
        "cluster:admin/xpack/security/privilege/get",
        ("GET", "/_security/privilege/matrixapp/read", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/privilege/{application}/{name}",
        "cluster:admin/xpack/security/privilege/delete",
        ("DELETE", "/_security/privilege/matrixapp/gone", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/privilege/{application}/_clear_cache",
        "cluster:admin/xpack/security/privilege/cache/clear",
        ("POST", "/_security/privilege/matrixapp/_clear_cache", ""),
        C("manage_security"),
        Denied,
    ),
    row(
        "/_security/oauth2/token",
        "cluster:admin/xpack/security/token/create",
        ("POST", "/_security/oauth2/token", r#"{"grant_type": "client_credentials"}"#),
        C("manage_token"),
        Denied,
    ),
    row(
        "/_security/oauth2/token",
        "cluster:admin/xpack/security/token/invalidate",
        ("DELETE", "/_security/oauth2/token", r#"{"username": "matrix-gone"}"#),
        C("manage_token"),
        Denied,
    ),
    row(
        "/_security/privilege/_builtin",
        "cluster:admin/xpack/security/privilege/builtin/get",
        ("GET", "/_security/privilege/_builtin", ""),
        C("read_security"),
        Denied,
    ),
    row(
        "/_security/enroll/kibana",
        "cluster:admin/xpack/security/enroll/kibana",
        ("GET", "/_security/enroll/kibana", ""),
        C("cluster:admin/xpack/security/enroll/kibana"),
        Denied,
    ),
    row(
        "/_security/enroll/node",
        "cluster:admin/xpack/security/enroll/node",
        ("POST", "/_security/enroll/node", "{}"),
        C("cluster:admin/xpack/security/enroll/node"),
        Denied,
    ),
    row(
        "/_bulk",
        "indices:data/write/bulk",
        ("POST", "/_bulk", "{\"index\": {\"_index\": \"matrix\", \"_id\": \"b1\"}}\n{\"n\": 1}\n"),
        I("index"),
        ItemsDenied,
    ),
    row(
        "/{index}/_bulk",
        "indices:data/write/bulk",
        ("POST", "/matrix/_bulk", "{\"index\": {\"_id\": \"b2\"}}\n{\"n\": 2}\n"),
        I("index"),
        ItemsDenied,
    ),
    row("/_search", "indices:data/read/search", ("POST", "/_search", "{}"), I("read"), Hidden),
    row("/{index}/_search", "indices:data/read/search", ("POST", "/matrix/_search", "{}"), I("read"), Denied),
    row("/_msearch", "indices:data/read/msearch", ("POST", "/_msearch", "{}\n{}\n"), I("read"), Hidden),
    row(
        "/{index}/_msearch",
        "indices:data/read/msearch",
        ("POST", "/matrix/_msearch", "{}\n{}\n"),
        I("read"),
        ItemsDenied,
    ),
    row("/_count", "indices:data/read/count", ("POST", "/_count", "{}"), I("read"), Hidden),
    row("/{index}/_count", "indices:data/read/count", ("POST", "/matrix/_count", "{}"), I("read"), Denied),
    row(
        "/_mget",
        "indices:data/read/mget",
        ("POST", "/_mget", r#"{"docs": [{"_index": "matrix", "_id": "1"}]}"#),
        I("read"),
        ItemsDenied,
    ),
    row(
        "/{index}/_mget",
        "indices:data/read/mget",
        ("POST", "/matrix/_mget", r#"{"ids": ["1"]}"#),
        I("read"),
        ItemsDenied,
    ),
    row("/_refresh", "indices:admin/refresh", ("POST", "/_refresh", ""), I("maintenance"), Hidden),
    row(
        "/{index}/_refresh",
        "indices:admin/refresh",
        ("POST", "/matrix/_refresh", ""),
        I("maintenance"),
        Denied,
    ),
    row(
        "/_mapping",
        "indices:admin/mappings/get",
        ("GET", "/_mapping", ""),
        I("view_index_metadata"),
        Hidden,
    ),
    row(
        "/{index}/_mapping",
        "indices:admin/mappings/get",
        ("GET", "/matrix/_mapping", ""),
        I("view_index_metadata"),
        Denied,
    ),
    row(
        "/{index}/_mapping",
        "indices:admin/mapping/put",
        ("PUT", "/matrix/_mapping", r#"{"properties": {"extra": {"type": "keyword"}}}"#),
        I("manage"),
        Denied,
    ),
    row(
        "/_aliases",
        "indices:admin/aliases",
        ("POST", "/_aliases", r#"{"actions": [{"add": {"index": "matrix", "alias": "matrix-a2"}}]}"#),
        I("manage"),
        Denied,
    ),
    row("/_aliases", "indices:admin/aliases/get", ("GET", "/_aliases", ""), I("view_index_metadata"), Hidden),
    row("/_alias", "indices:admin/aliases/get", ("GET", "/_alias", ""), I("view_index_metadata"), Hidden),
    row(
        "/_alias/{name}",
        "indices:admin/aliases/get",
        ("GET", "/_alias/matrix-alias", ""),
        I("view_index_metadata"),
        Hidden,
    ),
    row(
        "/{index}/_alias",
        "indices:admin/aliases/get",
        ("GET", "/matrix/_alias", ""),
        I("view_index_metadata"),
        Denied,
    ),
    row(
        "/{index}/_aliases",
        "indices:admin/aliases/get",
        ("GET", "/matrix/_aliases", ""),
        I("view_index_metadata"),
        Denied,
    ),
    row(
        "/{index}/_alias/{name}",
        "indices:admin/aliases/get",
        ("GET", "/matrix/_alias/matrix-alias", ""),
        I("view_index_metadata"),
        Denied,
    ),
    row(
        "/{index}/_alias/{name}",
        "indices:admin/aliases",
        ("PUT", "/matrix/_alias/matrix-a3", ""),
        I("manage"),
        Denied,
    ),
    row(
        "/{index}/_aliases/{name}",
        "indices:admin/aliases/get",
        ("GET", "/matrix/_aliases/matrix-alias", ""),
        I("view_index_metadata"),
        Denied,
    ),
    row(
        "/{index}/_aliases/{name}",
        "indices:admin/aliases",
        ("PUT", "/matrix/_aliases/matrix-a4", ""),
        I("manage"),
        Denied,
    ),
    row(
        "/_settings",
        "indices:monitor/settings/get",
        ("GET", "/_settings", ""),
        I("view_index_metadata"),
        Hidden,
    ),
    row(
        "/_settings",
        "indices:admin/settings/update",
        ("PUT", "/_settings", r#"{"index": {"number_of_replicas": 0}}"#),
        I("manage"),
        Hidden,
    ),
    row(
        "/{index}/_settings",
        "indices:monitor/settings/get",
        ("GET", "/matrix/_settings", ""),
        I("view_index_metadata"),
        Denied,
    ),
    row(
        "/{index}/_settings",
        "indices:admin/settings/update",
        ("PUT", "/matrix/_settings", r#"{"index": {"number_of_replicas": 0}}"#),
        I("manage"),
        Denied,
    ),
    row(
        "/{index}/_block/{block}",
        "indices:admin/block/add",
        ("PUT", "/matrix-block/_block/write", ""),
        I("manage"),
        Denied,
    ),
    row(
        "/{index}/_close",
        "indices:admin/close",
        ("POST", "/matrix-closing/_close", ""),
        I("manage"),
        Denied,
    ),
    row("/{index}/_open", "indices:admin/open", ("POST", "/matrix-closed/_open", ""), I("manage"), Denied),
    row("/{index}", "indices:admin/create", ("PUT", "/matrix-new", ""), I("create_index"), Denied),
    row("/{index}", "indices:admin/get", ("GET", "/matrix", ""), I("view_index_metadata"), Denied),
    row("/{index}", "indices:admin/delete", ("DELETE", "/matrix-del", ""), I("delete_index"), Denied),
    row(
        "/{index}/_doc",
        "indices:data/write/index",
        ("POST", "/matrix/_doc", r#"{"n": 3}"#),
        I("create_doc"),
        Denied,
    ),
    row(
        "/{index}/_doc/{id}",
        "indices:data/write/index",
        ("PUT", "/matrix/_doc/d4", r#"{"n": 4}"#),
        I("index"),
        Denied,
    ),
    row("/{index}/_doc/{id}", "indices:data/read/get", ("GET", "/matrix/_doc/1", ""), I("read"), Denied),
    row(
        "/{index}/_doc/{id}",
        "indices:data/write/delete",
        ("DELETE", "/matrix/_doc/d4", ""),
        I("delete"),
        Denied,
    ),
    row(
        "/{index}/_create/{id}",
        "indices:data/write/index:op_type/create",
        ("PUT", "/matrix/_create/d5", r#"{"n": 5}"#),
        I("create_doc"),
        DeniedAs("indices:data/write/index"),
    ),
    row(
        "/{index}/_update/{id}",
        "indices:data/write/update",
        ("POST", "/matrix/_update/1", r#"{"doc": {"n": 6}}"#),
        I("index"),
        Denied,
    ),
    row(
        "/{index}/_source/{id}",
        "indices:data/read/get",
        ("GET", "/matrix/_source/1", ""),
        I("read"),
        Denied,
    ),
    row(
        "/_cat/indices",
        "indices:monitor/stats",
        ("GET", "/_cat/indices?format=json", ""),
        I("monitor"),
        Hidden,
    ),
    row(
        "/_cat/indices/{index}",
        "indices:monitor/stats",
        ("GET", "/_cat/indices/matrix?format=json", ""),
        I("monitor"),
        Denied,
    ),
    row("/_nodes/stats", "cluster:monitor/nodes/stats", ("GET", "/_nodes/stats", ""), C("monitor"), Denied),
    row(
        "/_nodes/stats/{metric}",
        "cluster:monitor/nodes/stats",
        ("GET", "/_nodes/stats/jvm", ""),
        C("monitor"),
        Denied,
    ),
    row(
        "/_nodes/{node_id}/stats",
        "cluster:monitor/nodes/stats",
        ("GET", "/_nodes/_local/stats", ""),
        C("monitor"),
        Denied,
    ),
    row(
        "/_nodes/{node_id}/stats/{metric}",
        "cluster:monitor/nodes/stats",
        ("GET", "/_nodes/_local/stats/jvm", ""),
        C("monitor"),
        Denied,
    ),
    row("/_license", "cluster:monitor/xpack/license/get", ("GET", "/_license", ""), C("monitor"), Denied),
    row(
        "/_index_template",
        "indices:admin/index_template/get",
        ("GET", "/_index_template", ""),
        C("manage_index_templates"),
        Denied,
    ),
    row(
        "/_index_template/{name}",
        "indices:admin/index_template/get",
        ("GET", "/_index_template/matrix-t", ""),
        C("manage_index_templates"),
        Denied,
    ),
    row(
        "/_index_template/{name}",
        "indices:admin/index_template/put",
        ("PUT", "/_index_template/matrix-new", r#"{"index_patterns":["matrix-new-*"],"priority":7}"#),
        C("manage_index_templates"),
        Denied,
    ),
    row(
        "/_index_template/{name}",
        "indices:admin/index_template/delete",
        ("DELETE", "/_index_template/matrix-gone", ""),
        C("manage_index_templates"),
        Denied,
    ),
    row(
        "/_index_template/_simulate_index/{name}",
        "indices:admin/index_template/simulate_index",
        ("POST", "/_index_template/_simulate_index/matrix-t-1", ""),
        C("manage_index_templates"),
        Denied,
    ),
    row(
        "/_component_template",
        "cluster:admin/component_template/get",
        ("GET", "/_component_template", ""),
        C("manage_index_templates"),
        Denied,
    ),
    row(
        "/_component_template/{name}",
        "cluster:admin/component_template/get",
        ("GET", "/_component_template/matrix-c", ""),
        C("manage_index_templates"),
        Denied,
    ),
    row(
        "/_component_template/{name}",
        "cluster:admin/component_template/put",
        ("PUT", "/_component_template/matrix-c2", r#"{"template":{}}"#),
        C("manage_index_templates"),
        Denied,
    ),
    row(
        "/_component_template/{name}",
        "cluster:admin/component_template/delete",
        ("DELETE", "/_component_template/matrix-c-gone", ""),
        C("manage_index_templates"),
        Denied,
    ),
    row("/_ilm/policy", "cluster:admin/ilm/get", ("GET", "/_ilm/policy", ""), C("read_ilm"), Denied),
    row(
        "/_ilm/policy/{name}",
        "cluster:admin/ilm/get",
        ("GET", "/_ilm/policy/matrix-p", ""),
        C("read_ilm"),
        Denied,
    ),
    row(
        "/_ilm/policy/{name}",
        "cluster:admin/ilm/put",
        ("PUT", "/_ilm/policy/matrix-p2", r#"{"policy":{"phases":{"hot":{"actions":{}}}}}"#),
        C("manage_ilm"),
        Denied,
    ),
    row(
        "/_ilm/policy/{name}",
        "cluster:admin/ilm/delete",
        ("DELETE", "/_ilm/policy/matrix-p-gone", ""),
        C("manage_ilm"),
        Denied,
    ),
    row("/_xpack", "cluster:monitor/xpack/info", ("GET", "/_xpack", ""), C("monitor"), Denied),
    row(
        "/_data_stream",
        "indices:admin/data_stream/get",
        ("GET", "/_data_stream", ""),
        I("view_index_metadata"),
        Hidden,
    ),
    row(
        "/_data_stream/{name}",
        "indices:admin/data_stream/get",
        ("GET", "/_data_stream/matrix-ds", ""),
        I("view_index_metadata"),
        Denied,
    ),
    row(
        "/_data_stream/{name}",
        "indices:admin/data_stream/create",
        ("PUT", "/_data_stream/matrix-ds-new", ""),
        I("create_index"),
        Denied,
    ),
    row(
        "/_data_stream/{name}",
        "indices:admin/data_stream/delete",
        ("DELETE", "/_data_stream/matrix-ds-gone", ""),
        I("delete_index"),
        Denied,
    ),
];

/// Whether an answer is an authorization refusal (of the whole request or of an item).
fn refused(body: &str) -> bool {
    body.contains("is unauthorized for user")
}

#[test]
fn the_route_table_has_one_row_per_route_and_action() {
    let table: BTreeSet<(&str, &str)> =
        bulwark_rest::router::routes().iter().map(|r| (r.path, r.action)).collect();
    let rows: BTreeSet<(&str, &str)> = ROWS.iter().map(|r| (r.path, r.action)).collect();
    let missing: Vec<_> = table.difference(&rows).collect();
    let extra: Vec<_> = rows.difference(&table).collect();
    assert!(missing.is_empty(), "routes without a row in the privilege matrix: {missing:?}");
    assert!(extra.is_empty(), "rows for routes the router does not have: {extra:?}");
    assert_eq!(rows.len(), ROWS.len(), "a (path, action) pair has two rows");
    assert!(ROWS.iter().all(|r| !r.action.starts_with(SEC) || matches!(r.needs, C(_) | Nothing)));
}

#[test]
fn every_route_refuses_a_user_without_its_privilege_and_serves_one_with_it() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    setup(&s);
    user_with_role(&s, "nobody", "nothing", json!({}));
    let mut holders: BTreeMap<String, String> = BTreeMap::new();
    let mut failures = Vec::new();
    for (n, r) in ROWS.iter().enumerate() {
        let holder = match r.needs {
            Nothing => "nobody".to_owned(),
            C(p) | I(p) => holders
                .entry(format!("{}:{p}", matches!(r.needs, C(_))))
                .or_insert_with(|| {
                    let (user, role) = (format!("holder-{n}"), format!("holder-{n}-role"));
                    let descriptor = match r.needs {
                        C(p) => json!({ "cluster": [p] }),
                        _ => json!({ "indices": [{ "names": ["matrix*"], "privileges": [p] }] }),
                    };
                    user_with_role(&s, &user, &role, descriptor);
                    user
                })
                .clone(),
        };
        let content_type = if r.url.contains("bulk") || r.url.contains("msearch") {
            "application/x-ndjson"
        } else {
            "application/json"
        };
        let url_for = |user: &str| r.url.replace("USER", user);
        let (status, body) =
            send(&s, ("nobody", USER_PASSWORD), r.method, &url_for("nobody"), content_type, r.body);
        let without_ok = match (r.needs, r.without) {
            (Nothing, _) => status < 400,
            (_, Denied) => status == 403 && body.contains(&format!("action [{}] is unauthorized", r.action)),
            (_, DeniedAs(action)) => {
                status == 403 && body.contains(&format!("action [{action}] is unauthorized"))
            }
            (_, ItemsDenied) => status < 300 && refused(&body),
            (_, Hidden) => status < 500 && !refused(&body) && !body.contains("\"matrix\""),
        };
        if !without_ok {
            failures.push(format!("{} {} without the privilege: {status} {body}", r.method, r.url));
        }
        let (status, body) =
            send(&s, (&holder, USER_PASSWORD), r.method, &url_for(&holder), content_type, r.body);
        if status >= 500 || refused(&body) || status == 401 {
            failures.push(format!(
                "{} {} as {holder} holding {}: {status} {body}",
                r.method,
                r.url,
                describe(r.needs)
            ));
        }
    }
    s.node.stop();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        ROWS.len(),
        failures.join("\n")
    );
}

fn describe(n: Needs) -> String {
    match n {
        C(p) => format!("cluster [{p}]"),
        I(p) => format!("[{p}] on matrix*"),
        Nothing => "nothing".into(),
    }
}

/// The indices, alias and users the rows act on.
fn setup(s: &Started) {
    admin(s, "PUT", "/matrix/_doc/1?refresh=true", json!({"msg": "matrix-doc"}));
    admin(s, "PUT", "/matrix/_alias/matrix-alias", Value::Null);
    for index in ["matrix-del", "matrix-closing", "matrix-closed", "matrix-block"] {
        admin(s, "PUT", &format!("/{index}"), Value::Null);
    }
    admin(s, "POST", "/matrix-closed/_close", Value::Null);
    admin(s, "PUT", "/_component_template/matrix-c", json!({"template": {}}));
    admin(s, "PUT", "/_component_template/matrix-c-gone", json!({"template": {}}));
    admin(s, "PUT", "/_index_template/matrix-t", json!({"index_patterns": ["matrix-t-*"], "priority": 5}));
    admin(
        s,
        "PUT",
        "/_index_template/matrix-gone",
        json!({"index_patterns": ["matrix-gone-*"], "priority": 6}),
    );
    admin(
        s,
        "PUT",
        "/_index_template/matrix-ds",
        json!({"index_patterns": ["matrix-ds*"], "priority": 8, "data_stream": {}}),
    );
    admin(s, "PUT", "/_data_stream/matrix-ds", Value::Null);
    for p in ["matrix-p", "matrix-p-gone"] {
        admin(
            s,
            "PUT",
            &format!("/_ilm/policy/{p}"),
            json!({"policy": {"phases": {"hot": {"actions": {}}}}}),
        );
    }
    admin(s, "PUT", "/_data_stream/matrix-ds-gone", Value::Null);
    for user in ["victim", "matrix-gone", "matrix-off"] {
        admin(s, "PUT", &format!("/_security/user/{user}"), json!({"password": USER_PASSWORD, "roles": []}));
    }
}
