//! Server-rendered pages (maud: compile-time checked, every interpolation escaped). No inline
//! script or style: `static/console.js` and `static/console.css` are served as files.

pub mod audit;
pub mod data;
pub mod edit;
pub mod keys;
pub mod mappings;
pub mod security;
pub mod setup;

use maud::{DOCTYPE, Markup, html};

use crate::session::Session;

/// The navigation: path, label.
const NAV: &[(&str, &str)] = &[
    ("/app/overview", "Overview"),
    ("/app/search", "Search"),
    ("/app/users", "Users"),
    ("/app/roles", "Roles"),
    ("/app/role_mappings", "Role mappings"),
    ("/app/api_keys", "API keys"),
    ("/app/service_tokens", "Service tokens"),
    ("/app/monitoring", "Monitoring"),
    (AUDIT, "Audit log"),
];

/// The audit page: in the navigation only for users the node lets read the audit log.
const AUDIT: &str = "/app/audit";

/// The frame of every page; `session` adds the navigation and the logout form.
pub fn layout(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Bulwark console" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                header.top {
                    span.brand { "Bulwark console" }
                    @if let Some(s) = session {
                        nav aria-label="Main" {
                            @for (path, label) in NAV.iter().filter(|(p, _)| *p != AUDIT || s.may_read_audit) {
                                a href=(path) { (label) }
                            }
                        }
                        span.user { "Logged in as " strong #current-user { (s.user) } }
                        form.logout method="post" action="/app/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page with one message (errors, refusals).
pub fn message_page(title: &str, message: &str) -> Markup {
    layout(title, None, html! { p.message role="alert" { (message) } })
}

/// A notice (`ok`) or error (`error`) box.
pub fn notice(kind: &str, text: &str) -> Markup {
    html! { p class=(format!("notice {kind}")) role=(if kind == "error" { "alert" } else { "status" }) { (text) } }
}

/// The hidden CSRF field of a session's forms.
pub fn csrf_field(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}
