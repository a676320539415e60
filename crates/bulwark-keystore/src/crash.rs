//! Test-only crash injection, shared by every crate that writes state in steps (the keystore
//! here, auto-configuration and the first start in `bulwark-node`).
//!
//! In debug builds (`cfg(debug_assertions)`, which is what `cargo test` builds the binary with),
//! when the environment variable `BULWARK_TEST_CRASH_AT` names `step`, the process kills itself
//! with SIGKILL at that point: no destructors, no flushing, as with `kill -9` or a power cut.
//! Release builds compile [`crash_point`] to nothing, so the variable has no effect there.
//! The named steps are listed in `docs/architecture.md` ("All-or-nothing").

/// The environment variable naming the step to die at.
pub const CRASH_AT_ENV: &str = "BULWARK_TEST_CRASH_AT";

/// Dies here with SIGKILL when `BULWARK_TEST_CRASH_AT` is `step` (debug builds only).
#[inline]
pub fn crash_point(step: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os(CRASH_AT_ENV).is_some_and(|v| v == step) {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
        // `kill` delivers the signal before it exits; never go on past a crash point.
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}
