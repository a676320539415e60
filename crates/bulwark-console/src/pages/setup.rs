//! The pages before login: interactive setup (verification code + enrollment token) and login.

use maud::{Markup, html};

use super::{layout, notice};

/// The setup form.
pub fn setup(csrf: &str, code: &str, error: Option<&str>, locked: bool) -> Markup {
    layout(
        "Connect to your cluster",
        None,
        html! {
            p { "Paste the enrollment token the node printed on its first start "
                "(or make one with " code { "bulwark create-enrollment-token -s kibana" } ")." }
            @if let Some(e) = error { (notice("error", e)) }
            @if locked {
                (notice("error", "The form is locked after too many wrong verification codes. Restart the console for a new code."))
            } @else {
                form #setup method="post" action="/setup" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="token" { "Enrollment token" }
                    textarea #token name="token" rows="4" required autocomplete="off" spellcheck="false" {}
                    label for="code" { "Verification code" }
                    input #code name="code" value=(code) inputmode="numeric" pattern="[0-9 ]{6,7}" required autocomplete="one-time-code";
                    p.hint { "Shown in the link the console printed, or run " code { "bulwark console verification-code" } "." }
                    button type="submit" { "Configure" }
                }
            }
        },
    )
}

/// The login form.
pub fn login(csrf: &str, username: &str, note: Option<&str>, error: Option<&str>) -> Markup {
    layout(
        "Log in",
        None,
        html! {
            @if let Some(n) = note { (notice("ok", n)) }
            @if let Some(e) = error { (notice("error", e)) }
            form #login method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="username" { "User name" }
                input #username name="username" value=(username) required autocomplete="username";
                label for="password" { "Password" }
                input #password name="password" type="password" required autocomplete="current-password";
                button type="submit" { "Log in" }
            }
        },
    )
}
