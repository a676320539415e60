//! Authorization: actions, privileges, roles and the decision.

mod action;
mod decision;
mod privilege;
mod role;

pub use action::Action;
pub use decision::{authorize, effective_role_names, may_change_own_password};
pub use privilege::ClusterPrivilege;
pub use role::{Role, reserved_role};
