//! Authorization: actions, privileges, index patterns, roles and the decision.

mod access;
mod action;
mod api_key_reach;
mod application;
mod decision;
mod document_query;
mod field_security;
mod file_roles;
mod pattern;
mod privilege;
mod role;

pub use access::IndexAccess;
pub use action::{Action, Scope};
pub use api_key_reach::{KeyReach, beyond_itself, beyond_own_keys, check_only_itself, may_create_key};
pub use application::{
    ApplicationPrivilegeDescriptor, is_privilege_name, validate_application_name, validate_privilege_name,
};
pub use decision::{Authorizer, RoleSource, denied_subject, effective_role_names, may_change_own_password};
pub use document_query::{DocumentAccess, TemplateUser, check_query, render_query};
pub use field_security::{FieldAccess, FieldRule, FieldSecurity};
pub use file_roles::parse_roles_yml;
pub use pattern::{IndexPattern, is_restricted};
pub use privilege::{ClusterGrant, ClusterPrivilege, IndexGrantPrivilege, IndexPrivilege, action_matches};
pub use role::{
    ApplicationPrivileges, IndexGroup, IndicesPrivileges, RESERVED_ROLES, Role, RoleDescriptor,
    reserved_role, reserved_role_descriptor,
};
